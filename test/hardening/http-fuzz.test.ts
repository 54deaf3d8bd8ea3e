/**
 * Property-based fuzz at the HTTP boundary (issue 14, point 8): every route the node lists in
 * its own OpenAPI document gets nested, huge, odd-typed and malformed bodies, bad query
 * strings, odd ids and wrong content types, as every role (no credentials, wrong password,
 * read-only, writer, ml_full_access, admin, API keys of the right and of the wrong workflow),
 * against the built server running as its own process (`npm run build` first).
 *
 * Properties: every request is answered (within REQUEST_TIMEOUT_MS); no answer is a 5xx except
 * the documented ones (501 "not implemented" for unsupported step types; 503 with
 * `retryable: true` while a service is not ready); the process never exits, keeps answering
 * /_flowd/health meanwhile, and logs no internal error. Afterwards it still serves honest
 * requests.
 *
 * Reproduce a failure: FLOWD_FUZZ_SEED=<printed seed> (and FLOWD_FUZZ_ROUTE=<regex> for one
 * route). FLOWD_FUZZ_RUNS multiplies the runs per route (default 1: ~60-90 s on 2 loaded cores).
 * FLOWD_FUZZ_KEEP_GOING=1 records every violation instead of stopping at the first (and starts
 * a fresh node when one dies or stops answering), then fails with the whole list (written to
 * FLOWD_FUZZ_REPORT if set): for surveying, not for CI.
 */
