/** The PostgreSQL state row (resources and steps aggregated into it) and its mapping; the rows both stores share are under ../rows. */
import type { ResourceCreated, StateRecord } from '../store.js';
import type { StateRowBase, StepRow } from '../rows/state-rows.js';
import { toStateRecord, toStep } from '../rows/state-rows.js';

/** A state row with its resources (and optionally its steps) aggregated by PostgreSQL: one round trip. */
export interface StateRow extends StateRowBase {
  /** json_agg of [step_name, node_id, resource_type, resource_id], in creation order; null when none. */
  resources: Array<[string, string, string, string]> | null;
  /** json_agg of step objects (JSON numbers, `outputs` still JSON text) in start order; absent when not asked, null when none. */
  steps?: StepRow[] | null;
}

const STATE_COLS = `s.workflow_id, s.state, s.progress, s.start_time, s.end_time, s.error, s.error_detail, s.os_user, s.tenant_id, s.run_id, s.version, s.updated_at,
  (SELECT json_agg(json_build_array(r.step_name, r.node_id, r.resource_type, r.resource_id) ORDER BY r.seq)
     FROM resources r WHERE r.workflow_id = s.workflow_id) AS resources`;
const STEPS_COL = `(SELECT json_agg(json_build_object('node_id', st.node_id, 'type', st.type, 'state', st.state, 'attempt', st.attempt,
     'start_time', st.start_time, 'end_time', st.end_time, 'error', st.error, 'outputs', st.outputs) ORDER BY st.ord)
     FROM steps st WHERE st.run_id = s.run_id) AS steps`;

/** SELECT list over `workflow_state s`. */
export const stateSelect = (withSteps: boolean): string => (withSteps ? `${STATE_COLS}, ${STEPS_COL}` : STATE_COLS);

export function toState(row: StateRow): StateRecord {
  const resources = (row.resources ?? []).map(([step, node, type, id]): ResourceCreated => ({
    workflow_step_name: step,
    workflow_step_id: node,
    resource_type: type,
    resource_id: id,
  }));
  return toStateRecord(row, resources, () => (row.steps ?? []).map(toStep));
}
