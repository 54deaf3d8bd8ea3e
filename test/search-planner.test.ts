/**
 * The indexed search path (search/indexed-search.ts: planner + store candidates + evaluator)
 * answers exactly as the plain scan of every document (query-dsl.ts searchDocuments): same hits,
 * order, totals and max_score, on random documents and random queries, on SQLite and PostgreSQL.
 * Also checks that the planner really narrows (the cases a store index answers).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Store, WorkflowRecord, StateRecord } from '../src/store/store.js';
import type { OsUser, Template } from '../src/template/types.js';
import type { SearchDoc, SearchOptions } from '../src/search/types.js';
import { searchDocuments } from '../src/search/query-dsl.js';
import { searchStatesIndexed, searchTemplatesIndexed } from '../src/search/indexed-search.js';
import { planSearch } from '../src/search/query-plan.js';
import { serializeTemplate } from '../src/template/template-serializer.js';
import { stateDocument } from '../src/server/views/status-view.js';
import { openTestStore, storeMatrix } from './support/store-matrix.js';
import { PG_TEMPLATE_SEARCH_COLUMNS } from '../src/store/search-columns.js';
import { POSTGRES_MIGRATIONS } from '../src/store/postgres/postgres-migrations.js';
import type { TestStore } from './support/store-matrix.js';

const OS_VERSION = '2.19.0';
/** SEARCH_PLANNER_RUNS / SEARCH_PLANNER_SEED widen a run by hand; the suite's default is fixed. */
const RUNS = Number(process.env['SEARCH_PLANNER_RUNS'] ?? 600);
const SEED = process.env['SEARCH_PLANNER_SEED'] === undefined ? undefined : Number(process.env['SEARCH_PLANNER_SEED']);
const T0 = 1_700_000_000_000;
const NAMES = ['alpha', 'Alpha', 'alpha beta', ' alpha ', '\u00a0beta\u3000', 'beta_gamma', 'gamma-1', '', 'δelta', '10', 'alp'];
const USE_CASES = ['SEMANTIC_SEARCH', 'semantic_search', 'HYBRID', 'RAG', ''];
// \u212a (Kelvin) and \u0130 lowercase to ASCII in JavaScript but not in SQL.
const WORDS = ['fast', 'vector', 'search', 'Hybrid', 'rag', 'model', '\u212aey', '\u0130d', 'vector_search', 'Ünïcode'];
const TIMES = [T0, T0 + 1, T0 + 1, T0 + 86_400_000, T0 + 5 * 86_400_000];

const toTemplateDoc = (w: WorkflowRecord): SearchDoc => ({
  _id: w.id,
  _source: serializeTemplate(w.template, { includeUser: true, redact: () => false, opensearchVersion: OS_VERSION }),
  _version: w.version,
  _seq_no: w.version - 1,
  _primary_term: 1,
});
const toStateDoc = (s: StateRecord): SearchDoc => ({
  _id: s.workflowId,
  _source: stateDocument(s, OS_VERSION),
  _version: s.version,
  _seq_no: s.version - 1,
  _primary_term: 1,
});

// ------------------------------------------------------------------ random documents

const templateArb: fc.Arbitrary<Template> = fc
  .record({
    name: fc.constantFrom(...NAMES),
    description: fc.array(fc.constantFrom(...WORDS), { maxLength: 4 }).map((ws) => ws.join(' ')),
    use_case: fc.constantFrom(...USE_CASES),
    created: fc.option(fc.constantFrom(...TIMES), { nil: undefined }),
    updated: fc.option(fc.constantFrom(...TIMES), { nil: undefined }),
  })
  .map(({ name, description, use_case, created, updated }) => ({
    name,
    description,
    use_case,
    workflows: {},
    ...(created === undefined ? {} : { created_time: created }),
    ...(updated === undefined ? {} : { last_updated_time: updated }),
  }));

const ROLE_SETS: string[][] = [['ops'], ['dev', 'ops'], [], ['Ops'], ['admin']];
const userOf = (i: number): OsUser | undefined => {
  const roles = ROLE_SETS[i % (ROLE_SETS.length + 1)];
  return roles === undefined
    ? undefined
    : { name: `u${i}`, backend_roles: roles, roles: [], custom_attribute_names: [], user_requested_tenant: null };
};

