/**
 * API keys on SQLite. Only a SHA-256 of each key is stored (keys are 256-bit random, so a fast
 * hash is enough: there is nothing to brute-force). A rotation with a grace period keeps the
 * previous hash next to the new one until the grace period ends.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { ApiKeyRecord } from '../store.js';
import { statementCache } from './sqlite-statement-cache.js';
import type { ApiKeyRow } from '../rows/api-key-rows.js';
import { API_KEY_COLS, toApiKey } from '../rows/api-key-rows.js';

export class SqliteApiKeys {
  readonly #db: Db;
  readonly #q: (sql: string) => Statement;

  constructor(db: Db) {
    this.#db = db;
    this.#q = statementCache(this.#db);
  }

  create(k: ApiKeyRecord & { hash: string }): void {
    this.#q(
      `INSERT INTO api_keys (id, name, prefix, hash, workflow_ids, created_at, created_by, last_used_at, tenant_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      k.id,
      k.name,
      k.prefix,
      k.hash,
      JSON.stringify(k.workflowIds),
      k.createdAt,
      k.createdBy ?? null,
      k.lastUsedAt ?? null,
      k.tenantId ?? null,
    );
  }

  list(): ApiKeyRecord[] {
    const now = Date.now();
    return (this.#q(`SELECT ${API_KEY_COLS} FROM api_keys ORDER BY created_at, id`).all() as ApiKeyRow[]).map((r) => toApiKey(r, now));
  }

  get(id: string): ApiKeyRecord | undefined {
    const row = this.#q(`SELECT ${API_KEY_COLS} FROM api_keys WHERE id = ?`).get(id) as ApiKeyRow | undefined;
    return row ? toApiKey(row, Date.now()) : undefined;
  }

  getByHash(hash: string): ApiKeyRecord | undefined {
    const now = Date.now();
    const row = (this.#q(`SELECT ${API_KEY_COLS} FROM api_keys WHERE hash = ?`).get(hash) ??
      this.#q(`SELECT ${API_KEY_COLS} FROM api_keys WHERE prev_hash = ? AND prev_valid_until > ?`).get(hash, now)) as ApiKeyRow | undefined;
    return row ? toApiKey(row, now) : undefined;
  }

  rotate(id: string, newHash: string, newPrefix: string, graceUntil?: number): ApiKeyRecord | undefined {
    const now = Date.now();
    const keep = graceUntil !== undefined && graceUntil > now;
    // With a grace period the current hash becomes the previous one; a still-valid earlier
    // previous value is dropped (two live values at most, never a chain of them).
    const row = this.#q(
      `UPDATE api_keys SET prev_hash = CASE WHEN ? THEN hash END, prev_valid_until = CASE WHEN ? THEN ? END,
         hash = ?, prefix = ?, rotated_at = ? WHERE id = ? RETURNING ${API_KEY_COLS}`,
    ).get(keep ? 1 : 0, keep ? 1 : 0, graceUntil ?? null, newHash, newPrefix, now, id) as ApiKeyRow | undefined;
    return row ? toApiKey(row, now) : undefined;
  }

  delete(id: string): boolean {
    return this.#q('DELETE FROM api_keys WHERE id = ?').run(id).changes > 0;
  }

  touch(used: Array<{ id: string; at: number }>): void {
    if (used.length === 0) return;
    const upd = this.#q('UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)');
    this.#db.transaction(() => {
      for (const u of used) upd.run(u.at, u.id, u.at);
    })();
  }
}