import { after, before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { ADMIN_PASSWORD } from '../support/flowd-harness.js';
import { spawnBuiltFlowd } from '../support/flowd-built.js';
import type { BuiltFlowd } from '../support/flowd-built.js';
import { createFixtures, call, RT } from '../support/node-fixtures.js';
import type { NodeFixtures } from '../support/node-fixtures.js';
import { basicAuth, NoAnswer, rawRequest } from '../support/raw-http.js';
import type { RawResponse } from '../support/raw-http.js';
import {
  bodyArb,
  contentTypeArb,
  describeBody,
  headersArb,
  idChoiceArb,
  queryArb,
  renderBody,
  renderQuery,
} from '../support/hostile-input.js';
import type { BodyFamily, BodySpec, Nasty, QuerySpec, YamlSpec } from '../support/hostile-input.js';

const SEED = process.env['FLOWD_FUZZ_SEED'] !== undefined ? Number(process.env['FLOWD_FUZZ_SEED']) : Math.floor(Math.random() * 2 ** 31);
const RUNS = Number(process.env['FLOWD_FUZZ_RUNS'] ?? 1);
const ONLY = process.env['FLOWD_FUZZ_ROUTE'] !== undefined ? new RegExp(process.env['FLOWD_FUZZ_ROUTE']) : undefined;
const KEEP_GOING = process.env['FLOWD_FUZZ_KEEP_GOING'] === '1';
/** With KEEP_GOING: write the violations there (JSON) instead of printing them. */
const REPORT = process.env['FLOWD_FUZZ_REPORT'];
/**
 * Generous: past the longest wait the server itself promises (120 s: analyze of an ASYNC flow,
 * task long-poll), so a slow answer is told apart from none.
 */
const REQUEST_TIMEOUT_MS = 130_000;
/** /_flowd/health, asked every 250 ms during the fuzz, must answer within this (a stalled event loop does not). */
const HEALTH_TIMEOUT_MS = 30_000;
/** Runs per route: routes that take a body get more. */
const BODY_RUNS = Math.max(1, Math.round(35 * RUNS));
const OTHER_RUNS = Math.max(1, Math.round(10 * RUNS));

interface Route {
  method: string;
  path: string;
  params: string[];
}

interface Case {
  ids: string[];
  pick: number;
  body: BodySpec;
  contentType: string | undefined;
  query: QuerySpec;
  headers: Record<string, string>;
  badCredential: number;
}

interface Role {
  name: string;
  /** Each role calls from its own loopback address, so per-address login throttling of one does not hit the others. */
  address: string;
  headers(fx: NodeFixtures, c: Case): Record<string, string>;
}

/** Ways to present wrong credentials: wrong password, unknown user, malformed header, wrong scheme, bogus key. */
function badCredentials(fx: NodeFixtures, n: number): Record<string, string> {
  const victim = fx.users.victim;
  const variants: Array<Record<string, string>> = [
    { authorization: basicAuth(victim[0], 'wrong-password-1'), 'x-api-key': 'flowd_not_a_real_key' },
    { authorization: basicAuth('fx-nobody', 'whatever-pw-1'), 'x-api-key': '' },
    { authorization: 'Basic !!!not-base64' },
    { authorization: basicAuth(victim[0], victim[1]).replace('Basic', 'basic') },
    { authorization: 'Bearer x', 'x-api-key': 'k'.repeat(5000) },
  ];
  return variants[n % variants.length] ?? {};
}

const ROLES: Role[] = [
  { name: 'anonymous', address: '127.0.0.2', headers: () => ({}) },
  // Wrong passwords go to fx-victim and unknown users, never to admin (whose name throttling would lock).
  { name: 'wrong password', address: '127.0.0.3', headers: (fx, c) => badCredentials(fx, c.badCredential) },
  {
    name: 'reader (flow_framework_read_access)',
    address: '127.0.0.4',
    headers: (fx) => ({ authorization: basicAuth(...fx.users.reader) }),
  },
  {
    name: 'writer (flow_framework_full_access)',
    address: '127.0.0.5',
    headers: (fx) => ({ authorization: basicAuth(...fx.users.writer) }),
  },
  { name: 'ml_full_access', address: '127.0.0.6', headers: (fx) => ({ authorization: basicAuth(...fx.users.mlWriter) }) },
  { name: 'admin', address: '127.0.0.7', headers: (fx) => ({ authorization: basicAuth(...fx.admin) }) },
  { name: 'API key (right workflow)', address: '127.0.0.8', headers: (fx) => ({ 'x-api-key': fx.rightKey }) },
  { name: 'API key (wrong workflow)', address: '127.0.0.9', headers: (fx) => ({ 'x-api-key': fx.wrongKey }) },
];

/** Routes that change or delete what they address: their "real" ids are the disposable fixtures. */
const mutates = (r: Route): boolean => r.method === 'PUT' || r.method === 'DELETE' || /\/_(provision|deprovision|rotate)$/.test(r.path);

function familyOf(r: Route): BodyFamily {
  const p = r.path;
  if (p.endsWith('/_search')) return 'search';
  if (r.method === 'GET' || r.method === 'DELETE') return 'generic';
  if (p === '/_plugins/_flow_framework/workflow' || p.endsWith('/workflow/{workflow_id}')) return 'template';
  if (p.endsWith('/analyze') || p.endsWith('/task')) return 'input';
  if (p.endsWith('/task/batch')) return 'batch';
  if (p.endsWith('/task/status')) return 'taskIds';
  if (p.includes('/internalusers/')) return 'user';
  if (p === '/_flowd/api_keys') return 'apiKey';
  if (p.endsWith('/_predict')) return 'predict';
  return 'generic';
}

const takesBody = (r: Route): boolean => r.method === 'POST' || r.method === 'PUT';

const UNKNOWN_ID = 'fzUnknownId000000000';

/** The id a path parameter gets for an id choice ('real', 'other', or an odd literal). */
function idFor(fx: NodeFixtures, r: Route, param: string, choice: string, pick: number): string {
  const mutating = mutates(r);
  const real: Record<string, string> = {
    workflow_id: mutating ? fx.disposable.workflowId : ([fx.workflowId, fx.syncFlowId, fx.asyncFlowId][pick % 3] as string),
    workflowId: r.path.startsWith('/_flowd/')
      ? ([fx.syncFlowId, fx.asyncFlowId, fx.workflowId][pick % 3] as string)
      : ([fx.syncFlowId, fx.asyncFlowId][pick % 2] as string),
    taskId: fx.taskId,
    // The ML fixtures are shared: a PUT or DELETE gets an unknown id instead of a real one.
    model_id: mutating ? UNKNOWN_ID : fx.ml.modelId,
    connector_id: mutating ? UNKNOWN_ID : fx.ml.connectorId,
    agent_id: mutating ? UNKNOWN_ID : fx.ml.agentId,
    model_group_id: mutating ? UNKNOWN_ID : fx.ml.modelGroupId,
    task_id: mutating ? UNKNOWN_ID : fx.ml.taskId,
    tool_name: 'MLModelTool',
    name: mutating ? fx.disposable.user : fx.users.reader[0],
    id: fx.disposable.keyId,
  };
  // A real id of another kind (never one a mutating route could damage a fixture with).
  const other: Record<string, string> = {
    workflow_id: fx.taskId,
    workflowId: fx.taskId,
    taskId: fx.syncFlowId,
    model_id: fx.ml.connectorId,
    connector_id: fx.ml.modelId,
    agent_id: fx.ml.modelId,
    model_group_id: fx.ml.connectorId,
    task_id: fx.ml.modelId,
    tool_name: fx.ml.agentId,
    name: fx.workflowId,
    id: fx.workflowId,
  };
  if (choice === 'real') return real[param] ?? UNKNOWN_ID;
  if (choice === 'other') return other[param] ?? UNKNOWN_ID;
  return choice;
}

function caseArb(r: Route): fc.Arbitrary<Case> {
  const body = takesBody(r)
    ? bodyArb(familyOf(r))
    : fc.oneof({ weight: 3, arbitrary: fc.constant<BodySpec>({ kind: 'none' }) }, { weight: 1, arbitrary: bodyArb(familyOf(r)) });
  return fc.record({
    ids: fc.array(idChoiceArb, { minLength: r.params.length, maxLength: r.params.length }),
    pick: fc.nat(5),
    body,
    contentType: contentTypeArb,
    query: queryArb,
    headers: headersArb,
    badCredential: fc.nat(4),
  });
}

const nasty = (envelope: string, value: Nasty, pick = 0, contentType = 'application/json'): Case => ({
  ids: [],
  pick,
  body: { kind: 'enveloped', envelope, value },
  contentType,
  query: { pairs: [], tail: '' },
  headers: {},
  badCredential: 0,
});
const yamlCase = (text: YamlSpec): Case => ({
  ...nasty('§', { kind: 'odd', text: 'null' }),
  body: { kind: 'yaml', text },
  contentType: 'application/yaml',
});
const DEEP_3600: Nasty = { kind: 'deepObject', depth: 3600 };
const DEEP_100K: Nasty = { kind: 'deepArray', depth: 100_000 };

/**
 * Cases every route of a kind gets before the random ones: the known classes of the probe
 * report (deep input into a worker, poison tasks, backtracking schema patterns, wildcard
 * search, YAML amplification and slow YAML), so a short run cannot miss them by chance.
 */
function examplesFor(r: Route): Case[] {
  if (!takesBody(r) && familyOf(r) !== 'search') return [];
  const base: Record<BodyFamily, Case[]> = {
    input: [
      nasty('{"text":§}', DEEP_3600, 0),
      nasty('{"text":§}', DEEP_3600, 1),
      nasty('{"text":§}', { kind: 'deepMixed', depth: 6000 }, 1),
      nasty('{"text":§}', DEEP_100K, 0),
      nasty('{"code":§}', { kind: 'backtrack', length: 40 }, 0),
    ],
    batch: [nasty('{"tasks":[{"input":§}]}', DEEP_3600, 1), nasty('{"tasks":[{"input":{"text":§}}]}', DEEP_100K, 1)],
    template: [
      nasty('{"name":"fz","workflows":{"provision":{"nodes":[{"id":"n1","type":"noop","user_inputs":{"x":§}}]}}}', DEEP_3600),
      nasty('§', DEEP_100K),
      yamlCase({ kind: 'amplify', anchorKb: 64, aliases: 99 }),
      yamlCase({ kind: 'reindent', spaces: 8000, lines: 8 }),
      yamlCase({ kind: 'laughs', levels: 10, fanout: 10 }),
    ],
    search: [
      nasty('{"query":{"wildcard":{"description":§}}}', { kind: 'wildcard', pairs: 1000 }),
      nasty('{"query":{"bool":{"must":§}}}', { kind: 'deepArray', depth: 3600 }),
      yamlCase({ kind: 'reindent', spaces: 8000, lines: 8 }),
    ],
    taskIds: [nasty('{"taskIds":§}', DEEP_100K, 1)],
    user: [nasty('{"password":"long-enough-pw-1","attributes":§}', DEEP_3600)],
    apiKey: [nasty('{"name":§,"workflow_ids":["$WF"]}', DEEP_3600)],
    predict: [nasty('{"parameters":§}', DEEP_3600), nasty('{"text_docs":§}', DEEP_100K)],
    generic: [nasty('§', DEEP_3600)],
  };
  return (base[familyOf(r)] ?? []).map((c) => ({ ...c, ids: r.params.map(() => 'real') }));
}

/** Documented 5xx answers (decided from the code): 501 for an unsupported step type, 503 retryable while a service is not ready. */
function violation(res: RawResponse): string | undefined {
  if (res.status >= 100 && res.status < 500) return undefined;
  if (res.status === 501 && /is not implemented/.test(res.text)) return undefined;
  if (res.status === 503) {
    try {
      const j = JSON.parse(res.text) as { errors?: Array<{ retryable?: boolean }> };
      if (j.errors?.[0]?.retryable === true) return undefined;
    } catch {
      // not the runtime error shape: a violation
    }
  }
  return `answered ${res.status}`;
}

/** The node under test and its fixtures (replaced when it dies in KEEP_GOING mode). */
interface Target {
  node: BuiltFlowd;
  fx: NodeFixtures;
  routes: Route[];
  /** Set once the node stopped answering even /_flowd/health. */
  wedged?: boolean;
}

async function startTarget(): Promise<Target> {
  // Login throttling stays on (defaults); each role has its own address, and wrong passwords go to fx-victim, never to admin.
  const node = await spawnBuiltFlowd({ adminPassword: ADMIN_PASSWORD, env: { FLOWD_SHUTDOWN_GRACE_MS: '500' } });
  try {
    const fx = await createFixtures(node.url, ['admin', ADMIN_PASSWORD]);
    const doc = await call(node.url, 'GET', '/_flowd/openapi.json', { expect: [200] });
    const routes: Route[] = [];
    for (const [path, ops] of Object.entries(doc.body.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(ops))
        routes.push({ method: method.toUpperCase(), path, params: [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string) });
    }
    return { node, fx, routes };
  } catch (e) {
    await node.close(2000);
    throw e;
  }
}

interface Found {
  route: string;
  role: string;
  what: string;
  request: string;
  response: string;
  log: string[];
}

const found: Found[] = [];
let target: Target;
let pinger: { stop(): Promise<{ max: number; failures: string[] }> };

/** Asks /_flowd/health every 250 ms from its own address while the fuzz runs: a stalled event loop shows here. */
function startPinger(getUrl: () => string): typeof pinger {
  let running = true;
  let max = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (running) {
      try {
        const r = await rawRequest({
          base: getUrl(),
          method: 'GET',
          path: '/_flowd/health',
          localAddress: '127.0.0.10',
          timeoutMs: HEALTH_TIMEOUT_MS,
        });
        max = Math.max(max, r.ms);
        if (r.status !== 200) failures.push(`health answered ${r.status}: ${r.text.slice(0, 200)}`);
      } catch (e) {
        if (target.node.alive()) failures.push((e as Error).message);
      }
      await new Promise((res) => setTimeout(res, 250));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { max, failures };
    },
  };
}

