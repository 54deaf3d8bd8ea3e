/**
 * Issue 14, point 5 (matching side): nothing a caller sends makes the main thread do super-linear
 * work. Wildcards and the search evaluator's own value parsing stay linear, user regexes are
 * refused in search and run on RE2 in input_schema, large searches yield to the event loop, `took`
 * is measured, and fields hidden from a caller's `_source` cannot be queried by it either.
 * Every case goes through real HTTP as a read-only user (or an API key holder) and checks that
 * /_flowd/health keeps answering meanwhile.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Glob, GlobSet } from '../../src/search/glob.js';
import { searchDocuments } from '../../src/search/query-dsl.js';
import { FF, startTestNode } from '../support/flowd-harness.js';
import type { HttpResult, TestNode } from '../support/flowd-harness.js';
import { apiKey, provisionFlow, rt } from '../support/runtime-client.js';

const USERS = '/_plugins/_security/api/internalusers';
const READER: [string, string] = ['reader', 'reader-password-1'];
/** Generous: the fixed code answers in milliseconds, the old one took seconds to hours. */
const FAST_MS = 10_000;
/** The event loop must keep serving while a heavy request runs. */
const HEALTH_MS = 1_000;
const SLOW = { timeout: 180_000 };

let node: TestNode;

async function timed<T>(p: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await p();
  return { ms: performance.now() - t, value };
}

/** Run `work`, and while it runs, time a /_flowd/health request. */
async function withHealth<T>(work: () => Promise<T>): Promise<{ value: T; ms: number; healthMs: number }> {
  const job = timed(work);
  await new Promise((r) => setTimeout(r, 30));
  const health = await timed(() => node.request('GET', '/_flowd/health', { auth: null }));
  assert.equal(health.value.status, 200);
  const { ms, value } = await job;
  return { value, ms, healthMs: health.ms };
}

const search = (body: unknown, auth: [string, string] | 'admin' = READER, path = `${FF}/_search`): Promise<HttpResult> =>
  node.request('POST', path, { body, ...(auth === 'admin' ? {} : { auth }) });

async function create(name: string, description: string): Promise<string> {
  const r = await node.request('POST', FF, {
    body: { name, description, use_case: 'TEST', workflows: { provision: { nodes: [{ id: 'n', type: 'noop' }] } } },
  });
  assert.equal(r.status, 201, r.text);
  return r.body.workflow_id as string;
}

before(async () => {
  node = await startTestNode();
  const u = await node.request('PUT', `${USERS}/reader`, {
    body: { password: READER[1], opendistro_security_roles: ['flow_framework_read_access'] },
  });
  assert.equal(u.status, 201, u.text);
  for (let i = 0; i < 20; i++) await create(`long-${i}`, 'a'.repeat(20_000));
  await create('tokens', `b ${'a '.repeat(100_000)}`); // a 'b' before 100 000 'a' tokens
  await create('short', 'findme alpha');
});
after(async () => node.close());

