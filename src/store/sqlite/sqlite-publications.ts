/** The published flow of each workflow on SQLite: one row per workflow, versioned on replace. */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { PublicationRecord, PutPublicationInput } from '../store.js';
import { statementCache } from './sqlite-statement-cache.js';
import type { PublicationRow } from '../rows/publication-rows.js';
import { toPublication } from '../rows/publication-rows.js';

export class SqlitePublications {
  readonly #db: Db;
  readonly #q: (sql: string) => Statement;

  constructor(db: Db) {
    this.#db = db;
    this.#q = statementCache(this.#db);
  }

  put(p: PutPublicationInput): PublicationRecord {
    const row = this.#q(
      `INSERT INTO publications (workflow_id, mode, spec, version, desired_status, published_at, updated_at)
       VALUES (?, ?, ?, 1, ?, ?, ?)
       ON CONFLICT (workflow_id) DO UPDATE SET mode = excluded.mode, spec = excluded.spec, version = publications.version + 1,
         desired_status = excluded.desired_status, updated_at = excluded.updated_at
       RETURNING *`,
    ).get(p.workflowId, p.mode, JSON.stringify(p.spec), p.desiredStatus, p.at, p.at) as PublicationRow;
    return toPublication(row);
  }

  get(workflowId: string): PublicationRecord | undefined {
    const row = this.#q('SELECT * FROM publications WHERE workflow_id = ?').get(workflowId) as PublicationRow | undefined;
    return row ? toPublication(row) : undefined;
  }

  delete(workflowId: string): boolean {
    return this.#q('DELETE FROM publications WHERE workflow_id = ?').run(workflowId).changes > 0;
  }

  list(): PublicationRecord[] {
    return (this.#q('SELECT * FROM publications ORDER BY published_at, workflow_id').all() as PublicationRow[]).map(toPublication);
  }
}
