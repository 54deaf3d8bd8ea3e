/**
 * `GET …/_status` under load: requests/s and latency at 50 connections with 10,000 workflows
 * stored, side by side in the same run with a bare Fastify route that returns a constant body
 * of the same size. The load generator (autocannon) runs in its own process.
 */
import Fastify from 'fastify';
import { FF } from '../test/support/flowd-harness.js';
import { AUTH, autocannon, benchNode, table } from './support.js';
import type { LoadResult } from './support.js';

const meanOf = (xs: LoadResult[]): LoadResult => {
  const avg = (f: (x: LoadResult) => number): number => xs.reduce((a, x) => a + f(x), 0) / xs.length;
  return { rps: Math.round(avg((x) => x.rps)), p50: avg((x) => x.p50), p99: Math.max(...xs.map((x) => x.p99)), mean: avg((x) => x.mean), errors: avg((x) => x.errors), non2xx: avg((x) => x.non2xx) };
};

const WORKFLOWS = 10_000;
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
/** Alternating rounds so machine noise hits both servers alike; the mean of each is reported. */
const ROUNDS = 3;
const CONNECTIONS = 50;

async function main(): Promise<void> {
  const node = await benchNode({ maxWorkflows: 1_000_000 });
  const ids: string[] = [];
  const body = JSON.stringify({ name: 'status-bench', workflows: { provision: { nodes: [{ id: 'a', type: 'noop' }] } } });
  const batch = 50;
  for (let i = 0; i < WORKFLOWS; i += batch) {
    const res = await Promise.all(
      Array.from({ length: batch }, () =>
        fetch(`${node.url}${FF}`, { method: 'POST', headers: { authorization: AUTH, 'content-type': 'application/json' }, body }).then((r) => r.json() as Promise<{ workflow_id: string }>),
      ),
    );
    for (const r of res) ids.push(r.workflow_id);
  }
  // Provision one so the measured document has resources_created and times.
  const target = ids[Math.floor(ids.length / 2)] as string;
  await fetch(`${node.url}${FF}/${target}/_provision?wait_for_completion_timeout=10s`, { method: 'POST', headers: { authorization: AUTH } });
  const sample = await (await fetch(`${node.url}${FF}/${target}/_status`, { headers: { authorization: AUTH } })).text();

  const bare = Fastify({ logger: false });
  bare.get('/status', async (_req, reply) => reply.header('content-type', 'application/json; charset=utf-8').send(sample));
  const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });
  try {
    const bases: LoadResult[] = [];
    const flowds: LoadResult[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      bases.push(await autocannon(`${bareUrl}/status`, { connections: CONNECTIONS, seconds: SECONDS }));
      flowds.push(await autocannon(`${node.url}${FF}/${target}/_status`, { connections: CONNECTIONS, seconds: SECONDS, headers: { authorization: AUTH } }));
    }
    const base = meanOf(bases);
    const flowd = meanOf(flowds);
    table(
      `GET _status, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${SECONDS}s, ${WORKFLOWS.toLocaleString('en-US')} workflows stored, body ${sample.length} bytes`,
      ['server', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'ratio vs bare'],
      [
        ['bare Fastify constant', base.rps, base.p50, base.p99, base.errors + base.non2xx, 1],
        ['flowd _status (basic auth, SQLite read)', flowd.rps, flowd.p50, flowd.p99, flowd.errors + flowd.non2xx, flowd.rps / base.rps],
      ],
    );
    console.log(`\nGoal: ≥ 80 % of the bare route (${((flowd.rps / base.rps) * 100).toFixed(1)} %), p99 ≤ 10 ms (${flowd.p99} ms).`);
  } finally {
    await bare.close();
    await node.close();
  }
}

await main();