type StateMove = 'none' | 'provisioning' | 'completed' | 'failed';
const stateMoveArb = fc.constantFrom<StateMove>('none', 'provisioning', 'completed', 'failed');

// ------------------------------------------------------------------ random queries

const TEMPLATE_FIELDS = ['name', 'name.keyword', 'use_case', 'use_case.keyword', 'created_time', 'last_updated_time', 'description', '_id'];
const STATE_FIELDS = [
  'workflow_id',
  'workflow_id.keyword',
  'state',
  'state.keyword',
  'provisioning_progress',
  'provision_start_time',
  'provision_end_time',
  'error',
];
const NUMERIC = ['created_time', 'last_updated_time', 'provision_start_time', 'provision_end_time'];
const VALUES: unknown[] = [
  ...NAMES,
  ...USE_CASES,
  'alpha',
  'beta',
  'NOT_STARTED',
  'not_started',
  'COMPLETED',
  'failed',
  'IN_PROGRESS',
  'DONE',
  'wf_3',
  ...TIMES,
  String(T0),
  'x',
  true,
  10,
];
const BOUNDS: unknown[] = [
  T0 - 1,
  T0,
  T0 + 1,
  T0 + 86_400_000,
  String(T0 + 2),
  '2023-11-14',
  '2023-11-15T00:00:00Z',
  'now-10000d',
  'now',
  'abc',
  true,
];

function queryArb(fields: string[], ids: string[]): fc.Arbitrary<unknown> {
  const field = fc.constantFrom(...fields);
  const numField = fc.constantFrom(...fields.filter((f) => NUMERIC.includes(f)));
  const value = fc.constantFrom(...VALUES);
  const leaf = fc.oneof(
    fc.constant({ match_all: {} }),
    fc.constant({ match_none: {} }),
    fc.record({ f: field, v: value }).map(({ f, v }) => ({ term: { [f]: v } })),
    fc.record({ f: field, v: value, ci: fc.boolean() }).map(({ f, v, ci }) => ({ term: { [f]: { value: v, case_insensitive: ci } } })),
    fc.record({ f: field, vs: fc.array(value, { minLength: 1, maxLength: 4 }) }).map(({ f, vs }) => ({ terms: { [f]: vs } })),
    fc.array(fc.constantFrom(...ids, 'nope'), { maxLength: 4 }).map((vs) => ({ ids: { values: vs } })),
    fc.record({ f: field, p: fc.constantFrom('a', 'al', 'Al', 'be', '', 'N', 'not', 'C', 'gamma-', 'wf_1', '\u00a0') }).map(({ f, p }) => ({
      prefix: { [f]: p },
    })),
    field.map((f) => ({ exists: { field: f } })),
    fc
      .record({
        f: numField,
        lo: fc.option(fc.record({ k: fc.constantFrom('gt', 'gte', 'from'), v: fc.constantFrom(...BOUNDS) }), { nil: undefined }),
        hi: fc.option(fc.record({ k: fc.constantFrom('lt', 'lte', 'to'), v: fc.constantFrom(...BOUNDS) }), { nil: undefined }),
      })
      .map(({ f, lo, hi }) => ({ range: { [f]: { ...(lo ? { [lo.k]: lo.v } : {}), ...(hi ? { [hi.k]: hi.v } : {}) } } })),
    fc
      .record({
        kind: fc.constantFrom('match', 'match_phrase', 'match_phrase_prefix'),
        f: fc.constantFrom('description', 'name', 'description.keyword'),
        q: fc.constantFrom(
          'alpha',
          'vector search',
          'hybrid',
          'key',
          'i',
          'VECTOR_search',
          'ünïcode',
          'fast ünïcode',
          '',
          'beta gamma',
          'gamma-1',
        ),
        op: fc.constantFrom(undefined, 'and', 'or'),
      })
      .map(({ kind, f, q, op }) => ({ [kind]: { [f]: op === undefined || kind !== 'match' ? q : { query: q, operator: op } } })),
  );
  const { tree } = fc.letrec((tie) => ({
    tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, { arbitrary: leaf, weight: 3 }, { arbitrary: tie('bool'), weight: 1 }),
    bool: fc
      .record(
        {
          must: fc.array(tie('tree'), { maxLength: 1 }),
          filter: fc.array(tie('tree'), { maxLength: 2 }),
          should: fc.array(tie('tree'), { maxLength: 3 }),
          must_not: fc.array(tie('tree'), { maxLength: 1 }),
          minimum_should_match: fc.constantFrom(1, 2, '50%'),
        },
        { requiredKeys: [] },
      )
      .map((b) => ({ bool: b })),
  }));
  return tree;
}

