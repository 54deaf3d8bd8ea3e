/**
 * Starts a real flowd node (real HTTP on 127.0.0.1, real SQLite in a temp dir) for a test and
 * gives it a small fetch-based client. Nothing is mocked: tests talk HTTP to the server.
 *
 * With FLOWD_TEST_STORE=postgres each node gets a fresh PostgreSQL schema instead (on
 * FLOWD_TEST_PG_URL, dropped when the node closes), a master key, and joins a one-node cluster
 * over NATS (FLOWD_TEST_NATS_URL): the same suites then run against the PostgreSQL store.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ConfigInput } from '../../src/config.js';
import { resolveConfig } from '../../src/config.js';
import type { FlowdNode } from '../../src/server/flowd-node.js';
import { startFlowd } from '../../src/server/flowd-node.js';
import { PG_URL, withPg } from './store-matrix.js';

export const ADMIN_PASSWORD = 'admin-secret-pw-1';

/** True when the suites run against PostgreSQL (FLOWD_TEST_STORE=postgres): skip what only SQLite has. */
export const TEST_ON_POSTGRES = process.env['FLOWD_TEST_STORE'] === 'postgres';
const NATS_URL = process.env['FLOWD_TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222';

/** Every row of every table in a node's PostgreSQL schema, as text (to look for plaintext at rest). */
export function pgSchemaText(schema: string): Promise<string> {
  return withPg(async (c) => {
    const tables = await c.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, [
      schema,
    ]);
    const out: string[] = [];
    for (const { table_name } of tables.rows) {
      const rows = await c.query<{ t: string }>(`SELECT t::text AS t FROM "${schema}"."${table_name}" t`);
      out.push(...rows.rows.map((r) => r.t));
    }
    return out.join('\n');
  });
}

export interface NodePostgres {
  schema: string;
  config: { storeUrl: string; masterKey: string; busUrl: string };
  /** The same settings as a `flowd serve` process reads them from its environment. */
  env: Record<'FLOWD_STORE_URL' | 'FLOWD_MASTER_KEY' | 'FLOWD_BUS_URL', string>;
  drop(): Promise<void>;
}

/** A fresh schema on the test PostgreSQL server for one node (in process or spawned): its config and how to drop it. */
export function postgresForNode(): NodePostgres {
  const schema = `flowd_h_${randomBytes(6).toString('hex')}`;
  const config = {
    storeUrl: `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`,
    masterKey: randomBytes(32).toString('base64'),
    busUrl: NATS_URL,
  };
  return {
    schema,
    config,
    env: { FLOWD_STORE_URL: config.storeUrl, FLOWD_MASTER_KEY: config.masterKey, FLOWD_BUS_URL: config.busUrl },
    drop: () => withPg(async (c) => void (await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))),
  };
}
export const FF = '/_plugins/_flow_framework/workflow';

export interface HttpResult {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

export interface RequestOptions {
  body?: unknown;
  /** Raw body text (sent as-is). */
  raw?: string;
  contentType?: string;
  /** [user, password]; default admin; null = no Authorization header. */
  auth?: [string, string] | null;
  headers?: Record<string, string>;
}

export interface TestNode {
  url: string;
  node: FlowdNode;
  dataDir: string;
  /** The node's own PostgreSQL schema (FLOWD_TEST_STORE=postgres), undefined on SQLite. */
  pgSchema: string | undefined;
  request(method: string, path: string, opts?: RequestOptions): Promise<HttpResult>;
  /** Polls `_status` until the state leaves PROVISIONING (or a predicate holds). */
  waitForState(id: string, pred?: (s: any) => boolean, timeoutMs?: number): Promise<any>;
  close(): Promise<void>;
}

export function basic(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
}

export async function httpRequest(baseUrl: string, method: string, path: string, opts: RequestOptions = {}): Promise<HttpResult> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  const auth = opts.auth === undefined ? (['admin', ADMIN_PASSWORD] as [string, string]) : opts.auth;
  if (auth) headers['authorization'] = basic(auth[0], auth[1]);
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  const res = await fetch(baseUrl + path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

/** `opts.logger`: where the node logs (e.g. a sink a test reads), instead of a silent logger. */
export async function startTestNode(overrides: ConfigInput = {}, opts: { logger?: Logger } = {}): Promise<TestNode> {
  const dataDir = overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'flowd-test-'));
  const pgSchema = TEST_ON_POSTGRES && overrides.storeUrl === undefined ? postgresForNode() : undefined;
  const config = resolveConfig({
    env: {},
    // Tests call helper servers on 127.0.0.1: let outbound calls reach loopback (users' default refuses it).
    flags: {
      port: 0,
      dataDir,
      adminPassword: ADMIN_PASSWORD,
      logLevel: 'silent',
      shutdownGraceMs: 200,
      customBlockDirs: [tmpdir()],
      outboundAllowPrivate: true,
      ...pgSchema?.config,
      ...overrides,
    },
  });
  let node: FlowdNode;
  try {
    node = await startFlowd(config, opts.logger ? { logger: opts.logger } : {});
  } catch (e) {
    await pgSchema?.drop().catch(() => undefined);
    throw e;
  }
  const url = node.url;
  const request = (method: string, path: string, opts?: RequestOptions): Promise<HttpResult> => httpRequest(url, method, path, opts);
  return {
    url,
    node,
    dataDir,
    pgSchema: pgSchema?.schema,
    request,
    async waitForState(id, pred = (s) => s.state !== 'PROVISIONING', timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await request('GET', `${FF}/${id}/_status?all=true`);
        if (r.status === 200 && pred(r.body)) return r.body;
        if (Date.now() > deadline) throw new Error(`timed out waiting for workflow ${id}; last status ${r.status}: ${r.text}`);
        await new Promise((res) => setTimeout(res, 20));
      }
    },
    async close() {
      await node.close();
      if (!overrides.dataDir) rmSync(dataDir, { recursive: true, force: true });
      await pgSchema?.drop();
    },
  };
}

/** A template with the given provision nodes (edges inferred from previous_node_inputs or given). */
export function template(nodes: unknown[], edges: unknown[] = [], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'test', description: 'test workflow', use_case: 'TEST', workflows: { provision: { nodes, edges } }, ...extra };
}
