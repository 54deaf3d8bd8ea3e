/**
 * Adversarial soak (issue 14, "Done when"): one flowd node, the built bundle in its own process
 * (`npm run build` first), serves honest clients while attackers hammer it.
 *
 * Phase 1 (baseline, BENCH_SOAK_BASELINE_S, default 15 s): honest clients only — a read-only
 * user polling `GET …/_status` (4 paced loops) and SYNC `action/analyze` with an API key
 * (2 paced loops), in their own process (bench/soak-honest-client.ts).
 * Phase 2 (attack, BENCH_SOAK_S, default 120 s): the same honest clients, plus, in parallel,
 * deep JSON bodies (3,600 and 100,000 levels) to analyze, task, task batch, templates and
 * _search; poison tasks (deep inputs, and a js block that crashes its instance); wildcard and
 * regexp queries by the read-only user; a backtracking `input_schema` pattern; brute-force
 * logins against admin and unknown users; `http_request` provisioning of 50 MB and slow
 * responses; YAML alias bombs and slow-to-parse YAML.
 *
 * Attackers call from 127.0.0.2-5 and honest clients from 127.0.0.1, as distinct clients
 * would (per-address throttling can tell them apart); every request goes to 127.0.0.1. Every
 * loop is bounded in count and time. BENCH_SOAK_ONLY=<regex> runs only the attacks whose label
 * matches. It measures, never asserts timing: exit code 0 whatever the numbers, 1 only if the
 * node died or stopped answering /_flowd/health (within 10 s) by the end.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawnBuiltFlowd } from '../test/support/flowd-built.js';
import type { BuiltFlowd } from '../test/support/flowd-built.js';
import { call, createApiKey, createUser, FF, publishFlow, RT, UPPER_SOURCE } from '../test/support/node-fixtures.js';
import { basicAuth, NoAnswer, tryRawRequest } from '../test/support/raw-http.js';
import type { RawRequest } from '../test/support/raw-http.js';
import { startAttackServer } from './attack-server.js';
import type { HonestConfig, HonestReport, LatencySummary } from './soak-honest-client.js';
import { table } from './support.js';

const SOAK_S = Number(process.env['BENCH_SOAK_S'] ?? 120);
const BASELINE_S = Number(process.env['BENCH_SOAK_BASELINE_S'] ?? 15);
const LOGIN_CONCURRENCY = Number(process.env['BENCH_SOAK_LOGIN_CONCURRENCY'] ?? 32);
/** Only the attacks whose label matches (a regular expression), e.g. to look at one class alone. */
const ONLY = process.env['BENCH_SOAK_ONLY'] !== undefined ? new RegExp(process.env['BENCH_SOAK_ONLY'], 'i') : undefined;
const ADMIN: [string, string] = ['admin', 'bench-password-1'];
const READER: [string, string] = ['soak-reader', 'reader-pass-1'];
const WRITER: [string, string] = ['soak-writer', 'writer-pass-1'];
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const deepObject = (n: number): string => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
const deepArray = (n: number): string => '['.repeat(n) + ']'.repeat(n);
const DEEP = [deepObject(3600), deepArray(3600), deepObject(100_000), deepArray(100_000)];
const WILDCARD = JSON.stringify({ query: { wildcard: { description: '*a'.repeat(1000) + '*b' } } });
const REGEXPS = ['(a+)+b', '(a|aa)*c', 'a.*a.*a.*a.*a.*a.*b', '.*.*.*.*.*=.*'].map((r) =>
  JSON.stringify({ query: { regexp: { description: r } } }),
);
const SLOW_YAML = 'a: b: c\n' + ('b' + ' '.repeat(16_000) + 'x\n').repeat(16);
const LAUGHS = [
  'a0: &a0 "lol"',
  ...Array.from({ length: 9 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]`),
  'name: *a9',
].join('\n');
const AMPLIFY = [
  'name: amplified',
  `description: &big "${'x'.repeat(200 * 1024)}"`,
  'workflows:',
  '  provision:',
  '    nodes:',
  ...Array.from({ length: 99 }, (_, i) => `      - {id: n${i}, type: noop, user_inputs: {d: *big}}`),
].join('\n');

/** A js block that exhausts its heap (memory: 64) when asked: its instance dies and is replaced. */
const CRASH_SOURCE =
  'var hog = []; function process(input) { if (input && input.crash === true) { for (;;) hog.push(new Array(1e6).fill(1)); } return { ok: true }; }';

interface AttackStats {
  label: string;
  sent: number;
  codes: Map<string, number>;
  maxMs: number;
}

interface Setup {
  node: BuiltFlowd;
  syncId: string;
  syncKey: string;
  attackSyncKey: string;
  poisonId: string;
  poisonKey: string;
  schemaId: string;
  schemaKey: string;
}

async function setUp(node: BuiltFlowd): Promise<Setup> {
  const url = node.url;
  await createUser(url, ADMIN, READER[0], READER[1], ['flow_framework_read_access']);
  await createUser(url, ADMIN, WRITER[0], WRITER[1], ['flow_framework_full_access']);
  // Wildcard fodder: a long description every search walks over.
  await call(url, 'POST', FF, {
    basic: ADMIN,
    body: { name: 'long', description: 'a'.repeat(1000), workflows: { provision: { nodes: [{ id: 'n', type: 'noop' }] } } },
    expect: [201],
  });
  const syncId = await publishFlow(url, ADMIN, 'soak-sync', {
    mode: 'SYNC',
    blocks: [{ id: 'upper', type: 'js', config: { source: UPPER_SOURCE } }],
    edges: [],
  });
  const poisonId = await publishFlow(url, ADMIN, 'soak-poison', {
    mode: 'ASYNC',
    autoscaling: { preset: 'disabled' },
    blocks: [{ id: 'crashy', type: 'js', replicas: 1, memory: 64, timeout: '10s', config: { source: CRASH_SOURCE } }],
    edges: [],
  });
  const schemaId = await publishFlow(url, ADMIN, 'soak-schema', {
    mode: 'SYNC',
    input_schema: { type: 'object', properties: { code: { type: 'string', pattern: '^(a+)+$' } } },
    blocks: [{ id: 'upper', type: 'js', config: { source: UPPER_SOURCE } }],
    edges: [],
  });
  return {
    node,
    syncId,
    syncKey: (await createApiKey(url, ADMIN, 'honest', [syncId])).key,
    attackSyncKey: (await createApiKey(url, ADMIN, 'attacker-sync', [syncId])).key,
    poisonId,
    poisonKey: (await createApiKey(url, ADMIN, 'attacker-poison', [poisonId])).key,
    schemaId,
    schemaKey: (await createApiKey(url, ADMIN, 'attacker-schema', [schemaId])).key,
  };
}

/** Runs `make(i)` requests, `concurrency` at a time, until `deadline`, `max` requests, or the node died. */
function attack(
  stats: AttackStats[],
  node: BuiltFlowd,
  deadline: number,
  label: string,
  opts: { concurrency?: number; max: number; pauseMs?: number },
  make: (i: number) => RawRequest,
): Promise<void> {
  const s: AttackStats = { label, sent: 0, codes: new Map(), maxMs: 0 };
  stats.push(s);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (Date.now() < deadline && next < opts.max && node.alive()) {
      const i = next++;
      const req = make(i);
      // Never wait past the phase by more than the request's own bound.
      const r = await tryRawRequest({ ...req, keepBytes: 256 });
      s.sent++;
      const code = r instanceof NoAnswer ? r.reason : String(r.status);
      s.codes.set(code, (s.codes.get(code) ?? 0) + 1);
      if (!(r instanceof NoAnswer)) s.maxMs = Math.max(s.maxMs, r.ms);
      if (opts.pauseMs) await new Promise((res) => setTimeout(res, opts.pauseMs));
    }
  };
  return Promise.all(Array.from({ length: opts.concurrency ?? 1 }, worker)).then(() => undefined);
}

function launchAttacks(st: Setup, attackUrl: string, deadline: number): { stats: AttackStats[]; done: Promise<void> } {
  const { node } = st;
  const base = node.url;
  const stats: AttackStats[] = [];
  const json = { 'content-type': 'application/json' };
  const yaml = { 'content-type': 'application/yaml' };
  const reader = { authorization: basicAuth(...READER) };
  const writer = { authorization: basicAuth(...WRITER) };
  const deep = (i: number): string => DEEP[i % DEEP.length] as string;
  // Keep-alive: thousands of guesses a second on fresh connections would exhaust the client's ports first.
  const loginAgent = new http.Agent({ keepAlive: true, maxSockets: LOGIN_CONCURRENCY });
  const go = (
    label: string,
    opts: { concurrency?: number; max: number; pauseMs?: number },
    make: (i: number) => RawRequest,
  ): Promise<void> => (ONLY === undefined || ONLY.test(label) ? attack(stats, node, deadline, label, opts, make) : Promise.resolve());
  const done = Promise.all([
    go('deep JSON → action/analyze (key holder)', { concurrency: 2, max: 100_000 }, (i) => ({
      base,
      method: 'POST',
      path: `${RT}/${st.syncId}/action/analyze`,
      headers: { ...json, 'x-api-key': st.attackSyncKey },
      body: `{"text":${deep(i)}}`,
      localAddress: '127.0.0.2',
      timeoutMs: 30_000,
    })),
    go('deep JSON → task, task/batch (key holder)', { max: 100_000, pauseMs: 50 }, (i) => ({
      base,
      method: 'POST',
      path: `${RT}/${st.poisonId}/${i % 2 === 0 ? 'task' : 'task/batch'}`,
      headers: { ...json, 'x-api-key': st.poisonKey },
      body: i % 2 === 0 ? `{"text":${deep(i >> 1)}}` : `{"tasks":[{"input":{"text":${deep(i >> 1)}}}]}`,
      localAddress: '127.0.0.2',
      timeoutMs: 30_000,
    })),
    go('deep JSON → template create (writer)', { max: 100_000, pauseMs: 20 }, (i) => ({
      base,
      method: 'POST',
      path: FF,
      headers: { ...json, ...writer },
      body: `{"name":"deep","workflows":{"provision":{"nodes":[{"id":"n","type":"noop","user_inputs":{"d":${deep(i)}}}]}}}`,
      localAddress: '127.0.0.4',
      timeoutMs: 30_000,
    })),
    go('deep JSON → _search (reader)', { max: 100_000, pauseMs: 20 }, (i) => ({
      base,
      method: 'POST',
      path: `${FF}/_search`,
      headers: { ...json, ...reader },
      body: `{"query":{"bool":{"must":[${deep(i)}]}}}`,
      localAddress: '127.0.0.5',
      timeoutMs: 30_000,
    })),
    go('poison task: js block exhausts its heap (key holder)', { max: 60, pauseMs: 2000 }, () => ({
      base,
      method: 'POST',
      path: `${RT}/${st.poisonId}/task`,
      headers: { ...json, 'x-api-key': st.poisonKey },
      body: '{"crash":true}',
      localAddress: '127.0.0.2',
      timeoutMs: 30_000,
    })),
    go('wildcard *a×1000*b query (reader)', { max: 100_000 }, () => ({
      base,
      method: 'POST',
      path: `${FF}/_search`,
      headers: { ...json, ...reader },
      body: WILDCARD,
      localAddress: '127.0.0.5',
      timeoutMs: 60_000,
    })),
    go('regexp queries (reader)', { max: 100_000, pauseMs: 20 }, (i) => ({
      base,
      method: 'POST',
      path: `${FF}/state/_search`,
      headers: { ...json, ...reader },
      body: REGEXPS[i % REGEXPS.length] as string,
      localAddress: '127.0.0.5',
      timeoutMs: 60_000,
    })),
    go('input_schema pattern ^(a+)+$, 30 a + ! (key holder)', { max: 100_000 }, () => ({
      base,
      method: 'POST',
      path: `${RT}/${st.schemaId}/action/analyze`,
      headers: { ...json, 'x-api-key': st.schemaKey },
      body: JSON.stringify({ code: 'a'.repeat(30) + '!' }),
      localAddress: '127.0.0.2',
      timeoutMs: 60_000,
    })),
    go(
      `brute-force login, admin + unknown users (${LOGIN_CONCURRENCY} parallel)`,
      { concurrency: LOGIN_CONCURRENCY, max: 500_000 },
      (i) => ({
        base,
        method: 'GET',
        path: `${FF}/_steps`,
        headers: { authorization: basicAuth(i % 2 === 0 ? 'admin' : `nobody-${i % 97}`, `guess-${i}`) },
        localAddress: '127.0.0.3',
        timeoutMs: 30_000,
        agent: loginAgent,
      }),
    ),
    go(
      'http_request provisioning: 50 MB response (writer)',
      { max: Number(process.env['BENCH_SOAK_HUGE_MAX'] ?? 6), pauseMs: 500 },
      () => ({
        base,
        method: 'POST',
        path: `${FF}?provision=true&wait_for_completion_timeout=30s`,
        headers: { ...json, ...writer },
        body: JSON.stringify({
          name: 'huge',
          workflows: {
            provision: { nodes: [{ id: 'big', type: 'http_request', user_inputs: { method: 'GET', url: `${attackUrl}/huge?mb=50` } }] },
          },
        }),
        localAddress: '127.0.0.4',
        timeoutMs: 60_000,
      }),
    ),
    go('http_request provisioning: 20 s slow response (writer)', { concurrency: 2, max: 12 }, () => ({
      base,
      method: 'POST',
      path: `${FF}?provision=true&wait_for_completion_timeout=40s`,
      headers: { ...json, ...writer },
      body: JSON.stringify({
        name: 'slow',
        workflows: {
          provision: { nodes: [{ id: 'slow', type: 'http_request', user_inputs: { method: 'GET', url: `${attackUrl}/slow?s=20` } }] },
        },
      }),
      localAddress: '127.0.0.4',
      timeoutMs: 60_000,
    })),
    go('YAML alias bombs: 10×10 laughs, 200 KB × 99 amplification (writer)', { max: 20, pauseMs: 1000 }, (i) => ({
      base,
      method: 'POST',
      path: FF,
      headers: { ...yaml, ...writer },
      body: i % 2 === 0 ? LAUGHS : AMPLIFY,
      localAddress: '127.0.0.4',
      timeoutMs: 60_000,
    })),
    go('slow-to-parse YAML → _search, 256 KB (reader)', { max: 100_000 }, () => ({
      base,
      method: 'POST',
      path: `${FF}/_search`,
      headers: { ...yaml, ...reader },
      body: SLOW_YAML,
      localAddress: '127.0.0.5',
      timeoutMs: 60_000,
    })),
  ]).then(() => loginAgent.destroy());
  return { stats, done };
}

/** The honest clients' process: phases are switched over its stdin; its report comes back on stdout. */
function startHonest(cfg: HonestConfig): { phase(name: string): void; stop(): Promise<HonestReport> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/soak-honest-client.ts')], {
    cwd: ROOT,
    env: { ...process.env, BENCH_SOAK_HONEST: JSON.stringify(cfg) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    phase: (name) => void child.stdin.write(`phase ${name}\n`),
    async stop() {
      child.stdin.end('stop\n');
      await exited;
      return JSON.parse(lines.at(-1) ?? '{}') as HonestReport;
    },
  };
}

/** CPU seconds (user + system, all threads) of a process so far, from /proc (clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  try {
    const f =
      readFileSync(`/proc/${String(pid)}/stat`, 'utf8')
        .split(') ')[1]
        ?.split(' ') ?? [];
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/**
 * The node's own event-loop delay since the previous scrape (prom-client resets its histogram
 * on every collect), from /metrics: tells a blocked main thread from a busy machine.
 */
async function eventLoopLag(url: string): Promise<{ maxMs: number; p99Ms: number } | undefined> {
  const r = await tryRawRequest({ base: url, method: 'GET', path: '/metrics', timeoutMs: 30_000, keepBytes: 4 * 1024 * 1024 });
  if (r instanceof NoAnswer || r.status !== 200) return undefined;
  const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(r.text)?.[1] ?? Number.NaN) * 1000;
  return { maxMs: value('flowd_nodejs_eventloop_lag_max_seconds'), p99Ms: value('flowd_nodejs_eventloop_lag_p99_seconds') };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const errs = (s: LatencySummary | undefined): string =>
  s === undefined || s.errors === 0
    ? '0'
    : `${s.errors} (${Object.entries(s.errorKinds)
        .map(([k, n]) => `${k}×${n}`)
        .join(', ')})`;
const fileMb = (path: string): number => {
  try {
    return statSync(path).size / 1024 / 1024;
  } catch {
    return 0;
  }
};

async function main(): Promise<void> {
  const attackServer = await startAttackServer();
  const node = await spawnBuiltFlowd({ adminPassword: ADMIN[1], env: { FLOWD_OUTBOUND_ALLOW_PRIVATE: 'true' } });
  const rss = new Map<string, number>();
  let phase = 'setup';
  const sampler = setInterval(() => rss.set(phase, Math.max(rss.get(phase) ?? 0, node.rssMb())), 250);
  let diedAt: string | undefined;
  void node.exited.then(({ code, signal }) => (diedAt = `${phase} phase (exit code ${String(code)}, signal ${String(signal)})`));
  try {
    const st = await setUp(node);
    const honest = startHonest({
      url: node.url,
      statusPath: `${FF}/${st.syncId}/_status`,
      statusAuth: basicAuth(...READER),
      analyzePath: `${RT}/${st.syncId}/action/analyze`,
      apiKey: st.syncKey,
      statusClients: 4,
      analyzeClients: 2,
      intervalMs: 20,
      timeoutMs: 30_000,
    });
    await sleep(1000); // the honest clients warm up (cached credentials, connections) outside the measurement
    await eventLoopLag(node.url); // starts the node's event-loop histogram afresh
    const cpu0 = cpuSeconds(node.pid);
    phase = 'baseline';
    honest.phase(phase);
    console.log(`adversarial soak: baseline ${BASELINE_S} s, attack ${SOAK_S} s, node pid ${node.pid}`);
    await sleep(BASELINE_S * 1000);
    const lag = new Map([['baseline', await eventLoopLag(node.url)]]);
    const cpu = new Map([['baseline', (cpuSeconds(node.pid) - cpu0) / BASELINE_S]]);
    phase = 'attack';
    honest.phase(phase);
    const t0 = Date.now();
    const cpu1 = cpuSeconds(node.pid);
    const { stats, done } = launchAttacks(st, attackServer.url, t0 + SOAK_S * 1000);
    while (Date.now() < t0 + SOAK_S * 1000 && node.alive()) await sleep(250);
    if (node.alive()) {
      lag.set('attack', await eventLoopLag(node.url));
      cpu.set('attack', (cpuSeconds(node.pid) - cpu1) / ((Date.now() - t0) / 1000));
    }
    phase = 'drain';
    honest.phase(phase);
    const report = await honest.stop();
    await done; // every attack request is bounded by its own timeout
    const attackWallS = (Date.now() - t0) / 1000;
    phase = 'end';

    let health = 'no answer';
    if (node.alive()) {
      const h = await tryRawRequest({ base: node.url, method: 'GET', path: '/_flowd/health', timeoutMs: 10_000 });
      health = h instanceof NoAnswer ? `no answer (${h.reason})` : `${h.status} ${h.text.trim()} in ${ms(h.ms)} ms`;
    }

    const row = (name: string, label: string): Array<string | number> => {
      const r = report[name];
      const l = lag.get(name);
      const c = cpu.get(name);
      return [
        label,
        r?.status.n ?? 0,
        ms(r?.status.p50 ?? 0),
        ms(r?.status.p99 ?? 0),
        ms(r?.status.max ?? 0),
        errs(r?.status),
        r?.sync.n ?? 0,
        ms(r?.sync.p50 ?? 0),
        ms(r?.sync.p99 ?? 0),
        errs(r?.sync),
        (rss.get(name) ?? 0).toFixed(0),
        c === undefined || Number.isNaN(c) ? '-' : c.toFixed(2),
        l === undefined ? '-' : `${ms(l.p99Ms)} / ${ms(l.maxMs)}`,
      ];
    };
    table(
      `Honest clients: GET _status (read-only user, 4 loops) and SYNC analyze (API key, 2 loops), paced 20 ms; baseline ${BASELINE_S} s, then ${SOAK_S} s under attack`,
      [
        'phase',
        '_status n',
        'p50 ms',
        'p99 ms',
        'max ms',
        'errors',
        'SYNC n',
        'p50 ms',
        'p99 ms',
        'errors',
        'node RSS max MB',
        'node CPU (cores)',
        'node event-loop delay p99 / max ms',
      ],
      [row('baseline', 'baseline (honest only)'), row('attack', 'under attack')],
    );
    table(
      `Attacks (${attackWallS.toFixed(0)} s, from 127.0.0.2-5)`,
      ['attack', 'requests', 'answers', 'slowest answer ms'],
      stats.map((s) => [
        s.label,
        s.sent,
        [...s.codes.entries()]
          .sort()
          .map(([c, n]) => `${c}×${n}`)
          .join(', ') || '-',
        s.maxMs > 0 ? ms(s.maxMs) : '-',
      ]),
    );
    const p99Base = report['baseline']?.status.p99 ?? 0;
    const p99Attack = report['attack']?.status.p99 ?? 0;
    console.log(
      `\nnode RSS max during setup ${(rss.get('setup') ?? 0).toFixed(0)} MB, drain ${(rss.get('drain') ?? 0).toFixed(0)} MB; flowd.db ${fileMb(join(node.dataDir, 'flowd.db')).toFixed(0)} MB + wal ${fileMb(join(node.dataDir, 'flowd.db-wal')).toFixed(0)} MB after the soak`,
    );
    console.log(
      `attack server served ${attackServer.served.huge} huge responses (${(attackServer.served.hugeBytes / 1024 / 1024).toFixed(0)} MB written) and ${attackServer.served.slow} slow ones`,
    );
    console.log(
      `node error log lines: ${node.errorLines().length}${node.errorLines().length > 0 ? `; first: ${(node.errorLines()[0] ?? '').slice(0, 300)}` : ''}`,
    );
    console.log(
      `\nGoal: _status p99 under 50 ms for honest clients during the attack (${ms(p99Attack)} ms; baseline ${ms(p99Base)} ms), node up at the end.`,
    );
    const up = node.alive() && health.startsWith('200');
    console.log(
      `Node stayed up: ${up ? 'yes' : 'NO'} (pid ${node.pid} ${node.alive() ? 'alive' : `dead: died during the ${diedAt ?? '?'}`}; /_flowd/health: ${health})`,
    );
    if (!node.alive()) {
      console.log('\nLast log lines of the dead node:');
      for (const l of node.tail().slice(-15)) console.log(`  ${l.slice(0, 400)}`);
    }
    process.exitCode = up ? 0 : 1;
  } finally {
    clearInterval(sampler);
    await node.close(5000);
    await attackServer.close();
  }
}

await main();
