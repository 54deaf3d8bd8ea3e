/**
 * `workflow/_search` and `workflow/state/_search` at scale: BENCH_WORKFLOWS workflows (default
 * 10,000; 100k and 1M work) with realistic names, descriptions, use cases and states are written
 * in bulk into the store's tables (the rows createWorkflow writes, in large transactions: creating
 * a million workflows one request at a time would take the bench hours), then `flowd serve` in its
 * own process answers one query per shape, one request at a time; each shape's p50/p99 through
 * HTTP is printed next to the equivalent indexed SQL run directly on the same database in the same
 * run (what the store can do at best), with the server's start-up time and RSS.
 *
 * Environment: BENCH_WORKFLOWS (default 10,000), BENCH_STORE (sqlite | postgres, default sqlite;
 * PostgreSQL at FLOWD_BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/test, in a fresh
 * schema dropped afterwards), BENCH_ITERATIONS (requests per shape, default 30; a shape stops
 * early after BENCH_SHAPE_SECONDS, default 20; past 200k workflows the shape no index answers
 * is one cold request), BENCH_BUILT=1 to run the built bundle
 * (bin/flowd.js; run `npm run build` first) instead of the sources through tsx.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import pg from 'pg';
import { BENCH_ROOT } from './server-processes.js';
import { AUTH, table } from './support.js';

const N = Number(process.env['BENCH_WORKFLOWS'] ?? 10_000);
const STORE = process.env['BENCH_STORE'] === 'postgres' ? 'postgres' : 'sqlite';
const PG_URL = process.env['FLOWD_BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const ITERATIONS = Number(process.env['BENCH_ITERATIONS'] ?? 30);
const SHAPE_SECONDS = Number(process.env['BENCH_SHAPE_SECONDS'] ?? 20);
const BUILT = process.env['BENCH_BUILT'] === '1';
const FF = '/_plugins/_flow_framework/workflow';
const T0 = 1_700_000_000_000;

// ------------------------------------------------------------------ realistic data

const PRODUCTS = ['semantic-search', 'hybrid-search', 'rag-chat', 'product-recs', 'support-bot', 'doc-qa', 'image-search', 'log-triage'];
const ENVS = ['prod', 'staging', 'dev', 'eu', 'us'];
const USE_CASES = ['SEMANTIC_SEARCH', 'HYBRID_SEARCH', 'RAG', 'CONVERSATIONAL_SEARCH', 'MULTIMODAL_SEARCH', 'CUSTOM'];
const WORDS = (
  'embedding model connector pipeline ingest vector index neural sparse dense retrieval rerank chat agent memory tool ' +
  'bedrock openai cohere sagemaker huggingface titan knn faiss lucene hnsw documents catalog products tickets logs ' +
  'english multilingual nightly batch realtime customer internal experimental legacy'
).split(' ');

/** A small deterministic PRNG, so every run stores the same data. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

const nameOf = (i: number): string => `${PRODUCTS[i % PRODUCTS.length]}-${ENVS[Math.floor(i / PRODUCTS.length) % ENVS.length]}-${i}`;
const idOf = (i: number): string => `wf${String(i).padStart(8, '0')}`;

interface Row {
  id: string;
  template: string;
  createdAt: number;
  state: string;
  progress: string;
  start: number | null;
  end: number | null;
  error: string | null;
}

function row(i: number, r: () => number): Row {
  const created = T0 + i * 1000 + Math.floor(r() * 1000);
  const words = Array.from({ length: 8 + Math.floor(r() * 8) }, () => pick(r, WORDS));
  const template = {
    name: nameOf(i),
    description: `${words.join(' ')}.`,
    use_case: pick(r, USE_CASES),
    version: { template: '1.0.0', compatibility: ['2.19.0', '3.0.0'] },
    workflows: {
      provision: {
        user_params: {},
        nodes: [
          {
            id: 'create_connector',
            type: 'create_connector',
            previous_node_inputs: {},
            user_inputs: {
              name: `${nameOf(i)} connector`,
              protocol: 'http',
              parameters: { endpoint: 'api.example.com', model: 'embed-v3' },
            },
          },
          {
            id: 'register_model',
            type: 'register_remote_model',
            previous_node_inputs: { create_connector: 'connector_id' },
            user_inputs: { name: `${nameOf(i)} model`, function_name: 'remote' },
          },
        ],
        edges: [{ source: 'create_connector', dest: 'register_model' }],
      },
    },
    created_time: created,
    last_updated_time: created,
  };
  const x = r();
  const [state, progress] =
    x < 0.7
      ? ['NOT_STARTED', 'NOT_STARTED']
      : x < 0.85
        ? ['COMPLETED', 'DONE']
        : x < 0.95
          ? ['FAILED', 'FAILED']
          : ['PROVISIONING', 'IN_PROGRESS'];
  const start = state === 'NOT_STARTED' ? null : created + 5000;
  const end = state === 'COMPLETED' || state === 'FAILED' ? (start as number) + 2000 : null;
  return {
    id: idOf(i),
    template: JSON.stringify(template),
    createdAt: created,
    state,
    progress,
    start,
    end,
    error: state === 'FAILED' ? 'connector timed out' : null,
  };
}

const BATCH = 5000;

async function fillSqlite(path: string): Promise<void> {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  const wf = db.prepare('INSERT INTO workflows (id, template, version, created_at, updated_at) VALUES (?, ?, 1, ?, ?)');
  const st = db.prepare(
    'INSERT INTO workflow_state (workflow_id, state, progress, start_time, end_time, error, os_user, version, updated_at) VALUES (?, ?, ?, ?, ?, ?, NULL, 1, ?)',
  );
  const r = rng(42);
  const insert = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const x = row(i, r);
      wf.run(x.id, x.template, x.createdAt, x.createdAt);
      st.run(x.id, x.state, x.progress, x.start, x.end, x.error, x.createdAt);
    }
  });
  for (let i = 0; i < N; i += BATCH) insert(i, Math.min(N, i + BATCH));
  db.pragma('optimize');
  db.close();
}

async function fillPostgres(c: pg.Client, schema: string): Promise<void> {
  const r = rng(42);
  for (let i = 0; i < N; i += BATCH) {
    const rows = Array.from({ length: Math.min(BATCH, N - i) }, (_, k) => row(i + k, r));
    await c.query(
      `INSERT INTO "${schema}".workflows (id, template, version, created_at, updated_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $4::bigint[])`,
      [rows.map((x) => x.id), rows.map((x) => x.template), rows.map(() => 1), rows.map((x) => x.createdAt)],
    );
    await c.query(
      `INSERT INTO "${schema}".workflow_state (workflow_id, state, progress, start_time, end_time, error, version, updated_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::int[], $8::bigint[])`,
      [
        rows.map((x) => x.id),
        rows.map((x) => x.state),
        rows.map((x) => x.progress),
        rows.map((x) => x.start),
        rows.map((x) => x.end),
        rows.map((x) => x.error),
        rows.map(() => 1),
        rows.map((x) => x.createdAt),
      ],
    );
  }
  await c.query(`ANALYZE "${schema}".workflows`);
  await c.query(`ANALYZE "${schema}".workflow_state`);
}

// ------------------------------------------------------------------ the server

interface Server {
  url: string;
  child: ChildProcess;
  startupMs: number;
  rssMb(): number;
  close(): Promise<void>;
}

async function spawnFlowd(dataDir: string, env: Record<string, string>): Promise<Server> {
  const args = BUILT ? [join(BENCH_ROOT, 'bin', 'flowd.js')] : ['--import', 'tsx', join(BENCH_ROOT, 'src', 'cli', 'main.ts')];
  const started = performance.now();
  const child = spawn(process.execPath, [...args, 'serve', '--port', '0', '--data-dir', dataDir], {
    cwd: BENCH_ROOT,
    env: { ...process.env, FLOWD_ADMIN_PASSWORD: 'bench-password-1', FLOWD_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('flowd did not start within 300 s')), 300_000);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      try {
        const j = JSON.parse(line) as { msg?: string; url?: string };
        if (j.msg === 'flowd is ready' && typeof j.url === 'string') {
          clearTimeout(timer);
          resolve(j.url);
        }
      } catch {
        // not a JSON line
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`flowd exited (${String(code)}) before it was ready`));
    });
  });
  const startupMs = performance.now() - started;
  return {
    url,
    child,
    startupMs,
    rssMb: () => {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${String(child.pid)}/status`, 'utf8'));
      return Number(m?.[1] ?? 0) / 1024;
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

// ------------------------------------------------------------------ measuring

interface Timing {
  p50: number;
  p99: number;
  n: number;
}

/** `once`: a single cold request (a full scan at a million workflows takes a minute). */
async function time(fn: () => Promise<void>, once = false): Promise<Timing> {
  if (!once) await fn(); // warm-up (statement caches, pages)
  const ms: number[] = [];
  const deadline = performance.now() + SHAPE_SECONDS * 1000;
  for (let i = 0; i < (once ? 1 : ITERATIONS) && (i < 3 || performance.now() < deadline); i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  const at = (q: number): number => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] as number;
  return { p50: at(0.5), p99: at(0.99), n: ms.length };
}

