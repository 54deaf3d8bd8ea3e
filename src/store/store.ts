/**
 * The Store port: every durable operation flowd performs, named after the domain. SQLite
 * (embedded default) and PostgreSQL implement it; nothing above this layer sees SQL,
 * connections or transactions. Each method is atomic.
 */
import type { SerializedError } from '../errors.js';
import type { OsUser, Template } from '../template/types.js';
import type { JsonObject } from '../util/json.js';
import type { StoreIntegrity } from './store-integrity.js';
import type { CandidatePlan, CandidateResult } from './search-plan.js';

export type ProvisionState = 'NOT_STARTED' | 'PROVISIONING' | 'COMPLETED' | 'FAILED';
export type ProvisioningProgress = 'NOT_STARTED' | 'IN_PROGRESS' | 'DONE' | 'FAILED';
export type StepState = 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELED';
export type RunKind = 'provision' | 'reprovision';

export interface ResourceCreated {
  workflow_step_name: string;
  workflow_step_id: string;
  resource_type: string;
  resource_id: string;
}

export interface WorkflowRecord {
  id: string;
  template: Template;
  /** Bumped on every template write; used for optimistic concurrency. */
  version: number;
}

export interface StepRecord {
  nodeId: string;
  type: string;
  state: StepState;
  attempt: number;
  startTime?: number;
  endTime?: number;
  error?: string;
  outputs?: JsonObject;
}

export interface StateRecord {
  workflowId: string;
  state: ProvisionState;
  progress: ProvisioningProgress;
  provisionStartTime?: number;
  provisionEndTime?: number;
  /** Flow Framework's text of the error the last run ended with. */
  error?: string;
  /** The same error as a serialized FlowdError: its status, kind and code are read from here, never from the text. */
  errorDetail?: SerializedError;
  user?: OsUser;
  /** The tenant it belongs to (multi-tenancy): its template's `tenant_id` when the workflow was created. */
  tenantId?: string;
  /** node id -> that node's outputs. */
  userOutputs: Record<string, JsonObject>;
  /** In creation order. */
  resources: ResourceCreated[];
  /** The current (or last) provisioning run. */
  runId?: string;
  /** Steps of the current (or last) run, in the order they started. */
  steps: StepRecord[];
  /** Bumped on every state change (watchers compare it). */
  version: number;
  updatedAt: number;
}

/** A durable provisioning run: everything needed to resume it after a crash. */
export interface RunRecord {
  runId: string;
  workflowId: string;
  kind: RunKind;
  /** Engine-defined plan (JSON), e.g. the compiled node list; opaque to the store. */
  plan: JsonObject;
  /** Encrypted substitution params (opaque string). */
  params: string;
  owner: string;
  leaseUntil: number;
  startTime: number;
  /**
   * How many times the run was started: 1 when begun, + 1 each time claimOrphanedRuns hands
   * it to a node (the one running it died). Counted before any work, so a run that keeps
   * ending the node can be dead-lettered instead of resumed forever.
   */
  attempt: number;
}

export interface BeginRunInput {
  workflowId: string;
  runId: string;
  kind: RunKind;
  plan: JsonObject;
  params: string;
  owner: string;
  leaseMs: number;
  startTime: number;
  /** Which current states allow this run to start (compare-and-swap). */
  allowedStates: ProvisionState[];
  /** Extra CAS condition: for provision, a FAILED workflow may restart only with no resources. */
  requireNoResources?: ProvisionState[];
  /** provision: start with an empty resource list; reprovision keeps it. */
  keepResources: boolean;
}

export type BeginRunResult = { ok: true } | { ok: false; reason: 'not_found' } | { ok: false; reason: 'state'; state: StateRecord };

export interface StepCompletion {
  runId: string;
  workflowId: string;
  nodeId: string;
  outputs: JsonObject;
  resources: ResourceCreated[];
  /** Resources this step removed (reprovision removing a node). */
  removedResources?: ResourceCreated[];
  endTime: number;
}

export interface FinishRunInput {
  runId: string;
  workflowId: string;
  state: 'COMPLETED' | 'FAILED' | 'NOT_STARTED';
  error?: string;
  errorDetail?: SerializedError;
  endTime: number;
}

export interface MlResourceRecord {
  id: string;
  kind: string;
  doc: JsonObject;
  createdAt: number;
  updatedAt: number;
}

export interface StoredUser {
  name: string;
  passwordHash: string;
  backendRoles: string[];
  roles: string[];
  attributes: Record<string, string>;
}

export interface NewWorkflow {
  id: string;
  template: Template;
  user?: OsUser;
  /** Refuse (return 'limit') when this many workflows already exist. */
  maxWorkflows: number;
}

export type ReplaceResult = 'ok' | 'not_found' | 'not_editable';

