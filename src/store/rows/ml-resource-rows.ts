/** The ml_resources row as both stores read it (same columns on SQLite and PostgreSQL), and its mapping to the Store port's record. */
import type { JsonObject } from '../../util/json.js';
import type { MlResourceRecord } from '../store.js';

export interface MlRow {
  kind: string;
  id: string;
  doc: string;
  created_at: number;
  updated_at: number;
}

export const ML_COLS = 'kind, id, doc, created_at, updated_at';

export const toMl = (r: MlRow): MlResourceRecord => ({
  id: r.id,
  kind: r.kind,
  doc: JSON.parse(r.doc) as JsonObject,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