interface Shape {
  name: string;
  path: string;
  body: Record<string, unknown>;
  /** The equivalent indexed SQL: the page, then the count. */
  sql: Array<{ text: string; params: unknown[] }>;
  /** Not answered by an index: a full scan. */
  scan?: boolean;
}

function shapes(): Shape[] {
  const mid = Math.floor(N / 2);
  const lo = T0 + mid * 1000;
  const hi = lo + Math.max(10, Math.floor(N / 100)) * 1000; // ~1 % of the workflows
  const prefix = nameOf(mid).slice(0, nameOf(mid).length - 1);
  const ids = [1, 7, mid, N - 3, N - 1].map(idOf);
  const page = 'SELECT id, template, version FROM workflows';
  const count = 'SELECT COUNT(*) AS n FROM (SELECT 1 FROM workflows';
  return [
    {
      name: 'match_all, top 10',
      path: '_search',
      body: {},
      sql: [
        { text: `${page} ORDER BY created_at, id LIMIT 10`, params: [] },
        { text: `${count} LIMIT 10001) c`, params: [] },
      ],
    },
    {
      name: 'term name.keyword',
      path: '_search',
      body: { query: { term: { 'name.keyword': nameOf(mid) } } },
      sql: [
        { text: `${page} WHERE s_name = ? ORDER BY created_at, id LIMIT 10`, params: [nameOf(mid)] },
        { text: `${count} WHERE s_name = ? LIMIT 10001) c`, params: [nameOf(mid)] },
      ],
    },
    {
      name: 'terms use_case.keyword (2)',
      path: '_search',
      body: { query: { terms: { 'use_case.keyword': ['RAG', 'CUSTOM'] } } },
      sql: [
        { text: `${page} WHERE s_use_case IN (?, ?) ORDER BY created_at, id LIMIT 10`, params: ['RAG', 'CUSTOM'] },
        { text: `${count} WHERE s_use_case IN (?, ?) LIMIT 10001) c`, params: ['RAG', 'CUSTOM'] },
      ],
    },
    {
      name: 'range created_time (~1 %)',
      path: '_search',
      body: { query: { range: { created_time: { gte: lo, lt: hi } } } },
      sql: [
        { text: `${page} WHERE s_created_time >= ? AND s_created_time < ? ORDER BY created_at, id LIMIT 10`, params: [lo, hi] },
        { text: `${count} WHERE s_created_time >= ? AND s_created_time < ? LIMIT 10001) c`, params: [lo, hi] },
      ],
    },
    {
      name: 'prefix name.keyword',
      path: '_search',
      body: { query: { prefix: { 'name.keyword': prefix } } },
      sql: [
        { text: `${page} WHERE s_name >= ? AND s_name < ? ORDER BY created_at, id LIMIT 10`, params: [prefix, `${prefix}\u{10ffff}`] },
        { text: `${count} WHERE s_name >= ? AND s_name < ? LIMIT 10001) c`, params: [prefix, `${prefix}\u{10ffff}`] },
      ],
    },
    {
      name: 'ids (5)',
      path: '_search',
      body: { query: { ids: { values: ids } } },
      sql: [
        { text: `${page} WHERE id IN (?, ?, ?, ?, ?) ORDER BY created_at, id LIMIT 10`, params: ids },
        { text: `${count} WHERE id IN (?, ?, ?, ?, ?) LIMIT 10001) c`, params: ids },
      ],
    },
    {
      name: 'sort created_time desc, top 10',
      path: '_search',
      body: { sort: [{ created_time: 'desc' }], size: 10 },
      sql: [
        { text: `${page} ORDER BY s_created_time DESC LIMIT 10`, params: [] },
        { text: `${count} LIMIT 10001) c`, params: [] },
      ],
    },
    {
      name: 'match description (substring prefilter)',
      path: '_search',
      body: { query: { match: { description: 'faiss' } } },
      scan: true,
      sql: [{ text: `${page} WHERE instr(lower(s_description), 'faiss') > 0 ORDER BY created_at, id`, params: [] }],
    },
    {
      name: 'state/_search term state FAILED',
      path: 'state/_search',
      body: { query: { term: { state: 'FAILED' } } },
      sql: [
        { text: `SELECT * FROM workflow_state WHERE state = ? ORDER BY workflow_id LIMIT 10`, params: ['FAILED'] },
        { text: `SELECT COUNT(*) AS n FROM (SELECT 1 FROM workflow_state WHERE state = ? LIMIT 10001) c`, params: ['FAILED'] },
      ],
    },
  ];
}