/** Bodies the server refused by closing the connection before reading them (early rejections; counted, not violations). */
let closedWhileSending = 0;

/** After a timeout: is the node still answering at all? A wedged node makes every later case time out. */
async function wedged(t: Target): Promise<boolean> {
  try {
    const h = await rawRequest({ base: t.node.url, method: 'GET', path: '/_flowd/health', localAddress: '127.0.0.11', timeoutMs: 10_000 });
    return h.status !== 200;
  } catch {
    return true;
  }
}

async function sendCase(t: Target, r: Route, c: Case): Promise<void> {
  if (t.wedged) throw new Error('flowd stopped answering in an earlier case (see the first failure)');
  const path =
    r.path.replace(/\{(\w+)\}/g, (_m, p: string) => idFor(t.fx, r, p, c.ids[r.params.indexOf(p)] ?? 'real', c.pick)) + renderQuery(c.query);
  const body = renderBody(c.body, t.fx.workflowId);
  const label = `${r.method} ${r.path}`;
  const logMark = t.node.errorLines().length;
  const problems = await Promise.all(
    ROLES.map(async (role): Promise<Found | undefined> => {
      const headers: Record<string, string> = { ...c.headers, ...role.headers(t.fx, c) };
      if (body !== undefined && c.contentType !== undefined) headers['content-type'] = c.contentType;
      const request = `${r.method} ${path.slice(0, 300)} content-type=${String(headers['content-type'])} extra-headers=${JSON.stringify(Object.keys(c.headers))} body=${describeBody(body)}`;
      try {
        const res = await rawRequest({
          base: t.node.url,
          method: r.method,
          path,
          headers,
          ...(body !== undefined ? { body } : {}),
          localAddress: role.address,
          timeoutMs: REQUEST_TIMEOUT_MS,
        });
        const what = violation(res);
        return what
          ? { route: label, role: role.name, what, request, response: `${res.status} ${res.text.slice(0, 600)}`, log: [] }
          : undefined;
      } catch (e) {
        if (!(e instanceof NoAnswer)) throw e;
        if (e.reason === 'closed-while-sending') {
          closedWhileSending++;
          return undefined;
        }
        return { route: label, role: role.name, what: `no answer (${e.reason})`, request, response: e.message, log: [] };
      }
    }),
  );
  const bad = problems.filter((p): p is Found => p !== undefined);
  // Let a dying process finish dying, so a crash is blamed on the case that caused it.
  if (bad.length > 0) await new Promise((res) => setTimeout(res, 300));
  if (!t.node.alive()) {
    const { code, signal } = await t.node.exited;
    bad.push({
      route: label,
      role: 'all (concurrently)',
      what: `flowd exited (code ${String(code)}, signal ${String(signal)})`,
      request: `${r.method} ${path.slice(0, 300)} body=${describeBody(body)}`,
      response: '',
      log: [],
    });
  } else if (bad.some((b) => b.what.includes('timeout')) && (await wedged(t))) {
    t.wedged = true;
    bad.push({
      route: label,
      role: 'all (concurrently)',
      what: 'flowd stopped answering (/_flowd/health: no answer within 10 s)',
      request: `${r.method} ${path.slice(0, 300)} body=${describeBody(body)}`,
      response: '',
      log: [],
    });
  }
  if (bad.length === 0) return;
  const log = [...t.node.errorLines().slice(logMark).slice(0, 6), ...(t.node.alive() ? [] : t.node.tail().slice(-12))].map((l) =>
    l.slice(0, 1500),
  );
  for (const b of bad) b.log = log;
  if (KEEP_GOING) {
    found.push(...bad);
    if (!t.node.alive() || t.wedged) {
      await t.node.close(1000);
      target = await startTarget();
    }
    return;
  }
  throw new Error(
    bad.map((b) => `${b.route} as ${b.role}: ${b.what}\n  request: ${b.request}\n  response: ${b.response}`).join('\n') +
      `\n  node log:\n    ${log.join('\n    ')}`,
  );
}

