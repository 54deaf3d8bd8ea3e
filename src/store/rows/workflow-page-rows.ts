/**
 * The workflow listing's page (Store.listWorkflowsPage) as both dialects read it: the same
 * columns from a workflows ⟕ workflow_state join, the same mapping, and the same parts of the
 * query; only placeholders and JSON access differ per dialect.
 */
import type { ProvisionState, WorkflowPageQuery, WorkflowPageRow } from '../store.js';
import { toWorkflow } from './workflow-rows.js';

export interface WorkflowPageDbRow {
  id: string;
  template: string;
  version: number;
  created_at: number | string;
  state: ProvisionState | null;
  progress: NonNullable<WorkflowPageRow['state']>['progress'] | null;
  error: string | null;
  updated_at: number | string | null;
  steps_completed: number | string | null;
}

export function toWorkflowPageRow(r: WorkflowPageDbRow): WorkflowPageRow {
  const row: WorkflowPageRow = { workflow: toWorkflow(r), createdAt: Number(r.created_at) };
  if (r.state !== null && r.progress !== null) {
    row.state = {
      state: r.state,
      progress: r.progress,
      updatedAt: Number(r.updated_at ?? 0),
      stepsCompleted: Number(r.steps_completed ?? 0),
    };
    if (r.error !== null) row.state.error = r.error;
  }
  return row;
}

/** How a dialect writes the parts that differ: the next placeholder, and a template's text field. */
export interface PageDialect {
  param: (value: string | number) => string;
  templateField: (field: 'name' | 'description') => string;
  /** `column` is one of `values` (one placeholder whatever their number, so statements stay few). */
  oneOf: (column: string, values: string[]) => string;
  /** The 1-based position of `needle` in `haystack`, 0 when absent (instr / strpos). */
  position: (haystack: string, needle: string) => string;
}

/** Text that JSON.stringify writes unchanged (no escapes). */
// eslint-disable-next-line no-control-regex -- control characters are what JSON escapes
const JSON_VERBATIM = /^[^"\\\u0000-\u001f\u2028\u2029]*$/;

/** Workflows in creation order (the workflows_by_creation index), each with its state row. */
export const PAGE_FROM = 'workflows w LEFT JOIN workflow_state s ON s.workflow_id = w.id';

/** Rare states: their rows first (the workflow_state_by_state index), then sorted (SQLite: CROSS JOIN fixes the order). */
export const PAGE_FROM_STATES = 'workflow_state s INDEXED BY workflow_state_by_state CROSS JOIN workflows w ON w.id = s.workflow_id';

/** At most this many workflows in the asked states: read them by state and sort them, rather than walk every workflow. */
export const STATE_FIRST_MAX = 20_000;

/**
 * The SELECT of one page. The text query is a lower-cased substring (no LIKE wildcards to
 * escape); the cursor is a row comparison, so the (created_at, id) index serves the order.
 */
export function workflowPageSql(q: WorkflowPageQuery, d: PageDialect, from: string = PAGE_FROM): string {
  const desc = (q.order ?? 'desc') === 'desc';
  const where: string[] = [];
  if (q.after) where.push(`(w.created_at, w.id) ${desc ? '<' : '>'} (${d.param(q.after.createdAt)}, ${d.param(q.after.id)})`);
  // A workflow without a state row reads as NOT_STARTED; other states compare the column as
  // it is, so the state index can serve them.
  if (q.states && q.states.length > 0)
    where.push(d.oneOf(q.states.includes('NOT_STARTED') ? `COALESCE(s.state, 'NOT_STARTED')` : 's.state', q.states));
  if (q.ids) where.push(d.oneOf('w.id', q.ids));
  const text = q.query?.trim().toLowerCase();
  if (text) {
    // A placeholder per use, made in the order the SQL reads them: SQLite's `?` are positional. Text JSON writes as it is (no quote,
    // backslash or control character) is in the template's raw text wherever it is in a field,
    // so the raw text is searched first: most rows are passed over without parsing their JSON.
    const id = d.param(q.query?.trim() ?? '');
    const raw = JSON_VERBATIM.test(text) ? `${d.position('lower(w.template)', d.param(text))} > 0 AND ` : '';
    const fields =
      `(${d.position(`lower(COALESCE(${d.templateField('name')}, ''))`, d.param(text))} > 0` +
      ` OR ${d.position(`lower(COALESCE(${d.templateField('description')}, ''))`, d.param(text))} > 0)`;
    where.push(`(w.id = ${id} OR (${raw}${fields}))`);
  }
  const dir = desc ? 'DESC' : 'ASC';
  return `SELECT w.id, w.template, w.version, w.created_at, s.state, s.progress, s.error, s.updated_at,
      CASE WHEN s.state = 'PROVISIONING' AND s.run_id IS NOT NULL
        THEN (SELECT COUNT(*) FROM steps st WHERE st.run_id = s.run_id AND st.state = 'COMPLETED') ELSE 0 END AS steps_completed
    FROM ${from}
    ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY w.created_at ${dir}, w.id ${dir}
    LIMIT ${d.param(q.size)}`;
}
