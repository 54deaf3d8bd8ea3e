/** Native ML resources (connectors, models, agents, model groups) on SQLite. */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { JsonObject } from '../../util/json.js';
import type { MlResourceRecord } from '../store.js';
import type { MlRow } from '../rows/ml-resource-rows.js';
import { toMl } from '../rows/ml-resource-rows.js';
import { statementCache } from './sqlite-statement-cache.js';

export class SqliteMlResources {
  readonly #db: Db;
  readonly #q: (sql: string) => Statement;

  constructor(db: Db) {
    this.#db = db;
    this.#q = statementCache(db);
  }

  async createMlResource(
    kind: string,
    id: string,
    doc: JsonObject,
    idempotencyKey?: string,
  ): Promise<{ record: MlResourceRecord; created: boolean }> {
    return this.#db.transaction((): { record: MlResourceRecord; created: boolean } => {
      if (idempotencyKey !== undefined) {
        const existing = this.#q('SELECT * FROM ml_resources WHERE kind = ? AND idempotency_key = ?').get(kind, idempotencyKey) as
          MlRow | undefined;
        if (existing) return { record: toMl(existing), created: false };
      }
      const now = Date.now();
      this.#q('INSERT INTO ml_resources (kind, id, doc, idempotency_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(
        kind,
        id,
        JSON.stringify(doc),
        idempotencyKey ?? null,
        now,
        now,
      );
      return { record: { id, kind, doc, createdAt: now, updatedAt: now }, created: true };
    })();
  }

  async getMlResource(kind: string, id: string): Promise<MlResourceRecord | undefined> {
    const row = this.#q('SELECT * FROM ml_resources WHERE kind = ? AND id = ?').get(kind, id) as MlRow | undefined;
    return row ? toMl(row) : undefined;
  }

  async updateMlResource(kind: string, id: string, doc: JsonObject): Promise<boolean> {
    const r = this.#q('UPDATE ml_resources SET doc = ?, updated_at = ? WHERE kind = ? AND id = ?').run(
      JSON.stringify(doc),
      Date.now(),
      kind,
      id,
    );
    return r.changes > 0;
  }

  async deleteMlResource(kind: string, id: string): Promise<boolean> {
    return this.#q('DELETE FROM ml_resources WHERE kind = ? AND id = ?').run(kind, id).changes > 0;
  }

  async listMlResources(kind: string): Promise<MlResourceRecord[]> {
    return (this.#q('SELECT * FROM ml_resources WHERE kind = ? ORDER BY created_at, id').all(kind) as MlRow[]).map(toMl);
  }
}
