import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FlowdError } from '../src/errors.js';
import { executeSearch, searchError, searchErrorType } from '../src/search/query-dsl.js';
import { renderError } from '../src/server/error-renderer.js';
import type { SearchDoc, SearchOptions, SearchResponse } from '../src/search/query-dsl.js';

const INDEX = '.plugins-flow-framework-templates';

const DOCS: SearchDoc[] = [
  {
    _id: 'w1',
    _version: 3,
    _seq_no: 7,
    _primary_term: 2,
    _source: {
      name: 'Semantic Search',
      description: 'Create a connector and deploy a remote model',
      use_case: 'SEMANTIC_SEARCH',
      created_time: 1714500000000,
      tags: ['ml', 'search'],
      enabled: true,
      version: { template: '1.0.0' },
      user: { name: 'alice', backend_roles: ['analyst', 'ops'] },
      workflows: {
        provision: {
          nodes: [
            { id: 'create_connector_1', type: 'create_connector', user_inputs: { name: 'c1', credential: { key: 'sk-1' } } },
            { id: 'deploy_model_1', type: 'deploy_model', user_inputs: { model_id: 'm1' } },
          ],
        },
      },
    },
  },
  {
    _id: 'w2',
    _version: 1,
    _seq_no: 8,
    _primary_term: 2,
    _source: {
      name: 'Hybrid search',
      description: 'Model search pipeline',
      use_case: 'HYBRID_SEARCH',
      created_time: 1714600000000,
      tags: ['search'],
      enabled: false,
      last_updated_time: '2024-05-02T00:00:00Z',
      user: { name: 'bob', backend_roles: ['dev'] },
      workflows: { provision: { nodes: [{ id: 'create_index', type: 'create_index', user_inputs: { credential: { key: 'x' } } }] } },
    },
  },
  {
    _id: 'w3',
    _source: { name: 'agent flow', description: 'An agent that searches the web', tags: [], user: { name: 'carol', backend_roles: [] } },
  },
];

const STATE: SearchDoc[] = [
  {
    _id: 's1',
    _source: {
      workflow_id: 's1',
      state: 'COMPLETED',
      provision_start_time: 1714500000000,
      resources_created: [
        { workflow_step_name: 'create_connector', resource_type: 'connector_id', resource_id: 'A' },
        { workflow_step_name: 'register_model', resource_type: 'model_id', resource_id: 'B' },
      ],
    },
  },
  {
    _id: 's2',
    _source: {
      workflow_id: 's2',
      state: 'FAILED',
      provision_start_time: 1714600000000,
      error: 'Connection refused',
      resources_created: [{ workflow_step_name: 'create_connector', resource_type: 'connector_id', resource_id: 'B' }],
    },
  },
  { _id: 's3', _source: { workflow_id: 's3', state: 'NOT_STARTED', resources_created: [] } },
];

function search(body: unknown, opts: Partial<SearchOptions> = {}, docs: SearchDoc[] = DOCS): SearchResponse {
  return executeSearch(docs, body, { index: INDEX, tookMs: 0, ...opts });
}
const ids = (body: unknown, opts: Partial<SearchOptions> = {}, docs: SearchDoc[] = DOCS): string[] =>
  search(body, opts, docs).hits.hits.map((h) => h._id);
const q = (query: unknown, docs: SearchDoc[] = DOCS): string[] => ids({ query, size: 100 }, {}, docs);

function rejects(body: unknown, type: string, reason: string | RegExp, opts: Partial<SearchOptions> = {}): void {
  assert.throws(
    () => search(body, opts),
    (e: unknown) => {
      assert.ok(e instanceof FlowdError && searchErrorType(e) !== undefined, `expected a search error, got ${String(e)}`);
      assert.equal(e.status, 400);
      assert.equal(searchErrorType(e), type);
      if (typeof reason === 'string') assert.equal(e.message, reason);
      else assert.match(e.message, reason);
      return true;
    },
  );
}