void describe('wildcard, prefix and query_string wildcards are linear in pattern × text', () => {
  const star = '*a'.repeat(499) + '*b'; // the probe's shape: cubic before
  const shapes: [string, unknown, number][] = [
    ['star runs ending in a missing letter', { wildcard: { description: star } }, 0],
    ['star runs that match', { wildcard: { description: '*a'.repeat(500) } }, 21],
    ['? inside star segments (bit-parallel NFA)', { wildcard: { description: '*' + 'a?'.repeat(499) + '*' } }, 21],
    ['? inside star segments, no match', { wildcard: { description: '*' + 'a?'.repeat(498) + 'c*' } }, 0],
    ['long ? run', { wildcard: { description: '?'.repeat(1000) } }, 0],
    ['long literal prefix then star', { wildcard: { description: 'a'.repeat(999) + '*' } }, 20],
    ['star then long literal', { wildcard: { description: { value: '*' + 'A'.repeat(998) + 'B', case_insensitive: true } } }, 0],
    ['prefix', { prefix: { description: 'a'.repeat(20_000) } }, 20],
    ['query_string wildcard term', { query_string: { query: `description:${'*a'.repeat(499)}*b` } }, 0],
    ['query_string ? term', { query_string: { query: `description:*${'a?'.repeat(499)}*` } }, 21],
  ];
  for (const [name, query, hits] of shapes) {
    void it(`${name}: right answer, fast, health responsive`, SLOW, async () => {
      const { value: r, ms, healthMs } = await withHealth(() => search({ query, size: 0 }));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.hits.total.value, hits);
      assert.ok(ms < FAST_MS, `search took ${ms} ms`);
      assert.ok(healthMs < HEALTH_MS, `health took ${healthMs} ms during the search`);
    });
  }

  void it('several heavy searches at once keep the node responsive', SLOW, async () => {
    const { value, healthMs } = await withHealth(() => Promise.all(shapes.map(([, query]) => search({ query, size: 0 }))));
    assert.ok(value.every((r) => r.status === 200));
    assert.ok(healthMs < HEALTH_MS, `health took ${healthMs} ms during the searches`);
  });

  void it('refuses patterns longer than 1000 characters with a 400 that says so', async () => {
    const long = '*' + 'a'.repeat(1000);
    for (const query of [
      { wildcard: { description: long } },
      { query_string: { query: `description:${long}` } },
      { multi_match: { query: 'a', fields: ['d*' + 'x'.repeat(1000)] } },
    ]) {
      const r = await search({ query });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.error.type, 'illegal_argument_exception');
      assert.match(r.body.error.reason, /exceeded the allowed maximum of \[1000\]/);
    }
  });
});

void describe('user regular expressions in search are refused, never run', () => {
  void it('regexp and query_string /regex/ answer 400 at once', async () => {
    for (const query of [
      { regexp: { description: '(a+)+$' } },
      { regexp: { description: { value: '(a|aa)+b', flags: 'ALL' } } },
      { query_string: { query: '/(a+)+b/' } },
      { query_string: { query: 'description:/(a|aa)+$/' } },
    ]) {
      const { value: r, ms } = await timed(() => search({ query }));
      assert.equal(r.status, 400, r.text);
      assert.ok(ms < FAST_MS);
    }
  });
});

void describe('the evaluator parses query values in linear time', () => {
  const cases: [string, unknown][] = [
    ['a long non-number compared with numbers', { term: { last_updated_time: '1'.repeat(200_000) + 'x' } }],
    ['a long non-number in range', { range: { created_time: { gte: '1'.repeat(200_000) + 'x' } } }],
    [
      'minimum_should_match with long blank runs',
      { bool: { should: [{ match_all: {} }], minimum_should_match: ' '.repeat(200_000) + '1<2' } },
    ],
    ['a field boost that is nearly a number', { multi_match: { query: 'a', fields: [`description^${'1'.repeat(200_000)}x`] } }],
    ['a phrase with a huge slop over 100 000 tokens', { match_phrase: { description: { query: 'a b', slop: 1_000_000_000 } } }],
    ['a deeply dotted field name', { term: { [`${'a.'.repeat(100_000)}a`]: 1 } }],
    ['a long terms list against 100 000 tokens', { terms: { description: Array.from({ length: 50_000 }, (_, i) => `t${i}`) } }],
  ];
  for (const [name, query] of cases) {
    void it(name, SLOW, async () => {
      const { value: r, ms, healthMs } = await withHealth(() => search({ query, size: 0 }));
      assert.ok(r.status === 200 || r.status === 400, r.text);
      assert.ok(ms < FAST_MS, `search took ${ms} ms`);
      assert.ok(healthMs < HEALTH_MS, `health took ${healthMs} ms during the search`);
    });
  }
});

