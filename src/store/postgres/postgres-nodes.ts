/** Cluster membership and stuck-work counts on PostgreSQL: every node of a cluster heartbeats its row here. */
import type { NodeRecord } from '../store.js';
import type { PgDb } from './postgres-connection.js';
import type { NodeRow } from '../rows/node-rows.js';
import { toNode } from '../rows/node-rows.js';

export class PgNodes {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async heartbeatNode(n: NodeRecord): Promise<void> {
    await this.#db.query(
      `INSERT INTO nodes (node_id, url, started_at, heartbeat_at, info) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (node_id) DO UPDATE SET url = EXCLUDED.url, heartbeat_at = EXCLUDED.heartbeat_at, info = EXCLUDED.info`,
      [n.nodeId, n.url, n.startedAt, n.heartbeatAt, JSON.stringify(n.info)],
    );
  }

  async listNodes(): Promise<NodeRecord[]> {
    const r = await this.#db.query<NodeRow>('SELECT node_id, url, started_at, heartbeat_at, info FROM nodes ORDER BY node_id');
    return r.rows.map(toNode);
  }

  async removeNode(nodeId: string): Promise<void> {
    await this.#db.query('DELETE FROM nodes WHERE node_id = $1', [nodeId]);
  }

  async countStuckWork(now: number): Promise<{ runs: number; tasks: number }> {
    const r = await this.#db.query<{ runs: number; tasks: number }>(
      `SELECT (SELECT COUNT(*) FROM runs WHERE active AND lease_until < $1) AS runs,
              (SELECT COUNT(*) FROM tasks WHERE status = 'RUNNING' AND lease_until < $1) AS tasks`,
      [now],
    );
    return r.rows[0] ?? { runs: 0, tasks: 0 };
  }
}
