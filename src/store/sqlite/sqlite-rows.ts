/** Row shapes of the SQLite tables and their mapping to the Store port's records. */
import type { JsonObject } from '../../template/types.js';
import type { MlResourceRecord, ResourceCreated, RunRecord, StateRecord, StepRecord, StoredUser } from '../store.js';

export interface StateRow {
  workflow_id: string;
  state: StateRecord['state'];
  progress: StateRecord['progress'];
  start_time: number | null;
  end_time: number | null;
  error: string | null;
  user: string | null;
  run_id: string | null;
  version: number;
  updated_at: number;
}
export interface ResourceRow {
  step_name: string;
  node_id: string;
  resource_type: string;
  resource_id: string;
}
export interface StepRow {
  node_id: string;
  type: string;
  state: StepRecord['state'];
  attempt: number;
  start_time: number | null;
  end_time: number | null;
  error: string | null;
  outputs: string | null;
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
export interface MlRow {
  kind: string;
  id: string;
  doc: string;
  created_at: number;
  updated_at: number;
}
export interface UserRow {
  name: string;
  password_hash: string;
  backend_roles: string;
  roles: string;
  attributes: string;
}

export const toResource = (r: ResourceRow): ResourceCreated => ({
  workflow_step_name: r.step_name,
  workflow_step_id: r.node_id,
  resource_type: r.resource_type,
  resource_id: r.resource_id,
});

export const toStep = (r: StepRow): StepRecord => {
  const s: StepRecord = { nodeId: r.node_id, type: r.type, state: r.state, attempt: r.attempt };
  if (r.start_time !== null) s.startTime = r.start_time;
  if (r.end_time !== null) s.endTime = r.end_time;
  if (r.error !== null) s.error = r.error;
  if (r.outputs !== null) s.outputs = JSON.parse(r.outputs) as JsonObject;
  return s;
};

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

export const toMl = (r: MlRow): MlResourceRecord => ({
  id: r.id,
  kind: r.kind,
  doc: JSON.parse(r.doc) as JsonObject,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toUser = (r: UserRow): StoredUser => ({
  name: r.name,
  passwordHash: r.password_hash,
  backendRoles: JSON.parse(r.backend_roles) as string[],
  roles: JSON.parse(r.roles) as string[],
  attributes: JSON.parse(r.attributes) as Record<string, string>,
});
