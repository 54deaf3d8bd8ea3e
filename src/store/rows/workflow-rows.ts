/** The workflows row as both stores read it (same columns on SQLite and PostgreSQL), and its mapping to the Store port's record. */
import type { Template } from '../../template/types.js';
import type { WorkflowRecord } from '../store.js';

export interface WorkflowRow {
  id: string;
  template: string;
  version: number;
}

export const toWorkflow = (r: WorkflowRow): WorkflowRecord => ({
  id: r.id,
  template: JSON.parse(r.template) as Template,
  version: r.version,
});
