/**
 * Helpers for the cluster benchmark (bench/cluster-throughput.ts): fresh PostgreSQL schemas,
 * flowd nodes as child processes of the built bundle sharing one schema (= one cluster), the
 * pg-boss and graphile-worker baselines doing the same no-op jobs on the same database, and
 * clean-up of every child process and schema on exit, error or signal.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { run as runGraphile, makeWorkerUtils, Logger as GraphileLogger } from 'graphile-worker';
import { readyUrl } from '../test/support/flowd-process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The admin's basic auth (the same as support.ts's AUTH, repeated so that this module loads
 * nothing from src/ and the baselines run on their own).
 */
export const AUTH = 'Basic ' + Buffer.from('admin:bench-password-1').toString('base64');

/** The database every engine of the run uses (each in its own schema). */
export const PG_URL = process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
export const BUS_URL = process.env['BENCH_BUS_URL'] ?? 'nats://127.0.0.1:4222';
/** The same key on every node of a cluster: secrets written by one are read by the others. */
export const MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `postgres://…/test?schema=<schema>` (flowd's store URL form). */
export function schemaUrl(schema: string): string {
  const u = new URL(PG_URL);
  u.searchParams.set('schema', schema);
  return u.toString();
}

// ---------------------------------------------------------------------------------------------
// Clean-up: every child process and schema this run created goes away, whatever happens.

const children = new Set<ChildProcess>();
const schemas = new Set<string>();
const tmpDirs = new Set<string>();

function killChildren(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill(signal);
      } catch {
        // already gone
      }
    }
  }
}

let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    killChildren();
    for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
  });
  const fatal = (err: unknown): void => {
    console.error(err);
    killChildren();
    void dropAllSchemas().finally(() => process.exit(1));
  };
  process.once('uncaughtException', fatal);
  process.once('unhandledRejection', fatal);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killChildren();
      void dropAllSchemas().finally(() => process.exit(130));
    });
  }
}

/** A new schema name (not created: each engine creates and migrates its own). Dropped by dropAllSchemas(). */
export function newSchema(tag: string): string {
  hookExit();
  const name = `bench_${tag}_${randomBytes(4).toString('hex')}`;
  schemas.add(name);
  return name;
}

export async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

/** A client kept open for polling (one connection, not one per poll). */
export async function pgClient(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: PG_URL });
  // A dropped connection fails the next query, which says so; the event itself is not fatal.
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

