/** Native ML resources (connectors, models, agents, model groups) on PostgreSQL. */
import type { JsonObject } from '../../util/json.js';
import type { MlResourceRecord } from '../store.js';
import type { PgDb } from './postgres-connection.js';
import type { MlRow } from '../rows/ml-resource-rows.js';
import { ML_COLS, toMl } from '../rows/ml-resource-rows.js';

export class PgMlResources {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async createMlResource(
    kind: string,
    id: string,
    doc: JsonObject,
    idempotencyKey?: string,
  ): Promise<{ record: MlResourceRecord; created: boolean }> {
    const now = Date.now();
    const text = JSON.stringify(doc);
    const created = { record: { id, kind, doc, createdAt: now, updatedAt: now }, created: true };
    if (idempotencyKey === undefined) {
      await this.#db.query('INSERT INTO ml_resources (kind, id, doc, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)', [
        kind,
        id,
        text,
        now,
      ]);
      return created;
    }
    // Twice at most: the record holding the key may be deleted between the INSERT and the SELECT.
    for (let attempt = 0; ; attempt++) {
      const ins = await this.#db.query(
        `INSERT INTO ml_resources (kind, id, doc, idempotency_key, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (kind, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`,
        [kind, id, text, idempotencyKey, now],
      );
      if ((ins.rowCount ?? 0) > 0) return created;
      const existing = (
        await this.#db.query<MlRow>(`SELECT ${ML_COLS} FROM ml_resources WHERE kind = $1 AND idempotency_key = $2`, [kind, idempotencyKey])
      ).rows[0];
      if (existing) return { record: toMl(existing), created: false };
      if (attempt >= 1)
        throw new Error(`Could not create ${kind} ${id}: its idempotency key [${idempotencyKey}] is being reused concurrently; retry.`);
    }
  }

  async getMlResource(kind: string, id: string): Promise<MlResourceRecord | undefined> {
    const row = (await this.#db.query<MlRow>(`SELECT ${ML_COLS} FROM ml_resources WHERE kind = $1 AND id = $2`, [kind, id])).rows[0];
    return row ? toMl(row) : undefined;
  }

  async updateMlResource(kind: string, id: string, doc: JsonObject): Promise<boolean> {
    const r = await this.#db.query('UPDATE ml_resources SET doc = $1, updated_at = $2 WHERE kind = $3 AND id = $4', [
      JSON.stringify(doc),
      Date.now(),
      kind,
      id,
    ]);
    return (r.rowCount ?? 0) > 0;
  }

  async deleteMlResource(kind: string, id: string): Promise<boolean> {
    return ((await this.#db.query('DELETE FROM ml_resources WHERE kind = $1 AND id = $2', [kind, id])).rowCount ?? 0) > 0;
  }

  async listMlResources(kind: string): Promise<MlResourceRecord[]> {
    const r = await this.#db.query<MlRow>(`SELECT ${ML_COLS} FROM ml_resources WHERE kind = $1 ORDER BY created_at, id`, [kind]);
    return r.rows.map(toMl);
  }
}