void describe('response shape', () => {
  void it('renders OpenSearch SearchResponse with key order, metadata and score', () => {
    const res = search({ query: { ids: { values: ['w1'] } }, version: true, seq_no_primary_term: true, _source: ['name'] });
    assert.equal(
      JSON.stringify(res),
      JSON.stringify({
        took: 0,
        timed_out: false,
        _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
        hits: {
          total: { value: 1, relation: 'eq' },
          max_score: 1,
          hits: [{ _index: INDEX, _id: 'w1', _version: 3, _seq_no: 7, _primary_term: 2, _score: 1, _source: { name: 'Semantic Search' } }],
        },
      }),
    );
  });
  void it('omits _version/_seq_no unless asked, and max_score is null with no hits', () => {
    const hit = search({}).hits.hits[0];
    assert.deepEqual(Object.keys(hit ?? {}), ['_index', '_id', '_score', '_source']);
    const none = search({ query: { match_none: {} } });
    assert.deepEqual(none.hits, { total: { value: 0, relation: 'eq' }, max_score: null, hits: [] });
  });
  void it('accepts an absent body as match_all and measures took', () => {
    const res = executeSearch(DOCS, undefined, { index: 'x' });
    assert.equal(res.hits.hits.length, 3);
    assert.ok(Number.isInteger(res.took) && res.took >= 0);
  });
});

void describe('term-level queries', () => {
  void it('term: short and long form, raw value or lowercase token, .keyword raw only', () => {
    assert.deepEqual(q({ term: { use_case: 'SEMANTIC_SEARCH' } }), ['w1']);
    assert.deepEqual(q({ term: { name: { value: 'search', boost: 2 } } }), ['w1', 'w2']);
    assert.deepEqual(q({ term: { name: 'Search' } }), []); // text tokens are lowercase
    assert.deepEqual(q({ term: { 'name.keyword': 'agent flow' } }), ['w3']);
    assert.deepEqual(q({ term: { 'name.keyword': 'agent' } }), []);
    assert.deepEqual(q({ term: { 'name.keyword': { value: 'AGENT FLOW', case_insensitive: true } } }), ['w3']);
  });
  void it('term: numbers, booleans, arrays, _id', () => {
    assert.deepEqual(q({ term: { created_time: 1714600000000 } }), ['w2']);
    assert.deepEqual(q({ term: { created_time: '1714600000000' } }), ['w2']);
    assert.deepEqual(q({ term: { enabled: false } }), ['w2']);
    assert.deepEqual(q({ term: { tags: 'ml' } }), ['w1']);
    assert.deepEqual(q({ term: { 'user.backend_roles': 'dev' } }), ['w2']);
    assert.deepEqual(q({ term: { _id: 'w3' } }), ['w3']);
  });
  void it('terms, ids, exists', () => {
    assert.deepEqual(q({ terms: { 'user.name.keyword': ['bob', 'carol', 'zed'] } }), ['w2', 'w3']);
    assert.deepEqual(q({ ids: { values: ['w3', 'nope', 'w1'] } }), ['w1', 'w3']);
    assert.deepEqual(q({ exists: { field: 'created_time' } }), ['w1', 'w2']);
    assert.deepEqual(q({ exists: { field: 'tags' } }), ['w1', 'w2']); // [] does not exist
    assert.deepEqual(q({ exists: { field: 'workflows' } }), ['w1', 'w2']); // an object with values
    assert.deepEqual(q({ exists: { field: 'user.backend_roles' } }), ['w1', 'w2']);
  });
  void it('prefix and wildcard on raw values and tokens', () => {
    assert.deepEqual(q({ prefix: { use_case: 'HYB' } }), ['w2']);
    assert.deepEqual(q({ prefix: { name: { value: 'sem' } } }), ['w1']);
    assert.deepEqual(q({ prefix: { 'name.keyword': 'sem' } }), []);
    assert.deepEqual(q({ prefix: { 'name.keyword': { value: 'sem', case_insensitive: true } } }), ['w1']);
    assert.deepEqual(q({ wildcard: { use_case: '*_SEARCH' } }), ['w1', 'w2']);
    assert.deepEqual(q({ wildcard: { 'user.name': { value: 'b?b' } } }), ['w2']);
    assert.deepEqual(q({ wildcard: { 'user.name': 'b\\?b' } }), []);
    assert.deepEqual(q({ wildcard: { 'workflows.provision.nodes.id': 'deploy*' } }), ['w1']);
  });
  void it('range on epoch millis (numbers or ISO), ISO strings, date math and strings', () => {
    assert.deepEqual(q({ range: { created_time: { gte: 1714500000000, lt: 1714600000000 } } }), ['w1']);
    assert.deepEqual(q({ range: { created_time: { gt: 1714500000000 } } }), ['w2']);
    assert.deepEqual(q({ range: { created_time: { gte: '2024-05-01T00:00:00Z' } } }), ['w2']); // 1714521600000
    assert.deepEqual(q({ range: { created_time: { lte: '2024-05-01' } } }), ['w1']);
    assert.deepEqual(q({ range: { created_time: { lt: 'now', gt: 'now-100y/d' } } }), ['w1', 'w2']);
    assert.deepEqual(q({ range: { last_updated_time: { gte: 1714608000000 } } }), ['w2']);
    assert.deepEqual(q({ range: { last_updated_time: { gt: '2024-05-02' } } }), []);
    assert.deepEqual(q({ range: { 'user.name': { gte: 'b', lt: 'c' } } }), ['w2']);
    assert.deepEqual(q({ range: { created_time: { from: 1714600000000, include_lower: false } } }), []);
    assert.deepEqual(q({ range: { created_time: { gte: 'soon' } } }), []); // a number never compares with a word
  });
});

