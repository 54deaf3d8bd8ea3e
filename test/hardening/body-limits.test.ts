/**
 * Bounded input at the HTTP boundary (issue 14, point 1; probe findings F1, F2, F6b, F7, F17,
 * F18, F21, F22): every body-taking route decodes its body (JSON or YAML) within one set of
 * configured limits, and a breach is a 400 that names the limit and its setting; nothing
 * over the limits reaches a worker, the store or the log.
 *
 * Two real nodes: `small` with tight limits (so "exactly at the limit" and "one over" are cheap
 * to build for every route family) and a logger we read; `dflt` with the shipped defaults, for
 * the probe's reproductions at their original sizes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { stringify as toYaml } from 'yaml';
import { resolveConfig } from '../../src/config.js';
import type { ConfigInput } from '../../src/config.js';
import { startFlowd } from '../../src/server/flowd-node.js';
import type { FlowdNode } from '../../src/server/flowd-node.js';
import { ADMIN_PASSWORD, FF, httpRequest, startTestNode } from '../support/flowd-harness.js';
import type { HttpResult, RequestOptions, TestNode } from '../support/flowd-harness.js';
import { RT, apiKey, provisionFlow } from '../support/runtime-client.js';

const ECHO = 'function process(input) { return { keys: Object.keys(input).length }; }';
const syncFlow = { mode: 'SYNC', blocks: [{ id: 'echo', type: 'js', config: { source: ECHO } }] };
const asyncFlow = { mode: 'ASYNC', blocks: [{ id: 'echo', type: 'js', config: { source: ECHO } }] };
const READER: [string, string] = ['reader', 'reader-pass-1'];
const YAML = 'application/yaml';

/** A started node with the ids and keys the cases use. */
interface Env {
  node: TestNode;
  syncId: string;
  asyncId: string;
  templateId: string;
  syncKey: string;
  asyncKey: string;
  apiKeyId: string;
}

/** The error text of a 4xx, whichever API answered (Flow Framework `error`, runtime `errors[0].message`, search `error.reason`). */
function errorText(r: HttpResult): string {
  const b = r.body as { error?: unknown; errors?: Array<{ message?: string }> } | undefined;
  if (typeof b?.error === 'string') return b.error;
  if (typeof b?.error === 'object' && b.error !== null) return String((b.error as { reason?: unknown }).reason);
  return b?.errors?.[0]?.message ?? r.text;
}

/** `k` nested objects ending in a scalar: `{"a":{"a":…1}}`. */
function nest(k: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < k; i++) v = { a: v };
  return v;
}

/** Nesting depth of arrays and objects (the top-level container is level 1). */
function depthOf(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  const kids = Array.isArray(v) ? (v as unknown[]) : Object.values(v);
  return 1 + kids.reduce<number>((m, k) => Math.max(m, depthOf(k)), 0);
}

/** How many containers enclose `marker` in `v` (-1 when it is not there). */
function holeDepth(v: unknown, marker: string): number {
  if (v === marker) return 0;
  if (v === null || typeof v !== 'object') return -1;
  for (const k of Array.isArray(v) ? (v as unknown[]) : Object.values(v)) {
    const d = holeDepth(k, marker);
    if (d >= 0) return d + 1;
  }
  return -1;
}

/** The envelope with a nested value at its hole, `depth` levels deep in all. */
function atDepth(envelope: (hole: unknown) => unknown, depth: number): unknown {
  const base = holeDepth(envelope('§hole'), '§hole');
  const body = envelope(nest(depth - base));
  assert.equal(depthOf(body), depth);
  return body;
}

/** `depth` levels of JSON text, built as text (no recursion: fine for thousands of levels). */
const deepJson = (depth: number): string => '{"text":' + '{"a":'.repeat(depth - 1) + '1' + '}'.repeat(depth - 1) + '}';

interface Family {
  name: string;
  method: string;
  path: (e: Env) => string;
  envelope: (hole: unknown) => unknown;
  as: 'admin' | 'reader' | 'sync' | 'async';
  /** Also sent as YAML (block style and JSON-in-YAML). */
  yaml?: boolean;
}

