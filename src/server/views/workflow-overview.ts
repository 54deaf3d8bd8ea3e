/**
 * The dashboard's workflow list, one bounded page at a time: the query parameters it takes
 * (size, after, state, query, order), its opaque cursor, and the rows it answers, read from the
 * store's paged listing (filtered and ordered in the query, never a whole table). Streams use
 * it too (overview-window.ts), to re-read only the rows that changed.
 */
import type { Static } from 'typebox';
import { validationError } from '../../errors.js';
import type { RuntimeManager } from '../../runtime/runtime-manager.js';
import type { ProvisionState, Store, WorkflowPageCursor, WorkflowPageQuery, WorkflowPageRow } from '../../store/store.js';
import { PROVISION_WORKFLOW } from '../../template/types.js';
import type { Template } from '../../template/types.js';
import type { WorkflowOverview } from '../contract/dashboard-contract.js';

/** One row of the dashboard's workflow list (its schema: contract/dashboard-contract.ts). */
export type WorkflowSummary = Static<typeof WorkflowOverview>;

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;
const STATES: readonly ProvisionState[] = ['NOT_STARTED', 'PROVISIONING', 'COMPLETED', 'FAILED'];
/** Longest text query: a name or description is searched, not a document. */
const MAX_QUERY_LENGTH = 256;
/** Rows read per store call while the caller's backend roles hide some of them. */
const FILTERED_BATCH = 200;

/** What one page asks for: the store's query less the rows it is restricted to. */
export type OverviewQuery = Omit<WorkflowPageQuery, 'ids'> & { order: 'desc' | 'asc' };

/** One page: its rows, and the cursor of the next one (absent on the last page). */
export interface OverviewPage {
  workflows: WorkflowSummary[];
  next?: string;
}

/** The cursor after a row: base64url of `[created_at, id]`, opaque to callers. */
export function encodeCursor(c: WorkflowPageCursor): string {
  return Buffer.from(JSON.stringify([c.createdAt, c.id])).toString('base64url');
}

export function decodeCursor(text: string): WorkflowPageCursor {
  const bad = (): never => {
    throw validationError(`Invalid cursor [${text.slice(0, 100)}]: pass the [next] of the previous page as it was`, {
      code: 'overview.bad_cursor',
    });
  };
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return bad();
  }
  if (!Array.isArray(v) || v.length !== 2 || !Number.isSafeInteger(v[0]) || typeof v[1] !== 'string') return bad();
  return { createdAt: v[0] as number, id: v[1] };
}

export const cursorOf = (w: WorkflowSummary): WorkflowPageCursor => ({ createdAt: w.created_time, id: w.workflow_id });

/** The listing's query parameters, checked: 400 on a size out of range, an unknown state, a bad cursor. */
export function parseOverviewQuery(q: Record<string, string>): OverviewQuery {
  const size = q['size'] === undefined ? DEFAULT_PAGE_SIZE : Number(q['size']);
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE)
    throw validationError(`size must be an integer from 1 to ${MAX_PAGE_SIZE}, was [${q['size']}]`, { code: 'overview.bad_size' });
  const order = q['order'] ?? 'desc';
  if (order !== 'desc' && order !== 'asc')
    throw validationError(`order must be [desc] (newest first) or [asc], was [${order}]`, { code: 'overview.bad_order' });
  const out: OverviewQuery = { size, order };
  if (q['after'] !== undefined && q['after'] !== '') out.after = decodeCursor(q['after']);
  if (q['state'] !== undefined && q['state'] !== '') {
    const states = q['state'].split(',').map((s) => s.trim().toUpperCase());
    const unknown = states.filter((s) => !STATES.includes(s as ProvisionState));
    if (unknown.length > 0)
      throw validationError(`Unknown state [${unknown.join(', ')}]: use ${STATES.join(', ')}`, { code: 'overview.bad_state' });
    out.states = states as ProvisionState[];
  }
  const text = q['query']?.trim();
  if (text) {
    if (text.length > MAX_QUERY_LENGTH)
      throw validationError(`query is longer than ${MAX_QUERY_LENGTH} characters`, { code: 'overview.bad_query' });
    out.query = text;
  }
  return out;
}

/** Reads pages and rows of the listing for one caller (`visible` applies backend-role and tenant filtering). */
export class OverviewReader {
  readonly #store: Store;
  readonly #runtime: RuntimeManager;
  readonly #visible: ((template: Template) => boolean) | undefined;

  /** `visible` undefined: the caller sees every workflow (no backend-role or tenant filtering applies). */
  constructor(store: Store, runtime: RuntimeManager, visible: ((template: Template) => boolean) | undefined) {
    this.#store = store;
    this.#runtime = runtime;
    this.#visible = visible;
  }

  /**
   * One page. Without filtering one store call of size + 1 rows (the extra one says whether a
   * next page exists); with backend roles or tenants to check, batches until the page is full
   * or the listing ends, since the store's listing does not see them.
   */
  async page(q: OverviewQuery): Promise<OverviewPage> {
    const want = q.size + 1;
    const rows: WorkflowPageRow[] = [];
    let after = q.after;
    for (;;) {
      const ask = this.#visible ? Math.max(want - rows.length, FILTERED_BATCH) : want - rows.length;
      const batch = await this.#store.listWorkflowsPage({ ...q, ...(after ? { after } : {}), size: ask });
      for (const r of batch) {
        if (this.#visible && !this.#visible(r.workflow.template)) continue;
        rows.push(r);
        if (rows.length === want) break;
      }
      const last = batch[batch.length - 1];
      if (rows.length === want || batch.length < ask || !last) break;
      after = { createdAt: last.createdAt, id: last.workflow.id };
    }
    const workflows = rows.slice(0, q.size).map((r) => this.row(r));
    const lastShown = workflows[workflows.length - 1];
    return rows.length > q.size && lastShown ? { workflows, next: encodeCursor(cursorOf(lastShown)) } : { workflows };
  }

  /** The rows among `ids` that match the query and the caller may see (any order). */
  async rows(ids: string[], q: OverviewQuery): Promise<WorkflowSummary[]> {
    if (ids.length === 0) return [];
    const { after: _after, ...filters } = q;
    const found = await this.#store.listWorkflowsPage({ ...filters, ids, size: ids.length });
    return found.filter((r) => !this.#visible || this.#visible(r.workflow.template)).map((r) => this.row(r));
  }

  row(r: WorkflowPageRow): WorkflowSummary {
    const t = r.workflow.template;
    const s = r.state;
    // Step counts only matter while a run is under way; other states read as 0 or all.
    const total = (t.workflows[PROVISION_WORKFLOW]?.nodes.length ?? 0) + (t.flow !== undefined ? 1 : 0);
    const completed = s?.state === 'COMPLETED' ? total : (s?.stepsCompleted ?? 0);
    const row: WorkflowSummary = {
      workflow_id: r.workflow.id,
      name: t.name,
      description: t.description,
      state: s?.state ?? 'NOT_STARTED',
      provisioning_progress: s?.progress ?? 'NOT_STARTED',
      steps_completed: completed,
      steps_total: total,
      created_time: r.createdAt,
      last_change: Math.max(t.last_updated_time ?? 0, t.created_time ?? 0, t.last_provisioned_time ?? 0, s?.updatedAt ?? 0),
    };
    if (s?.error !== undefined) row.error = s.error;
    const rt = this.#runtime.status(r.workflow.id);
    if (rt) row.runtime_status = rt.actualStatus;
    return row;
  }
}