void describe('search cost is bounded', () => {
  void it('took is measured after the query ran', SLOW, async () => {
    // what a request costs around the search (authentication, parsing, HTTP), measured alike
    const overhead = (await timed(() => search({ query: { ids: { values: [] } }, size: 0 }))).ms;
    // `?` inside and no literal tail: the bit-parallel NFA runs over every value
    const should = Array.from({ length: 12 }, (_, i) => ({ wildcard: { description: `*${'a?'.repeat(400 + i)}c*` } }));
    const { value: r, ms } = await timed(() => search({ query: { bool: { should } }, size: 0 }));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.hits.total.value, 0);
    const searching = ms - overhead;
    if (searching > 100) assert.ok(r.body.took >= searching / 2, `took ${r.body.took} for ${searching} ms of searching`);
    assert.ok(r.body.took <= ms + 5, `took ${r.body.took} for a ${ms} ms request`);
  });

  void it('honours the request timeout with timed_out and partial hits', async () => {
    const r = await search({ query: { match_all: {} }, timeout: '0ms' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.timed_out, true);
    assert.equal(r.body.hits.total.value, 0);
    assert.equal((await search({ query: { match_all: {} }, timeout: '1m', size: 0 })).body.timed_out, false);
  });

  void it('a document that would hold the event loop too long ends the search as timed out', SLOW, async () => {
    const docs = [{ _id: 'huge', _source: { d: 'a'.repeat(1_000_000) } }];
    const should = Array.from({ length: 200 }, (_, i) => ({ wildcard: { d: `*${'a?'.repeat(400)}${'a'.repeat(i % 100)}c*` } }));
    let longestGap = 0;
    let last = performance.now();
    const tick = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 5);
    const { value: res, ms } = await timed(() => searchDocuments(docs, { query: { bool: { should } } }, { index: 'x' }));
    clearInterval(tick);
    assert.equal(res.timed_out, true);
    assert.ok(ms < FAST_MS, `search took ${ms} ms`);
    assert.ok(longestGap < 2 * HEALTH_MS, `the event loop was held ${longestGap} ms`);
  });
});

void describe('fields hidden from _source cannot be queried or sorted on (field-level security)', () => {
  const queries: unknown[] = [
    { term: { 'user.name': 'admin' } },
    { match: { 'user.name': 'admin' } },
    { prefix: { 'user.name': 'adm' } },
    { wildcard: { 'user.name.keyword': 'adm*' } },
    { exists: { field: 'user' } },
    { nested: { path: 'user', query: { match_all: {} } } },
    { query_string: { query: 'user.name:admin' } },
    { query_string: { query: '_exists_:user.name' } },
    { multi_match: { query: 'admin', fields: ['user.*'] } },
    { query_string: { query: 'admin' } },
  ];
  for (const path of [`${FF}/_search`, `${FF}/state/_search`]) {
    void it(`${path}: admin finds by user.*, a reader finds nothing`, async () => {
      if (path.endsWith('state/_search')) {
        const withState = await node.request('POST', `${FF}?provision=true&wait_for_completion_timeout=30s`, {
          body: { name: 's', workflows: { provision: { nodes: [{ id: 'n', type: 'noop' }] } } },
        });
        assert.equal(withState.status, 202, withState.text);
      }
      for (const query of queries) {
        const admin = await search({ query, size: 0 }, 'admin', path);
        const reader = await search({ query, size: 0 }, READER, path);
        assert.equal(admin.status, 200, admin.text);
        assert.equal(reader.status, 200, reader.text);
        assert.ok(admin.body.hits.total.value > 0, `admin: ${JSON.stringify(query)}`);
        assert.equal(reader.body.hits.total.value, 0, `reader: ${JSON.stringify(query)}`);
      }
      const negated = { bool: { must_not: { exists: { field: 'user.name' } } } };
      const all = (await search({ size: 0 }, READER, path)).body.hits.total.value;
      assert.equal((await search({ query: negated, size: 0 }, READER, path)).body.hits.total.value, all);
      const sorted = await search({ sort: [{ 'user.name': 'asc' }], size: 5 }, READER, path);
      assert.ok(
        sorted.body.hits.hits.every((h: { sort: unknown[] }) => h.sort[0] === null),
        sorted.text,
      );
      const adminSorted = await search({ sort: [{ 'user.name': 'asc' }], size: 5 }, 'admin', path);
      assert.ok(
        adminSorted.body.hits.hits.every((h: { sort: unknown[] }) => h.sort[0] === 'admin'),
        adminSorted.text,
      );
    });
  }
});

