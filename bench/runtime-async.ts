/**
 * ASYNC throughput: 20,000 tasks through a 1-block flow, submitted over HTTP to the built server,
 * from the first submit until the runtime reports nothing queued or running; every task is then
 * read back (COMPLETED, durable on SQLite WAL). Two ways to submit, each on a fresh server: one
 * request per task (autocannon, its own process, 64 connections), and `POST task/batch` with
 * 1,000 tasks per request (4 in flight), as a client with many tasks at hand would. Baseline
 * in the same run: the floor of a durable queue on the same SQLite settings with no HTTP and no
 * flow — one insert transaction per task, claims and completions in batches of 256 — i.e. what
 * the storage alone allows.
 */
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autocannon, table } from './support.js';
import { allTasks, publishFlow, runtimeUrl, spawnBuilt, submitBatches, waitStatus } from './runtime-support.js';

const TASKS = Number(process.env['BENCH_TASKS'] ?? 20_000);
const REPLICAS = Number(process.env['BENCH_REPLICAS'] ?? 1);
const CONSUMERS = Number(process.env['BENCH_CONSUMERS'] ?? 256);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 1000);

function floorQueue(n: number): number {
  const db = new Database(join(mkdtempSync(join(tmpdir(), 'flowd-bench-q-')), 'q.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE q (id INTEGER PRIMARY KEY, status TEXT NOT NULL, input TEXT, output TEXT, created_at INTEGER, started_at INTEGER, finished_at INTEGER);
           CREATE INDEX q_status ON q (status, id);`);
  const ins = db.prepare(`INSERT INTO q (status, input, created_at) VALUES ('QUEUED', ?, ?)`);
  const claim = db.prepare(
    `UPDATE q SET status = 'RUNNING', started_at = ? WHERE id IN (SELECT id FROM q WHERE status = 'QUEUED' ORDER BY id LIMIT 256) RETURNING id, input`,
  );
  const done = db.prepare(`UPDATE q SET status = 'COMPLETED', output = ?, finished_at = ? WHERE id = ? AND status = 'RUNNING'`);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) ins.run(JSON.stringify({ text: `task ${i}` }), Date.now());
  const completeBatch = db.transaction((rows: Array<{ id: number; input: string }>) => {
    for (const r of rows) done.run(r.input, Date.now(), r.id);
  });
  for (;;) {
    const rows = claim.all(Date.now()) as Array<{ id: number; input: string }>;
    if (rows.length === 0) break;
    completeBatch(rows);
  }
  const ms = performance.now() - t0;
  db.close();
  return ms;
}

const idle = (s: { tasks?: { queued: number; running: number } }): boolean => (s.tasks?.queued ?? 1) === 0 && (s.tasks?.running ?? 1) === 0;

interface Run {
  rate: number;
  submitRate: number;
  completed: number;
  errors: number;
  spanMs: number;
  wallMs: number;
  waits: number[];
}

/** One fresh server: publish, submit every task (one way or the other), wait, read back. */
async function run(mode: 'single' | 'batch', measureWaits: boolean): Promise<Run> {
  const node = await spawnBuilt();
  try {
    const flow = {
      mode: 'ASYNC',
      autoscaling: { preset: 'disabled' },
      blocks: [
        {
          id: 'echo',
          type: 'js',
          replicas: REPLICAS,
          consumers: CONSUMERS,
          config: { source: 'function process(input) { return { text: input.text, length: input.text.length }; }' },
        },
      ],
      edges: [],
    };
    const { id, key } = await publishFlow(node.url, flow);
    const body = JSON.stringify({ text: 'hello async world' });
    const headers = { 'content-type': 'application/json', 'x-api-key': key };
    const t0 = performance.now();
    let errors = 0;
    if (mode === 'single') {
      const submit = await autocannon(runtimeUrl(node.url, id, 'task'), { connections: 64, amount: TASKS, method: 'POST', body, headers });
      errors += submit.non2xx + submit.errors;
    } else {
      const submit = await submitBatches([runtimeUrl(node.url, id, 'task/batch')], key, TASKS, {
        batch: BATCH,
        inFlight: 4,
        input: () => ({ text: 'hello async world' }),
      });
      errors += submit.failed;
    }
    await waitStatus(node.url, id, key, idle, 300_000, 5);
    const wallMs = performance.now() - t0;
    const tasks = await allTasks(node.url, id, key);
    const completed = tasks.filter((t) => t.status === 'COMPLETED').length;
    // From the durable timestamps: first task created → last task finished (the load
    // generator's own start-up is not counted), and the span of the submissions.
    const created = tasks.map((t) => Date.parse(t.createdAt));
    const finished = tasks.filter((t) => t.finishedAt !== undefined).map((t) => Date.parse(t.finishedAt as string));
    const spanMs = Math.max(...finished) - Math.min(...created);
    const submitSpanMs = Math.max(...created) - Math.min(...created);

    let waits: number[] = [];
    if (measureWaits) {
      // Enqueue → start when the queue is not saturated: one submitter after the bulk run.
      await fetch(runtimeUrl(node.url, id, 'task'), { method: 'DELETE', headers: { 'x-api-key': key } });
      await autocannon(runtimeUrl(node.url, id, 'task'), { connections: 1, amount: 500, method: 'POST', body, headers });
      await waitStatus(node.url, id, key, idle, 60_000, 5);
      waits = (await allTasks(node.url, id, key))
        .filter((t) => t.startedAt !== undefined)
        .map((t) => Date.parse(t.startedAt as string) - Date.parse(t.createdAt))
        .sort((a, b) => a - b);
    }
    return {
      rate: TASKS / (spanMs / 1000),
      submitRate: TASKS / (Math.max(1, submitSpanMs) / 1000),
      completed,
      errors: errors + TASKS - completed,
      spanMs,
      wallMs,
      waits,
    };
  } finally {
    await node.close();
  }
}

async function main(): Promise<void> {
  const floorMs = floorQueue(TASKS);
  const floorRate = TASKS / (floorMs / 1000);
  const single = await run('single', true);
  const batch = await run('batch', false);
  const pct = (p: number): number => single.waits[Math.min(single.waits.length - 1, Math.floor(p * single.waits.length))] ?? 0;
  table(
    `ASYNC: ${TASKS.toLocaleString('en-US')} tasks, 1 js block (${REPLICAS} instance(s) × ${CONSUMERS} consumers), durable on SQLite`,
    [
      'system',
      'tasks/s end to end',
      'submit tasks/s',
      'enqueue→start p50 ms (unsaturated)',
      'p99 ms',
      'completed',
      'errors',
      'ratio vs floor',
    ],
    [
      ['floor: bare SQLite queue, no HTTP, no flow', floorRate, '-', '-', '-', TASKS, 0, 1],
      [
        'flowd: HTTP, 1 request per task → worker thread → durable result',
        single.rate,
        single.submitRate,
        pct(0.5),
        pct(0.99),
        single.completed,
        single.errors,
        single.rate / floorRate,
      ],
      [
        `flowd: HTTP, ${BATCH.toLocaleString('en-US')} tasks per request (POST task/batch)`,
        batch.rate,
        batch.submitRate,
        '-',
        '-',
        batch.completed,
        batch.errors,
        batch.rate / floorRate,
      ],
    ],
  );
  console.log(
    `\nFirst create → last result: ${(single.spanMs / 1000).toFixed(2)} s one request per task, ${(batch.spanMs / 1000).toFixed(2)} s batched ` +
      `(wall, incl. starting the load generator: ${(single.wallMs / 1000).toFixed(2)} s / ${(batch.wallMs / 1000).toFixed(2)} s). ` +
      `Goal ≥ 5,000 tasks/s (${single.rate.toFixed(0)} / ${batch.rate.toFixed(0)}), enqueue→start p50 ≤ 2 ms (${pct(0.5)}).`,
  );
}

await main();
