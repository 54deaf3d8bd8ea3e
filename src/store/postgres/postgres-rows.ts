/** Row shapes of the PostgreSQL tables and their mapping to the Store port's records. */
import type { JsonObject, OsUser, Template } from '../../template/types.js';
import type { MlResourceRecord, NodeRecord, ResourceCreated, RunRecord, StateRecord, StepRecord, StoredUser, WorkflowRecord } from '../store.js';

/** A state row with its resources (and optionally its steps) aggregated by PostgreSQL: one round trip. */
export interface StateRow {
  workflow_id: string;
  state: StateRecord['state'];
  progress: StateRecord['progress'];
  start_time: number | null;
  end_time: number | null;
  error: string | null;
  os_user: string | null;
  run_id: string | null;
  version: number;
  updated_at: number;
  /** json_agg of [step_name, node_id, resource_type, resource_id], in creation order; null when none. */
  resources: Array<[string, string, string, string]> | null;
  /** json_agg of step objects in start order; absent when not asked, null when none. */
  steps?: StepJson[] | null;
}

/** A step as json_build_object returns it (JSON numbers, `outputs` still JSON text). */
interface StepJson {
  node_id: string;
  type: string;
  state: StepRecord['state'];
  attempt: number;
  start_time: number | null;
  end_time: number | null;
  error: string | null;
  outputs: string | null;
}

const STATE_COLS = `s.workflow_id, s.state, s.progress, s.start_time, s.end_time, s.error, s.os_user, s.run_id, s.version, s.updated_at,
  (SELECT json_agg(json_build_array(r.step_name, r.node_id, r.resource_type, r.resource_id) ORDER BY r.seq)
     FROM resources r WHERE r.workflow_id = s.workflow_id) AS resources`;
const STEPS_COL = `(SELECT json_agg(json_build_object('node_id', st.node_id, 'type', st.type, 'state', st.state, 'attempt', st.attempt,
     'start_time', st.start_time, 'end_time', st.end_time, 'error', st.error, 'outputs', st.outputs) ORDER BY st.ord)
     FROM steps st WHERE st.run_id = s.run_id) AS steps`;

/** SELECT list over `workflow_state s`. */
export const stateSelect = (withSteps: boolean): string => (withSteps ? `${STATE_COLS}, ${STEPS_COL}` : STATE_COLS);

const toStep = (r: StepJson): StepRecord => {
  const s: StepRecord = { nodeId: r.node_id, type: r.type, state: r.state, attempt: r.attempt };
  if (r.start_time !== null) s.startTime = r.start_time;
  if (r.end_time !== null) s.endTime = r.end_time;
  if (r.error !== null) s.error = r.error;
  if (r.outputs !== null) s.outputs = JSON.parse(r.outputs) as JsonObject;
  return s;
};

export function toState(row: StateRow): StateRecord {
  const resources = (row.resources ?? []).map(
    ([step, node, type, id]): ResourceCreated => ({ workflow_step_name: step, workflow_step_id: node, resource_type: type, resource_id: id }),
  );
  const rec: StateRecord = {
    workflowId: row.workflow_id,
    state: row.state,
    progress: row.progress,
    userOutputs: {},
    resources,
    steps: [],
    version: row.version,
    updatedAt: row.updated_at,
  };
  if (row.start_time !== null) rec.provisionStartTime = row.start_time;
  if (row.end_time !== null) rec.provisionEndTime = row.end_time;
  if (row.error !== null) rec.error = row.error;
  if (row.os_user !== null) rec.user = JSON.parse(row.os_user) as OsUser;
  if (row.run_id !== null) {
    rec.runId = row.run_id;
    rec.steps = (row.steps ?? []).map(toStep);
    for (const s of rec.steps) if (s.state === 'COMPLETED' && s.outputs) rec.userOutputs[s.nodeId] = s.outputs;
  }
  return rec;
}

export interface RunRow {
  run_id: string;
  workflow_id: string;
  kind: RunRecord['kind'];
  plan: string;
  params: string;
  owner: string;
  lease_until: number;
  start_time: number;
}
export const RUN_COLS = 'run_id, workflow_id, kind, plan, params, owner, lease_until, start_time';

export const toRun = (r: RunRow): RunRecord => ({
  runId: r.run_id,
  workflowId: r.workflow_id,
  kind: r.kind,
  plan: JSON.parse(r.plan) as JsonObject,
  params: r.params,
  owner: r.owner,
  leaseUntil: r.lease_until,
  startTime: r.start_time,
});

export interface WorkflowRow {
  id: string;
  template: string;
  version: number;
}
export const toWorkflow = (r: WorkflowRow): WorkflowRecord => ({ id: r.id, template: JSON.parse(r.template) as Template, version: r.version });

export interface MlRow {
  kind: string;
  id: string;
  doc: string;
  created_at: number;
  updated_at: number;
}
export const ML_COLS = 'kind, id, doc, created_at, updated_at';

export const toMl = (r: MlRow): MlResourceRecord => ({
  id: r.id,
  kind: r.kind,
  doc: JSON.parse(r.doc) as JsonObject,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface UserRow {
  name: string;
  password_hash: string;
  backend_roles: string;
  roles: string;
  attributes: string;
}
export const USER_COLS = 'name, password_hash, backend_roles, roles, attributes';

export const toUser = (r: UserRow): StoredUser => ({
  name: r.name,
  passwordHash: r.password_hash,
  backendRoles: JSON.parse(r.backend_roles) as string[],
  roles: JSON.parse(r.roles) as string[],
  attributes: JSON.parse(r.attributes) as Record<string, string>,
});

export interface NodeRow {
  node_id: string;
  url: string;
  started_at: number;
  heartbeat_at: number;
  info: string;
}
export const toNode = (r: NodeRow): NodeRecord => ({
  nodeId: r.node_id,
  url: r.url,
  startedAt: r.started_at,
  heartbeatAt: r.heartbeat_at,
  info: JSON.parse(r.info) as JsonObject,
});
