/**
 * The types the client returns. The server's shapes are generated from its route schemas
 * (wire-types.ts, `npm run gen:types`) and re-exported here as they are, some also under the
 * names this client has always used; what stays written by hand is the client's own: JSON
 * values, the events its watch calls deliver, the rows it joins, and typed views of answers the
 * server declares open (OpenSearch search responses).
 */
import type {
  DeleteResult,
  OsUser,
  StepListing,
  StepListings,
  StepStatus,
  TaskStatus,
  Template,
  WorkflowAccepted,
  WorkflowGraph,
  WorkflowNode,
} from './wire-types.js';
import type { RuntimeStatus, WorkflowOverview, WorkflowOverviewChanges, WorkflowOverviewList, WorkflowStatus } from './wire-types.js';

export type * from './wire-types.js';

/** Any JSON value, as sent on the wire. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };
/** A JSON object (a template, a document to analyze, a task's input). */
export type JsonObject = { [k: string]: JsonValue };

// ---- the wire types under the client's names ----

export type ProvisionState = WorkflowStatus['state'];
export type ProvisioningProgress = NonNullable<WorkflowStatus['provisioning_progress']>;
export type StepState = StepStatus['state'];
/** The user a template or a run belongs to. */
export type WorkflowUser = OsUser;
export type WorkflowNodeSpec = WorkflowNode;
export type WorkflowSpec = WorkflowGraph;
/** A template as `GET …/workflow/{id}` returns it (credentials and secret inputs left out). */
export type WorkflowTemplate = Template;
/** `POST …/workflow` and `_provision`: the id; with a completion wait also the state and resources. */
export type CreateWorkflowResult = WorkflowAccepted;
export type DeleteWorkflowResult = DeleteResult;
/** One step type of `GET /_flowd/steps` (`_steps` answers only Flow Framework's fields). */
export type StepTypeInfo = StepListing;
export type StepsListing = StepListings;

// ---- the client's own ----

export type OnFailure = 'keep' | 'rollback';

/** What `_status?watch=true` streams. */
export type StatusStreamEvent = { type: 'status'; status: WorkflowStatus } | { type: 'deleted'; workflowId: string };

/** What the runtime status stream sends: the status, or that the flow is not published (now). */
export type RuntimeStreamEvent = { type: 'status'; status: RuntimeStatus } | { type: 'unpublished'; workflowId: string };

export interface SearchHit<T> {
  _id: string;
  _index?: string;
  _score?: number | null;
  _version?: number;
  _source: T;
}

/**
 * A search answer with its documents typed. The server declares search answers open (they
 * follow the query DSL), so this view is the client's; it shadows the open `SearchResponse` of
 * wire-types.ts.
 */
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
  resources_created?: WorkflowStatus['resources_created'];
}

/** One row of `FlowdClient.listWorkflows()`: the template's name joined with its state. */
export interface WorkflowSummary {
  id: string;
  name: string;
  state: ProvisionState | 'UNKNOWN';
  progress?: ProvisioningProgress;
  lastChange?: number;
}

/** One page of `FlowdClient.listWorkflows()`; `next` (absent on the last page) is the next page's `after`. */
export interface WorkflowSummaryPage {
  workflows: WorkflowSummary[];
  next?: string;
}

/** Which page of the workflow list: newest first, `size` rows (1 to 1000, default 50), filtered. */
export interface WorkflowListOptions {
  size?: number;
  /** The `next` of the previous page. */
  after?: string;
  /** Only workflows in these states. */
  state?: ProvisionState | ProvisionState[];
  /** Case-insensitive text in the name or description, or the exact workflow id. */
  query?: string;
  /** 'asc': oldest first. */
  order?: 'desc' | 'asc';
}

/** A row of the dashboard's list (`/_flowd/workflows`), ordered by created_time. */
export type WorkflowOverviewRow = WorkflowOverview;
/** One page of the dashboard's list; `next` is the next page's `after`. */
export type WorkflowOverviewPage = WorkflowOverviewList;
/** What the list stream sends after its first page: the rows that changed or entered it, the ids that left. */
export type WorkflowOverviewDelta = WorkflowOverviewChanges;

/** What `watchWorkflowOverview` reports with the page: a fresh page, or the changes applied to it. */
export type OverviewUpdate = { type: 'page'; page: WorkflowOverviewPage } | { type: 'changes'; changes: WorkflowOverviewDelta };

/** `GET task/{id}/result`: the output (or the errors body of a failed task) and the task's status. */
export interface TaskResult {
  status: TaskStatus;
  output: JsonValue;
}