export async function dropSchema(name: string): Promise<void> {
  await sql(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  schemas.delete(name);
}

/** Drops every schema this run created; retried for a while (PostgreSQL may be restarting). */
export async function dropAllSchemas(): Promise<void> {
  for (const s of [...schemas]) {
    for (let attempt = 1; ; attempt++) {
      try {
        await dropSchema(s);
        break;
      } catch (err) {
        if (attempt >= 5) {
          console.error(`could not drop schema ${s}: ${(err as Error).message}`);
          break;
        }
        await sleep(1000 * attempt);
      }
    }
  }
}

/** Kills every child still running and drops every schema created by this run. */
export async function cleanupAll(): Promise<void> {
  killChildren('SIGTERM');
  await Promise.all(
    [...children].map((c) =>
      c.exitCode !== null || c.signalCode !== null
        ? Promise.resolve()
        : Promise.race([new Promise((r) => c.once('exit', r)), sleep(5000).then(() => killChildren())]),
    ),
  );
  await dropAllSchemas();
}

export function machine(): string {
  const cs = cpus();
  return `${cs.length} CPU core(s), ${cs[0]?.model ?? 'unknown model'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ${process.platform}/${process.arch}`;
}

export async function postgresVersion(): Promise<string> {
  const [v] = await sql<{ server_version: string }>('SHOW server_version');
  const [s] = await sql<{ synchronous_commit: string }>('SHOW synchronous_commit');
  return `PostgreSQL ${v?.server_version ?? '?'} (synchronous_commit=${s?.synchronous_commit ?? '?'})`;
}

/** Polls `probe` until it returns true; throws with `what` after timeoutMs. */
export async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------------------------
// flowd nodes

export interface ClusterNodeProc {
  url: string;
  child: ChildProcess;
  /** The last lines the node wrote (stdout and stderr), for error messages. */
  tail(): string;
  close(): Promise<void>;
}

/**
 * Starts one node of the built bundle (`npm run build` first) on the cluster of `schema`.
 * Waits for its 'flowd is ready' line (info level; flowd does not log requests).
 */
export async function spawnClusterNode(
  schema: string,
  env: Record<string, string> = {},
  startTimeoutMs = 60_000,
): Promise<ClusterNodeProc> {
  hookExit();
  const dataDir = mkdtempSync(join(tmpdir(), 'flowd-bench-cluster-'));
  tmpDirs.add(dataDir);
  // BENCH_NODE_ARGS: extra node flags for every node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env['BENCH_NODE_ARGS'] ?? '').split(/\s+/).filter((a) => a !== '');
  const child = spawn(process.execPath, [...nodeArgs, 'bin/flowd.js', 'serve', '--port', '0', '--data-dir', dataDir], {
    cwd: ROOT,
    env: {
      ...process.env,
      FLOWD_STORE_URL: schemaUrl(schema),
      FLOWD_MASTER_KEY: MASTER_KEY,
      FLOWD_BUS_URL: BUS_URL,
      FLOWD_ADMIN_PASSWORD: 'bench-password-1',
      FLOWD_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const lines: string[] = [];
  const keep = (line: string): void => {
    lines.push(line);
    if (lines.length > 40) lines.shift();
  };
  const tail = (): string => lines.join('\n');
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', keep);
  const url = await readyUrl(child, { timeoutMs: startTimeoutMs, onLine: keep, output: tail, exitHint: 'did you run npm run build?' });
  child.on('exit', () => children.delete(child));
  return {
    url,
    child,
    tail,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Starts `n` nodes on one schema: the first alone (it creates and migrates the schema), then the others together. */
export async function startCluster(schema: string, n: number, env: Record<string, string> = {}): Promise<ClusterNodeProc[]> {
  const first = await spawnClusterNode(schema, env);
  const rest = await Promise.all(Array.from({ length: n - 1 }, () => spawnClusterNode(schema, env)));
  const nodes = [first, ...rest];
  // Every node sees every other before the clock starts.
  await until(
    `${n} live nodes in GET /_flowd/nodes`,
    async () => {
      for (const node of nodes) if ((await liveNodes(node.url)) < n) return false;
      return true;
    },
    30_000,
    100,
  );
  return nodes;
}

export async function closeCluster(nodes: ClusterNodeProc[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.close()));
}

/** The number of live nodes a node knows of (GET /_flowd/nodes; its body shape is read loosely). */
export async function liveNodes(url: string): Promise<number> {
  const r = await fetch(`${url}/_flowd/nodes`, { headers: { authorization: AUTH } });
  if (r.status !== 200) return 0;
  const j = (await r.json()) as unknown;
  const list = Array.isArray(j) ? j : ((j as { nodes?: unknown[] }).nodes ?? []);
  return (list as Array<{ alive?: boolean; status?: string; state?: string }>).filter(
    (x) => x.alive !== false && (x.status ?? x.state ?? 'alive').toString().toLowerCase() !== 'dead',
  ).length;
}

// ---------------------------------------------------------------------------------------------
// Baselines: the same no-op jobs through pg-boss 10 and graphile-worker 0.16.

export interface BaselineResult {
  /** First insert → every job done (the queue's own durable timestamps where it keeps them). */
  ms: number;
  /** Wall clock as the bench saw it (first insert → completion observed by polling). */
  wallMs: number;
  /** Inserting only. */
  insertMs: number;
  done: number;
  config: string;
}

const chunks = <T>(xs: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(xs.length / size) }, (_, i) => xs.slice(i * size, (i + 1) * size));

export interface PgBossOptions {
  /** Workers (`boss.work` calls) in this process. */
  workers: number;
  /** Jobs fetched and completed per poll by each worker. */
  batchSize: number;
  /** Seconds between polls of an idle worker (pg-boss's minimum is 0.5). */
  pollingIntervalSeconds: number;
  /** Jobs per `boss.insert` call. */
  insertBatch: number;
  /** How often the bench polls the job table for the end. */
  pollMs: number;
}

/**
 * pg-boss 10: `insert` in batches, `work` with batchSize (the handler gets the batch; pg-boss
 * completes the whole batch in one statement when it resolves). Jobs are durable rows with the
 * default retry policy, as in production. Timed from the first insert until every job is
 * `completed` (created_on → completed_on from pg-boss's own job table).
 */
export async function runPgBoss(n: number, o: PgBossOptions): Promise<BaselineResult> {
  const schema = newSchema('pgboss');
  const boss = new PgBoss({
    connectionString: PG_URL,
    schema,
    max: o.workers + 4,
    schedule: false,
    supervise: false,
    application_name: 'bench-pgboss',
  });
  boss.on('error', (err) => console.error('pg-boss:', err.message));
  await boss.start();
  const queue = 'noop';
  await boss.createQueue(queue);
  const poll = await pgClient();
  try {
    let handled = 0;
    for (let w = 0; w < o.workers; w++) {
      await boss.work<{ i: number }>(queue, { batchSize: o.batchSize, pollingIntervalSeconds: o.pollingIntervalSeconds }, async (jobs) => {
        handled += jobs.length;
      });
    }
    const jobs = Array.from({ length: n }, (_, i) => ({ name: queue, data: { i } }));
    const t0 = performance.now();
    for (const c of chunks(jobs, o.insertBatch)) await boss.insert(c);
    const insertMs = performance.now() - t0;
    const count = async (): Promise<number> =>
      Number(
        (await poll.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".job WHERE name = $1 AND state = 'completed'`, [queue]))
          .rows[0]?.n ?? 0,
      );
    await until('pg-boss to complete every job', async () => (await count()) >= n, 300_000, o.pollMs);
    const wallMs = performance.now() - t0;
    const [span] = (
      await poll.query<{ ms: number }>(
        `SELECT EXTRACT(EPOCH FROM (max(completed_on) - min(created_on))) * 1000 AS ms FROM "${schema}".job WHERE name = $1`,
        [queue],
      )
    ).rows;
    const done = await count();
    if (handled < n) throw new Error(`pg-boss: ${handled} jobs handled, ${n} expected`);
    return {
      ms: Number(span?.ms ?? wallMs),
      wallMs,
      insertMs,
      done,
      config: `${o.workers} workers × batchSize ${o.batchSize}, poll ${o.pollingIntervalSeconds}s`,
    };
  } finally {
    await poll.end().catch(() => undefined);
    await boss.stop({ graceful: false, wait: true, timeout: 5000 });
    await dropSchema(schema).catch(() => undefined); // else retried by cleanupAll()
  }
}

export interface GraphileOptions {
  /** Jobs run concurrently by the pool (one worker each, each with its own get_job). */
  concurrency: number;
  /** ms between polls (new jobs also wake workers through LISTEN/NOTIFY). */
  pollInterval: number;
  /** Jobs per `add_jobs` call. */
  insertBatch: number;
  /** How often the bench polls the job table for the end. */
  pollMs: number;
}

const silentGraphile = new GraphileLogger(() => (level: string, message: string) => {
  if (level === 'error') console.error(`graphile-worker: ${message}`);
});

/**
 * graphile-worker 0.16: jobs added in batches through its `add_jobs(job_spec[])` SQL function
 * (0.16 has no addJobs() helper; quickAddJob would be one round trip per job), a `run()` pool
 * with a no-op task. A job is deleted when it completes, so done = the jobs table is empty.
 */
export async function runGraphileWorker(n: number, o: GraphileOptions): Promise<BaselineResult> {
  const schema = newSchema('graphile');
  const utils = await makeWorkerUtils({ connectionString: PG_URL, schema, logger: silentGraphile });
  await utils.migrate();
  let handled = 0;
  const runner = await runGraphile({
    connectionString: PG_URL,
    schema,
    concurrency: o.concurrency,
    maxPoolSize: o.concurrency + 2,
    pollInterval: o.pollInterval,
    noHandleSignals: true,
    logger: silentGraphile,
    taskList: {
      noop: async () => {
        handled++;
      },
    },
  });
  const poll = await pgClient();
  try {
    const specs = Array.from({ length: n }, (_, i) => ({ identifier: 'noop', payload: { i } }));
    const t0 = performance.now();
    await utils.withPgClient(async (c) => {
      for (const chunk of chunks(specs, o.insertBatch)) {
        await c.query(`SELECT "${schema}".add_jobs(ARRAY(SELECT json_populate_recordset(NULL::"${schema}".job_spec, $1::json)))`, [
          JSON.stringify(chunk),
        ]);
      }
    });
    const insertMs = performance.now() - t0;
    const left = async (): Promise<number> =>
      Number((await poll.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}"._private_jobs`)).rows[0]?.n ?? 0);
    await until('graphile-worker to run every job', async () => (await left()) === 0, 300_000, o.pollMs);
    const wallMs = performance.now() - t0;
    if (handled !== n) throw new Error(`graphile-worker: ${handled} jobs run, ${n} expected`);
    return { ms: wallMs, wallMs, insertMs, done: handled, config: `concurrency ${o.concurrency}, poll ${o.pollInterval} ms` };
  } finally {
    await poll.end().catch(() => undefined);
    await runner.stop();
    await utils.release();
    await dropSchema(schema).catch(() => undefined); // else retried by cleanupAll()
  }
}
