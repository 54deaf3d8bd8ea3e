/** The workflow_state and steps columns both stores share, and the one mapping of them to the Store port's state record. */
import { FlowdError } from '../../errors.js';
import type { OsUser } from '../../template/types.js';
import type { JsonObject } from '../../util/json.js';
import type { ResourceCreated, StateRecord, StepRecord } from '../store.js';

/** A workflow_state row, as both dialects name its columns. */
export interface StateRowBase {
  workflow_id: string;
  state: StateRecord['state'];
  progress: StateRecord['progress'];
  start_time: number | null;
  end_time: number | null;
  error: string | null;
  /** The OS user (JSON text). */
  os_user: string | null;
  /** The tenant (multi-tenancy), written when the workflow is created. */
  tenant_id: string | null;
  /** The serialized FlowdError the run failed with (JSON text). */
  error_detail: string | null;
  run_id: string | null;
  version: number;
  updated_at: number;
}

/** A steps row (`outputs` still JSON text). */
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

export const toStep = (r: StepRow): StepRecord => {
  const s: StepRecord = { nodeId: r.node_id, type: r.type, state: r.state, attempt: r.attempt };
  if (r.start_time !== null) s.startTime = r.start_time;
  if (r.end_time !== null) s.endTime = r.end_time;
  if (r.error !== null) s.error = r.error;
  if (r.outputs !== null) s.outputs = JSON.parse(r.outputs) as JsonObject;
  return s;
};

/**
 * The state record of a row, read however the dialect reads them: `resources` are the
 * workflow's resources in creation order, and `steps` gives the steps of the row's run
 * (called only when the row has a run).
 */
export function toStateRecord(row: StateRowBase, resources: ResourceCreated[], steps: (runId: string) => StepRecord[]): StateRecord {
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
  const detail = row.error_detail === null ? undefined : FlowdError.fromSerialized(JSON.parse(row.error_detail));
  if (detail !== undefined) rec.errorDetail = detail.toJSON();
  if (row.os_user !== null) rec.user = JSON.parse(row.os_user) as OsUser;
  if (row.tenant_id !== null) rec.tenantId = row.tenant_id;
  if (row.run_id !== null) {
    rec.runId = row.run_id;
    rec.steps = steps(row.run_id);
    for (const s of rec.steps) if (s.state === 'COMPLETED' && s.outputs) rec.userOutputs[s.nodeId] = s.outputs;
  }
  return rec;
}
