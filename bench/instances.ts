/**
 * Service instances: time to ready and memory per instance. A SYNC flow with one `js` block of
 * N replicas is published (provision with wait: it completes when every instance has loaded
 * its block); memory is the server's RSS growth divided by N. Baseline in the same run: bare
 * `new Worker()` threads running an empty module — the floor of a worker thread.
 */
import { Worker } from 'node:worker_threads';
import { table } from './support.js';
import { publishFlow, spawnBuilt } from './runtime-support.js';

const SOURCE = 'function process(input) { return { text: String(input.text).toUpperCase() }; }';

async function bareWorkers(n: number): Promise<{ ms: number; mbEach: number }> {
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const ws = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Worker>((resolve) => {
          const w = new Worker('require("node:worker_threads").parentPort.postMessage("ready")', { eval: true, execArgv: [] });
          w.once('message', () => resolve(w));
        }),
    ),
  );
  const ms = performance.now() - t0;
  const mbEach = (process.memoryUsage().rss - before) / 1024 / 1024 / n;
  await Promise.all(ws.map((w) => w.terminate()));
  return { ms, mbEach };
}

async function main(): Promise<void> {
  const rows: Array<Array<string | number>> = [];
  for (const n of [1, 4, 16]) {
    const bare = await bareWorkers(n);
    const node = await spawnBuilt();
    try {
      await new Promise((r) => setTimeout(r, 300));
      const before = node.rssMb();
      const { ms } = await publishFlow(node.url, {
        mode: 'SYNC',
        blocks: [{ id: 'b', type: 'js', replicas: n, config: { source: SOURCE } }],
        edges: [],
      });
      await new Promise((r) => setTimeout(r, 300));
      const each = (node.rssMb() - before) / n;
      rows.push([`${n} instance(s)`, bare.ms, ms, bare.mbEach, each, ms / bare.ms]);
    } finally {
      await node.close();
    }
  }
  table(
    'Instances: publish → all ready, memory per instance',
    ['replicas', 'bare workers online ms', 'flowd publish → ready ms', 'bare MB / worker', 'flowd MB / instance', 'ratio (time)'],
    rows,
  );
}

await main();