/**
 * The same SQL on PostgreSQL: `$n` placeholders, strpos() for instr(), and the indexed
 * expressions (search-columns.ts) for SQLite's generated columns.
 */
function toPg(sql: string, columns: Record<string, string>): string {
  let n = 0;
  return sql
    .replace(/\?/g, () => `$${++n}`)
    .replace(/instr\(/g, 'strpos(')
    .replace(/\bs_(name|use_case|description|created_time|last_updated_time|last_provisioned_time)\b/g, (_, f: string) => columns[f] ?? f);
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'flowd-search-bench-'));
  let env: Record<string, string> = {};
  let rawQuery: (text: string, params: unknown[]) => Promise<void>;
  let closeRaw: () => Promise<void>;
  let dropSchema: (() => Promise<void>) | undefined;
  const fillStart = performance.now();
  if (STORE === 'sqlite') {
    // The store creates its schema (all migrations), then the rows go in in bulk.
    const { SqliteStore } = await import('../src/store/sqlite/sqlite-store.js');
    const path = join(dataDir, 'flowd.db');
    await new SqliteStore({ path }).close();
    await fillSqlite(path);
    const db = new Database(path, { readonly: true });
    const { TEMPLATE_SEARCH_COLUMNS } = await import('../src/store/search-columns.js');
    rawQuery = async (text, params) =>
      void db.prepare(text.replace(/\bs_description\b/g, TEMPLATE_SEARCH_COLUMNS.description)).all(...params);
    closeRaw = async () => void db.close();
  } else {
    const schema = `flowd_bench_${randomBytes(4).toString('hex')}`;
    const storeUrl = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`;
    const { PostgresStore } = await import('../src/store/postgres/postgres-store.js');
    const { PG_TEMPLATE_SEARCH_COLUMNS } = await import('../src/store/search-columns.js');
    await (await PostgresStore.open(storeUrl)).close();
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`SET search_path TO "${schema}"`);
    await fillPostgres(c, schema);
    env = { FLOWD_STORE_URL: storeUrl, FLOWD_MASTER_KEY: randomBytes(32).toString('base64') };
    rawQuery = async (text, params) => void (await c.query(toPg(text, PG_TEMPLATE_SEARCH_COLUMNS), params));
    closeRaw = () => c.end();
    dropSchema = async () => {
      const d = new pg.Client({ connectionString: PG_URL });
      await d.connect();
      await d.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await d.end();
    };
  }
  const fillS = (performance.now() - fillStart) / 1000;
  const server = await spawnFlowd(dataDir, env);
  try {
    const rssIdle = server.rssMb();
    const rows: Array<Array<string | number>> = [];
    for (const s of shapes()) {
      let total = '';
      const http = await time(
        async () => {
          const res = await fetch(`${server.url}${FF}/${s.path}`, {
            method: 'POST',
            headers: { authorization: AUTH, 'content-type': 'application/json' },
            body: JSON.stringify(s.body),
          });
          const j = (await res.json()) as { hits?: { total?: { value: number; relation: string } } };
          if (res.status !== 200) throw new Error(`${s.name}: ${res.status} ${JSON.stringify(j)}`);
          total = `${j.hits?.total?.value ?? '?'}${j.hits?.total?.relation === 'gte' ? '+' : ''}`;
        },
        s.scan === true && N > 200_000,
      );
      const raw = await time(async () => {
        for (const q of s.sql) await rawQuery(q.text, q.params);
      });
      rows.push([s.name, total, http.p50, http.p99, raw.p50, raw.p99, http.n]);
    }
    table(
      `workflow search, ${N.toLocaleString('en-US')} workflows on ${STORE}, flowd serve (${BUILT ? 'built bundle' : 'sources via tsx'}) in its own process, one request at a time; start-up ${server.startupMs.toFixed(0)} ms, RSS ${rssIdle.toFixed(0)} MB idle / ${server.rssMb().toFixed(0)} MB after; bulk fill ${fillS.toFixed(1)} s`,
      ['query shape', 'hits.total', 'HTTP p50 ms', 'HTTP p99 ms', 'raw SQL p50 ms', 'raw SQL p99 ms', 'requests'],
      rows,
    );
  } finally {
    await server.close();
    await closeRaw();
    await dropSchema?.();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
