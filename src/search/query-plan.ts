/**
 * The search planner: from an OpenSearch search body, the part the store's indexes can answer
 * (search-plan.ts), for workflow/_search and state/_search.
 *
 * Conservative by construction: the planned condition only ever narrows, so every document the
 * evaluator (query-dsl.ts) would match is among the candidates, and the evaluator still runs on
 * them, so hits, order and totals are today's. Each clause is planned with the evaluator's own
 * semantics (fields.ts): a `term` on a text field matches its tokens, so only `.keyword` terms on
 * string columns are planned; numbers compare numerically; the enum-valued state fields are
 * matched in JavaScript against their few values. A clause the planner does not understand
 * narrows nothing. When the whole query is planned exactly (and nothing else filters), the page
 * itself is read through the index (order + limit) and hits.total is a COUNT.
 */
import type { CandidatePlan, Cond, SearchField, SearchValue } from '../store/search-plan.js';
import type { ProvisionState, ProvisioningProgress } from '../store/store.js';
import { fieldRef, numericString, stringOrTokens, termEquals, tokens } from './fields.js';
import { toBound } from './query-range.js';
import { parseRequest } from './search-request.js';
import type { SearchOptions } from './types.js';
import { type JsonObject, type Scalar, entries, isObject, isScalar } from './values.js';

export type SearchTarget = 'templates' | 'states';

type FieldKind = { kind: 'keyword' } | { kind: 'numeric' } | { kind: 'enum'; values: readonly string[] };
interface FieldSpec {
  field: SearchField;
  type: FieldKind;
}

const STATES: Record<ProvisionState, true> = { NOT_STARTED: true, PROVISIONING: true, COMPLETED: true, FAILED: true };
const PROGRESS: Record<ProvisioningProgress, true> = { NOT_STARTED: true, IN_PROGRESS: true, DONE: true, FAILED: true };

const KEYWORD: FieldKind = { kind: 'keyword' };
const NUMERIC: FieldKind = { kind: 'numeric' };

/** Document path -> indexed field, per index (the paths serializeTemplate / stateDocument write). */
const FIELDS: Record<SearchTarget, ReadonlyMap<string, FieldSpec>> = {
  templates: new Map<string, FieldSpec>([
    ['name', { field: 'name', type: KEYWORD }],
    ['use_case', { field: 'use_case', type: KEYWORD }],
    ['created_time', { field: 'created_time', type: NUMERIC }],
    ['last_updated_time', { field: 'last_updated_time', type: NUMERIC }],
    ['last_provisioned_time', { field: 'last_provisioned_time', type: NUMERIC }],
  ]),
  states: new Map<string, FieldSpec>([
    ['workflow_id', { field: 'workflow_id', type: KEYWORD }],
    ['state', { field: 'state', type: { kind: 'enum', values: Object.keys(STATES) } }],
    ['provisioning_progress', { field: 'progress', type: { kind: 'enum', values: Object.keys(PROGRESS) } }],
    ['provision_start_time', { field: 'start_time', type: NUMERIC }],
    ['provision_end_time', { field: 'end_time', type: NUMERIC }],
  ]),
};
const ID_FIELD: Record<SearchTarget, SearchField> = { templates: 'id', states: 'workflow_id' };
/** String fields a full-text query may be narrowed on (by substring: search-plan.ts `contains`). */
const TEXT_FIELDS: Record<SearchTarget, ReadonlyMap<string, SearchField>> = {
  templates: new Map<string, SearchField>([
    ['name', 'name'],
    ['description', 'description'],
  ]),
  states: new Map<string, SearchField>(),
};
/** A query token SQL's ASCII lowercasing and substring search can look for. */
const ASCII_TOKEN = /^[a-z0-9_]+$/;

interface Planned {
  cond: Cond;
  /** The condition matches exactly the documents the clause matches. */
  exact: boolean;
}

export interface SearchPlanResult {
  plan: CandidatePlan;
  /** The whole query was planned exactly (then `plan.page` may be set). */
  exact: boolean;
}

const ALL: Cond = { op: 'all' };
const NONE: Cond = { op: 'none' };