/** Where a page of the workflow listing starts: after this (created_at, id), in the page's order. */
export interface WorkflowPageCursor {
  createdAt: number;
  id: string;
}

/** One page of workflows, newest first (`order: 'asc'`: oldest first), with the filters applied in the store. */
export interface WorkflowPageQuery {
  after?: WorkflowPageCursor;
  /** At most this many rows (the caller bounds it). */
  size: number;
  order?: 'desc' | 'asc';
  /** Only workflows in one of these provisioning states. */
  states?: ProvisionState[];
  /** Case-insensitive substring of the name or description, or the exact id. */
  query?: string;
  /** Only these workflows (a stream re-reading the rows that changed). */
  ids?: string[];
}

/** A row of the workflow listing: the template and its state's summary (no steps, no resources). */
export interface WorkflowPageRow {
  workflow: WorkflowRecord;
  createdAt: number;
  state?: {
    state: ProvisionState;
    progress: ProvisioningProgress;
    error?: string;
    updatedAt: number;
    /** Steps of the current run that completed (counted only while PROVISIONING, else 0). */
    stepsCompleted: number;
  };
}

// --- runtime: publications, tasks, API keys ---

export type PublishingMode = 'SYNC' | 'ASYNC';

/** The published flow of a workflow (at most one per workflow). */
export interface PublicationRecord {
  workflowId: string;
  mode: PublishingMode;
  /** The resolved flow spec, opaque to the store. */
  spec: JsonObject;
  /** 1 on first publish, +1 on every replace (like a Deployment's generation). */
  version: number;
  desiredStatus: 'PUBLISHED';
  publishedAt: number;
  updatedAt: number;
}

export type PutPublicationInput = Omit<PublicationRecord, 'version' | 'publishedAt' | 'updatedAt'> & { at: number };

export type TaskStatus = 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'ERROR' | 'CANCELED';
export const TASK_STATUSES: readonly TaskStatus[] = ['QUEUED', 'RUNNING', 'COMPLETED', 'ERROR', 'CANCELED'];

export interface TaskRecord {
  taskId: string;
  workflowId: string;
  status: TaskStatus;
  /** How many times a runner claimed it (a requeued task is claimed again). */
  attempt: number;
  correlationId?: string;
  idempotencyKey?: string;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  expiresAt: number;
  owner?: string;
  leaseUntil?: number;
  /** The task's input as JSON text; only when asked for. */
  input?: string;
  /** JSON text: the result, or `{"errors":[…]}`; only when asked for and the task finished. */
  output?: string;
}

export interface NewTask {
  taskId: string;
  workflowId: string;
  input: string;
  idempotencyKey?: string;
  correlationId?: string;
  createdAt: number;
  expiresAt: number;
  /**
   * Inserted already claimed (RUNNING, attempt 1, under this lease) by the node that will run
   * it at once: a task that arrives while its runner has room skips the claim statement.
   */
  claim?: { owner: string; startedAt: number; leaseUntil: number };
}

/**
 * A claim ends, instead of running, a task whose earlier attempts all ended without a result
 * (each crashed its instance or the node): a poison task must not crash the node forever.
 */
export interface TaskDeadLetter {
  /** A task already claimed this many times goes to ERROR instead of RUNNING. */
  maxAttempts: number;
  /** Its output: JSON text, `{"errors":[…]}`. */
  output: string;
}

export interface TaskCompletion {
  taskId: string;
  owner: string;
  status: 'COMPLETED' | 'ERROR';
  output: string;
  finishedAt: number;
}

export interface TaskPage {
  tasks: TaskRecord[];
  /** Opaque cursor for the next page; absent on the last page. */
  next?: string;
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  /** Non-secret start of the key, for telling keys apart in listings. */
  prefix: string;
  workflowIds: string[];
  createdAt: number;
  lastUsedAt?: number;
  createdBy?: string;
  rotatedAt?: number;
  /** After a rotation with a grace period: the previous value also works until then. */
  previousKeyValidUntil?: number;
  /** The tenant it belongs to (multi-tenancy): it reaches that tenant's workflows only. */
  tenantId?: string;
}

/** One flowd process of a cluster, as it last reported itself (heartbeat). */
export interface NodeRecord {
  nodeId: string;
  /** Where the node's HTTP API listens. */
  url: string;
  startedAt: number;
  heartbeatAt: number;
  /** What the node reports (capacity, instances by service); opaque to the store. */
  info: JsonObject;
}

export interface SchemaVersion {
  /** The highest migration applied to the database. */
  current: number;
  /** The highest migration this flowd knows. */
  latest: number;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';