function bodyArb(fields: string[], ids: string[]): fc.Arbitrary<Record<string, unknown>> {
  const numSorts = fields.filter((f) => NUMERIC.includes(f));
  const sort = fc.oneof(
    fc.constant(undefined),
    fc
      .constantFrom(...numSorts)
      .chain((f) => fc.constantFrom([{ [f]: 'desc' }], [{ [f]: 'asc' }], [f], [{ [f]: { order: 'desc', missing: '_first' } }])),
    fc.constantFrom(
      [{ _score: 'desc' }],
      ['_doc'],
      [{ [fields[0] as string]: 'asc' }],
      [{ [numSorts[0] as string]: 'desc' }, { [fields[0] as string]: 'asc' }],
    ),
  );
  return fc
    .record(
      {
        query: queryArb(fields, ids),
        post_filter: fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: queryArb(fields, ids), weight: 1 }),
        sort,
        size: fc.integer({ min: 0, max: 12 }),
        from: fc.integer({ min: 0, max: 6 }),
        track_total_hits: fc.constantFrom(true, false, 3, 0),
        after: fc.constantFrom(null, T0, T0 + 1, String(T0 + 86_400_000), 'zzz'),
      },
      { requiredKeys: ['query'] },
    )
    .map(({ after, sort: s, post_filter: pf, ...b }) => {
      const body: Record<string, unknown> = { ...b, version: true, seq_no_primary_term: true };
      if (pf !== undefined) body['post_filter'] = pf;
      if (s !== undefined) body['sort'] = s;
      // search_after only with a one-key sort and from 0 (else the evaluator's own errors: also compared)
      if (after !== undefined && Array.isArray(s) && s.length === 1 && body['from'] === undefined) body['search_after'] = [after];
      return body;
    });
}

// ------------------------------------------------------------------ comparison

async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    const r = (await p) as { took?: number };
    return { ok: { ...r, took: 0 } };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

const matrix = await storeMatrix();

it('PostgreSQL queries repeat the expressions its search indexes are built on', () => {
  const sql = POSTGRES_MIGRATIONS.find((m) => m.name === 'search-columns')?.sql ?? '';
  for (const [field, expr] of Object.entries(PG_TEMPLATE_SEARCH_COLUMNS)) {
    if (field !== 'id' && field !== 'description') assert.ok(sql.includes(`(${expr}`), `${field}: ${expr}`);
  }
});