void describe('input_schema patterns run in linear time (RE2)', () => {
  const schema = {
    type: 'object',
    properties: { t: { type: 'string', pattern: '^(a+)+$' } },
    patternProperties: { '^(x+)+$': { type: 'number' } },
    propertyNames: { pattern: '^([a-z!]+)+$' },
  };
  const flow = (inputSchema: unknown) => ({
    mode: 'SYNC',
    input_schema: inputSchema,
    blocks: [{ id: 'echo', type: 'js', config: { source: 'function process(input) { return input; }' } }],
    edges: [],
  });
  let id: string;
  let key: string;
  before(async () => {
    const p = await provisionFlow(node, flow(schema));
    assert.equal(p.status.state, 'COMPLETED', JSON.stringify(p.status));
    id = p.id;
    key = await apiKey(node, [id]);
  });

  const evil = `${'a'.repeat(34)}!`;
  const inputs: [string, unknown, number][] = [
    ['pattern', { t: evil }, 400],
    ['patternProperties', { t: 'aaa', [`${'x'.repeat(34)}!`]: 'not a number' }, 200],
    ['propertyNames', { t: 'aaa', [`${'a'.repeat(34)}?`]: 1 }, 400],
  ];
  for (const [name, input, status] of inputs) {
    void it(`${name}: a backtracking pattern answers at once`, SLOW, async () => {
      const { value: r, ms, healthMs } = await withHealth(() => rt(node, key, 'POST', id, 'action/analyze', input));
      assert.equal(r.status, status, r.text);
      assert.ok(ms < FAST_MS, `analyze took ${ms} ms`);
      assert.ok(healthMs < HEALTH_MS, `health took ${healthMs} ms during analyze`);
    });
  }

  void it('still enforces the patterns', async () => {
    assert.equal((await rt(node, key, 'POST', id, 'action/analyze', { t: 'aaaa' })).status, 200);
    const bad = await rt(node, key, 'POST', id, 'action/analyze', { t: 'aaaa', xx: 'str' });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.text, /input\.xx must be number/);
    assert.match((await rt(node, key, 'POST', id, 'action/analyze', { t: 'ab' })).text, /must match pattern/);
  });

  void it('refuses at publish a pattern RE2 cannot run, on create and update, in every keyword', async () => {
    const d = await node.request('POST', FF, { body: { name: 'draft', flow: flow({ type: 'object' }) } });
    assert.equal(d.status, 201, d.text);
    const draft = d.body.workflow_id as string;
    const refused: [unknown, RegExp][] = [
      [{ type: 'string', pattern: '^(a)\\1$' }, /not supported.*RE2.*backreferences/],
      [{ type: 'object', patternProperties: { '^a(?=b)': { type: 'number' } } }, /not supported.*RE2/],
      [{ type: 'object', propertyNames: { pattern: '(?<!a)b' } }, /not supported.*RE2/],
      [{ type: 'object', properties: { deep: { type: 'array', items: { pattern: '(\\w)\\1' } } } }, /not supported/],
      [{ type: 'string', pattern: '(' }, /is not a valid regular expression/],
    ];
    for (const [inputSchema, message] of refused) {
      const created = await node.request('POST', FF, { body: { name: 'p', flow: flow(inputSchema) } });
      assert.equal(created.status, 400, `${JSON.stringify(inputSchema)}: ${created.text}`);
      assert.match(created.body.error, /^\[flow\.input_schema\] pattern /);
      assert.match(created.body.error, message);
      const updated = await node.request('PUT', `${FF}/${draft}`, { body: { name: 'p', flow: flow(inputSchema) } });
      assert.equal(updated.status, 400, updated.text);
      assert.match(updated.body.error, message);
    }
    const ok = await node.request('POST', FF, { body: { name: 'p', flow: flow({ type: 'string', pattern: '^\\p{L}+\\u00e9(?<x>a)$' }) } });
    assert.equal(ok.status, 201, ok.text);
  });
});