  // --- workflows (templates) ---
  createWorkflow(input: NewWorkflow): Promise<'ok' | 'limit'>;
  getWorkflow(id: string): Promise<WorkflowRecord | undefined>;
  /** Full update: only while provisioning has not started; resets the state to NOT_STARTED. */
  replaceWorkflow(id: string, template: Template): Promise<ReplaceResult>;
  /** Any state: write the template as given (update_fields, last_provisioned_time, reprovision). */
  saveTemplate(id: string, template: Template): Promise<boolean>;
  /** Deletes the template; deletes the state when clearStatus or no resources, unless provisioning. */
  deleteWorkflow(id: string, clearStatus: boolean): Promise<boolean>;
  countWorkflows(): Promise<number>;
  listWorkflows(): Promise<WorkflowRecord[]>;
  /** One bounded page of the listing, ordered by (created_at, id), filtered in the query. */
  listWorkflowsPage(q: WorkflowPageQuery): Promise<WorkflowPageRow[]>;

  // --- provisioning state ---
  /** `steps: false` skips step records and user_outputs (the hot `_status` path). */
  getState(id: string, opts?: { steps?: boolean }): Promise<StateRecord | undefined>;
  listStates(): Promise<StateRecord[]>;
  /** Templates matching a search plan's indexed condition (search-plan.ts): a superset of the search's hits, or its exact page. */
  searchWorkflowCandidates(plan: CandidatePlan): Promise<CandidateResult<WorkflowRecord>>;
  /** States matching a search plan's indexed condition, as searchWorkflowCandidates. */
  searchStateCandidates(plan: CandidatePlan): Promise<CandidateResult<StateRecord>>;
  /** How many workflow states are in each provisioning state (metrics; one cheap query). */
  countStates(): Promise<Record<ProvisionState, number>>;
  beginRun(input: BeginRunInput): Promise<BeginRunResult>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  recordStepStarted(runId: string, workflowId: string, nodeId: string, type: string, attempt: number, at: number): Promise<boolean>;
  /** Step record + its resources + user_outputs in one transaction; false if the run is no longer current. */
  recordStepCompleted(c: StepCompletion): Promise<boolean>;
  recordStepFailed(
    runId: string,
    workflowId: string,
    nodeId: string,
    error: string,
    at: number,
    state?: 'FAILED' | 'CANCELED',
  ): Promise<boolean>;
  /** Terminal transition of the run; false if the run is no longer current. */
  finishRun(input: FinishRunInput): Promise<boolean>;
  /** Remove one resource (deprovision / rollback). */
  removeResource(workflowId: string, resource: ResourceCreated): Promise<void>;
  /** Back to the initial NOT_STARTED document (keeps user), or delete it if the template is gone. */
  resetState(workflowId: string, error?: string): Promise<void>;
  /** Deprovision left something: COMPLETED/DONE with what remains. */
  markDeprovisionPartial(workflowId: string, at: number): Promise<void>;
  /**
   * Takes over runs whose owner stopped renewing them: their lease expired. (SQLite, used by
   * one process only, also takes every run another owner id left behind.) Claimed atomically:
   * two nodes never resume the same run. Each claim counts one more attempt of the run
   * (returned in `attempt`), durably, before the caller resumes anything.
   */
  claimOrphanedRuns(owner: string, now: number, leaseMs: number): Promise<RunRecord[]>;
  renewLeases(owner: string, now: number, leaseMs: number): Promise<void>;
  /** Compare-and-set on a per-workflow operation lock (deprovision vs provision). */
  tryLockWorkflow(workflowId: string, op: string, owner: string, until: number): Promise<boolean>;
  unlockWorkflow(workflowId: string, op: string): Promise<void>;

  // --- native ML resources (connectors, models, agents, model groups) ---
  /** Idempotent when idempotencyKey is given: the same key returns the existing record. */
  createMlResource(
    kind: string,
    id: string,
    doc: JsonObject,
    idempotencyKey?: string,
  ): Promise<{ record: MlResourceRecord; created: boolean }>;
  getMlResource(kind: string, id: string): Promise<MlResourceRecord | undefined>;
  updateMlResource(kind: string, id: string, doc: JsonObject): Promise<boolean>;
  deleteMlResource(kind: string, id: string): Promise<boolean>;
  listMlResources(kind: string): Promise<MlResourceRecord[]>;

  // --- users ---
  getUser(name: string): Promise<StoredUser | undefined>;
  putUser(user: StoredUser): Promise<void>;
  deleteUser(name: string): Promise<boolean>;
  listUsers(): Promise<StoredUser[]>;

  // --- publications (the published flow of a workflow) ---
  /** Insert (version 1) or replace (version + 1, publishedAt kept). */
  putPublication(p: PutPublicationInput): Promise<PublicationRecord>;
  getPublication(workflowId: string): Promise<PublicationRecord | undefined>;
  deletePublication(workflowId: string): Promise<boolean>;
  listPublications(): Promise<PublicationRecord[]>;

