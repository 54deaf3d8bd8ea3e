/**
 * flowd at scale, on PostgreSQL: ASYNC tasks/s and provisioning steps/s with 1, 2 and 3 nodes
 * sharing one schema (one cluster), side by side in one run with pg-boss 10 and graphile-worker
 * 0.16 doing the same no-op jobs on the same database. Every engine gets its own fresh schema
 * of the same database (dropped at the end) and is timed the same way: from the first insert
 * (submit) until its last job is done, by its own durable timestamps where it keeps them (a poll
 * of its tables every POLL_MS finds the end).
 *
 * - pg-boss: batch `insert`, workers fetching and completing batches (several configurations;
 *   the best one is the reference for the ratios).
 * - graphile-worker: batch `add_jobs`, a `run()` pool with a no-op task.
 * - flowd ASYNC: a 1-block no-op js flow published through node 1; N tasks submitted over HTTP
 *   and claimed by whichever node has capacity; then every task is read back over the API
 *   (N tasks, all COMPLETED) and from the table (attempts, which node ran it). Two ways to
 *   submit: `batch` (POST task/batch, 1,000 tasks a request, as pg-boss and graphile-worker
 *   insert; a few requests in flight, round-robin over the nodes) and `single` (one request per
 *   task: one autocannon per node, the same total connections).
 * - flowd ASYNC, waiting work: the same, but the block waits BENCH_WAIT_MS (20 ms) per task, as
 *   a call to a remote model does, with BENCH_WAIT_CONSUMERS (16) tasks in flight per instance
 *   and one instance per node: the work is neither CPU- nor database-bound, so adding a node
 *   adds capacity. This is the 1 → 2 nodes scaling case.
 * - flowd provisioning: W workflows of S `noop` steps created with ?provision=true through the
 *   nodes round-robin; steps/s = W × S / seconds until every workflow is COMPLETED.
 *
 * Timings are printed, never asserted. Run `npm run build` first (the nodes are the built
 * bundle). `node --import tsx bench/cluster-throughput.ts`; env: BENCH_JOBS (20000),
 * BENCH_NODES (1,2,3), BENCH_STEPS_WORKFLOWS (60), BENCH_STEPS_PER_WORKFLOW (20),
 * BENCH_STEPS_SHAPE (chain | fan), BENCH_CONNECTIONS (64, split over the nodes),
 * BENCH_SUBMIT (batch,single), BENCH_BATCH (1000), BENCH_BATCH_INFLIGHT (4, all nodes together),
 * BENCH_REPLICAS_PER_NODE (1), BENCH_CONSUMERS (256), BENCH_WAIT_MS (20), BENCH_WAIT_JOBS (10000),
 * BENCH_WAIT_CONSUMERS (16), BENCH_PGBOSS (4x500,8x250,16x250,4x1000: workers × batchSize),
 * BENCH_GRAPHILE_CONCURRENCY (8), BENCH_ONLY (baselines | tasks | waits | steps, comma-
 * separated), BENCH_PG_URL, BENCH_BUS_URL.
 */
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { autocannon, table } from './support.js';
import type { LoadResult } from './support.js';
import { allTasks, publishFlow, runtimeUrl, submitBatches, waitStatus } from './runtime-support.js';
import type { StatusLike } from './runtime-support.js';
import {
  AUTH,
  cleanupAll,
  closeCluster,
  dropSchema,
  machine,
  newSchema,
  pgClient,
  postgresVersion,
  runGraphileWorker,
  runPgBoss,
  startCluster,
} from './cluster-support.js';
import type { BaselineResult, ClusterNodeProc } from './cluster-support.js';

const env = process.env;
const JOBS = Number(env['BENCH_JOBS'] ?? 20_000);
const NODES = (env['BENCH_NODES'] ?? '1,2,3')
  .split(',')
  .map(Number)
  .filter((n) => n >= 1);
