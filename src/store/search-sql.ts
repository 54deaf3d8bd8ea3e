/**
 * Renders a CandidatePlan (search-plan.ts) to SQL for either dialect and runs it: the condition
 * over the indexed columns of migration 10, and for a page the ordered top-N read. Both stores
 * share this; sqlite-search.ts and postgres-search.ts supply the placeholders and the executor.
 */
import type { CandidatePlan, CandidateResult, Cond, SearchField, SearchValue } from './search-plan.js';

export interface SqlDialect {
  /** The placeholder for the next parameter (`?` or `$n`), given the parameters so far. */
  placeholder(params: unknown[]): string;
  /** An expression true when `col` is one of the values (all strings or all numbers). */
  inList(col: string, values: SearchValue[], numeric: boolean, params: unknown[]): string;
  /** The `role` condition (search-plan.ts) on a JSON text column holding an OS user at `path`. */
  hasRole(json: string, path: 'user' | '', values: string[], params: unknown[]): string;
  /** The `contains` condition (search-plan.ts) on a string expression. */
  contains(col: string, token: string, params: unknown[]): string;
  /** Run a query, answering its rows. */
  all(sql: string, params: unknown[]): Promise<Record<string, unknown>[]>;
}

export interface SearchTable<R> {
  table: string;
  /** The JSON text column holding the OS user, and the user's path inside it. */
  user: { json: string; path: 'user' | '' };
  /** Indexed field -> column. */
  columns: Partial<Record<SearchField, string>>;
  /** Fields holding numbers (the rest hold strings). */
  numeric: ReadonlySet<SearchField>;
  select: string;
  /** The order the unplanned listing reads rows in (the evaluator breaks sort ties by it). */
  listing: string;
  toRecords(rows: Record<string, unknown>[]): Promise<R[]>;
}

const FALSE = '1 = 0';
const TRUE = '1 = 1';

function column<R>(t: SearchTable<R>, field: SearchField): string {
  const col = t.columns[field];
  if (col === undefined) throw new Error(`field ${field} is not indexed on ${t.table}`);
  return col;
}

export function renderCond<R>(c: Cond, t: SearchTable<R>, d: SqlDialect, params: unknown[]): string {
  const p = (v: unknown): string => {
    const ph = d.placeholder(params);
    params.push(v);
    return ph;
  };
  switch (c.op) {
    case 'all':
      return TRUE;
    case 'none':
      return FALSE;
    case 'in':
      if (c.values.length === 0) return FALSE;
      if (c.values.length === 1) return `${column(t, c.field)} = ${p(c.values[0])}`;
      return d.inList(column(t, c.field), c.values, t.numeric.has(c.field), params);
    case 'prefix': {
      const col = column(t, c.field);
      if (c.prefix === '') return `${col} IS NOT NULL`;
      // Every string starting with the prefix lies in [prefix, successor) in code point order
      // (SQLite's BINARY collation; the PostgreSQL expressions are in "C"), so the index answers
      // it as a range.
      const next = successor(c.prefix);
      return next === undefined ? `${col} >= ${p(c.prefix)}` : `(${col} >= ${p(c.prefix)} AND ${col} < ${p(next)})`;
    }
    case 'range': {
      const col = column(t, c.field);
      const parts: string[] = [];
      if (c.gt !== undefined) parts.push(`${col} > ${p(c.gt)}`);
      if (c.gte !== undefined) parts.push(`${col} >= ${p(c.gte)}`);
      if (c.lt !== undefined) parts.push(`${col} < ${p(c.lt)}`);
      if (c.lte !== undefined) parts.push(`${col} <= ${p(c.lte)}`);
      if (parts.length === 0) parts.push(`${col} IS NOT NULL`);
      return `(${parts.join(' AND ')})`;
    }
    case 'exists':
      return `${column(t, c.field)} IS NOT NULL`;
    case 'contains':
      return d.contains(column(t, c.field), c.token, params);
    case 'role':
      return c.values.length === 0 ? FALSE : d.hasRole(t.user.json, t.user.path, c.values, params);
    case 'and':
      return c.conds.length === 0 ? TRUE : `(${c.conds.map((x) => renderCond(x, t, d, params)).join(' AND ')})`;
    case 'or':
      return c.conds.length === 0 ? FALSE : `(${c.conds.map((x) => renderCond(x, t, d, params)).join(' OR ')})`;
    case 'not':
      return `(NOT COALESCE(${renderCond(c.cond, t, d, params)}, ${FALSE}))`;
  }
}