before(async () => {
  console.log(
    `http-fuzz: seed ${SEED} (rerun with FLOWD_FUZZ_SEED=${SEED}), ${BODY_RUNS}/${OTHER_RUNS} runs per route with/without a body`,
  );
  target = await startTarget();
  pinger = startPinger(() => target.node.url);
});

after(async () => {
  await pinger?.stop();
  await target?.node.close(5000);
});

void describe('HTTP boundary fuzz (built server, own process)', () => {
  void it('takes every route from the OpenAPI document, with real ids for each parameter', () => {
    const listed = new Set(target.routes.map((r) => `${r.method} ${r.path}`));
    assert.ok(target.routes.length >= 40, `only ${target.routes.length} routes listed`);
    for (const must of [
      'POST /_plugins/_flow_framework/workflow',
      'POST /api/v1/runtime/workflow/{workflowId}/action/analyze',
      'POST /api/v1/runtime/workflow/{workflowId}/task/batch',
      'POST /_plugins/_flow_framework/workflow/_search',
      'POST /_flowd/workflows/{workflowId}/analyze',
      'PUT /_plugins/_security/api/internalusers/{name}',
      'POST /_plugins/_ml/models/{model_id}/_predict',
    ]) {
      assert.ok(listed.has(must), `${must} is not in the OpenAPI document`);
    }
    const known = [
      'workflow_id',
      'workflowId',
      'taskId',
      'model_id',
      'connector_id',
      'agent_id',
      'model_group_id',
      'task_id',
      'tool_name',
      'name',
      'id',
    ];
    for (const r of target.routes)
      for (const p of r.params) assert.ok(known.includes(p), `${r.method} ${r.path}: no fixture id for {${p}}`);
  });

  void it('answers every hostile request to every route as every role, without 5xx or exiting', async (t: TestContext) => {
    // Each route's seed follows from its place in the full list, so FLOWD_FUZZ_ROUTE replays the same cases.
    const routes = [...target.routes.entries()].filter(([, r]) => ONLY === undefined || ONLY.test(`${r.method} ${r.path}`));
    for (const [i, r] of routes) {
      const dead = !KEEP_GOING && (!target.node.alive() || target.wedged === true);
      await t.test(`${r.method} ${r.path}`, { skip: dead ? 'flowd exited earlier' : false }, async () => {
        await fc.assert(
          fc.asyncProperty(caseArb(r), (c) => sendCase(target, r, c)),
          // No shrinking: against a stateful server a shrunk case may fail for another reason (an
          // earlier case's damage); the first counterexample, with its seed and path, is the report.
          {
            seed: SEED + i,
            numRuns: takesBody(r) ? BODY_RUNS : OTHER_RUNS,
            examples: examplesFor(r).map((c) => [c] as [Case]),
            endOnFailure: true,
            includeErrorInReport: true,
          },
        );
      });
    }
  });

  void it('is still alive afterwards, answered /_flowd/health throughout, logged no internal error, and serves honest requests', async () => {
    const { max, failures } = await pinger.stop();
    console.log(
      `http-fuzz: slowest /_flowd/health answer during the fuzz: ${max.toFixed(0)} ms; ${closedWhileSending} bodies refused by closing the connection before they were read`,
    );
    if (KEEP_GOING && found.length > 0) {
      const seen = new Map<string, { n: number; f: Found }>();
      for (const f of found) {
        const k = `${f.route}|${f.role}|${f.what}|${f.response.slice(0, 80)}`;
        const s = seen.get(k);
        if (s) s.n++;
        else seen.set(k, { n: 1, f });
      }
      const list = JSON.stringify(
        [...seen.values()].map(({ n, f }) => ({ times: n, ...f })),
        null,
        1,
      );
      if (REPORT !== undefined) writeFileSync(REPORT, list);
      else console.log(list);
    }
    assert.deepEqual(failures, [], 'every /_flowd/health probe during the fuzz was answered 200');
    const node = target.node;
    assert.equal(node.alive(), true, `flowd exited:\n${node.tail().slice(-20).join('\n')}`);
    const health = await rawRequest({ base: node.url, method: 'GET', path: '/_flowd/health', timeoutMs: HEALTH_TIMEOUT_MS });
    assert.equal(health.status, 200, health.text);
    const internal = node.errorLines().filter((l) => /"msg":"internal error"|uncaught|unhandled/i.test(l));
    assert.deepEqual(
      internal.map((l) => l.slice(0, 600)),
      [],
      'the node logged internal errors',
    );
    const fx = target.fx;
    const sync = await call(node.url, 'POST', `${RT}/${fx.syncFlowId}/action/analyze`, {
      apiKey: fx.rightKey,
      body: { text: 'still here' },
      expect: [200],
    });
    assert.deepEqual(sync.body, { text: 'STILL HERE' });
    const status = await call(node.url, 'GET', `/_plugins/_flow_framework/workflow/${fx.syncFlowId}/_status`, {
      basic: fx.users.reader,
      expect: [200],
    });
    assert.equal(status.body.state, 'COMPLETED');
    assert.deepEqual(found, [], `${found.length} violations (listed above)`);
  });
});
