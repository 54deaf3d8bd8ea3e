/** The api_keys row as both stores read it (same columns on SQLite and PostgreSQL), and its mapping to the Store port's record. */
import type { ApiKeyRecord } from '../store.js';

export interface ApiKeyRow {
  id: string;
  name: string;
  prefix: string;
  prev_valid_until: number | null;
  workflow_ids: string;
  created_at: number;
  created_by: string | null;
  rotated_at: number | null;
  last_used_at: number | null;
  tenant_id: string | null;
}

/** Never the hashes: they stay in the store. */
export const API_KEY_COLS = 'id, name, prefix, prev_valid_until, workflow_ids, created_at, created_by, rotated_at, last_used_at, tenant_id';

/** A previous key's grace period is only shown while it lasts (`now` is when the row was read). */
export function toApiKey(r: ApiKeyRow, now: number): ApiKeyRecord {
  const k: ApiKeyRecord = {
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    workflowIds: JSON.parse(r.workflow_ids) as string[],
    createdAt: r.created_at,
  };
  if (r.last_used_at !== null) k.lastUsedAt = r.last_used_at;
  if (r.created_by !== null) k.createdBy = r.created_by;
  if (r.rotated_at !== null) k.rotatedAt = r.rotated_at;
  if (r.prev_valid_until !== null && r.prev_valid_until > now) k.previousKeyValidUntil = r.prev_valid_until;
  if (r.tenant_id !== null) k.tenantId = r.tenant_id;
  return k;
}