const FAMILIES: Family[] = [
  {
    name: 'create template',
    method: 'POST',
    path: () => FF,
    envelope: (h) => ({ name: 'deep', ui_metadata: { x: h } }),
    as: 'admin',
    yaml: true,
  },
  {
    name: 'update template',
    method: 'PUT',
    path: (e) => `${FF}/${e.templateId}?update_fields=true`,
    envelope: (h) => ({ ui_metadata: { x: h } }),
    as: 'admin',
    yaml: true,
  },
  {
    name: 'use case',
    method: 'POST',
    path: () => `${FF}?use_case=semantic_search`,
    envelope: (h) => ({ 'create_ingest_pipeline.model_id': 'm', x: h }),
    as: 'admin',
  },
  { name: '_provision', method: 'POST', path: (e) => `${FF}/${e.templateId}/_provision`, envelope: (h) => ({ p: h }), as: 'admin' },
  {
    name: '_search',
    method: 'POST',
    path: () => `${FF}/_search`,
    envelope: (h) => ({ query: { match_all: {} }, x: h }),
    as: 'reader',
    yaml: true,
  },
  {
    name: 'state/_search',
    method: 'POST',
    path: () => `${FF}/state/_search`,
    envelope: (h) => ({ query: { match_all: {} }, x: h }),
    as: 'reader',
    yaml: true,
  },
  { name: 'analyze', method: 'POST', path: (e) => `${RT}/${e.syncId}/action/analyze`, envelope: (h) => ({ text: h }), as: 'sync' },
  { name: 'task', method: 'POST', path: (e) => `${RT}/${e.asyncId}/task`, envelope: (h) => ({ text: h }), as: 'async' },
  {
    name: 'task/batch',
    method: 'POST',
    path: (e) => `${RT}/${e.asyncId}/task/batch`,
    envelope: (h) => ({ tasks: [{ input: { text: h } }] }),
    as: 'async',
  },
  {
    name: 'task/status',
    method: 'POST',
    path: (e) => `${RT}/${e.asyncId}/task/status`,
    envelope: (h) => ({ taskIds: ['x'], x: h }),
    as: 'async',
  },
  {
    name: 'dashboard analyze',
    method: 'POST',
    path: (e) => `/_flowd/workflows/${e.syncId}/analyze`,
    envelope: (h) => ({ text: h }),
    as: 'admin',
  },
  {
    name: '_predict',
    method: 'POST',
    path: () => '/_plugins/_ml/models/none/_predict',
    envelope: (h) => ({ parameters: { x: h } }),
    as: 'admin',
    yaml: true,
  },
  {
    name: 'internal user',
    method: 'PUT',
    path: () => '/_plugins/_security/api/internalusers/deepuser',
    envelope: (h) => ({ password: 'deep-pass-1', attributes: { x: h } }),
    as: 'admin',
    yaml: true,
  },
  {
    name: 'api key',
    method: 'POST',
    path: () => '/_flowd/api_keys',
    envelope: (h) => ({ name: 'deep', workflow_ids: [h] }),
    as: 'admin',
    yaml: true,
  },
  {
    name: 'api key rotate',
    method: 'POST',
    path: (e) => `/_flowd/api_keys/${e.apiKeyId}/_rotate`,
    envelope: (h) => ({ grace_period: h }),
    as: 'admin',
  },
];

function send(e: Env, f: Family, raw: string, contentType = 'application/json', headers: Record<string, string> = {}): Promise<HttpResult> {
  const opts: RequestOptions = { raw, contentType, headers: { ...headers } };
  if (f.as === 'admin') opts.auth = ['admin', ADMIN_PASSWORD];
  else if (f.as === 'reader') opts.auth = READER;
  else {
    opts.auth = null;
    (opts.headers as Record<string, string>)['x-api-key'] = f.as === 'sync' ? e.syncKey : e.asyncKey;
  }
  return httpRequest(e.node.url, f.method, f.path(e), opts);
}

