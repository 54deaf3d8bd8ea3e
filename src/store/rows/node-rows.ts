/** The nodes row as both stores read it (same columns on SQLite and PostgreSQL), and its mapping to the Store port's record. */
import type { JsonObject } from '../../util/json.js';
import type { NodeRecord } from '../store.js';

export interface NodeRow {
  node_id: string;
  url: string;
  started_at: number;
  heartbeat_at: number;
  info: string;
}

export const toNode = (r: NodeRow): NodeRecord => ({
  nodeId: r.node_id,
  url: r.url,
  startedAt: r.started_at,
  heartbeatAt: r.heartbeat_at,
  info: JSON.parse(r.info) as JsonObject,
});