const STEP_WORKFLOWS = Number(env['BENCH_STEPS_WORKFLOWS'] ?? 60);
const STEPS_PER_WORKFLOW = Number(env['BENCH_STEPS_PER_WORKFLOW'] ?? 20);
const STEPS_SHAPE = env['BENCH_STEPS_SHAPE'] === 'fan' ? 'fan' : 'chain';
/** Concurrent workflow creations in flight (all nodes together). */
const CREATE_CONCURRENCY = Number(env['BENCH_CREATE_CONCURRENCY'] ?? 16);
/** autocannon connections, all nodes together (split evenly: the offered load does not grow with the nodes). */
const CONNECTIONS = Number(env['BENCH_CONNECTIONS'] ?? 64);
const REPLICAS_PER_NODE = Number(env['BENCH_REPLICAS_PER_NODE'] ?? 1);
const CONSUMERS = Number(env['BENCH_CONSUMERS'] ?? 256);
const PGBOSS_CONFIGS = (env['BENCH_PGBOSS'] ?? '4x500,8x250,16x250,4x1000').split(',').map((s) => {
  const [w, b] = s.split('x').map(Number);
  return { workers: w ?? 4, batchSize: b ?? 500 };
});
const GRAPHILE_CONCURRENCY = Number(env['BENCH_GRAPHILE_CONCURRENCY'] ?? 8);
const SUBMITS = (env['BENCH_SUBMIT'] ?? 'batch,single').split(',').filter((m): m is Submit => m === 'batch' || m === 'single');
const BATCH = Number(env['BENCH_BATCH'] ?? 1000);
const BATCH_INFLIGHT = Number(env['BENCH_BATCH_INFLIGHT'] ?? 4);
const WAIT_MS = Number(env['BENCH_WAIT_MS'] ?? 20);
const WAIT_JOBS = Number(env['BENCH_WAIT_JOBS'] ?? 10_000);
const WAIT_CONSUMERS = Number(env['BENCH_WAIT_CONSUMERS'] ?? 16);
const ONLY = new Set((env['BENCH_ONLY'] ?? 'baselines,tasks,waits,steps').split(','));
/**
 * Every engine's completion is observed by polling its own tables this often; the times are
 * read from each queue's own durable timestamps where it keeps them, so a slower poll costs no
 * precision, and polls of 20k-row tables 50 times a second would take CPU from the engines.
 */
const POLL_MS = Number(env['BENCH_POLL_MS'] ?? 100);
/** A flowd part fails (saying where its work stands) when nothing finishes for this long. */
const STALL_MS = Number(env['BENCH_STALL_MS'] ?? 20_000);
const FF = '/_plugins/_flow_framework/workflow';
/** Node settings for every flowd node of the run. */
const NODE_ENV: Record<string, string> = {};

const ROOT = fileURLToPath(new URL('..', import.meta.url));

type Submit = 'batch' | 'single';

/** What one flowd tasks part runs: how tasks are submitted and what the block does. */
interface Workload {
  label: string;
  /** Rows of a group are compared with the group's 1-node row. */
  group: string;
  submit: Submit;
  jobs: number;
  replicasPerNode: number;
  consumers: number;
  block: { type: string; config: Record<string, unknown> };
}