/**
 * Plan a search. Validates the body first (the evaluator's parser, so a bad body fails with
 * today's error before the store is read).
 */
export function planSearch(body: unknown, target: SearchTarget, opts: Pick<SearchOptions, 'excludes' | 'filter'>): SearchPlanResult {
  const req = parseRequest(body, { now: Date.now() });
  // `_doc` sorts by a document's position in the whole listing, which shows in the hits' sort
  // values: only the full listing gives it.
  if (req.sort?.some((k) => k.kind === 'doc')) return { plan: { where: ALL }, exact: false };
  const planner = new Planner(target, opts.excludes ?? []);
  const b = isObject(body) ? body : {};
  const parts: Planned[] = [];
  for (const key of ['query', 'post_filter']) {
    const q = b[key];
    if (q === undefined) continue;
    parts.push(planner.clause(q) ?? { cond: ALL, exact: false });
  }
  if (opts.filter !== undefined) {
    // The caller's extra filter (backend roles, tenant) sees the whole document: nothing hidden.
    parts.push(new Planner(target, []).clause(opts.filter) ?? { cond: ALL, exact: false });
  }
  const where = and(parts.map((p) => p.cond));
  const exact = parts.every((p) => p.exact);
  const plan: CandidatePlan = { where };
  if (!exact || req.terminateAfter > 0 || req.minScore !== undefined) return { plan, exact };

  // The page through the index: listing order (no sort, or OpenSearch's default `_score desc`),
  // or one numeric indexed field with missing values last.
  const keys = req.sort ?? [];
  const [first] = keys;
  let order: { field: SearchField; desc: boolean } | undefined;
  if (keys.length === 0 || (keys.length === 1 && first?.kind === 'score' && first.desc)) {
    order = undefined;
  } else if (
    keys.length === 1 &&
    first !== undefined &&
    first.kind === 'field' &&
    first.missing === '_last' &&
    first.nested === undefined
  ) {
    const spec = planner.spec(first.field, false);
    if (spec?.type.kind !== 'numeric') return { plan, exact };
    order = { field: spec.field, desc: first.desc };
  } else {
    return { plan, exact };
  }
  let after: { value: number } | 'missing' | undefined;
  if (req.searchAfter !== undefined) {
    if (order === undefined || req.searchAfter.length !== 1 || req.from > 0) return { plan, exact };
    const a = req.searchAfter[0];
    const n = typeof a === 'number' ? a : typeof a === 'boolean' ? Number(a) : typeof a === 'string' ? numericString(a) : undefined;
    if (a === null) after = 'missing';
    else if (n === undefined) return { plan, exact };
    else after = { value: n };
  }
  plan.page = { ...(order === undefined ? {} : { order }), ...(after === undefined ? {} : { after }), limit: req.from + req.size };
  // Counted one past track_total_hits, so `gte` is told apart; at least 1 for max_score.
  plan.countUpTo = req.trackTotalHits < 0 ? 1 : req.trackTotalHits + 1;
  return { plan, exact };
}

class Planner {
  readonly #fields: ReadonlyMap<string, FieldSpec>;
  readonly #idField: SearchField;
  readonly #text: ReadonlyMap<string, SearchField>;
  readonly #excludes: readonly string[];

  constructor(target: SearchTarget, excludes: readonly string[]) {
    this.#fields = FIELDS[target];
    this.#idField = ID_FIELD[target];
    this.#text = TEXT_FIELDS[target];
    this.#excludes = excludes;
  }

  /** The indexed field at a query's field name (`stripKeyword`: a `.keyword` suffix reads the same path). */
  spec(name: string, stripKeyword: boolean): FieldSpec | undefined {
    const path = stripKeyword ? fieldRef(name).path : name;
    if (this.#hidden(path)) return undefined;
    return this.#fields.get(path);
  }

  /** Hidden from the caller's queries (source excludes): conservatively, any overlap. */
  #hidden(path: string): boolean {
    return this.#excludes.some((e) => e.includes('*') || e === path || path.startsWith(`${e}.`) || e.startsWith(`${path}.`));
  }