/** The least string above every string that starts with `s` (code point order); undefined: none. */
export function successor(s: string): string | undefined {
  const cps = Array.from(s, (ch) => ch.codePointAt(0) as number);
  while (cps.length > 0) {
    const last = cps.pop() as number;
    if (last < 0x10ffff) {
      const next = last + 1 === 0xd800 ? 0xe000 : last + 1; // skip the surrogates
      return String.fromCodePoint(...cps, next);
    }
  }
  return undefined;
}

/** Answer a plan: the matching rows (or the page of them) and, when asked, their count. */
export async function runCandidatePlan<R>(plan: CandidatePlan, t: SearchTable<R>, d: SqlDialect): Promise<CandidateResult<R>> {
  const where = (): [string, unknown[]] => {
    const params: unknown[] = [];
    return [renderCond(plan.where, t, d, params), params];
  };
  const base = `SELECT ${t.select} FROM ${t.table} WHERE`;
  let rows: Record<string, unknown>[];
  const page = plan.page;
  if (page === undefined) {
    const [w, params] = where();
    rows = await d.all(`${base} ${w} ORDER BY ${t.listing}`, params);
  } else if (page.limit <= 0) {
    rows = [];
  } else if (page.order === undefined || page.after === 'missing') {
    const [w, params] = where();
    rows = page.after === 'missing' ? [] : await d.all(`${base} ${w} ORDER BY ${t.listing} LIMIT ${page.limit}`, params);
  } else {
    // Top-N by one column, missing values last, ties in listing order: find the N-th value
    // through the column's index, then read the rows up to it (ties included) and order those.
    const col = column(t, page.order.field);
    const dir = page.order.desc ? 'DESC' : 'ASC';
    const [w0, params0] = where();
    const ps = [...params0];
    let w = `${w0} AND ${col} IS NOT NULL`;
    if (page.after !== undefined) {
      const ph = d.placeholder(ps);
      ps.push(page.after.value);
      w += ` AND ${col} ${page.order.desc ? '<' : '>'} ${ph}`;
    }
    const edge = await d.all(`SELECT ${col} AS k FROM ${t.table} WHERE ${w} ORDER BY ${col} ${dir} LIMIT 1 OFFSET ${page.limit - 1}`, ps);
    const k = edge[0]?.['k'];
    if (edge.length > 0 && k !== null && k !== undefined) {
      const ps2 = [...ps];
      const ph = d.placeholder(ps2);
      ps2.push(k);
      rows = await d.all(`${base} ${w} AND ${col} ${page.order.desc ? '>=' : '<='} ${ph} ORDER BY ${col} ${dir}, ${t.listing}`, ps2);
    } else {
      const present = await d.all(`${base} ${w} ORDER BY ${col} ${dir}, ${t.listing}`, ps);
      const missing = await d.all(
        `${base} ${w0} AND ${col} IS NULL ORDER BY ${t.listing} LIMIT ${Math.max(0, page.limit - present.length)}`,
        params0,
      );
      rows = [...present, ...missing];
    }
  }
  const records = await t.toRecords(rows);
  if (plan.countUpTo === undefined) return { records };
  const [w, params] = where();
  const upTo = plan.countUpTo;
  const sql = Number.isFinite(upTo)
    ? `SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${t.table} WHERE ${w} LIMIT ${Math.max(0, Math.floor(upTo))}) counted`
    : `SELECT COUNT(*) AS n FROM ${t.table} WHERE ${w}`;
  const n = (await d.all(sql, params))[0]?.['n'];
  return { records, total: Number(n ?? 0) };
}