async function setUp(node: TestNode): Promise<Env> {
  const sync = await provisionFlow(node, syncFlow);
  const asyncP = await provisionFlow(node, asyncFlow);
  assert.equal(sync.status.state, 'COMPLETED', JSON.stringify(sync.status));
  assert.equal(asyncP.status.state, 'COMPLETED', JSON.stringify(asyncP.status));
  const t = await node.request('POST', FF, { body: { name: 'stored', workflows: { provision: { nodes: [{ id: 'n1', type: 'noop' }] } } } });
  assert.equal(t.status, 201, t.text);
  const u = await node.request('PUT', `/_plugins/_security/api/internalusers/${READER[0]}`, {
    body: { password: READER[1], opendistro_security_roles: ['flow_framework_read_access'] },
  });
  assert.ok(u.status === 200 || u.status === 201, u.text);
  const k = await node.request('POST', '/_flowd/api_keys', { body: { name: 'rotatable', workflow_ids: [sync.id] } });
  assert.equal(k.status, 201, k.text);
  return {
    node,
    syncId: sync.id,
    asyncId: asyncP.id,
    templateId: t.body.workflow_id as string,
    syncKey: await apiKey(node, [sync.id]),
    asyncKey: await apiKey(node, [asyncP.id]),
    apiKeyId: k.body.id as string,
  };
}

