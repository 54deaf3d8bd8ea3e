/** Cluster membership and stuck-work counts on SQLite: a single node still registers itself, so `flowd doctor` reads the same on both stores. */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { NodeRecord } from '../store.js';
import type { NodeRow } from '../rows/node-rows.js';
import { toNode } from '../rows/node-rows.js';
import { statementCache } from './sqlite-statement-cache.js';

export class SqliteNodes {
  readonly #q: (sql: string) => Statement;

  constructor(db: Db) {
    this.#q = statementCache(db);
  }

  async heartbeatNode(n: NodeRecord): Promise<void> {
    this.#q(
      `INSERT INTO nodes (node_id, url, started_at, heartbeat_at, info) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (node_id) DO UPDATE SET url = excluded.url, heartbeat_at = excluded.heartbeat_at, info = excluded.info`,
    ).run(n.nodeId, n.url, n.startedAt, n.heartbeatAt, JSON.stringify(n.info));
  }

  async listNodes(): Promise<NodeRecord[]> {
    const rows = this.#q('SELECT node_id, url, started_at, heartbeat_at, info FROM nodes ORDER BY node_id').all() as NodeRow[];
    return rows.map(toNode);
  }

  async removeNode(nodeId: string): Promise<void> {
    this.#q('DELETE FROM nodes WHERE node_id = ?').run(nodeId);
  }

  async countStuckWork(now: number): Promise<{ runs: number; tasks: number }> {
    const runs = (this.#q('SELECT COUNT(*) AS n FROM runs WHERE active = 1 AND lease_until < ?').get(now) as { n: number }).n;
    const tasks = (this.#q(`SELECT COUNT(*) AS n FROM tasks WHERE status = 'RUNNING' AND lease_until < ?`).get(now) as { n: number }).n;
    return { runs, tasks };
  }
}
