/**
 * SYNC `action/analyze` through a 3-block flow of `js` blocks (each block a service of worker
 * threads), at 32 connections, side by side in the same run with the same three functions
 * called directly in one Fastify route. Per-block overhead is measured unloaded (1 connection,
 * so queueing does not hide it): (mean latency through flowd − mean latency direct) / 3.
 * A third row publishes the same three functions fused into one `js` block (one worker hop
 * instead of three): the ceiling of what fewer hops could give. The CPU column is the
 * server's own CPU time per request (the flowd process with its worker threads, or this
 * process for the direct route), read from the OS around each load run.
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { autocannon, table } from './support.js';
import { publishFlow, runtimeUrl, spawnBuilt } from './runtime-support.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);
const CONNECTIONS = 32;
const REPLICAS = Number(process.env['BENCH_REPLICAS'] ?? 1);

// The three user functions, written once: called directly by the baseline route, and shipped
// as `js` block sources (their text) to flowd.
type Doc = { text: string; words?: number };
const FNS: Array<(input: Doc) => Doc> = [
  (input) => ({ text: input.text.toUpperCase() }),
  (input) => ({ text: input.text, words: input.text.split(' ').length }),
  (input) => ({ text: input.text, words: input.words, length: input.text.length }) as Doc,
];
const SOURCES = FNS.map((f) => `var f = ${f.toString()};\nfunction process(input) { return f(input); }`);
const FUSED = `var fs = [${FNS.map((f) => f.toString()).join(', ')}];\nfunction process(input) { var v = input; for (var i = 0; i < fs.length; i++) v = fs[i](v); return v; }`;

/** CPU milliseconds (user + system) of a process, all threads: /proc for a child, cpuUsage for this one. */
function cpuMs(pid?: number): number {
  if (pid === undefined) {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  }
  const f =
    readFileSync(`/proc/${String(pid)}/stat`, 'utf8')
      .split(') ')[1]
      ?.split(' ') ?? [];
  return (Number(f[11]) + Number(f[12])) * (1000 / 100); // clock ticks of 10 ms
}

async function loadWithCpu(
  url: string,
  pid: number | undefined,
  opts: Parameters<typeof autocannon>[1],
): Promise<Awaited<ReturnType<typeof autocannon>> & { cpuUs: number }> {
  const c0 = cpuMs(pid);
  const r = await autocannon(url, opts);
  const c1 = cpuMs(pid);
  return { ...r, cpuUs: ((c1 - c0) * 1000) / Math.max(1, r.rps * (opts.seconds ?? 10)) };
}

async function main(): Promise<void> {
  const node = await spawnBuilt();
  const body = JSON.stringify({ text: 'the quick brown fox jumps over the lazy dog' });
  const direct = Fastify({ logger: false });
  // The same user functions called in one route: the work without flowd.
  direct.post('/analyze', async (req) => {
    let v = JSON.parse(req.body as string) as Doc;
    for (const f of FNS) v = f(v);
    return v;
  });
  direct.addContentTypeParser('application/json', { parseAs: 'string' }, (_r, b, done) => done(null, b));
  const directUrl = await direct.listen({ host: '127.0.0.1', port: 0 });
  try {
    const flow = {
      mode: 'SYNC',
      blocks: SOURCES.map((source, i) => ({ id: `b${i}`, type: 'js', replicas: REPLICAS, config: { source } })),
      edges: [
        { source: 'b0', dest: 'b1' },
        { source: 'b1', dest: 'b2' },
      ],
    };
    const { id, key } = await publishFlow(node.url, flow);
    const fused = await publishFlow(node.url, {
      mode: 'SYNC',
      blocks: [{ id: 'fused', type: 'js', replicas: REPLICAS, config: { source: FUSED } }],
      edges: [],
    });
    const check = await fetch(runtimeUrl(node.url, id, 'action/analyze'), {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body,
    });
    const out = await check.text();
    if (check.status !== 200) throw new Error(`analyze answered ${check.status}: ${out}`);
    const headers = { 'content-type': 'application/json' };
    const pid = node.child.pid;
    const base = await loadWithCpu(`${directUrl}/analyze`, undefined, {
      connections: CONNECTIONS,
      seconds: SECONDS,
      method: 'POST',
      body,
      headers,
    });
    const flowd = await loadWithCpu(runtimeUrl(node.url, id, 'action/analyze'), pid, {
      connections: CONNECTIONS,
      seconds: SECONDS,
      method: 'POST',
      body,
      headers: { ...headers, 'x-api-key': key },
    });
    const one = await loadWithCpu(runtimeUrl(node.url, fused.id, 'action/analyze'), pid, {
      connections: CONNECTIONS,
      seconds: SECONDS,
      method: 'POST',
      body,
      headers: { ...headers, 'x-api-key': fused.key },
    });
    const base1 = await autocannon(`${directUrl}/analyze`, { connections: 1, seconds: 4, method: 'POST', body, headers });
    const flowd1 = await autocannon(runtimeUrl(node.url, id, 'action/analyze'), {
      connections: 1,
      seconds: 4,
      method: 'POST',
      body,
      headers: { ...headers, 'x-api-key': key },
    });
    // One connection: latency = 1 / throughput (autocannon's latency histogram has 1 ms steps).
    const lat = (r: { rps: number }): number => 1000 / r.rps;
    const perBlock = (lat(flowd1) - lat(base1)) / 3;
    table(
      'Unloaded latency (1 connection, 4s)',
      ['server', 'req/s', 'latency ms (1/rate)', 'p99 ms'],
      [
        ['direct', base1.rps, lat(base1), base1.p99],
        ['flowd', flowd1.rps, lat(flowd1), flowd1.p99],
      ],
    );
    table(
      `SYNC analyze, 3 js blocks (${REPLICAS} instance(s) each), ${CONNECTIONS} connections, ${SECONDS}s`,
      ['server', 'req/s', 'mean ms', 'p50 ms', 'p99 ms', 'errors', 'server CPU µs/req', 'ratio vs direct'],
      [
        ['direct: 3 functions in one Fastify route', base.rps, base.mean, base.p50, base.p99, base.errors + base.non2xx, base.cpuUs, 1],
        [
          'flowd action/analyze (API key, 3 worker-thread services)',
          flowd.rps,
          flowd.mean,
          flowd.p50,
          flowd.p99,
          flowd.errors + flowd.non2xx,
          flowd.cpuUs,
          flowd.rps / base.rps,
        ],
        [
          'reference: the 3 functions fused in 1 js block (1 service)',
          one.rps,
          one.mean,
          one.p50,
          one.p99,
          one.errors + one.non2xx,
          one.cpuUs,
          one.rps / base.rps,
        ],
      ],
    );
    console.log(`\nOutput: ${out}`);
    console.log(
      `Per-block overhead ${perBlock.toFixed(3)} ms (goal ≤ 0.3 ms); throughput ${((flowd.rps / base.rps) * 100).toFixed(1)} % of direct (goal ≥ 60 %).`,
    );
  } finally {
    await direct.close();
    await node.close();
  }
}

await main();