void describe('full-text queries', () => {
  void it('match: or / and / minimum_should_match / zero terms', () => {
    assert.deepEqual(q({ match: { description: 'MODEL agent' } }), ['w1', 'w2', 'w3']);
    assert.deepEqual(q({ match: { description: { query: 'remote model', operator: 'and' } } }), ['w1']);
    assert.deepEqual(q({ match: { description: { query: 'model pipeline web', minimum_should_match: 2 } } }), ['w2']);
    assert.deepEqual(q({ match: { description: '!!!' } }), []);
    assert.deepEqual(q({ match: { description: { query: '!!!', zero_terms_query: 'all' } } }), ['w1', 'w2', 'w3']);
    assert.deepEqual(q({ match: { created_time: 1714500000000 } }), ['w1']);
    assert.deepEqual(q({ match: { 'name.keyword': 'Hybrid search' } }), ['w2']);
  });
  void it('analysis lowercases and splits on non-alphanumerics, keeping _ inside words', () => {
    assert.deepEqual(q({ match: { use_case: 'semantic_search' } }), ['w1']);
    assert.deepEqual(q({ match: { use_case: 'search' } }), []);
    assert.deepEqual(q({ match: { description: 'CONNECTOR, model!' } }), ['w1', 'w2']);
  });
  void it('match agrees with a naive tokenizer on random text (property)', () => {
    const toks = (t: string) =>
      t
        .toLowerCase()
        .split(/[^\p{L}\p{N}_]+/u)
        .filter(Boolean);
    const text = fc.string({ unit: fc.constantFrom('a', 'B', 'é', '_', ' ', '-', '1', 'İ', '\u0301', '😀', '.'), maxLength: 12 });
    fc.assert(
      fc.property(text, text, fc.boolean(), (value, query, and) => {
        const docs: SearchDoc[] = [{ _id: 'x', _source: { f: value } }];
        const hit = q({ match: { f: { query, operator: and ? 'and' : 'or' } } }, docs).length === 1;
        const have = new Set(toks(value));
        const want = toks(query);
        assert.equal(hit, want.length > 0 && (and ? want.every((t) => have.has(t)) : want.some((t) => have.has(t))));
      }),
      { numRuns: 2000 },
    );
  });
  void it('words past 255 characters are split into tokens of 255, as the standard tokenizer does', () => {
    const long = 'é'.repeat(300);
    const docs: SearchDoc[] = [
      { _id: 'long', _source: { f: `x ${long} y` } },
      { _id: 'piece', _source: { f: 'é'.repeat(255) } },
    ];
    // The first 255 characters are a whole token of both documents; the tail only of the long one.
    assert.deepEqual(q({ match: { f: 'é'.repeat(255) } }, docs), ['long', 'piece']);
    assert.deepEqual(q({ match: { f: 'é'.repeat(45) } }, docs), ['long']);
    assert.deepEqual(q({ match: { f: { query: long, operator: 'and' } } }, docs), ['long']);
    assert.deepEqual(q({ query_string: { query: long } }, docs), ['long', 'piece']);
  });
  void it('a query of more than 1024 terms is refused as Lucene refuses it, however it is spelled', () => {
    const reason = 'failed to create query: maxClauseCount is set to 1024';
    rejects({ query: { match: { description: 'w '.repeat(1025) } } }, 'query_shard_exception', reason);
    rejects({ query: { query_string: { query: 'é'.repeat(1_000_000) } } }, 'query_shard_exception', reason);
    assert.deepEqual(q({ match: { description: `${'w '.repeat(1023)} agent` } }), q({ match: { description: 'agent' } }));
    assert.notDeepEqual(q({ match: { description: 'agent' } }), []);
  });
  void it('match_phrase needs contiguous tokens (slop relaxes it); match_phrase_prefix', () => {
    assert.deepEqual(q({ match_phrase: { description: 'deploy a remote' } }), ['w1']);
    assert.deepEqual(q({ match_phrase: { description: 'deploy remote' } }), []);
    assert.deepEqual(q({ match_phrase: { description: { query: 'deploy remote', slop: 1 } } }), ['w1']);
    assert.deepEqual(q({ match_phrase_prefix: { description: 'search pipe' } }), ['w2']);
  });
  void it('multi_match and query_string', () => {
    assert.deepEqual(q({ multi_match: { query: 'alice', fields: ['name', 'user.*'] } }), ['w1']);
    assert.deepEqual(q({ multi_match: { query: 'agent' } }), ['w3']);
    assert.deepEqual(q({ query_string: { query: 'use_case:HYBRID_SEARCH' } }), ['w2']);
    assert.deepEqual(q({ query_string: { query: 'name:search AND -user.name:bob' } }), ['w1']);
    assert.deepEqual(q({ query_string: { query: 'name:"semantic search" OR name:agent*' } }), ['w1', 'w3']);
    assert.deepEqual(q({ query_string: { query: '_exists_:created_time NOT enabled:true' } }), ['w2']);
  });
});

