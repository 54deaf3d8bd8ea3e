/**
 * The dashboard's workflow list at scale: a node whose store holds WORKFLOWS workflows (default
 * 1,000,000; written straight into its tables, as the API would take hours), then GET
 * /_flowd/workflows timed over HTTP: the first page (the goal: ≤ 100 ms), a page after a
 * cursor, a deep page, state filters (common and rare), and text queries (common, rare, none).
 * SQLite by default; FLOWD_TEST_STORE=postgres runs it on the node's PostgreSQL schema.
 *
 *   node --import tsx bench/workflow-list-scale.ts          # WORKFLOWS=200000 for a quicker run
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { startTestNode } from '../test/support/flowd-harness.js';
import type { TestNode } from '../test/support/flowd-harness.js';
import { withPg } from '../test/support/store-matrix.js';

const N = Number(process.env['WORKFLOWS'] ?? 1_000_000);
const RUNS = 7;

/** Every 4th workflow COMPLETED, every 4th FAILED, 1 in 100,000 PROVISIONING, the rest NOT_STARTED; 1 in 1,000 named "needle". */
const TEMPLATE_SQL = (i: string, t: string): string =>
  `'{"name":"workflow-' || ${i} || CASE WHEN ${i} % 1000 = 0 THEN ' needle' ELSE '' END || '","description":"description of workflow ' || ${i} || '","use_case":"BENCH","version":{"template":"1.0.0","compatibility":["2.12.0"]},"workflows":{"provision":{"nodes":[{"id":"a","type":"noop","user_inputs":{}}],"edges":[]}},"created_time":' || ${t} || ',"last_updated_time":' || ${t} || '}'`;
const STATE_SQL = (i: string): string =>
  `CASE WHEN ${i} % 100000 = 7 THEN 'PROVISIONING' WHEN ${i} % 4 = 1 THEN 'COMPLETED' WHEN ${i} % 4 = 2 THEN 'FAILED' ELSE 'NOT_STARTED' END`;
const PROGRESS_SQL = (s: string): string =>
  `CASE ${s} WHEN 'PROVISIONING' THEN 'IN_PROGRESS' WHEN 'COMPLETED' THEN 'DONE' WHEN 'FAILED' THEN 'FAILED' ELSE 'NOT_STARTED' END`;

async function seed(node: TestNode, t0: number): Promise<void> {
  if (node.pgSchema) {
    const schema = node.pgSchema;
    await withPg(async (c) => {
      await c.query(`SET search_path TO "${schema}"`);
      await c.query(
        `INSERT INTO workflows (id, template, version, created_at, updated_at)
         SELECT 'w' || lpad(i::text, 8, '0'), ${TEMPLATE_SQL('i', `(${t0} + i)`)}, 1, ${t0} + i, ${t0} + i FROM generate_series(0, ${N - 1}) AS i`,
      );
      await c.query(
        `INSERT INTO workflow_state (workflow_id, state, progress, version, updated_at)
         SELECT 'w' || lpad(i::text, 8, '0'), s, ${PROGRESS_SQL('s')}, 1, ${t0} + i
         FROM (SELECT i, ${STATE_SQL('i')} AS s FROM generate_series(0, ${N - 1}) AS i) x`,
      );
      await c.query('ANALYZE workflows; ANALYZE workflow_state');
    });
    return;
  }
  const db = new Database(join(node.dataDir, 'flowd.db'));
  db.pragma('journal_mode = WAL');
  db.exec(`
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${N - 1})
    INSERT INTO workflows (id, template, version, created_at, updated_at)
      SELECT 'w' || printf('%08d', i), ${TEMPLATE_SQL('i', `(${t0} + i)`)}, 1, ${t0} + i, ${t0} + i FROM n;
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${N - 1})
    INSERT INTO workflow_state (workflow_id, state, progress, version, updated_at)
      SELECT 'w' || printf('%08d', i), s, ${PROGRESS_SQL('s')}, 1, ${t0} + i FROM (SELECT i, ${STATE_SQL('i')} AS s FROM n);
  `);
  db.close();
}

async function time(node: TestNode, label: string, query: string): Promise<any> {
  let body: any;
  const runs: number[] = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const t = performance.now();
    const r = await node.request('GET', `/_flowd/workflows${query}`);
    const ms = performance.now() - t;
    if (r.status !== 200) throw new Error(`${label}: ${r.status} ${r.text}`);
    body = r.body;
    if (i >= 2) runs.push(ms); // the first two warm the caches
  }
  runs.sort((a, b) => a - b);
  const median = runs[Math.floor(RUNS / 2)] ?? 0;
  const max = runs[RUNS - 1] ?? 0;
  console.log(
    `${label.padEnd(44)} median ${median.toFixed(1).padStart(7)} ms   max ${max.toFixed(1).padStart(7)} ms   rows ${String(body.workflows.length).padStart(4)}   next ${body.next ? 'yes' : 'no'}`,
  );
  return body;
}

const node = await startTestNode();
try {
  const t0 = Date.now() - N;
  const started = performance.now();
  await seed(node, t0);
  console.log(
    `${node.pgSchema ? 'PostgreSQL' : 'SQLite'}: ${N} workflows seeded in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const first = await time(node, 'first page (size 50)', '');
  await time(node, 'first page (size 1000)', '?size=1000');
  await time(node, 'second page (after the first)', `?after=${first.next}`);
  const middle = Buffer.from(JSON.stringify([t0 + Math.floor(N / 2), `w${String(Math.floor(N / 2)).padStart(8, '0')}`])).toString(
    'base64url',
  );
  await time(node, 'a page in the middle (cursor)', `?after=${middle}`);
  await time(node, 'state=COMPLETED (1 in 4)', '?state=COMPLETED');
  await time(node, `state=PROVISIONING (${Math.ceil(N / 100_000)} in ${N})`, '?state=PROVISIONING');
  await time(node, 'query=needle (1 in 1000)', '?query=needle');
  await time(node, 'query=workflow-99999 (a few)', '?query=workflow-99999');
  await time(node, 'query=nothing-matches (reads every row)', '?query=nothing-matches');
} finally {
  await node.close();
}
