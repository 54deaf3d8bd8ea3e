/**
 * The Store port: every durable operation flowd performs, named after the domain. SQLite
 * (embedded default) and PostgreSQL implement it; nothing above this layer sees SQL,
 * connections or transactions. Each method is atomic.
 */
import type { JsonObject, OsUser, Template } from '../template/types.js';

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
  error?: string;
  user?: OsUser;
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

  // --- provisioning state ---
  /** `steps: false` skips step records and user_outputs (the hot `_status` path). */
  getState(id: string, opts?: { steps?: boolean }): Promise<StateRecord | undefined>;
  listStates(): Promise<StateRecord[]>;
  beginRun(input: BeginRunInput): Promise<BeginRunResult>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  recordStepStarted(runId: string, workflowId: string, nodeId: string, type: string, attempt: number, at: number): Promise<boolean>;
  /** Step record + its resources + user_outputs in one transaction; false if the run is no longer current. */
  recordStepCompleted(c: StepCompletion): Promise<boolean>;
  recordStepFailed(runId: string, workflowId: string, nodeId: string, error: string, at: number, state?: 'FAILED' | 'CANCELED'): Promise<boolean>;
  /** Terminal transition of the run; false if the run is no longer current. */
  finishRun(input: FinishRunInput): Promise<boolean>;
  /** Remove one resource (deprovision / rollback). */
  removeResource(workflowId: string, resource: ResourceCreated): Promise<void>;
  /** Back to the initial NOT_STARTED document (keeps user), or delete it if the template is gone. */
  resetState(workflowId: string, error?: string): Promise<void>;
  /** Deprovision left something: COMPLETED/DONE with what remains. */
  markDeprovisionPartial(workflowId: string, at: number): Promise<void>;
  /** Runs whose lease expired (owner died) or that belong to `owner` from a previous life. */
  claimOrphanedRuns(owner: string, now: number, leaseMs: number): Promise<RunRecord[]>;
  renewLeases(owner: string, now: number, leaseMs: number): Promise<void>;
  /** Compare-and-set on a per-workflow operation lock (deprovision vs provision). */
  tryLockWorkflow(workflowId: string, op: string, owner: string, until: number): Promise<boolean>;
  unlockWorkflow(workflowId: string, op: string): Promise<void>;

  // --- native ML resources (connectors, models, agents, model groups) ---
  /** Idempotent when idempotencyKey is given: the same key returns the existing record. */
  createMlResource(kind: string, id: string, doc: JsonObject, idempotencyKey?: string): Promise<{ record: MlResourceRecord; created: boolean }>;
  getMlResource(kind: string, id: string): Promise<MlResourceRecord | undefined>;
  updateMlResource(kind: string, id: string, doc: JsonObject): Promise<boolean>;
  deleteMlResource(kind: string, id: string): Promise<boolean>;
  listMlResources(kind: string): Promise<MlResourceRecord[]>;

  // --- users ---
  getUser(name: string): Promise<StoredUser | undefined>;
  putUser(user: StoredUser): Promise<void>;
  deleteUser(name: string): Promise<boolean>;
  listUsers(): Promise<StoredUser[]>;

  // --- small settings / metadata ---
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;

  close(): Promise<void>;
}