void describe('bool and nested', () => {
  void it('combines must / filter / should / must_not', () => {
    assert.deepEqual(q({ bool: { must: { match: { name: 'search' } }, must_not: [{ term: { enabled: false } }] } }), ['w1']);
    assert.deepEqual(q({ bool: { filter: [{ exists: { field: 'tags' } }], should: [{ term: { tags: 'nope' } }] } }), ['w1', 'w2']);
    assert.deepEqual(q({ bool: { should: [{ term: { tags: 'ml' } }, { term: { 'user.name': 'carol' } }] } }), ['w1', 'w3']);
    assert.deepEqual(q({ bool: { should: [{ term: { tags: 'ml' } }, { term: { tags: 'search' } }], minimum_should_match: 2 } }), ['w1']);
    assert.deepEqual(q({ bool: { must: [{ match_all: {} }], should: [{ term: { tags: 'x' } }], minimum_should_match: '1' } }), []);
    assert.deepEqual(q({ bool: { must_not: { ids: { values: ['w2'] } } } }), ['w1', 'w3']);
    assert.deepEqual(q({ bool: {} }), ['w1', 'w2', 'w3']);
    assert.deepEqual(q({ constant_score: { filter: { term: { tags: 'ml' } } } }), ['w1']);
    assert.deepEqual(q({ dis_max: { queries: [{ term: { tags: 'ml' } }, { ids: { values: ['w3'] } }] } }), ['w1', 'w3']);
  });
  void it('nested evaluates the inner query against one array element at a time', () => {
    const sameElement = {
      bool: { must: [{ term: { 'resources_created.resource_type': 'connector_id' } }, { term: { 'resources_created.resource_id': 'B' } }] },
    };
    assert.deepEqual(q(sameElement, STATE), ['s1', 's2']); // flattened: s1 has both, in different elements
    assert.deepEqual(q({ nested: { path: 'resources_created', query: sameElement } }, STATE), ['s2']);
    assert.deepEqual(q({ nested: { path: 'resources_created', query: { match_all: {} } } }, STATE), ['s1', 's2']);
    // fields outside the nested path do not exist inside it
    assert.deepEqual(q({ nested: { path: 'resources_created', query: { term: { state: 'FAILED' } } } }, STATE), []);
  });
  void it('applies the backend-role filter option (nested terms on user.backend_roles.keyword)', () => {
    const filter = { nested: { path: 'user', query: { terms: { 'user.backend_roles.keyword': ['ops', 'dev'] } } } };
    assert.deepEqual(ids({ size: 50 }, { filter }), ['w1', 'w2']);
    assert.deepEqual(ids({ query: { term: { tags: 'ml' } } }, { filter }), ['w1']);
    assert.equal(search({}, { filter }).hits.total?.value, 2);
  });
});