interface Row {
  group?: string;
  engine: string;
  nodes: number | '-';
  work: string;
  ms: number;
  count: number;
  kind: 'jobs' | 'steps';
  check: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Warns when a source file is newer than the bundle the nodes run. */
function checkBuild(): void {
  const bundle = join(ROOT, 'dist', 'flowd.mjs');
  if (!existsSync(bundle)) throw new Error('dist/flowd.mjs is missing: run `npm run build` first');
  const built = statSync(bundle).mtimeMs;
  const newer = (readdirSync(join(ROOT, 'src'), { recursive: true }) as string[]).filter(
    (f) => f.endsWith('.ts') && statSync(join(ROOT, 'src', f)).mtimeMs > built,
  );
  if (newer.length > 0)
    console.log(
      `(warning: ${newer.length} file(s) of src/ are newer than dist/flowd.mjs, e.g. ${newer[0] ?? ''}: run \`npm run build\` to measure them)`,
    );
}

// ---------------------------------------------------------------------------------------------

async function pgBoss(c: { workers: number; batchSize: number }, rows: Row[]): Promise<void> {
  const r: BaselineResult = await runPgBoss(JOBS, { ...c, pollingIntervalSeconds: 0.5, insertBatch: 1000, pollMs: POLL_MS });
  rows.push({
    engine: `pg-boss 10 (${r.config})`,
    nodes: '-',
    work: `${JOBS.toLocaleString('en-US')} jobs`,
    ms: r.wallMs,
    count: JOBS,
    kind: 'jobs',
    check: `${r.done.toLocaleString('en-US')} completed`,
  });
}

async function graphile(rows: Row[]): Promise<void> {
  const g = await runGraphileWorker(JOBS, { concurrency: GRAPHILE_CONCURRENCY, pollInterval: 100, insertBatch: 1000, pollMs: POLL_MS });
  rows.push({
    engine: `graphile-worker 0.16 (${g.config})`,
    nodes: '-',
    work: `${JOBS.toLocaleString('en-US')} jobs`,
    ms: g.wallMs,
    count: JOBS,
    kind: 'jobs',
    check: `${g.done.toLocaleString('en-US')} run, table empty`,
  });
}

/** A node's warnings and errors (or its last lines when it wrote none), for a failed part. */
function problems(n: ClusterNodeProc): string {
  const lines = n.tail().split('\n');
  const bad = lines.filter((l) => !/^\{"level":(10|20|30),/.test(l));
  return (bad.length > 0 ? bad : lines.slice(-5)).join('\n');
}

// ---------------------------------------------------------------------------------------------

const idle = (s: StatusLike): boolean => (s.tasks?.queued ?? 1) === 0 && (s.tasks?.running ?? 1) === 0;

/**
 * Runs `fn` on a fresh cluster of `k` nodes on its own schema, with a database client; on failure
 * prints what the nodes logged; always stops the nodes and drops the schema.
 */
async function onCluster(
  tag: string,
  k: number,
  fn: (nodes: ClusterNodeProc[], db: pg.Client, schema: string) => Promise<void>,
): Promise<void> {
  const schema = newSchema(`${tag}_${k}n`);
  let nodes: ClusterNodeProc[] = [];
  const db = await pgClient();
  try {
    nodes = await startCluster(schema, k, NODE_ENV);
    await fn(nodes, db, schema);
  } catch (err) {
    for (const [i, n] of nodes.entries()) console.error(`--- node ${i + 1} of ${k}, warnings and errors:\n${problems(n)}`);
    throw err;
  } finally {
    await db.end().catch(() => undefined);
    await closeCluster(nodes);
    await dropSchema(schema).catch(() => undefined); // else retried by cleanupAll()
  }
}

function flowdTasks(k: number, w: Workload, rows: Row[], notes: string[]): Promise<void> {
  const jobs = w.jobs; // this workload's count (the no-op ones use BENCH_JOBS)
  return onCluster('flowd_tasks', k, async (nodes, db, schema) => {
    const first = nodes[0] as ClusterNodeProc;
    const flow = {
      mode: 'ASYNC',
      autoscaling: { preset: 'disabled' },
      blocks: [{ id: 'work', ...w.block, replicas: w.replicasPerNode * k, consumers: w.consumers }],
      edges: [],
    };
    const { id, key } = await publishFlow(first.url, flow);
    // Every node serves the workflow, with every instance ready, before the clock starts.
    for (const n of nodes)
      await waitStatus(
        n.url,
        id,
        key,
        (s) => (s as StatusLike & { usable?: boolean }).usable === true && s.reason === 'AllInstancesReady',
        60_000,
        50,
      );

    const body = JSON.stringify({ text: 'no-op' });
    const headers = { 'content-type': 'application/json', 'x-api-key': key };
    const per = nodes.map((_, i) => Math.floor(jobs / k) + (i < jobs % k ? 1 : 0));
    const conns = Math.max(1, Math.round(CONNECTIONS / k));
    // While tasks run, the poll only asks whether any task is unfinished (it stops at the first
    // one); counting them (for the stall check) is done once a second. A count on every poll
    // cost PostgreSQL ~5 % of the run's CPU, a full count more.
    const unfinishedRows = `FROM "${schema}".tasks WHERE workflow_id = $1 AND status IN ('QUEUED', 'RUNNING')`;
    const anyUnfinished = async (): Promise<boolean> => {
      const r = await db.query<{ x: boolean }>(`SELECT EXISTS (SELECT 1 ${unfinishedRows}) AS x`, [id]);
      return r.rows[0]?.x !== false;
    };
    const unfinished = async (): Promise<number> => {
      const r = await db.query<{ n: string }>(`SELECT count(*) AS n ${unfinishedRows}`, [id]);
      return Number(r.rows[0]?.n ?? 0);
    };
    const terminal = async (): Promise<{ all: number; firstCreated: number; lastFinished: number }> => {
      const r = await db.query<{ all: string; first: string | null; last: string | null }>(
        `SELECT count(*) AS all, min(created_at) AS first, max(finished_at) AS last FROM "${schema}".tasks WHERE workflow_id = $1`,
        [id],
      );
      const row = r.rows[0];
      return { all: Number(row?.all ?? 0), firstCreated: Number(row?.first ?? 0), lastFinished: Number(row?.last ?? 0) };
    };

    const wall0 = Date.now();
    let submitted = false;
    const submits: Promise<{ failed: number; how: string }> = (
      w.submit === 'batch'
        ? submitBatches(
            nodes.map((n) => runtimeUrl(n.url, id, 'task/batch')),
            key,
            jobs,
            { batch: BATCH, inFlight: BATCH_INFLIGHT },
          ).then((b) => ({ failed: b.failed, how: `${b.requests} batch request(s) of ≤ ${BATCH}, ${BATCH_INFLIGHT} in flight` }))
        : Promise.all(
            nodes.map((n, i) =>
              autocannon(runtimeUrl(n.url, id, 'task'), {
                connections: Math.min(conns, per[i] ?? 1),
                amount: per[i] ?? 0,
                method: 'POST',
                body,
                headers,
              }),
            ),
          ).then((loads: LoadResult[]) => ({
            failed: loads.reduce((a, l) => a + l.errors + l.non2xx, 0),
            how: `${k} autocannon(s) × ${conns} connection(s)`,
          }))
    ).finally(() => {
      submitted = true;
    });
    submits.catch(() => undefined); // awaited below; this only keeps an early failure from being unhandled
    let doneAt = 0;
    let progress = { left: -1, at: Date.now() };
    let counted = 0;
    for (;;) {
      // Read before the check: once every submit is in, no unfinished task means all are done.
      const wasSubmitted = submitted;
      if (wasSubmitted && !(await anyUnfinished())) {
        doneAt = Date.now();
        break;
      }
      let left = progress.left;
      if (Date.now() - counted >= 1000) {
        counted = Date.now();
        left = await unfinished();
        if (left !== progress.left) progress = { left, at: Date.now() };
      }
      // No task finished for STALL_MS once every submit is in: stuck, say where rather than wait.
      if ((submitted && Date.now() - progress.at > STALL_MS) || Date.now() - wall0 > 300_000) {
        const by = await db.query<{ status: string; owner: string | null; n: string }>(
          `SELECT status, owner, count(*) AS n FROM "${schema}".tasks WHERE workflow_id = $1 GROUP BY status, owner ORDER BY status, owner`,
          [id],
        );
        const t = await terminal();
        throw new Error(
          `flowd ${k} node(s): ${left} of ${t.all} tasks unfinished, none finished for ${((Date.now() - progress.at) / 1000).toFixed(0)} s; ` +
            `tasks by status and owner: ${by.rows.map((r) => `${r.status}/${r.owner ?? '-'} ${r.n}`).join(', ')}`,
        );
      }
      await sleep(POLL_MS);
    }
    const sub = await submits;
    const { firstCreated, lastFinished } = await terminal();
    const ms = lastFinished - firstCreated; // durable timestamps: first task created → last task finished
    const lastCreated = Number(
      (await db.query<{ last: string }>(`SELECT max(created_at) AS last FROM "${schema}".tasks WHERE workflow_id = $1`, [id])).rows[0]
        ?.last ?? 0,
    );

    // Read back: over the API (through the last node), then from the table.
    for (const n of nodes) await waitStatus(n.url, id, key, idle, 30_000, 20);
    const tasks = await allTasks((nodes[k - 1] as ClusterNodeProc).url, id, key);
    const completed = tasks.filter((t) => t.status === 'COMPLETED').length;
    const ids = new Set(tasks.map((t) => (t as { taskId?: string }).taskId ?? ''));
    const byStatus = await db.query<{ status: string; n: string }>(
      `SELECT status, count(*) AS n FROM "${schema}".tasks WHERE workflow_id = $1 GROUP BY status`,
      [id],
    );
    const reruns = Number(
      (await db.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".tasks WHERE workflow_id = $1 AND attempt > 1`, [id])).rows[0]
        ?.n ?? 0,
    );
    const owners = await db.query<{ owner: string | null; n: string }>(
      `SELECT owner, count(*) AS n FROM "${schema}".tasks WHERE workflow_id = $1 GROUP BY owner ORDER BY owner`,
      [id],
    );
    const failedSubmits = sub.failed;
    const ok = tasks.length === jobs && completed === jobs && ids.size === jobs && reruns === 0 && failedSubmits === 0;
    rows.push({
      group: w.group,
      engine: `${w.label} (${w.replicasPerNode * k} × ${w.consumers} consumers)`,
      nodes: k,
      work: `${jobs.toLocaleString('en-US')} tasks`,
      ms,
      count: jobs,
      kind: 'jobs',
      check: ok
        ? `${completed.toLocaleString('en-US')} COMPLETED once`
        : `MISMATCH: listed ${tasks.length} (${ids.size} ids), COMPLETED ${completed}, attempt>1 ${reruns}, failed submits ${failedSubmits}`,
    });
    const shares = owners.rows.map((o) => `${(o.owner ?? 'none').split('~')[0]}: ${Number(o.n).toLocaleString('en-US')}`).join(', ');
    notes.push(
      `${w.label}, ${k} node(s): ${sub.how}; submits spanned ${((lastCreated - firstCreated) / 1000).toFixed(2)} s ` +
        `(${Math.round(jobs / Math.max(0.001, (lastCreated - firstCreated) / 1000))} tasks/s accepted), last result ${((lastFinished - lastCreated) / 1000).toFixed(2)} s after the last submit; ` +
        `wall incl. starting autocannon ${((doneAt - wall0) / 1000).toFixed(2)} s; table: ${byStatus.rows.map((r) => `${r.status} ${r.n}`).join(', ')}; run by node: ${shares}`,
    );
  });
}

// ---------------------------------------------------------------------------------------------

function stepsTemplate(i: number): unknown {
  const nodes = Array.from({ length: STEPS_PER_WORKFLOW }, (_, s) => ({ id: `s${s}`, type: 'noop' }));
  const edges =
    STEPS_SHAPE === 'chain'
      ? nodes.slice(1).map((n, s) => ({ source: `s${s}`, dest: n.id }))
      : nodes.slice(1).map((n) => ({ source: 's0', dest: n.id }));
  return { name: `bench-steps-${i}`, workflows: { provision: { nodes, edges } } };
}

function flowdSteps(k: number, rows: Row[], notes: string[]): Promise<void> {
  return onCluster('flowd_steps', k, async (nodes, db, schema) => {
    const bodies = Array.from({ length: STEP_WORKFLOWS }, (_, i) => JSON.stringify(stepsTemplate(i)));
    const ids: string[] = [];
    const count = async (): Promise<{ completed: number; failed: number }> => {
      const r = await db.query<{ completed: string; failed: string }>(
        `SELECT count(*) FILTER (WHERE state = 'COMPLETED') AS completed, count(*) FILTER (WHERE state = 'FAILED') AS failed FROM "${schema}".workflow_state`,
      );
      return { completed: Number(r.rows[0]?.completed ?? 0), failed: Number(r.rows[0]?.failed ?? 0) };
    };
    const t0 = Date.now();
    let next = 0;
    const creators = Array.from({ length: Math.min(CREATE_CONCURRENCY, STEP_WORKFLOWS) }, async () => {
      for (let i = next++; i < STEP_WORKFLOWS; i = next++) {
        const url = (nodes[i % k] as ClusterNodeProc).url;
        const r = await fetch(`${url}${FF}?provision=true`, {
          method: 'POST',
          headers: { authorization: AUTH, 'content-type': 'application/json' },
          body: bodies[i] as string,
        });
        const j = (await r.json()) as { workflow_id?: string };
        if (!j.workflow_id) throw new Error(`create + provision through node ${(i % k) + 1} failed (${r.status}): ${JSON.stringify(j)}`);
        ids.push(j.workflow_id);
      }
    });
    let created = false;
    const creating = Promise.all(creators).finally(() => {
      created = true;
    });
    creating.catch(() => undefined);
    let doneAt = 0;
    let progress = { done: -1, at: Date.now() };
    for (;;) {
      const c = await count();
      if (c.failed > 0) throw new Error(`${c.failed} provisioning run(s) FAILED`);
      if (c.completed >= STEP_WORKFLOWS) {
        doneAt = Date.now();
        break;
      }
      if (created) await creating; // surfaces a failed create
      const steps = Number(
        (await db.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".steps WHERE state = 'COMPLETED'`)).rows[0]?.n ?? 0,
      );
      if (steps !== progress.done) progress = { done: steps, at: Date.now() };
      if ((created && Date.now() - progress.at > STALL_MS) || Date.now() - t0 > 300_000) {
        throw new Error(
          `flowd ${k} node(s): ${c.completed} of ${STEP_WORKFLOWS} workflows provisioned, ${steps} steps COMPLETED, none for ${((Date.now() - progress.at) / 1000).toFixed(0)} s`,
        );
      }
      await sleep(POLL_MS);
    }
    await creating;
    // The last run's end_time (durable), from the first create request.
    const end = Number(
      (await db.query<{ end: string }>(`SELECT max(end_time) AS end FROM "${schema}".workflow_state`)).rows[0]?.end ?? doneAt,
    );
    const ms = end - t0;
    // Read back over the API (round-robin), and the steps and run owners from the tables.
    let apiCompleted = 0;
    for (const [i, id] of ids.entries()) {
      const r = await fetch(`${(nodes[i % k] as ClusterNodeProc).url}${FF}/${id}/_status`, { headers: { authorization: AUTH } });
      if (((await r.json()) as { state?: string }).state === 'COMPLETED') apiCompleted++;
    }
    const steps = Number(
      (await db.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".steps WHERE state = 'COMPLETED'`)).rows[0]?.n ?? 0,
    );
    const owners = await db.query<{ owner: string; n: string }>(
      `SELECT owner, count(*) AS n FROM "${schema}".runs GROUP BY owner ORDER BY owner`,
    );
    const total = STEP_WORKFLOWS * STEPS_PER_WORKFLOW;
    rows.push({
      engine: `flowd provisioning (${STEP_WORKFLOWS} × ${STEPS_PER_WORKFLOW} noop, ${STEPS_SHAPE})`,
      nodes: k,
      work: `${total.toLocaleString('en-US')} steps`,
      ms,
      count: total,
      kind: 'steps',
      check:
        apiCompleted === STEP_WORKFLOWS && steps === total
          ? `${STEP_WORKFLOWS} COMPLETED, ${steps.toLocaleString('en-US')} steps`
          : `MISMATCH: ${apiCompleted} COMPLETED over the API, ${steps} steps COMPLETED`,
    });
    notes.push(`flowd provisioning, ${k} node(s): runs by owner: ${owners.rows.map((o) => `${o.owner.split('~')[0]}: ${o.n}`).join(', ')}`);
  });
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const rows: Row[] = [];
  const notes: string[] = [];
  const started = Date.now();
  const pgv = await postgresVersion();
  console.log(`Machine: ${machine()}; ${pgv} on the same machine; NATS bus ${env['BENCH_BUS_URL'] ?? 'nats://127.0.0.1:4222'}.`);
  if (ONLY.has('tasks') || ONLY.has('steps')) checkBuild();
  // A part that fails is reported as such and the others still run.
  const failures: string[] = [];
  const part = async (engine: string, nodes: Row['nodes'], kind: Row['kind'], fn: () => Promise<void>, group?: string): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      console.error(`${engine}${nodes === '-' ? '' : `, ${nodes} node(s)`} failed: ${msg}`);
      failures.push(`${engine}${nodes === '-' ? '' : `, ${nodes} node(s)`}: ${msg.split('\n')[0] ?? ''}`);
      rows.push({
        ...(group !== undefined ? { group } : {}),
        engine,
        nodes,
        work: '-',
        ms: NaN,
        count: 0,
        kind,
        check: 'FAILED (see below)',
      });
    }
  };
  try {
    if (ONLY.has('baselines')) {
      for (const c of PGBOSS_CONFIGS)
        await part(`pg-boss 10 (${c.workers} workers × batchSize ${c.batchSize})`, '-', 'jobs', () => pgBoss(c, rows));
      await part('graphile-worker 0.16', '-', 'jobs', () => graphile(rows));
    }
    const noop = { type: 'js', config: { source: 'function process(input) { return input; }' } };
    const workloads: Workload[] = [];
    if (ONLY.has('tasks')) {
      for (const submit of SUBMITS) {
        const label =
          submit === 'batch' ? `flowd ASYNC no-op, batches of ${BATCH.toLocaleString('en-US')}` : 'flowd ASYNC no-op, 1 request per task';
        workloads.push({
          label,
          group: `noop-${submit}`,
          submit,
          jobs: JOBS,
          replicasPerNode: REPLICAS_PER_NODE,
          consumers: CONSUMERS,
          block: noop,
        });
      }
    }
    if (ONLY.has('waits')) {
      const dir = mkdtempSync(join(tmpdir(), 'flowd-bench-wait-'));
      const module = join(dir, 'remote-call.mjs');
      // Stands for a block that waits on something remote (a model, an API) for `ms`.
      NODE_ENV['FLOWD_CUSTOM_BLOCK_DIRS'] = dir; // custom modules load only from folders the operator lists
      writeFileSync(
        module,
        'export function createBlock(o) { const ms = Number(o.ms); return { run: (input) => new Promise((r) => setTimeout(() => r(input), ms)) }; }\n',
      );
      workloads.push({
        label: `flowd ASYNC, each task waits ${WAIT_MS} ms (batches)`,
        group: 'wait',
        submit: 'batch',
        jobs: WAIT_JOBS,
        replicasPerNode: 1,
        consumers: WAIT_CONSUMERS,
        block: { type: 'custom', config: { module, options: { ms: WAIT_MS } } },
      });
    }
    for (const w of workloads) for (const k of NODES) await part(w.label, k, 'jobs', () => flowdTasks(k, w, rows, notes), w.group);
    if (ONLY.has('steps')) for (const k of NODES) await part('flowd provisioning', k, 'steps', () => flowdSteps(k, rows, notes), 'steps');
  } finally {
    await cleanupAll();
  }
  if (failures.length > 0) process.exitCode = 1;

  const rate = (r: Row): number => r.count / (r.ms / 1000);
  const num = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);
  const bossRows = rows.filter((r) => r.engine.startsWith('pg-boss'));
  const bossRates = bossRows.map(rate).filter(num);
  const boss = bossRates.length > 0 ? Math.max(...bossRates) : undefined;
  const oneNode = (group: string | undefined): number | undefined => {
    const r = rows.find((x) => x.group === group && x.nodes === 1 && x.engine.startsWith('flowd'));
    return r && num(rate(r)) ? rate(r) : undefined;
  };
  const ratio = (x: number, base: number | undefined): string => (num(x) && num(base) ? (x / base).toFixed(2) : '-');
  table(
    `flowd cluster on PostgreSQL vs pg-boss and graphile-worker: same database, same run (${((Date.now() - started) / 1000).toFixed(0)} s in all)`,
    ['engine', 'nodes', 'work', 'seconds', 'per second', 'vs pg-boss (best)', 'vs 1 node', 'check'],
    rows.map((r) => [
      r.engine,
      r.nodes,
      r.work,
      num(r.ms) ? r.ms / 1000 : '-',
      num(rate(r)) ? Math.round(rate(r)) : '-',
      r.kind === 'jobs' && r.group !== 'wait' ? ratio(rate(r), boss) : '-',
      r.engine.startsWith('flowd') ? ratio(rate(r), oneNode(r.group)) : '-',
      r.check,
    ]),
  );
  console.log('');
  console.log(
    `Every engine on its own fresh schema of the same database; timed from the first insert/submit to the last job done, by its own durable timestamps (graphile-worker deletes its jobs: there, until a poll of its table every ${POLL_MS} ms finds it empty). ` +
      `pg-boss and graphile-worker insert in batches of 1,000 and run in this process; flowd's tasks arrive over HTTP, in batches of ${BATCH.toLocaleString('en-US')} (POST task/batch) or one request per task (autocannon, ${CONNECTIONS} connections in all, split over the nodes).`,
  );
  console.log(
    `All flowd nodes, PostgreSQL, NATS, the baselines and the load generator share this machine's ${machine().split(',')[0] ?? ''}: scaling from 1 to 2 or 3 nodes is CPU-bound here, not a measure of nodes on their own machines.`,
  );
  if (bossRows.length > 0) {
    const caps = PGBOSS_CONFIGS.map((c) => `${c.workers}×${c.batchSize}: ${(c.workers * c.batchSize * 2).toLocaleString('en-US')}`).join(
      ', ',
    );
    console.log(
      `pg-boss 10's worker waits pollingIntervalSeconds (at least 0.5 s) after every batch, even with a full queue, so each worker completes at most batchSize jobs per 0.5 s ` +
        `(caps in jobs/s: ${caps}); the best measured configuration is the reference.`,
    );
  }
  for (const n of notes) console.log(`- ${n}`);
  const flowdJobs = rows
    .filter((r) => r.kind === 'jobs' && r.group !== 'wait' && r.engine.startsWith('flowd'))
    .map(rate)
    .filter(num);
  if (num(boss) && flowdJobs.length > 0)
    console.log(`Goal: ≥ 2× pg-boss with the same durability (best flowd no-op row: ${ratio(Math.max(...flowdJobs), boss)}×).`);
  for (const group of [...new Set(rows.map((r) => r.group))]) {
    const two = rows.find((r) => r.group === group && r.nodes === 2);
    if (two && group !== undefined)
      console.log(`Goal: ≥ 1.6× from 1 to 2 nodes where the work is not database-bound — ${group}: ${ratio(rate(two), oneNode(group))}×.`);
  }
  if (failures.length > 0) {
    console.log('\nFailed parts:');
    for (const f of failures) console.log(`- ${f}`);
  }
}

try {
  await main();
} catch (err) {
  console.error(err);
  await cleanupAll();
  process.exitCode = 1;
}
