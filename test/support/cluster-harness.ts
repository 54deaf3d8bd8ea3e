/**
 * Several real flowd processes on one PostgreSQL schema and the NATS bus: a cluster on
 * loopback, for the failure tests. Nodes run from the TypeScript sources (like flowd-process.ts)
 * with short heartbeats and leases so a killed node is noticed in about a second.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connect } from 'nats';
import type { HttpResult } from './flowd-harness.js';
import { httpRequest } from './flowd-harness.js';
import { spawnFlowd } from './flowd-process.js';
import { RT } from './runtime-client.js';
import type { FlowdProcess } from './flowd-process.js';

export const PG_URL = process.env['FLOWD_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
export const NATS_URL = process.env['FLOWD_TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222';

/** Why the cluster tests cannot run here, or undefined when PostgreSQL and NATS answer. */
export async function clusterUnavailable(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
  } catch (e) {
    return `PostgreSQL is not reachable at ${PG_URL}: ${(e as Error).message}`;
  } finally {
    await c.end().catch(() => undefined);
  }
  try {
    const nc = await connect({ servers: NATS_URL, timeout: 2000 });
    await nc.close();
  } catch (e) {
    return `NATS is not reachable at ${NATS_URL}: ${(e as Error).message}`;
  }
  return undefined;
}

/** Skip loudly, or fail when the environment promises the services (CI). */
export function skipReason(reason: string | undefined): string | false {
  if (reason === undefined) return false;
  if (process.env['FLOWD_REQUIRE_POSTGRES'] === '1') throw new Error(`FLOWD_REQUIRE_POSTGRES=1 but ${reason}`);
  console.warn(`!!! ${reason}: the cluster tests are SKIPPED`);
  return reason;
}

export interface ClusterNodeProcess extends FlowdProcess {
  nodeId: string;
  dataDir: string;
  killed: boolean;
}

export class TestCluster {
  readonly schema = `flowd_cl_${randomBytes(4).toString('hex')}`;
  readonly masterKey = randomBytes(32).toString('base64');
  readonly nodes: ClusterNodeProcess[] = [];
  readonly storeUrl = `${PG_URL}?schema=${this.schema}`;

  env(nodeId: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
      FLOWD_STORE_URL: this.storeUrl,
      FLOWD_MASTER_KEY: this.masterKey,
      FLOWD_BUS_URL: NATS_URL,
      FLOWD_NODE_ID: nodeId,
      FLOWD_HEARTBEAT_MS: '250',
      FLOWD_NODE_TTL_MS: '1500',
      FLOWD_LEASE_MS: '1500',
      FLOWD_SHUTDOWN_GRACE_MS: '500',
      ...extra,
    };
  }

  async start(n: number, extra: Record<string, string> = {}): Promise<ClusterNodeProcess[]> {
    const base = this.nodes.length;
    const started = await Promise.all(Array.from({ length: n }, (_, i) => this.#spawn(`n${base + i + 1}`, extra)));
    this.nodes.push(...started); // in name order, whichever started first
    return started;
  }

  async add(nodeId: string, extra: Record<string, string> = {}): Promise<ClusterNodeProcess> {
    const node = await this.#spawn(nodeId, extra);
    this.nodes.push(node);
    return node;
  }

  async #spawn(nodeId: string, extra: Record<string, string>): Promise<ClusterNodeProcess> {
    const dataDir = mkdtempSync(join(tmpdir(), `flowd-cluster-${nodeId}-`));
    const p = await spawnFlowd(dataDir, this.env(nodeId, extra));
    return { ...p, nodeId, dataDir, killed: false };
  }

  alive(): ClusterNodeProcess[] {
    return this.nodes.filter((n) => !n.killed);
  }

  async kill(node: ClusterNodeProcess): Promise<void> {
    node.killed = true;
    node.child.kill('SIGKILL');
    await node.exited;
  }

  request(node: ClusterNodeProcess, method: string, path: string, body?: unknown): Promise<HttpResult> {
    return httpRequest(node.url, method, path, body !== undefined ? { body } : {});
  }

  async close(): Promise<void> {
    for (const n of this.alive()) n.child.kill('SIGTERM');
    await Promise.all(this.nodes.map((n) => n.exited));
    for (const n of this.nodes) rmSync(n.dataDir, { recursive: true, force: true });
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`);
    await c.end();
  }
}

export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A runtime API call (`/api/v1/runtime/workflow/<path>`) with an API key; the body parsed as JSON. */
export async function runtime(
  node: ClusterNodeProcess,
  key: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${node.url}${RT}/${path}`, {
    method,
    ...(signal ? { signal } : {}),
    headers: { 'x-api-key': key, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