for (const { kind, skip } of matrix) {
  describe(`indexed search = scan (${kind})`, { skip }, () => {
    let ts: TestStore;
    let store: Store;
    let templateIds: string[] = [];

    before(async () => {
      ts = await openTestStore(kind);
      store = ts.store;
      const docs = fc.sample(fc.tuple(templateArb, stateMoveArb), { numRuns: 70, seed: 42 });
      let i = 0;
      for (const [t, move] of docs) {
        const id = `wf_${i++}`;
        templateIds.push(id);
        const user = userOf(i);
        const template = user === undefined ? t : { ...t, user };
        assert.equal(await store.createWorkflow({ id, template, ...(user === undefined ? {} : { user }), maxWorkflows: 1_000_000 }), 'ok');
        if (move === 'none') continue;
        const start = TIMES[i % TIMES.length] as number;
        const begun = await store.beginRun({
          workflowId: id,
          runId: `${id}_r`,
          kind: 'provision',
          plan: { nodes: [] },
          params: 'p',
          owner: 'test',
          leaseMs: 60_000,
          startTime: start,
          allowedStates: ['NOT_STARTED'],
          keepResources: false,
        });
        assert.ok(begun.ok);
        if (move === 'completed' || move === 'failed') {
          await store.finishRun({
            runId: `${id}_r`,
            workflowId: id,
            state: move === 'completed' ? 'COMPLETED' : 'FAILED',
            ...(move === 'failed' ? { error: 'boom' } : {}),
            endTime: start + (i % 3),
          });
        }
      }
      templateIds = templateIds.slice(0, 8);
    });
    after(() => ts.cleanup());

    const optsArb = fc.record({
      excludes: fc.constantFrom<string[]>([], ['user'], ['name']),
      filter: fc.constantFrom<unknown>(
        undefined,
        { exists: { field: 'description' } },
        { term: { 'state.keyword': 'NOT_STARTED' } },
        { range: { created_time: { gte: T0 + 1 } } },
        { bool: { filter: [{ term: { state: 'failed' } }, { exists: { field: 'name' } }] } },
        { nested: { path: 'user', query: { terms: { 'user.backend_roles.keyword': ['ops'] } } } },
        { nested: { path: 'user', query: { terms: { 'user.backend_roles.keyword': ['dev', 'admin', 'nobody'] } } } },
        { nested: { path: 'user', query: { term: { 'user.backend_roles.keyword': 'ops' } } } },
        { nested: { path: 'user', query: { terms: { 'user.backend_roles.keyword': [] } } } },
      ),
    });

    it('workflow/_search: same response as the scan', async () => {
      await fc.assert(
        fc.asyncProperty(bodyArb(TEMPLATE_FIELDS, templateIds), optsArb, async (body, o) => {
          const opts: SearchOptions = { index: '.plugins-flow-framework-templates', tookMs: 0, excludes: o.excludes, filter: o.filter };
          const scan = outcome(store.listWorkflows().then((ws) => searchDocuments(ws.map(toTemplateDoc), body, opts)));
          const planned = outcome(searchTemplatesIndexed(store, body, { ...opts, toDoc: toTemplateDoc }));
          assert.deepEqual(await planned, await scan, JSON.stringify(body));
        }),
        { numRuns: RUNS, seed: SEED ?? 7 },
      );
    });

    it('workflow/state/_search: same response as the scan', async () => {
      await fc.assert(
        fc.asyncProperty(bodyArb(STATE_FIELDS, templateIds), optsArb, async (body, o) => {
          const opts: SearchOptions = { index: '.plugins-flow-framework-state', tookMs: 0, excludes: o.excludes, filter: o.filter };
          const scan = outcome(store.listStates().then((ss) => searchDocuments(ss.map(toStateDoc), body, opts)));
          const planned = outcome(searchStatesIndexed(store, body, { ...opts, toDoc: toStateDoc }));
          assert.deepEqual(await planned, await scan, JSON.stringify(body));
        }),
        { numRuns: RUNS, seed: SEED ?? 11 },
      );
    });

    it('search_after pages through the index as through the scan', async () => {
      const opts: SearchOptions = { index: '.plugins-flow-framework-templates', tookMs: 0 };
      const all = (await store.listWorkflows()).map(toTemplateDoc);
      for (const order of ['asc', 'desc']) {
        for (const after of [null, T0 - 1, T0, T0 + 1, T0 + 86_400_000, T0 + 10 * 86_400_000]) {
          for (const size of [1, 3, 12]) {
            const body = { sort: [{ created_time: order }], size, search_after: [after], track_total_hits: true };
            const planned = await searchTemplatesIndexed(store, body, { ...opts, toDoc: toTemplateDoc });
            assert.deepEqual(planned, await searchDocuments(all, body, opts), JSON.stringify(body));
          }
        }
      }
    });

    it('a planned query reads only its page and counts the rest', async () => {
      const body = { query: { bool: { filter: [{ range: { created_time: { gte: T0 } } }] } }, sort: [{ created_time: 'desc' }], size: 3 };
      const { plan, exact } = planSearch(body, 'templates', {});
      assert.equal(exact, true);
      assert.deepEqual(plan.page, { order: { field: 'created_time', desc: true }, limit: 3 });
      const found = await store.searchWorkflowCandidates(plan);
      assert.ok(found.records.length >= 3 && found.records.length < templateIds.length + 62, `page read ${found.records.length} rows`);
      const all = (await store.listWorkflows()).filter((w) => (w.template.created_time ?? -1) >= T0).length;
      assert.equal(found.total, all);
    });

    it('a term on name.keyword reads only the matching rows', async () => {
      const { plan } = planSearch({ query: { term: { 'name.keyword': 'alpha' } }, sort: ['name'] }, 'templates', {});
      assert.equal(plan.page, undefined); // a sort on a string: narrowed, the evaluator sorts
      const found = await store.searchWorkflowCandidates(plan);
      const want = (await store.listWorkflows()).filter((w) => w.template.name.trim() === 'alpha').map((w) => w.id);
      assert.ok(want.length > 0);
      assert.deepEqual(
        found.records.map((w) => w.id),
        want,
      );
    });

    it('a match is narrowed by substring, never answered by the index alone', async () => {
      const { plan, exact } = planSearch({ query: { match: { description: 'Vector hybrid' } } }, 'templates', {});
      assert.equal(exact, false);
      assert.deepEqual(plan.where, {
        op: 'or',
        conds: [
          { op: 'contains', field: 'description', token: 'vector' },
          { op: 'contains', field: 'description', token: 'hybrid' },
        ],
      });
      const found = await store.searchWorkflowCandidates(plan);
      const all = await store.listWorkflows();
      assert.ok(found.records.length > 0 && found.records.length < all.length);
    });

    it('a match finds values that only JavaScript lowercases to its words (\u212a, \u0130)', async () => {
      const cases: Array<[string, string, string]> = [
        ['wf_kelvin', 'the \u212aEY', 'key'],
        ['wf_dotted', 'an \u0130D', 'i'],
        ['wf_dotted2', 'an \u0130D', 'd'],
      ];
      for (const [id, description] of cases) {
        const t: Template = { name: 'case', description, use_case: '', workflows: {} };
        assert.equal(await store.createWorkflow({ id, template: t, maxWorkflows: 1e6 }), 'ok');
      }
      try {
        for (const [id, , q] of cases) {
          const body = { query: { bool: { filter: [{ ids: { values: [id] } }, { match: { description: q } }] } } };
          const opts: SearchOptions = { index: '.plugins-flow-framework-templates', tookMs: 0 };
          const planned = await searchTemplatesIndexed(store, body, { ...opts, toDoc: toTemplateDoc });
          assert.deepEqual(
            planned.hits.hits.map((h) => h._id),
            [id],
            q,
          );
        }
      } finally {
        for (const [id] of cases) await store.deleteWorkflow(id, true);
      }
    });

    it('the backend-role filter is answered by the index', async () => {
      const filter = { nested: { path: 'user', query: { terms: { 'user.backend_roles.keyword': ['ops'] } } } };
      const { plan, exact } = planSearch({ size: 2 }, 'templates', { filter });
      assert.equal(exact, true);
      assert.deepEqual(plan.where, { op: 'role', values: ['ops'] });
      const found = await store.searchWorkflowCandidates(plan);
      const want = (await store.listWorkflows()).filter((w) => w.template.user?.backend_roles.includes('ops') === true).length;
      assert.ok(want > 0);
      assert.equal(found.total, want);
      assert.equal(found.records.length, 2);
    });

    it('a query it cannot narrow reads everything', async () => {
      const { plan, exact } = planSearch({ query: { wildcard: { description: 'vec*' } } }, 'templates', {});
      assert.equal(exact, false);
      assert.deepEqual(plan.where, { op: 'all' });
    });

    it('generated columns follow template writes', async () => {
      const id = 'wf_written';
      await store.createWorkflow({
        id,
        template: { name: 'written', description: '', use_case: '', workflows: {}, created_time: 5 },
        maxWorkflows: 1e6,
      });
      const byName = (n: string) => store.searchWorkflowCandidates({ where: { op: 'in', field: 'name', values: [n] } });
      assert.deepEqual(
        (await byName('written')).records.map((w) => w.id),
        [id],
      );
      await store.saveTemplate(id, { name: ' renamed\u2003', description: '', use_case: '', workflows: {}, created_time: 5 });
      assert.deepEqual((await byName('written')).records, []);
      assert.deepEqual(
        (await byName('renamed')).records.map((w) => w.id),
        [id],
      );
      await store.deleteWorkflow(id, true);
      assert.deepEqual((await byName('renamed')).records, []);
    });

    it('a template with a lone surrogate is still written (its JSON is not parsable everywhere)', async () => {
      const t: Template = { name: 'odd', description: 'half \ud800 pair', use_case: '', workflows: {}, created_time: 7 };
      assert.equal(await store.createWorkflow({ id: 'wf_odd', template: t, maxWorkflows: 1e6 }), 'ok');
      assert.equal((await store.getWorkflow('wf_odd'))?.template.description, t.description);
      await store.deleteWorkflow('wf_odd', true);
    });
  });
}
