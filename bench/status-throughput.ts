/**
 * `GET …/_status` under load, measured as production runs it: flowd in its own process (the
 * built bundle, `flowd serve`, security on, basic auth, a SQLite data dir holding 10,000
 * workflows), the baseline — bare Fastify answering the same URL with the same JSON body — in
 * a second process, and the load generator (autocannon) in a third. Each server gets a
 * warm-up run, then the two are measured in alternating rounds (ABBA…) so machine noise hits
 * both alike; the median round of each is reported, with each server's own CPU time per
 * request (read from the OS around each run), which is steadier than req/s on a busy machine.
 *
 * Environment: BENCH_SECONDS (per run, default 5), BENCH_ROUNDS (default 3),
 * BENCH_CONNECTIONS (default 50), BENCH_WORKFLOWS (stored, default 10,000),
 * FLOWD_BENCH_ROOT (the built checkout whose flowd is measured, default this one: A/B runs,
 * bench/ab-compare.ts), BENCH_NODE_ARGS (node flags for the flowd process, e.g.
 * "--cpu-prof --cpu-prof-dir=/tmp/prof").
 */
import { spawnBareServer, spawnFlowdServer } from './server-processes.js';
import type { ServerProcess } from './server-processes.js';
import { AUTH, autocannon, table } from './support.js';
import type { LoadResult } from './support.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 50);
const WORKFLOWS = Number(process.env['BENCH_WORKFLOWS'] ?? 10_000);
const WARMUP_SECONDS = 2;
const FF = '/_plugins/_flow_framework/workflow';

interface Run extends LoadResult {
  /** Server CPU time per answered request, µs. */
  cpuUs: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

const medianRun = (runs: Run[]): Run => ({
  rps: median(runs.map((r) => r.rps)),
  p50: median(runs.map((r) => r.p50)),
  p99: median(runs.map((r) => r.p99)),
  mean: median(runs.map((r) => r.mean)),
  errors: runs.reduce((a, r) => a + r.errors, 0),
  non2xx: runs.reduce((a, r) => a + r.non2xx, 0),
  cpuUs: median(runs.map((r) => r.cpuUs)),
});

async function load(server: ServerProcess, url: string, seconds: number, headers: Record<string, string> = {}): Promise<Run> {
  const cpu0 = server.cpuSeconds();
  const r = await autocannon(url, { connections: CONNECTIONS, seconds, headers });
  const cpu = server.cpuSeconds() - cpu0;
  return { ...r, cpuUs: (cpu * 1e6) / Math.max(1, r.rps * seconds) };
}

/** Stores `WORKFLOWS` workflows (50 requests in flight) and provisions one; returns its id. */
async function seed(url: string): Promise<string> {
  const body = JSON.stringify({ name: 'status-bench', workflows: { provision: { nodes: [{ id: 'a', type: 'noop' }] } } });
  const ids: string[] = [];
  const batch = 50;
  for (let i = 0; i < WORKFLOWS; i += batch) {
    const res = await Promise.all(
      Array.from({ length: Math.min(batch, WORKFLOWS - i) }, () =>
        fetch(`${url}${FF}`, { method: 'POST', headers: { authorization: AUTH, 'content-type': 'application/json' }, body }).then(
          (r) => r.json() as Promise<{ workflow_id: string }>,
        ),
      ),
    );
    for (const r of res) ids.push(r.workflow_id);
  }
  // The measured document is a provisioned workflow's (COMPLETED; `noop` creates no resources).
  const target = ids[Math.floor(ids.length / 2)] as string;
  const p = await fetch(`${url}${FF}/${target}/_provision?wait_for_completion_timeout=10s`, {
    method: 'POST',
    headers: { authorization: AUTH },
  });
  if (!p.ok) throw new Error(`provision failed (${p.status}): ${await p.text()}`);
  return target;
}

async function main(): Promise<void> {
  const root = process.env['FLOWD_BENCH_ROOT'];
  const nodeArgs = (process.env['BENCH_NODE_ARGS'] ?? '').split(/\s+/).filter((a) => a !== '');
  const flowd = await spawnFlowdServer({ ...(root ? { root } : {}), nodeArgs });
  let bare: ServerProcess | undefined;
  try {
    const target = await seed(flowd.url);
    const path = `${FF}/${target}/_status`;
    const status = await fetch(`${flowd.url}${path}`, { headers: { authorization: AUTH } });
    const sample = await status.text();
    if (status.status !== 200) throw new Error(`_status answered ${status.status}: ${sample}`);
    bare = await spawnBareServer(sample);
    const bareCheck = await (await fetch(`${bare.url}${path}`)).text();
    if (bareCheck !== sample) throw new Error(`the bare server's body differs from flowd's:\n${bareCheck}\n${sample}`);

    const runBare = (s: number): Promise<Run> => load(bare as ServerProcess, `${(bare as ServerProcess).url}${path}`, s);
    const runFlowd = (s: number): Promise<Run> => load(flowd, `${flowd.url}${path}`, s, { authorization: AUTH });
    await runBare(WARMUP_SECONDS);
    await runFlowd(WARMUP_SECONDS);
    const bares: Run[] = [];
    const flowds: Run[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      if (r % 2 === 0) {
        bares.push(await runBare(SECONDS));
        flowds.push(await runFlowd(SECONDS));
      } else {
        flowds.push(await runFlowd(SECONDS));
        bares.push(await runBare(SECONDS));
      }
    }
    const b = medianRun(bares);
    const f = medianRun(flowds);
    const ratios = flowds.map((x, i) => x.rps / (bares[i] as Run).rps);
    const perRound = ratios.map((r) => `${(r * 100).toFixed(1)} %`).join(', ');
    table(
      `GET _status, separate processes (flowd, bare Fastify, autocannon), ${CONNECTIONS} connections, median of ${ROUNDS} alternating rounds of ${SECONDS}s, ${WORKFLOWS.toLocaleString('en-US')} workflows stored, body ${sample.length} bytes`,
      ['server', 'req/s', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'errors', 'ratio vs bare (req/s)'],
      [
        ['bare Fastify, same URL and body', Math.round(b.rps), b.p50, b.p99, b.cpuUs, b.errors + b.non2xx, 1],
        ['flowd _status (flowd serve, basic auth, SQLite)', Math.round(f.rps), f.p50, f.p99, f.cpuUs, f.errors + f.non2xx, f.rps / b.rps],
      ],
    );
    console.log(
      `\nflowd / bare per round: ${perRound} (median ${(median(ratios) * 100).toFixed(1)} %). CPU per request, bare / flowd: ${((b.cpuUs / f.cpuUs) * 100).toFixed(1)} %.`,
    );
    console.log(`Goal: ≥ 80 % of the bare route's req/s (${((f.rps / b.rps) * 100).toFixed(1)} %), p99 ≤ 10 ms (${f.p99} ms).`);
  } finally {
    await bare?.close();
    await flowd.close();
  }
}

await main();
