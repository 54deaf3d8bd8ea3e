/**
 * API keys on PostgreSQL. Only a SHA-256 of each key is stored (keys are 256-bit random, so a
 * fast hash is enough: there is nothing to brute-force). A rotation with a grace period keeps
 * the previous hash next to the new one until the grace period ends.
 */
import type { ApiKeyRecord } from '../store.js';
import type { PgDb } from './postgres-connection.js';
import type { ApiKeyRow } from '../rows/api-key-rows.js';
import { API_KEY_COLS, toApiKey } from '../rows/api-key-rows.js';

export class PgApiKeys {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async create(k: ApiKeyRecord & { hash: string }): Promise<void> {
    await this.#db.query(
      `INSERT INTO api_keys (id, name, prefix, hash, workflow_ids, created_at, created_by, last_used_at, tenant_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        k.id,
        k.name,
        k.prefix,
        k.hash,
        JSON.stringify(k.workflowIds),
        k.createdAt,
        k.createdBy ?? null,
        k.lastUsedAt ?? null,
        k.tenantId ?? null,
      ],
    );
  }

  async list(): Promise<ApiKeyRecord[]> {
    const now = Date.now();
    const r = await this.#db.query<ApiKeyRow>(`SELECT ${API_KEY_COLS} FROM api_keys ORDER BY created_at, id`);
    return r.rows.map((row) => toApiKey(row, now));
  }

  async get(id: string): Promise<ApiKeyRecord | undefined> {
    const row = (await this.#db.query<ApiKeyRow>(`SELECT ${API_KEY_COLS} FROM api_keys WHERE id = $1`, [id])).rows[0];
    return row ? toApiKey(row, Date.now()) : undefined;
  }

  /** The current hash first, else a previous one still in its grace period: one round trip. */
  async getByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const now = Date.now();
    const r = await this.#db.query<ApiKeyRow>(
      `SELECT ${API_KEY_COLS} FROM (
         SELECT ${API_KEY_COLS}, 0 AS pick FROM api_keys WHERE hash = $1
         UNION ALL
         SELECT ${API_KEY_COLS}, 1 AS pick FROM api_keys WHERE prev_hash = $1 AND prev_valid_until > $2
       ) AS k ORDER BY pick LIMIT 1`,
      [hash, now],
    );
    const row = r.rows[0];
    return row ? toApiKey(row, now) : undefined;
  }

  async rotate(id: string, newHash: string, newPrefix: string, graceUntil?: number): Promise<ApiKeyRecord | undefined> {
    const now = Date.now();
    const keep = graceUntil !== undefined && graceUntil > now;
    // With a grace period the current hash becomes the previous one; a still-valid earlier
    // previous value is dropped (two live values at most, never a chain of them). SET
    // expressions read the row as it was, so `hash` here is the old value.
    const r = await this.#db.query<ApiKeyRow>(
      `UPDATE api_keys SET prev_hash = CASE WHEN $1::boolean THEN hash END, prev_valid_until = CASE WHEN $1::boolean THEN $2::bigint END,
         hash = $3, prefix = $4, rotated_at = $5 WHERE id = $6 RETURNING ${API_KEY_COLS}`,
      [keep, graceUntil ?? null, newHash, newPrefix, now, id],
    );
    const row = r.rows[0];
    return row ? toApiKey(row, now) : undefined;
  }

  async delete(id: string): Promise<boolean> {
    return ((await this.#db.query('DELETE FROM api_keys WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  /** One statement for the batch; the latest time per key, and never backwards. */
  async touch(used: Array<{ id: string; at: number }>): Promise<void> {
    if (used.length === 0) return;
    await this.#db.query(
      `UPDATE api_keys AS k SET last_used_at = u.at
       FROM (SELECT id, MAX(at) AS at FROM unnest($1::text[], $2::bigint[]) AS x(id, at) GROUP BY id) AS u
       WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)`,
      [used.map((u) => u.id), used.map((u) => u.at)],
    );
  }
}
