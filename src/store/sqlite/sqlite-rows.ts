/** The SQLite state and resource rows and their mapping; the rows both stores share are under ../rows. */
import type { ResourceCreated } from '../store.js';
import type { StateRowBase } from '../rows/state-rows.js';

export type StateRow = StateRowBase;
export interface ResourceRow {
  step_name: string;
  node_id: string;
  resource_type: string;
  resource_id: string;
}

export const toResource = (r: ResourceRow): ResourceCreated => ({
  workflow_step_name: r.step_name,
  workflow_step_id: r.node_id,
  resource_type: r.resource_type,
  resource_id: r.resource_id,
});
