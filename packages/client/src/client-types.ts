/**
 * The shapes flowd answers with, as the typed client returns them. They mirror the wire format
 * (snake_case on the Flow Framework API, camelCase on the NL Flow runtime API) so a result can
 * be printed as the server sent it.
 */

/** Any JSON value, as sent on the wire. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };
/** A JSON object (a template, a document to analyze, a task's input). */
export type JsonObject = { [k: string]: JsonValue };

export type ProvisionState = 'NOT_STARTED' | 'PROVISIONING' | 'COMPLETED' | 'FAILED';
export type ProvisioningProgress = 'NOT_STARTED' | 'IN_PROGRESS' | 'DONE' | 'FAILED';
export type StepState = 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELED';
export type OnFailure = 'keep' | 'rollback';

export interface ResourceCreated {
  workflow_step_name: string;
  workflow_step_id: string;
  resource_type: string;
  resource_id: string;
}

/** One step of the current (or last) run, in `_status?all=true`. Times are epoch ms. */
export interface StepStatus {
  id: string;
  type: string;
  state: StepState;
  attempt: number;
  start_time?: number;
  end_time?: number;
  duration_ms?: number;
  error?: string;
}

export interface WorkflowUser {
  name: string;
  backend_roles: string[];
  roles: string[];
  [key: string]: JsonValue;
}

/** `GET …/_status`; the fields after `state` come with `all=true` (and on the watch stream). */
export interface WorkflowStatus {
  workflow_id: string;
  state: ProvisionState;
  error?: string;
  resources_created?: ResourceCreated[];
  provisioning_progress?: ProvisioningProgress;
  provision_start_time?: number;
  provision_end_time?: number;
  user?: WorkflowUser;
  user_outputs?: Record<string, JsonObject>;
  steps?: StepStatus[];
}

/** What `_status?watch=true` streams. */
export type StatusStreamEvent = { type: 'status'; status: WorkflowStatus } | { type: 'deleted'; workflowId: string };

export interface WorkflowNodeSpec {
  id: string;
  type: string;
  previous_node_inputs?: Record<string, string>;
  user_inputs?: JsonObject;
}

export interface WorkflowSpec {
  nodes?: WorkflowNodeSpec[];
  edges?: Array<{ source: string; dest: string }>;
  user_params?: JsonObject;
}

/** A template as `GET …/workflow/{id}` returns it (credentials and secret inputs left out). */
export interface WorkflowTemplate {
  name: string;
  description?: string;
  use_case?: string;
  version?: JsonObject;
  workflows?: Record<string, WorkflowSpec>;
  /** flowd's published flow (blocks and edges), when the template has one. */
  flow?: JsonObject;
  user?: WorkflowUser;
  created_time?: number;
  last_updated_time?: number;
  last_provisioned_time?: number;
  [key: string]: unknown;
}

/** `POST …/workflow`: the id; with a completion wait also the state and resources. */
export interface CreateWorkflowResult {
  workflow_id: string;
  state?: ProvisionState | 'UNKNOWN';
  error?: string;
  resources_created?: ResourceCreated[];
}

export interface DeleteWorkflowResult {
  _id: string;
  result: string;
  [key: string]: JsonValue;
}

export interface SearchHit<T> {
  _id: string;
  _index?: string;
  _score?: number | null;
  _version?: number;
  _source: T;
}

export interface SearchResponse<T> {
  took: number;
  timed_out: boolean;
  hits: { total: { value: number; relation: string }; max_score: number | null; hits: Array<SearchHit<T>> };
}

/** A document of `…/workflow/state/_search`. */
export interface StateDocument {
  workflow_id: string;
  state: ProvisionState;
  provisioning_progress: ProvisioningProgress;
  provision_start_time?: number;
  provision_end_time?: number;
  error?: string;
  resources_created?: ResourceCreated[];
}

/** One row of `FlowdClient.listWorkflows()`: the template's name joined with its state. */
export interface WorkflowSummary {
  id: string;
  name: string;
  state: ProvisionState | 'UNKNOWN';
  progress?: ProvisioningProgress;
  lastChange?: number;
}

/** One step type of `GET …/workflow/_steps`. */
export interface StepTypeInfo {
  inputs: string[];
  outputs: string[];
  required_plugins: string[];
  optional_inputs?: string[];
  secret_inputs?: string[];
  resource_type?: string;
  timeout?: string;
  [key: string]: JsonValue | undefined;
}

export type StepsListing = Record<string, StepTypeInfo>;

export interface ApiKeyInfo {
  id: string;
  name: string;
  /** The first characters of the key, to recognise it. */
  prefix: string;
  workflow_ids: string[];
  created_at: number;
  last_used_at: number | null;
  created_by?: string;
  rotated_at?: number;
  previous_key_valid_until?: number;
}

/** A new (or rotated) key: `key` is shown this once. */
export interface CreatedApiKey extends ApiKeyInfo {
  key: string;
}

export type TaskStatus = 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'ERROR' | 'CANCELED';

/** A task of the runtime API. Times are ISO 8601. */
export interface TaskInfo {
  taskId: string;
  status: TaskStatus;
  attempt: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  expiresAt: string;
  correlationId?: string;
}

/** One item of `POST task/batch`. */
export interface TaskBatchItem {
  input: JsonObject;
  /** 1 to 200 characters; unique within the batch. */
  idempotencyKey?: string;
}

/** `POST task/batch`: the tasks in the order sent, and how many were created (0 = all already existed). */
export interface TaskBatchResult {
  tasks: TaskInfo[];
  created: number;
}

export interface TaskList {
  tasks: TaskInfo[];
  /** Cursor of the next page, when there is one. */
  next?: string;
}

/** `GET task/{id}/result`: the output (or the errors body of a failed task) and the task's status. */
export interface TaskResult {
  status: TaskStatus;
  output: JsonValue;
}

export interface TaskDeleted {
  taskId: string;
  status: TaskStatus;
  deleted: boolean;
}

/** NL Flow `action/status` (flowd adds fields; they are kept as sent). */
export interface RuntimeStatus {
  desiredStatus: string;
  actualStatus: string;
  publishingMode: string;
  usable?: boolean;
  reason?: string;
  lastTransitionTime?: string;
  details?: JsonObject;
  [key: string]: JsonValue | undefined;
}

/** What the runtime status stream sends: the status, or that the flow is not published (now). */
export type RuntimeStreamEvent = { type: 'status'; status: RuntimeStatus } | { type: 'unpublished'; workflowId: string };

/**
 * One row of `GET /_flowd/workflows` (`FlowdClient.workflowOverview()`): a workflow with its
 * state, step progress and last change, as the dashboard lists them.
 */
export interface WorkflowOverview {
  workflow_id: string;
  name: string;
  description: string;
  state: ProvisionState;
  provisioning_progress: ProvisioningProgress;
  /** Steps of the current (or last) run that completed, of `steps_total` nodes to provision. */
  steps_completed: number;
  steps_total: number;
  error?: string;
  /** Epoch ms of the last change to the template or its state. */
  last_change: number;
  /** The published flow's colour (GREEN / YELLOW / ORANGE / RED), when there is one. */
  runtime_status?: string;
}