void describe('paging, sorting, totals', () => {
  void it('from / size, defaults to 10, result window limit', () => {
    const many: SearchDoc[] = Array.from({ length: 25 }, (_, i) => ({ _id: `d${i}`, _source: { n: i } }));
    assert.equal(search({}, {}, many).hits.hits.length, 10);
    assert.deepEqual(ids({ from: 20, size: 3 }, {}, many), ['d20', 'd21', 'd22']);
    const zero = search({ size: 0 }, {}, many);
    assert.deepEqual(zero.hits, { total: { value: 25, relation: 'eq' }, max_score: null, hits: [] });
    rejects(
      { from: 9999, size: 2 },
      'illegal_argument_exception',
      /^Result window is too large, from \+ size must be less than or equal to: \[10000\] but was \[10001\]\. /,
    );
    rejects({ size: -1 }, 'illegal_argument_exception', '[size] parameter cannot be negative, found [-1]');
  });
  void it('sorts by field (missing last either way), string/object/array forms, with sort values', () => {
    assert.deepEqual(ids({ sort: [{ created_time: { order: 'desc' } }] }), ['w2', 'w1', 'w3']);
    assert.deepEqual(ids({ sort: { created_time: 'asc' } }), ['w1', 'w2', 'w3']);
    assert.deepEqual(ids({ sort: [{ created_time: { order: 'asc', missing: '_first' } }] }), ['w3', 'w1', 'w2']);
    assert.deepEqual(ids({ sort: '_id' }), ['w1', 'w2', 'w3']);
    assert.deepEqual(ids({ sort: [{ _id: 'desc' }] }), ['w3', 'w2', 'w1']);
    assert.deepEqual(ids({ sort: ['user.name.keyword'] }), ['w1', 'w2', 'w3']);
    const res = search({ sort: [{ created_time: 'desc' }, '_id'] });
    assert.deepEqual(
      res.hits.hits.map((h) => [h._score, h.sort]),
      [
        [null, [1714600000000, 'w2']],
        [null, [1714500000000, 'w1']],
        [null, [null, 'w3']],
      ],
    );
    assert.equal(res.hits.max_score, null);
    const scored = search({ sort: ['_score'] });
    assert.equal(scored.hits.hits[0]?.sort, undefined); // _score desc alone is the default order
    assert.equal(scored.hits.max_score, 1);
    assert.equal(search({ sort: ['_id'], track_scores: true }).hits.hits[0]?._score, 1);
    assert.deepEqual(ids({ sort: [{ tags: { order: 'desc', mode: 'max' } }, '_id'] }), ['w1', 'w2', 'w3']);
  });
  void it('sorts by a nested field restricted by a nested filter', () => {
    const sort = [
      {
        'resources_created.resource_id': {
          order: 'desc',
          nested: { path: 'resources_created', filter: { term: { 'resources_created.resource_type': 'connector_id' } } },
        },
      },
    ];
    const res = search({ sort }, {}, STATE);
    assert.deepEqual(
      res.hits.hits.map((h) => [h._id, h.sort]),
      [
        ['s2', ['B']],
        ['s1', ['A']],
        ['s3', [null]],
      ],
    );
  });
  void it('search_after continues after the given sort values', () => {
    assert.deepEqual(ids({ sort: [{ created_time: 'asc' }], search_after: [1714500000000] }), ['w2', 'w3']);
    rejects({ sort: ['_id'], search_after: [1, 2] }, 'illegal_argument_exception', 'search_after has 2 value(s) but sort has 1.');
  });
  void it('track_total_hits: default cap at 10000, false omits total, number caps with gte', () => {
    const many: SearchDoc[] = Array.from({ length: 10005 }, (_, i) => ({ _id: String(i), _source: {} }));
    assert.deepEqual(search({ size: 0 }, {}, many).hits.total, { value: 10000, relation: 'gte' });
    assert.deepEqual(search({ size: 0, track_total_hits: true }, {}, many).hits.total, { value: 10005, relation: 'eq' });
    assert.equal('total' in search({ track_total_hits: false }).hits, false);
    assert.deepEqual(search({ track_total_hits: 2 }).hits.total, { value: 2, relation: 'gte' });
  });
  void it('post_filter, min_score and terminate_after', () => {
    assert.deepEqual(ids({ post_filter: { term: { tags: 'search' } } }), ['w1', 'w2']);
    assert.deepEqual(ids({ min_score: 2 }), []);
    const t = search({ terminate_after: 1 });
    assert.equal(t.terminated_early, true);
    assert.deepEqual(t.hits.total, { value: 1, relation: 'eq' });
  });
});