/** A node started like the harness does, but with a logger whose lines the test reads. */
async function startLoggedNode(overrides: ConfigInput): Promise<{ node: TestNode; log: string[] }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'flowd-limits-'));
  const log: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      log.push(chunk.toString('utf8'));
      cb();
    },
  });
  const config = resolveConfig({ env: {}, flags: { port: 0, dataDir, adminPassword: ADMIN_PASSWORD, shutdownGraceMs: 200, ...overrides } });
  const flowd: FlowdNode = await startFlowd(config, { logger: pino({ level: 'debug' }, sink) });
  const request = (method: string, path: string, opts?: RequestOptions): Promise<HttpResult> => httpRequest(flowd.url, method, path, opts);
  const node: TestNode = {
    url: flowd.url,
    node: flowd,
    dataDir,
    pgSchema: undefined,
    request,
    waitForState: () => Promise.reject(new Error('not used')),
    async close() {
      await flowd.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return { node, log };
}

const LIMITS = { bodyMaxDepth: 32, bodyMaxValues: 5000, bodyMaxYamlTokens: 2000, bodyLimitBytes: 1024 * 1024, correlationIdMaxLength: 64 };
const DEPTH_MSG = 'Request body is nested deeper than 32 levels (FLOWD_BODY_MAX_DEPTH).';
const VALUES_MSG = 'Request body has more than 5000 values (FLOWD_BODY_MAX_VALUES).';
const isLimitError = (r: HttpResult): boolean =>
  r.status === 400 && /^Request body (is nested deeper|has more than|expands to more|holds a number)/.test(errorText(r));

let small: Env;
let smallLog: string[];
let dflt: Env;

before(async () => {
  const started = await startLoggedNode(LIMITS);
  smallLog = started.log;
  small = await setUp(started.node);
  dflt = await setUp(await startTestNode());
});

after(async () => {
  await small?.node.close();
  await dflt?.node.close();
});

void describe('depth: every body-taking route, JSON and YAML', () => {
  for (const f of FAMILIES) {
    void it(`${f.name}: ${LIMITS.bodyMaxDepth} levels pass the boundary, ${LIMITS.bodyMaxDepth + 1} are a 400 naming the limit`, async () => {
      const ok = atDepth(f.envelope, LIMITS.bodyMaxDepth);
      const over = atDepth(f.envelope, LIMITS.bodyMaxDepth + 1);
      const shapes: Array<[string, (v: unknown) => string]> = [['application/json', (v) => JSON.stringify(v)]];
      if (f.yaml) shapes.push([YAML, (v) => toYaml(v)], [YAML, (v) => JSON.stringify(v)]);
      for (const [ct, render] of shapes) {
        const a = await send(small, f, render(ok), ct);
        assert.ok(!isLimitError(a), `${f.name} (${ct}) at the limit: ${a.status} ${a.text.slice(0, 300)}`);
        assert.ok(a.status < 500, `${f.name} (${ct}) at the limit: ${a.status} ${a.text.slice(0, 300)}`);
        const b = await send(small, f, render(over), ct);
        assert.equal(b.status, 400, `${f.name} (${ct}) over the limit: ${b.text.slice(0, 300)}`);
        assert.equal(errorText(b), DEPTH_MSG, `${f.name} (${ct})`);
      }
    });
  }

  void it('the input crosses to a worker at the limit (SYNC analyze, ASYNC task run to completion)', async () => {
    const input = atDepth((h) => ({ text: h }), LIMITS.bodyMaxDepth);
    const a = await send(small, FAMILIES.find((f) => f.name === 'analyze') as Family, JSON.stringify(input));
    assert.equal(a.status, 200, a.text);
    assert.deepEqual(a.body, { keys: 1 });
    const t = await send(small, FAMILIES.find((f) => f.name === 'task') as Family, JSON.stringify(input));
    assert.equal(t.status, 202, t.text);
    const done = await httpRequest(small.node.url, 'GET', `${RT}/${small.asyncId}/task/${t.body.taskId}?wait=30s`, {
      auth: null,
      headers: { 'x-api-key': small.asyncKey },
    });
    assert.equal(done.body.status, 'COMPLETED', done.text);
  });

  void it('F1/F2: 3,600 and 6,000 levels (defaults) are a 400 on analyze, dashboard analyze, task and batch; no task is stored and the node stays up', async () => {
    const routes = FAMILIES.filter((f) => ['analyze', 'dashboard analyze', 'task', 'task/batch'].includes(f.name));
    for (const depth of [3600, 6000, 100_000]) {
      for (const f of routes) {
        const inner = deepJson(depth);
        const raw = f.name === 'task/batch' ? `{"tasks":[{"input":${inner}}]}` : inner;
        const r = await send(dflt, f, raw);
        assert.equal(r.status, 400, `${f.name} ${depth}: ${r.text.slice(0, 300)}`);
        assert.equal(errorText(r), 'Request body is nested deeper than 128 levels (FLOWD_BODY_MAX_DEPTH).');
      }
    }
    const tasks = await httpRequest(dflt.node.url, 'GET', `${RT}/${dflt.asyncId}/task`, {
      auth: null,
      headers: { 'x-api-key': dflt.asyncKey },
    });
    assert.equal(tasks.status, 200);
    assert.deepEqual(tasks.body.tasks, []);
    const health = await dflt.node.request('GET', '/_flowd/health', { auth: null });
    assert.equal(health.status, 200);
  });

  void it('deep YAML in every form (flow, block, compact `- - -`, indentation) is refused quickly', async () => {
    const f = FAMILIES.find((x) => x.name === '_search') as Family;
    let indented = '';
    for (let i = 0; i < 2000; i++) indented += `${' '.repeat(i)}a:\n`;
    for (const raw of ['['.repeat(200_000) + ']'.repeat(200_000), '- '.repeat(500_000) + 'x\n', '? '.repeat(300_000) + 'x\n', indented]) {
      const started = Date.now();
      const r = await send(dflt, f, raw, YAML);
      assert.equal(r.status, 400, r.text.slice(0, 300));
      assert.equal(errorText(r), 'Request body is nested deeper than 128 levels (FLOWD_BODY_MAX_DEPTH).');
      assert.ok(Date.now() - started < 10_000);
    }
  });
});

void describe('value count, YAML aliases expanded', () => {
  const analyze = (): Family => FAMILIES.find((f) => f.name === 'analyze') as Family;
  const create = (): Family => FAMILIES.find((f) => f.name === 'create template') as Family;

  void it(`JSON: ${LIMITS.bodyMaxValues} values pass, one more is a 400 naming the limit (runtime and management routes)`, async () => {
    // root object + array + n numbers
    const body = (n: number): string => JSON.stringify({ items: Array.from({ length: n }, (_, i) => i) });
    const a = await send(small, analyze(), body(LIMITS.bodyMaxValues - 2));
    assert.equal(a.status, 200, a.text.slice(0, 300));
    const b = await send(small, analyze(), body(LIMITS.bodyMaxValues - 1));
    assert.equal(b.status, 400);
    assert.equal(errorText(b), VALUES_MSG);
    for (const f of FAMILIES.filter((x) => x.as === 'admin' || x.as === 'reader')) {
      const r = await send(small, f, JSON.stringify(f.envelope(Array.from({ length: LIMITS.bodyMaxValues }, () => 'v'))));
      assert.equal(r.status, 400, `${f.name}: ${r.text.slice(0, 300)}`);
      assert.equal(errorText(r), VALUES_MSG, f.name);
    }
  });

  void it('YAML: values reached through aliases count each time they are used', async () => {
    const list = Array.from({ length: 99 }, (_, i) => i).join(', ');
    // 1 root map + anchor list (1 + 99) + n aliases of 100 values each, plus a list holding them
    const doc = (n: number): string => `name: aliases\nui_metadata:\n  a: &x [${list}]\n  uses: [${Array(n).fill('*x').join(', ')}]\n`;
    const ok = await send(small, create(), doc(10), YAML);
    assert.ok(!isLimitError(ok), ok.text.slice(0, 300));
    const r = await send(small, create(), doc(60), YAML);
    assert.equal(r.status, 400, r.text.slice(0, 300));
    assert.equal(errorText(r), VALUES_MSG);
  });
});

void describe('YAML alias amplification (F7)', () => {
  void it('a document whose aliases expand past the body limit is refused; under it, it is stored', async () => {
    const create = FAMILIES.find((f) => f.name === 'create template') as Family;
    const big = 'x'.repeat(100 * 1024);
    const doc = (uses: number): string => {
      const l = ['name: amplified', `description: &a "${big}"`, 'workflows:', '  provision:', '    nodes:'];
      for (let i = 0; i < uses; i++) l.push(`      - {id: n${i}, type: noop, user_inputs: {d: *a}}`);
      return l.join('\n') + '\n';
    };
    const under = await send(small, create, doc(8), YAML);
    assert.equal(under.status, 201, under.text.slice(0, 300));
    const over = await send(small, create, doc(11), YAML);
    assert.equal(over.status, 400, over.text.slice(0, 300));
    assert.equal(
      errorText(over),
      'Request body expands to more than 1048576 bytes once its YAML aliases are resolved (FLOWD_BODY_LIMIT_BYTES).',
    );
  });

  void it("the probe's 1 MB body expanding to 99 MB is refused at the defaults, and nothing is stored", async () => {
    const big = 'x'.repeat(990_000);
    const l = ['name: amplified', `description: &a "${big}"`, 'workflows:', '  provision:', '    nodes:'];
    for (let i = 0; i < 99; i++) l.push(`      - {id: n${i}, type: noop, user_inputs: {d: *a}}`);
    const r = await send(dflt, FAMILIES[0] as Family, l.join('\n') + '\n', YAML);
    assert.equal(r.status, 400, r.text.slice(0, 300));
    assert.match(errorText(r), /expands to more than 10485760 bytes .*FLOWD_BODY_LIMIT_BYTES/);
    const list = await dflt.node.request('POST', `${FF}/_search`, { body: { query: { match: { name: 'amplified' } } } });
    assert.equal(list.body.hits.total.value, 0);
  });

  void it('YAML bodies are bounded in tokens (a line of a multi-line string counts as one): send JSON for large ones', async () => {
    const f = FAMILIES.find((x) => x.name === '_search') as Family;
    const seq = (n: number): string => `query:\n  terms:\n    name:\n${'      - a\n'.repeat(n)}`;
    const ok = await send(small, f, seq(100), YAML);
    assert.equal(ok.status, 200, ok.text.slice(0, 300));
    for (const raw of [seq(1000), `description: "\n${' x\n'.repeat(3000)}"\n`]) {
      const r = await send(small, f, raw, YAML);
      assert.equal(r.status, 400);
      assert.equal(
        errorText(r),
        'Request body has more than 2000 YAML tokens, each line of a multi-line string counted as one (FLOWD_BODY_MAX_YAML_TOKENS): send large bodies as JSON.',
      );
    }
    // The same data as JSON is fine.
    const json = await send(small, f, JSON.stringify({ query: { terms: { name: Array(1000).fill('a') } } }));
    assert.equal(json.status, 200, json.text.slice(0, 300));
  });
});

void describe('oversized bodies (F22)', () => {
  void it('413 states the limit in bytes and its setting, on management and runtime routes', async () => {
    const raw = JSON.stringify({ text: 'x'.repeat(LIMITS.bodyLimitBytes) });
    for (const f of FAMILIES.filter((x) => ['create template', 'analyze', 'task', 'dashboard analyze', '_search'].includes(x.name))) {
      const r = await send(small, f, raw);
      assert.equal(r.status, 413, `${f.name}: ${r.text.slice(0, 200)}`);
      assert.equal(errorText(r), 'Request body is too large: the limit is 1048576 bytes (FLOWD_BODY_LIMIT_BYTES).', f.name);
    }
    const d = await send(dflt, FAMILIES[0] as Family, JSON.stringify({ name: 'x'.repeat(10 * 1024 * 1024) }));
    assert.equal(d.status, 413);
    assert.equal(errorText(d), 'Request body is too large: the limit is 10485760 bytes (FLOWD_BODY_LIMIT_BYTES).');
  });
});

void describe('non-finite numbers (F22)', () => {
  void it('1e999, -1e400 and 400-digit integers are a 400 on every JSON route, never a silent null', async () => {
    for (const token of ['1e999', '-1e400', '9'.repeat(400)]) {
      for (const f of FAMILIES) {
        const raw = JSON.stringify(f.envelope('§')).replace('"§"', token);
        const r = await send(dflt, f, raw);
        assert.equal(r.status, 400, `${f.name} ${token.slice(0, 10)}: ${r.text.slice(0, 300)}`);
        assert.match(errorText(r), /^Request body holds a number that is not finite: /, f.name);
      }
    }
    // Large but finite numbers are fine.
    const ok = await send(dflt, FAMILIES.find((f) => f.name === 'analyze') as Family, '{"n": 1.7976931348623157e308, "m": -1e-400}');
    assert.equal(ok.status, 200, ok.text);
  });

  void it('YAML .inf / .nan / 1e999 are refused as invalid content', async () => {
    for (const v of ['.inf', '-.inf', '.nan', '1e999']) {
      const r = await send(dflt, FAMILIES[0] as Family, `name: n\nui_metadata: {x: ${v}}\n`, YAML);
      assert.equal(r.status, 400, v);
      assert.equal(errorText(r), 'IOException: template content invalid for specified Content-Type.');
    }
  });
});

void describe('NUL characters (PostgreSQL text cannot hold them)', () => {
  const NUL_MSG = /^Request body holds a string with the NUL character \(\\u0000\), which flowd cannot store/;

  void it('a \\u0000 in any string or key is a 400 on every route, on either store, before anything is written', async () => {
    for (const f of FAMILIES) {
      for (const raw of [JSON.stringify(f.envelope('a\u0000b')), JSON.stringify(f.envelope({ 'k\u0000': 1 }))]) {
        const r = await send(dflt, f, raw);
        assert.equal(r.status, 400, `${f.name}: ${r.text.slice(0, 300)}`);
        assert.match(errorText(r), NUL_MSG, f.name);
      }
      if (f.yaml === true) {
        const r = await send(dflt, f, toYaml(f.envelope('§')).replace("'§'", '"a\\0b"').replace('§', '"a\\0b"'), YAML);
        assert.equal(r.status, 400, `${f.name} YAML: ${r.text.slice(0, 300)}`);
        assert.match(errorText(r), NUL_MSG, `${f.name} YAML`);
      }
    }
    // Nothing was kept: no key by that name exists.
    const keys = await dflt.node.request('GET', '/_flowd/api_keys');
    assert.equal(keys.status, 200, keys.text);
    assert.ok(!keys.text.includes('\\u0000'), keys.text.slice(0, 300));
  });

  void it('an escaped backslash before u0000 is ordinary text', async () => {
    const analyze = FAMILIES.find((f) => f.name === 'analyze') as Family;
    const r = await send(dflt, analyze, JSON.stringify({ text: 'C:\\u0000' }));
    assert.equal(r.status, 200, r.text);
  });
});

void describe('X-Correlation-Id (F18)', () => {
  void it('longer than the limit is a 400 on every route; never echoed or logged', async () => {
    const long = 'c'.repeat(LIMITS.correlationIdMaxLength + 1) + 'ENDMARK';
    const calls: Array<[string, string, RequestOptions]> = [
      [
        'POST',
        `${RT}/${small.syncId}/action/analyze`,
        { auth: null, headers: { 'x-api-key': small.syncKey, 'x-correlation-id': long }, body: { text: 'a' } },
      ],
      [
        'POST',
        `${RT}/${small.asyncId}/task`,
        { auth: null, headers: { 'x-api-key': small.asyncKey, 'x-correlation-id': long }, body: { text: 'a' } },
      ],
      ['GET', `${RT}/${small.syncId}/action/status`, { auth: null, headers: { 'x-api-key': small.syncKey, 'x-correlation-id': long } }],
      ['GET', `${FF}/${small.templateId}`, { headers: { 'x-correlation-id': long } }],
      ['POST', FF, { headers: { 'x-correlation-id': long }, raw: '{not json' }],
    ];
    for (const [method, path, opts] of calls) {
      const r = await small.node.request(method, path, opts);
      assert.equal(r.status, 400, `${method} ${path}: ${r.text}`);
      assert.equal(
        errorText(r),
        `X-Correlation-Id is ${long.length} characters long; send at most ${LIMITS.correlationIdMaxLength} (FLOWD_CORRELATION_ID_MAX_LENGTH).`,
      );
      assert.equal(r.headers.get('x-correlation-id'), null);
    }
    const tasks = await small.node.request('GET', `${RT}/${small.asyncId}/task`, { auth: null, headers: { 'x-api-key': small.asyncKey } });
    assert.ok(!tasks.text.includes('ENDMARK'), 'no task was created with it');
    // At the limit: echoed, logged and stored with the task as before.
    const ok = 'k'.repeat(LIMITS.correlationIdMaxLength);
    const a = await small.node.request('POST', `${RT}/${small.syncId}/action/analyze`, {
      auth: null,
      headers: { 'x-api-key': small.syncKey, 'x-correlation-id': ok },
      body: { text: 'a' },
    });
    assert.equal(a.status, 200, a.text);
    assert.equal(a.headers.get('x-correlation-id'), ok);
    await new Promise((res) => setTimeout(res, 50));
    const log = smallLog.join('');
    assert.ok(log.includes(ok), 'a valid correlation id is logged');
    assert.ok(!log.includes('ENDMARK'), 'an over-long correlation id never reaches the log');
  });
});

void describe('slow YAML fallback (F6b)', () => {
  void it('YAML that fails strict parsing answers within a generous bound, whatever its size; health stays responsive', async () => {
    const f = FAMILIES.find((x) => x.name === '_search') as Family;
    const bodies = [
      'a: b: c\n' + ('b' + ' '.repeat(16_000) + 'x\n').repeat(16), // the probe's 256 KB
      '- '.repeat(16_000), // the probe's 32 KB line
      'a: b: c\n' + ('b' + ' '.repeat(160_000) + 'x\n').repeat(60), // ~9.6 MB of the same
      'a: "\n' + ' '.repeat(100_000) + '- k: "\n' + 'x\n'.repeat(900), // re-indenting grows it: bounded
      "k: '" + ' '.repeat(4_000_000) + "- '\n", // one long quoted line
    ];
    for (const raw of bodies) {
      let done = false;
      let worstHealthMs = 0;
      const probe = (async () => {
        while (!done) {
          const t0 = Date.now();
          const h = await httpRequest(dflt.node.url, 'GET', '/_flowd/health', { auth: null });
          assert.equal(h.status, 200);
          worstHealthMs = Math.max(worstHealthMs, Date.now() - t0);
          await new Promise((res) => setTimeout(res, 20));
        }
      })();
      const t0 = Date.now();
      const r = await httpRequest(dflt.node.url, 'POST', f.path(dflt), { auth: READER, raw, contentType: YAML });
      const took = Date.now() - t0;
      done = true;
      await probe;
      assert.equal(r.status, 400, r.text.slice(0, 200));
      assert.ok(took < 10_000, `answered in ${took} ms`);
      assert.ok(worstHealthMs < 5_000, `health answered within ${worstHealthMs} ms meanwhile`);
    }
  });
});

void describe('runtime key checked before the body is read (F17)', () => {
  /** Sends the head of a large POST and part of its body, then stalls: returns what the server answered meanwhile. */
  function stalledPost(port: number, path: string, headers: Record<string, string>, declaredBytes: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1');
      let got = '';
      const timer = setTimeout(() => {
        sock.destroy();
        resolve(got);
      }, 10_000);
      sock.on('data', (c: Buffer) => {
        got += c.toString('utf8');
        if (got.includes('\r\n\r\n')) {
          clearTimeout(timer);
          sock.destroy();
          resolve(got);
        }
      });
      sock.on('error', (e) => {
        clearTimeout(timer);
        if (got !== '') resolve(got);
        else reject(e);
      });
      const head = [
        `POST ${path} HTTP/1.1`,
        'Host: 127.0.0.1',
        'Content-Type: application/json',
        `Content-Length: ${declaredBytes}`,
        ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
        '',
        '',
      ].join('\r\n');
      sock.write(head);
      sock.write('{"text":"' + 'x'.repeat(64 * 1024));
      // ...and the rest never comes.
    });
  }

  void it("a 9 MB POST with a missing, wrong or other workflow's key gets its 401/403 before the body completes", async () => {
    const port = Number(new URL(dflt.node.url).port);
    const nine = 9 * 1024 * 1024;
    for (const path of [`${RT}/${dflt.syncId}/action/analyze`, `${RT}/${dflt.asyncId}/task`, `${RT}/${dflt.asyncId}/task/batch`]) {
      const bad = await stalledPost(port, path, { 'X-API-KEY': 'nope' }, nine);
      assert.match(bad, /^HTTP\/1\.1 401 /, `${path}: ${bad.slice(0, 200)}`);
      const none = await stalledPost(port, path, {}, nine);
      assert.match(none, /^HTTP\/1\.1 401 /, `${path}: ${none.slice(0, 200)}`);
    }
    const other = await stalledPost(port, `${RT}/${dflt.asyncId}/task`, { 'X-API-KEY': dflt.syncKey }, nine);
    assert.match(other, /^HTTP\/1\.1 403 /, other.slice(0, 200));
    // A valid key waits for the body (the server answers nothing while it is incomplete).
    const good = await new Promise<string>((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      let got = '';
      sock.on('data', (c: Buffer) => (got += c.toString('utf8')));
      sock.write(
        [
          `POST ${RT}/${dflt.syncId}/action/analyze HTTP/1.1`,
          'Host: 127.0.0.1',
          'Content-Type: application/json',
          'Content-Length: 100',
          `X-API-KEY: ${dflt.syncKey}`,
          '',
          '{"te',
        ].join('\r\n'),
      );
      setTimeout(() => {
        sock.destroy();
        resolve(got);
      }, 1_000);
    });
    assert.equal(good, '');
  });
});