  /** One query clause; undefined: not plannable (narrows nothing). */
  clause(q: unknown): Planned | undefined {
    if (!isObject(q)) return undefined;
    const keys = Object.keys(q);
    if (keys.length !== 1) return undefined;
    const kind = keys[0] as string;
    const body = q[kind];
    if (!isObject(body)) return undefined;
    switch (kind) {
      case 'match_all':
        return { cond: ALL, exact: true };
      case 'match_none':
        return { cond: NONE, exact: true };
      case 'bool':
        return this.#bool(body);
      case 'constant_score':
        return this.clause(body['filter']);
      case 'ids':
        return this.#ids(body);
      case 'term':
        return this.#term(body);
      case 'terms':
        return this.#terms(body);
      case 'prefix':
        return this.#prefix(body);
      case 'exists':
        return this.#exists(body);
      case 'range':
        return this.#range(body);
      case 'nested':
        return this.#nestedRoles(body);
      case 'match':
      case 'match_phrase':
      case 'match_phrase_prefix':
        return this.#match(kind, body);
      default:
        return undefined;
    }
  }

  /**
   * A full-text query on a string field matches only values whose lowercase holds its query
   * tokens (query-text.ts: each token found is a substring of the lowercased value): any of them
   * for `match` (at least one is always required), all of them for `operator: and` and phrases.
   * Never exact: the evaluator decides on word boundaries.
   */
  #match(kind: string, body: JsonObject): Planned | undefined {
    const fields = Object.keys(body);
    if (fields.length !== 1) return undefined;
    const name = fields[0] as string;
    if (name.endsWith('.keyword') || this.#hidden(name)) return undefined;
    const field = this.#text.get(name);
    if (field === undefined) return undefined;
    const v = body[name];
    let query: unknown = v;
    let all = kind !== 'match';
    if (isObject(v)) {
      query = v['query'];
      if (kind === 'match' && typeof v['operator'] === 'string') all = v['operator'].toLowerCase() === 'and';
    }
    if (!isScalar(query)) return undefined;
    const qTokens = tokens(String(query));
    if (qTokens.length === 0) return undefined; // zero_terms_query decides
    const usable = qTokens.filter((t) => ASCII_TOKEN.test(t));
    if (all ? usable.length === 0 : usable.length < qTokens.length) return undefined;
    const conds: Cond[] = [...new Set(usable)].map((token) => ({ op: 'contains', field, token }));
    return { cond: conds.length === 1 ? (conds[0] as Cond) : { op: all ? 'and' : 'or', conds }, exact: false };
  }

  /**
   * The backend-role filter (`nested` on `user`, `terms`/`term` on `user.backend_roles.keyword`):
   * a user whose backend roles, strings as the store keeps them, hold one of the values.
   */
  #nestedRoles(body: JsonObject): Planned | undefined {
    if (body['path'] !== 'user' || this.#hidden('user')) return undefined;
    if (Object.keys(body).some((k) => !['path', 'query', 'score_mode', 'ignore_unmapped', 'boost', '_name'].includes(k))) return undefined;
    const q = body['query'];
    if (!isObject(q) || Object.keys(q).length !== 1) return undefined;
    const inner = q['terms'] ?? q['term'];
    if (!isObject(inner)) return undefined;
    const fields = entries(inner).filter(([k]) => k !== 'boost' && k !== '_name');
    if (fields.length !== 1 || fields[0]?.[0] !== 'user.backend_roles.keyword') return undefined;
    const v = fields[0][1];
    const values = q['terms'] !== undefined ? v : isObject(v) ? v['value'] : v;
    const list = Array.isArray(values) ? (values as unknown[]) : [values];
    if (!list.every((x) => typeof x === 'string')) return undefined;
    if (q['term'] !== undefined && isObject(v) && v['case_insensitive'] !== undefined && v['case_insensitive'] !== false) return undefined;
    return { cond: { op: 'role', values: [...new Set(list)] }, exact: true };
  }