void describe('_source filtering', () => {
  const src = (body: unknown, opts: Partial<SearchOptions> = {}) =>
    search({ query: { ids: { values: ['w1'] } }, ...(body as object) }, opts).hits.hits[0]?._source;
  void it('false / string / array / includes+excludes with wildcards', () => {
    assert.equal(src({ _source: false }), undefined);
    assert.deepEqual(src({ _source: 'user.name' }), { user: { name: 'alice' } });
    assert.deepEqual(src({ _source: ['name', 'tags'] }), { name: 'Semantic Search', tags: ['ml', 'search'] });
    assert.deepEqual(src({ _source: { includes: ['user*'], excludes: ['*.backend_roles'] } }), { user: { name: 'alice' } });
    assert.deepEqual(src({ _source: { includes: 'workflows.provision.nodes.id' } }), {
      workflows: { provision: { nodes: [{ id: 'create_connector_1' }, { id: 'deploy_model_1' }] } },
    });
  });
  void it('stored_fields turns _source off unless it is asked for; __proto__ keys stay plain data', () => {
    assert.equal(src({ stored_fields: ['name'] }), undefined);
    assert.deepEqual(src({ stored_fields: '_none_', _source: ['name'] }), { name: 'Semantic Search' });
    const odd: SearchDoc = { _id: 'o', _source: JSON.parse('{"__proto__": {"x": 1}, "a": 2}') as Record<string, unknown> };
    const out = search({ query: { term: { '__proto__.x': 1 } } }, { excludes: ['a'] }, [odd]).hits.hits[0]?._source;
    assert.deepEqual(Object.keys(out ?? {}), ['__proto__']);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
  });
  void it('always removes opts.excludes, through arrays, even with includes', () => {
    const excludes = ['workflows.provision.nodes.user_inputs.credential', 'user'];
    const s = src({}, { excludes }) as Record<string, unknown>;
    assert.equal('user' in s, false);
    assert.deepEqual((s.workflows as { provision: { nodes: unknown[] } }).provision.nodes, [
      { id: 'create_connector_1', type: 'create_connector', user_inputs: { name: 'c1' } },
      { id: 'deploy_model_1', type: 'deploy_model', user_inputs: { model_id: 'm1' } },
    ]);
    assert.deepEqual(src({ _source: ['user', 'name'] }, { excludes }), { name: 'Semantic Search' });
    assert.equal(JSON.stringify(DOCS[0]?._source).includes('sk-1'), true); // input untouched
  });
});

void describe('errors', () => {
  void it('unknown and malformed queries', () => {
    rejects({ query: { xyz: {} } }, 'parsing_exception', 'unknown query [xyz]');
    rejects({ query: { term: { a: 1, b: 2 } } }, 'parsing_exception', "[term] query doesn't support multiple fields, found [a] and [b]");
    rejects({ query: { term: { a: { value: 1, foo: 2 } } } }, 'parsing_exception', '[term] query does not support [foo]');
    rejects({ query: { term: { a: [1] } } }, 'parsing_exception', '[term] query does not support array of values');
    rejects(
      { query: { match_all: {}, term: { a: 1 } } },
      'parsing_exception',
      '[match_all] malformed query, expected [END_OBJECT] but found [FIELD_NAME]',
    );
    rejects({ query: { term: 'x' } }, 'parsing_exception', '[term] query malformed, no start_object after query name');
    rejects({ query: {} }, 'illegal_argument_exception', /^query malformed, empty clause found/);
    rejects({ query: { bool: { must: 'x' } } }, 'x_content_parse_exception', "[bool] must doesn't support values of type: VALUE_STRING");
    rejects({ query: { bool: { musts: [] } } }, 'x_content_parse_exception', '[bool] unknown field [musts]');
    rejects({ query: { nested: { query: { match_all: {} } } } }, 'parsing_exception', "[nested] requires 'path' field");
    rejects(
      { query: { match: { a: { query: 'x', operator: 'xor' } } } },
      'illegal_argument_exception',
      'No enum constant org.opensearch.index.query.Operator.XOR',
    );
    rejects({ query: { regexp: { a: 'x' } } }, 'illegal_argument_exception', /regexp/);
    let deep: unknown = { match_all: {} };
    for (let i = 0; i < 25; i++) deep = { bool: { must: deep } };
    rejects({ query: deep }, 'illegal_argument_exception', /maximum nested depth/);
  });
  void it('top-level keys and body', () => {
    rejects({ querry: {} }, 'parsing_exception', 'Unknown key for a START_OBJECT in [querry].');
    rejects({ foo: 1 }, 'parsing_exception', 'Unknown key for a VALUE_NUMBER in [foo].');
    rejects({ query: 'x' }, 'parsing_exception', 'Unknown key for a VALUE_STRING in [query].');
    rejects({ size: null }, 'parsing_exception', 'Unknown key for a VALUE_NULL in [size].');
    rejects({ from: [] }, 'parsing_exception', 'Unknown key for a START_ARRAY in [from].');
    rejects([1], 'parsing_exception', 'Expected [START_OBJECT] but found [START_ARRAY]');
    rejects('x', 'parsing_exception', 'Expected [START_OBJECT] but found [VALUE_STRING]');
    rejects({ aggs: { a: {} } }, 'illegal_argument_exception', /\[aggs\] is not supported/);
    rejects({ timeout: 'soon' }, 'parse_exception', /^failed to parse setting \[timeout\] with value \[soon\]/);
    assert.equal(search({ timeout: '10s', explain: false, track_total_hits: 'true' }).hits.total?.value, 3);
    rejects({ sort: [{ a: 'up' }] }, 'illegal_argument_exception', 'Unknown SortOrder [up]');
    rejects(
      { _source: 5 },
      'parsing_exception',
      'Expected one of [VALUE_BOOLEAN, VALUE_STRING, START_ARRAY, START_OBJECT] but found [VALUE_NUMBER]',
    );
    rejects({ _source: { includes: 5 } }, 'parsing_exception', 'Unknown key for a VALUE_NUMBER in [includes].');
    rejects({ query: { match_all: {} } }, 'parsing_exception', 'unknown query [bogus]', { filter: { bogus: {} } });
  });
  void it('renders the OpenSearch error body', () => {
    const e = searchError('parsing_exception', 'unknown query [xyz]');
    assert.deepEqual(renderError(e, 'flow_framework').body, {
      error: {
        root_cause: [{ type: 'parsing_exception', reason: 'unknown query [xyz]' }],
        type: 'parsing_exception',
        reason: 'unknown query [xyz]',
      },
      status: 400,
    });
  });
});