void describe('duration parameters beyond a timer (F21)', () => {
  void it('wait_for_completion_timeout above 2^31-1 ms is a 400 naming the maximum; at it, the wait works', async () => {
    const body = { name: 'waits', workflows: { provision: { nodes: [{ id: 'n1', type: 'noop' }] } } };
    for (const v of ['30d', '2147483648ms', '25d']) {
      const r = await dflt.node.request('POST', `${FF}?provision=true&wait_for_completion_timeout=${v}`, { body });
      assert.equal(r.status, 400, `${v}: ${r.text}`);
      assert.equal(
        errorText(r),
        `Failed to parse timeout value [${v}] for field [wait_for_completion_timeout]: the value is too large: at most 2147483647ms (about 24.8 days, the longest timer Node.js supports).`,
      );
    }
    const ok = await dflt.node.request('POST', `${FF}?provision=true&wait_for_completion_timeout=2147483647ms`, { body });
    assert.equal(ok.status, 202, ok.text);
    assert.equal(ok.body.state, 'COMPLETED');
    // The same rule holds for template durations (a step's node_timeout).
    const nt = await dflt.node.request('POST', `${FF}?provision=true`, {
      body: { name: 'nt', workflows: { provision: { nodes: [{ id: 'n1', type: 'noop', user_inputs: { node_timeout: '30d' } }] } } },
    });
    assert.equal(nt.status, 400, nt.text);
    assert.match(errorText(nt), /at most 2147483647ms/);
  });
});
