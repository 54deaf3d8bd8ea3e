/**
 * Applying what the overview stream sends after its first page (`event: changes`): rows that
 * changed or entered the page replace theirs or take their place by creation time, rows that
 * left are dropped. The page's order is the server's: newest first (or oldest, order=asc), ties
 * by id.
 */
import type { WorkflowOverviewDelta, WorkflowOverviewRow } from './client-types.js';

export function applyOverviewChanges(
  rows: readonly WorkflowOverviewRow[],
  changes: WorkflowOverviewDelta,
  order: 'desc' | 'asc',
): WorkflowOverviewRow[] {
  const gone = new Set([...changes.removed, ...changes.workflows.map((w) => w.workflow_id)]);
  const out = rows.filter((w) => !gone.has(w.workflow_id));
  for (const w of changes.workflows) out.push(w);
  const sign = order === 'asc' ? 1 : -1;
  return out.sort(
    (a, b) => sign * (a.created_time - b.created_time || (a.workflow_id < b.workflow_id ? -1 : a.workflow_id > b.workflow_id ? 1 : 0)),
  );
}
