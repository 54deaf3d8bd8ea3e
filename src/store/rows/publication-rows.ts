/** The publications row as both stores read it (same columns on SQLite and PostgreSQL), and its mapping to the Store port's record. */
import type { JsonObject } from '../../util/json.js';
import type { PublicationRecord } from '../store.js';

export interface PublicationRow {
  workflow_id: string;
  mode: PublicationRecord['mode'];
  spec: string;
  version: number;
  desired_status: PublicationRecord['desiredStatus'];
  published_at: number;
  updated_at: number;
}

export const PUBLICATION_COLS = 'workflow_id, mode, spec, version, desired_status, published_at, updated_at';

export const toPublication = (r: PublicationRow): PublicationRecord => ({
  workflowId: r.workflow_id,
  mode: r.mode,
  spec: JSON.parse(r.spec) as JsonObject,
  version: r.version,
  desiredStatus: r.desired_status,
  publishedAt: r.published_at,
  updatedAt: r.updated_at,
});