/** The reference: a plain dynamic program over code points, written independently of the matchers. */
function reference(pattern: string, text: string, syntax = { question: true, escape: true }): boolean {
  type T = '*' | '?' | { lit: string };
  const toks: T[] = [];
  const p = Array.from(pattern);
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    if (c === '*') toks.push('*');
    else if (c === '?' && syntax.question) toks.push('?');
    else if (c === '\\' && syntax.escape && i + 1 < p.length) toks.push({ lit: p[++i] as string });
    else toks.push({ lit: c });
  }
  const t = Array.from(text);
  // ok[j]: the first i tokens can match the first j characters
  let ok = t.map(() => false).concat(false);
  ok[0] = true;
  for (const tok of toks) {
    const next = ok.map(() => false);
    for (let j = 0; j <= t.length; j++) {
      if (tok === '*') next[j] = ok[j] === true || (j > 0 && next[j - 1] === true);
      else if (j > 0 && ok[j - 1] === true && (tok === '?' || tok.lit === t[j - 1])) next[j] = true;
    }
    ok = next;
  }
  return ok[t.length] === true;
}

void describe('wildcard matchers agree with a reference implementation (property)', () => {
  const chars = ['a', 'b', 'é', '😀', '\ud800', '.'];
  const text = fc.array(fc.constantFrom(...chars, '*', '?', '\\'), { maxLength: 14 }).map((a) => a.join(''));
  const pattern = fc.array(fc.constantFrom(...chars, '*', '*', '?', '\\'), { maxLength: 12 }).map((a) => a.join(''));

  void it('Glob.matches (segment path) and Glob.step (NFA) equal the reference', () => {
    fc.assert(
      fc.property(pattern, text, (p, t) => {
        const g = new Glob(p);
        const want = reference(p, t);
        assert.equal(g.matches(t), want, `matches(${JSON.stringify(p)}, ${JSON.stringify(t)})`);
        assert.equal(g.accepts(g.step(g.start(), t)), want, `step(${JSON.stringify(p)}, ${JSON.stringify(t)})`);
      }),
      { numRuns: 5000 },
    );
  });

  void it('GlobSet stepped in pieces equals any-of the reference (source-filter syntax)', () => {
    const syntax = { question: false, escape: false };
    fc.assert(
      fc.property(fc.array(pattern, { maxLength: 4 }), text, fc.integer({ min: 0, max: 14 }), (ps, t, cut) => {
        const set = new GlobSet(ps, syntax);
        const cps = Array.from(t);
        const state = set.step(set.step(set.start(), cps.slice(0, cut).join('')), cps.slice(cut).join(''));
        assert.equal(
          set.accepts(state),
          ps.some((p) => reference(p, t, syntax)),
        );
        assert.equal(
          set.matches(t),
          ps.some((p) => reference(p, t, syntax)),
        );
      }),
      { numRuns: 3000 },
    );
  });

  void it('long patterns spanning several NFA words agree too', () => {
    const long = fc.array(fc.constantFrom('a', 'b', '*', '?'), { minLength: 30, maxLength: 120 }).map((a) => a.join(''));
    const longText = fc.array(fc.constantFrom('a', 'b'), { minLength: 20, maxLength: 150 }).map((a) => a.join(''));
    fc.assert(
      fc.property(long, longText, (p, t) => {
        const g = new Glob(p);
        const want = reference(p, t);
        assert.equal(g.matches(t), want);
        assert.equal(g.accepts(g.step(g.start(), t)), want);
      }),
      { numRuns: 1000 },
    );
  });
});