  #bool(body: JsonObject): Planned | undefined {
    const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? (v as unknown[]) : [v]);
    const required = [...list(body['must']), ...list(body['filter'])];
    const should = list(body['should']);
    const mustNot = list(body['must_not']);
    const parts: Cond[] = [];
    let exact = true;
    for (const c of required) {
      const p = this.clause(c);
      if (p === undefined) exact = false;
      else {
        parts.push(p.cond);
        exact &&= p.exact;
      }
    }
    for (const c of mustNot) {
      const p = this.clause(c);
      if (p?.exact === true) parts.push({ op: 'not', cond: p.cond });
      else exact = false;
    }
    // minimum_should_match applies even without should clauses (then nothing matches): never exact.
    const msm = body['minimum_should_match'] !== undefined;
    if (msm) exact = false;
    if (should.length > 0) {
      if (required.length === 0) {
        // At least one should clause must match (more with minimum_should_match): OR narrows.
        const planned = should.map((c) => this.clause(c));
        if (planned.every((p): p is Planned => p !== undefined)) {
          parts.push({ op: 'or', conds: planned.map((p) => p.cond) });
          exact &&= !msm && planned.every((p) => p.exact);
        } else {
          exact = false;
        }
      } else if (msm) {
        exact = false; // may require some should clauses: left to the evaluator
      }
    }
    return { cond: and(parts), exact };
  }

  #ids(body: JsonObject): Planned | undefined {
    const values = body['values'];
    if (!Array.isArray(values)) return undefined;
    return { cond: { op: 'in', field: this.#idField, values: (values as unknown[]).map(String) }, exact: true };
  }

  /** The one field of a term/prefix body and its value and case_insensitive flag. */
  #single(body: JsonObject, valueKeys: readonly string[]): { name: string; value: Scalar; ci: boolean } | undefined {
    const fields = entries(body).filter(([k, v]) => v !== null && k !== 'boost' && k !== '_name');
    if (fields.length !== 1) return undefined;
    const [name, v] = fields[0] as [string, unknown];
    if (isScalar(v)) return { name, value: v, ci: false };
    if (!isObject(v)) return undefined;
    let value: Scalar | undefined;
    let ci = false;
    for (const [k, x] of entries(v)) {
      if (valueKeys.includes(k) && isScalar(x)) value = x;
      else if (k === 'case_insensitive') ci = x === true || x === 'true';
    }
    return value === undefined ? undefined : { name, value, ci };
  }

  #term(body: JsonObject): Planned | undefined {
    const t = this.#single(body, ['value', 'term']);
    if (t === undefined) return undefined;
    const spec = this.spec(t.name, true);
    if (spec === undefined) return undefined;
    const raw = fieldRef(t.name).raw;
    switch (spec.type.kind) {
      case 'numeric': {
        const n = toNumber(t.value);
        return { cond: n === undefined ? NONE : { op: 'in', field: spec.field, values: [n] }, exact: true };
      }
      case 'keyword':
        if (!raw || t.ci) return undefined; // text reading (tokens) or case folding: not indexed
        return { cond: { op: 'in', field: spec.field, values: [String(t.value)] }, exact: true };
      case 'enum':
        return enumCond(spec, (v) => termEquals(v, t.value, raw, t.ci));
    }
  }

  #terms(body: JsonObject): Planned | undefined {
    const fields = entries(body).filter(([, v]) => Array.isArray(v));
    if (fields.length !== 1) return undefined;
    const [name, list] = fields[0] as [string, unknown[]];
    if (!list.every(isScalar)) return undefined;
    const values = list;
    const spec = this.spec(name, true);
    if (spec === undefined) return undefined;
    const raw = fieldRef(name).raw;
    switch (spec.type.kind) {
      case 'numeric': {
        const nums = values.filter((v) => typeof v !== 'boolean').map(toNumber);
        const set = [...new Set(nums.filter((n): n is number => n !== undefined))];
        return { cond: set.length === 0 ? NONE : { op: 'in', field: spec.field, values: set }, exact: true };
      }
      case 'keyword':
        if (!raw) return undefined;
        return { cond: { op: 'in', field: spec.field, values: [...new Set(values.map(String))] }, exact: true };
      case 'enum':
        return enumCond(spec, (v) => values.some((q) => termEquals(v, q, raw, false)));
    }
  }

  #prefix(body: JsonObject): Planned | undefined {
    const t = this.#single(body, ['value']);
    if (t === undefined) return undefined;
    const spec = this.spec(t.name, true);
    if (spec === undefined) return undefined;
    const raw = fieldRef(t.name).raw;
    const want = t.ci ? String(t.value).toLowerCase() : String(t.value);
    switch (spec.type.kind) {
      case 'numeric':
        return undefined; // a number's prefix is of its string form
      case 'keyword':
        if (!raw || t.ci) return undefined;
        return { cond: { op: 'prefix', field: spec.field, prefix: want }, exact: true };
      case 'enum':
        return enumCond(spec, (v) => stringOrTokens(v, raw, t.ci, (s) => s.startsWith(want)));
    }
  }

  #exists(body: JsonObject): Planned | undefined {
    const name = body['field'];
    if (typeof name !== 'string') return undefined;
    const spec = this.spec(name, true);
    if (spec === undefined) return undefined;
    return { cond: { op: 'exists', field: spec.field }, exact: true };
  }

  #range(body: JsonObject): Planned | undefined {
    const fields = entries(body).filter(([, v]) => isObject(v));
    if (fields.length !== 1) return undefined;
    const [name, spec0] = fields[0] as [string, JsonObject];
    const spec = this.spec(name, true);
    if (spec?.type.kind !== 'numeric') return undefined;
    // parseRange's reading of the bounds (query-range.ts), then the same toBound.
    let from: Scalar | null = null;
    let to: Scalar | null = null;
    let includeLower = true;
    let includeUpper = true;
    let epochSeconds = false;
    for (const [k, v] of entries(spec0)) {
      if (v !== null && !isScalar(v)) return undefined;
      if (k === 'gt' || k === 'gte' || k === 'from') {
        from = v;
        if (k !== 'from') includeLower = k === 'gte';
      } else if (k === 'lt' || k === 'lte' || k === 'to') {
        to = v;
        if (k !== 'to') includeUpper = k === 'lte';
      } else if (k === 'include_lower') includeLower = v === true || v === 'true';
      else if (k === 'include_upper') includeUpper = v === true || v === 'true';
      else if (k === 'format') epochSeconds = typeof v === 'string' && v.split('||').includes('epoch_second');
      else if (!['relation', 'time_zone', '_name', 'boost'].includes(k)) return undefined;
    }
    const now = Date.now();
    const cond: Cond & { op: 'range' } = { op: 'range', field: spec.field };
    let exact = true;
    if (from !== null) {
      const b = toBound(from, includeLower, !includeLower, now, epochSeconds);
      if (b.num === undefined || Number.isNaN(b.num)) return { cond: NONE, exact: true };
      // `now` moves on before the evaluator reads it: a lower bound only rises, still a superset.
      if (mentionsNow(from)) exact = false;
      if (b.inclusive) cond.gte = b.num;
      else cond.gt = b.num;
    }
    if (to !== null) {
      const b = toBound(to, includeUpper, includeUpper, now, epochSeconds);
      if (b.num === undefined || Number.isNaN(b.num)) return { cond: NONE, exact: true };
      if (mentionsNow(to))
        exact = false; // an upper bound would rise: not narrowed
      else if (b.inclusive) cond.lte = b.num;
      else cond.lt = b.num;
    }
    return { cond, exact };
  }
}

function mentionsNow(v: Scalar): boolean {
  return typeof v === 'string' && v.startsWith('now');
}

/** termEquals' reading of a query value against a number. */
function toNumber(q: Scalar): number | undefined {
  if (typeof q === 'number') return q;
  if (typeof q === 'string') return numericString(q);
  return undefined;
}

/** An enum-valued field (the whole set of values is known): the values the evaluator would match. */
function enumCond(spec: FieldSpec, test: (v: string) => boolean): Planned {
  const values = spec.type.kind === 'enum' ? spec.type.values : [];
  const matching: SearchValue[] = values.filter(test);
  return { cond: matching.length === 0 ? NONE : { op: 'in', field: spec.field, values: matching }, exact: true };
}

function and(conds: Cond[]): Cond {
  const parts = conds.filter((c) => c.op !== 'all');
  if (parts.some((c) => c.op === 'none')) return NONE;
  if (parts.length === 0) return ALL;
  return parts.length === 1 ? (parts[0] as Cond) : { op: 'and', conds: parts };
}