  // --- tasks (durable ASYNC work: claimed with leases, completed exactly once) ---
  /** The same (workflowId, idempotencyKey) returns the existing task with created=false. */
  createTask(t: NewTask): Promise<{ task: TaskRecord; created: boolean }>;
  /**
   * Oldest QUEUED first → RUNNING owned by `owner` with a lease; attempt + 1, startedAt = now.
   * With `deadLetter`, a task already claimed `deadLetter.maxAttempts` times goes to ERROR with
   * `deadLetter.output` instead (same statement; its attempt unchanged) and comes back with
   * status ERROR: the caller must not run it.
   */
  claimTasks(
    workflowId: string,
    owner: string,
    limit: number,
    now: number,
    leaseMs: number,
    deadLetter?: TaskDeadLetter,
  ): Promise<Array<TaskRecord & { input: string }>>;
  /** One transaction; only tasks still RUNNING and owned by `owner` change. Returns the ids that did. */
  completeTasks(results: TaskCompletion[]): Promise<string[]>;
  /**
   * Tasks still RUNNING under `owner` → QUEUED again, their attempt still counted (their run
   * crashed its instance: they are retried, by any node, until claimTasks dead-letters them).
   * Returns the ids that changed.
   */
  requeueTasks(owner: string, taskIds: string[]): Promise<string[]>;
  /** Extends the leases of the workflow's tasks RUNNING under `owner`. */
  renewTaskLeases(workflowId: string, owner: string, now: number, leaseMs: number): Promise<void>;
  /** RUNNING tasks whose lease expired (SQLite: or owned by another, dead, process) → QUEUED. Returns how many. */
  requeueOrphanedTasks(owner: string, now: number): Promise<number>;
  getTask(workflowId: string, taskId: string, opts?: { input?: boolean; output?: boolean }): Promise<TaskRecord | undefined>;
  /** The known ones among `taskIds`, in the order asked; without input and output. */
  getTasks(workflowId: string, taskIds: string[]): Promise<TaskRecord[]>;
  /** Oldest first; `after` is the `next` of the previous page. */
  listTasks(workflowId: string, opts: { statuses?: TaskStatus[]; limit: number; after?: string }): Promise<TaskPage>;
  /** QUEUED/RUNNING → CANCELED; a finished task is returned unchanged; undefined when unknown. */
  cancelTask(workflowId: string, taskId: string, at: number): Promise<TaskRecord | undefined>;
  deleteTask(workflowId: string, taskId: string): Promise<boolean>;
  /** All of the workflow's tasks, or those in `statuses`. Returns how many. */
  deleteTasks(workflowId: string, opts: { statuses?: TaskStatus[] }): Promise<number>;
  countTasks(workflowId: string): Promise<Record<TaskStatus, number>>;
  /** QUEUED tasks only: cheap (reads the queued rows' index entries), for the claim loop's poll. */
  countQueuedTasks(workflowId: string): Promise<number>;
  /** Tasks (any status) past their expiresAt. Returns how many. */
  deleteExpiredTasks(now: number): Promise<number>;

  // --- API keys (only a SHA-256 of the key is stored) ---
  createApiKey(k: ApiKeyRecord & { hash: string }): Promise<void>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /** Matches the current hash, or the previous one while its rotation grace period lasts. */
  getApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  getApiKey(id: string): Promise<ApiKeyRecord | undefined>;
  /**
   * New value for a key. Without `graceUntil` the old value stops working at once (NL Flow's
   * "regenerate"); with it, the old value keeps working until then (zero-downtime rotation).
   */
  rotateApiKey(id: string, newHash: string, newPrefix: string, graceUntil?: number): Promise<ApiKeyRecord | undefined>;
  deleteApiKey(id: string): Promise<boolean>;
  /** Batched last-used updates (a timestamp never moves backwards). */
  touchApiKeys(used: Array<{ id: string; at: number }>): Promise<void>;

  // --- cluster membership and health (doctor) ---
  /** Insert or refresh this node's row. */
  heartbeatNode(node: NodeRecord): Promise<void>;
  /** Every registered node, alive or not (callers compare heartbeatAt with their TTL). */
  listNodes(): Promise<NodeRecord[]>;
  removeNode(nodeId: string): Promise<void>;
  /** Work whose lease expired and nobody took over yet (active runs, RUNNING tasks). */
  countStuckWork(now: number): Promise<{ runs: number; tasks: number }>;
  schemaVersion(): Promise<SchemaVersion>;
  /** Settings of the database that will slow flowd down over time, each with what to do (empty when none). */
  maintenanceWarnings(): Promise<string[]>;
  /** Whether the data is intact (start-up check, damage seen since); absent: not tracked. Synchronous: health reads it. */
  integrity?(): StoreIntegrity;

  // --- small settings / metadata ---
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;

  close(): Promise<void>;
}