void describe('robustness (property)', () => {
  const expectOnlySearchErrors = (body: unknown): void => {
    try {
      search(body, { excludes: ['user', 'workflows.provision.nodes.user_inputs.credential'] });
      search(body, {}, STATE);
    } catch (e) {
      if (!(e instanceof FlowdError) || searchErrorType(e) === undefined) throw e;
      assert.equal(e.status, 400);
    }
  };
  void it('arbitrary JSON bodies only ever throw search errors', () => {
    fc.assert(fc.property(fc.jsonValue(), expectOnlySearchErrors), { numRuns: 500 });
  });
  void it('DSL-shaped random bodies only ever throw search errors', () => {
    // Mostly well-formed (so evaluation, not just parsing, is exercised), with junk mixed in at every level.
    const junk = fc.jsonValue({ maxDepth: 2 });
    const mostly = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 30 }, { arbitrary: junk, weight: 1 });
    const field = fc.constantFrom(
      'name',
      'tags',
      'user.name.keyword',
      'created_time',
      'resources_created.resource_id',
      'resources_created',
      'state',
      'description',
      'last_updated_time',
      'provision_start_time',
      '_id',
      'a.b',
      '__proto__',
    );
    const text = fc.oneof(
      fc.constantFrom('search', 'Semantic search', 'B', '!!!', 'a_b c', 'connector_id', '*a?', 'b\\'),
      fc.string({ maxLength: 5 }),
    );
    const scalar = fc.oneof(text, fc.integer(), fc.constantFrom(1714500000000, 1714600000000, true, false, 0.5));
    const msm = fc.constantFrom('3<90%', '-25%', '1', 2, '75%', '2<-1 5<80%', '-1', 'x%', 9);
    const bound = fc.oneof(
      scalar,
      fc.constantFrom('now-1d/d', 'now+1M/y', '2024-01-01||+1M', '2024-05-01', 'now/w', '2024-02-30T25:00', 'now-1x'),
    );
    const perField = <T>(v: fc.Arbitrary<T>) => fc.tuple(field, v).map(([f, x]) => ({ [f]: x }));
    const opt = { requiredKeys: [] as never[] };
    const leaf = fc.oneof(
      fc.constant({ match_all: {} }),
      perField(mostly(fc.oneof(scalar, fc.record({ value: scalar, case_insensitive: fc.boolean() }, opt)))).map((b) => ({ term: b })),
      perField(fc.array(scalar, { maxLength: 3 })).map((b) => ({ terms: b })),
      fc
        .tuple(
          fc.constantFrom('match', 'match_phrase', 'match_phrase_prefix'),
          perField(
            mostly(
              fc.oneof(
                text,
                fc.record(
                  {
                    query: scalar,
                    operator: fc.constantFrom('and', 'or', 'xor'),
                    minimum_should_match: msm,
                    slop: fc.integer({ min: -1, max: 3 }),
                    zero_terms_query: fc.constantFrom('all', 'none'),
                  },
                  opt,
                ),
              ),
            ),
          ),
        )
        .map(([t, b]) => ({ [t]: b })),
      perField(
        mostly(fc.dictionary(fc.constantFrom('gte', 'gt', 'lt', 'lte', 'from', 'to', 'format', 'include_upper'), bound, { maxKeys: 3 })),
      ).map((b) => ({ range: b })),
      fc.record({ values: fc.array(fc.constantFrom('w1', 'w2', 's1', 'x')) }).map((b) => ({ ids: b })),
      fc.record({ field }).map((b) => ({ exists: b })),
      fc.tuple(fc.constantFrom('prefix', 'wildcard'), perField(mostly(text))).map(([t, b]) => ({ [t]: b })),
      fc
        .record(
          {
            query: text,
            fields: fc.array(fc.oneof(field, fc.constant('user.*'), fc.constant('name^2'))),
            type: fc.constantFrom('best_fields', 'cross_fields', 'phrase', 'phrase_prefix', 'nope'),
          },
          { requiredKeys: ['query'] },
        )
        .map((b) => ({ multi_match: b })),
      fc
        .oneof(
          text,
          fc.constantFrom(
            'name:search AND -user.name:bob',
            'name:"semantic search"',
            'use_case:*SEARCH',
            '_exists_:tags',
            'a OR b',
            '(x)',
            'tags:*',
            'NOT x',
            '+',
            '"open',
          ),
        )
        .map((qs) => ({ query_string: { query: qs } })),
    );
    const { query } = fc.letrec((tie) => ({
      query: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        { arbitrary: leaf, weight: 12 },
        { arbitrary: tie('compound'), weight: 4 },
        { arbitrary: junk, weight: 1 },
      ),
      clauses: fc.oneof(tie('query'), fc.array(tie('query'), { maxLength: 3 })),
      compound: fc.oneof(
        fc
          .record(
            { must: tie('clauses'), should: tie('clauses'), filter: tie('clauses'), must_not: tie('clauses'), minimum_should_match: msm },
            opt,
          )
          .map((b) => ({ bool: b })),
        fc.record({ path: fc.constantFrom('resources_created', 'user', 'tags', 'x'), query: tie('query') }).map((b) => ({ nested: b })),
        fc.record({ filter: tie('query') }).map((b) => ({ constant_score: b })),
        fc.record({ queries: tie('clauses') }).map((b) => ({ dis_max: b })),
      ),
    }));
    const sortKey = mostly(
      fc.oneof(
        field,
        perField(
          fc.oneof(
            fc.constantFrom('asc', 'desc'),
            fc.record(
              {
                order: fc.constantFrom('asc', 'desc'),
                missing: fc.oneof(fc.constantFrom('_first', '_last'), scalar),
                mode: fc.constantFrom('min', 'max', 'sum', 'avg', 'median'),
                nested: fc.record({ path: fc.constantFrom('resources_created', 'user'), filter: query }, { requiredKeys: ['path'] }),
              },
              opt,
            ),
          ),
        ),
      ),
    );
    const source = mostly(
      fc.oneof(
        fc.boolean(),
        field,
        fc.array(field),
        fc.record({ includes: fc.array(fc.oneof(field, fc.constant('*.name'))), excludes: fc.oneof(field, fc.array(field)) }, opt),
      ),
    );
    const body = fc.record(
      {
        query,
        post_filter: query,
        sort: fc.oneof(sortKey, fc.array(sortKey, { maxLength: 3 })),
        _source: source,
        from: mostly(fc.integer({ min: 0, max: 3 })),
        size: mostly(fc.integer({ min: 0, max: 30 })),
        track_total_hits: mostly(fc.oneof(fc.boolean(), fc.integer({ min: -1, max: 5 }))),
      },
      opt,
    );
    let evaluated = 0;
    fc.assert(
      fc.property(body, (b) => {
        try {
          search(b, {}, [...DOCS, ...STATE]);
          evaluated++;
        } catch (e) {
          if (searchErrorType(e) === undefined) throw e;
        }
      }),
      { numRuns: 3000 },
    );
    assert.ok(evaluated > 300, `only ${evaluated} bodies were evaluated`); // the generator must reach evaluation
  });
});
