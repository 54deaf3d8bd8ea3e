/** The published flow of each workflow on PostgreSQL: one row per workflow, versioned on replace. */
import type { PublicationRecord, PutPublicationInput } from '../store.js';
import type { PgDb } from './postgres-connection.js';
import type { PublicationRow } from '../rows/publication-rows.js';
import { PUBLICATION_COLS, toPublication } from '../rows/publication-rows.js';

export class PgPublications {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async put(p: PutPublicationInput): Promise<PublicationRecord> {
    const r = await this.#db.query<PublicationRow>(
      `INSERT INTO publications (workflow_id, mode, spec, version, desired_status, published_at, updated_at)
       VALUES ($1, $2, $3, 1, $4, $5, $5)
       ON CONFLICT (workflow_id) DO UPDATE SET mode = EXCLUDED.mode, spec = EXCLUDED.spec, version = publications.version + 1,
         desired_status = EXCLUDED.desired_status, updated_at = EXCLUDED.updated_at
       RETURNING ${PUBLICATION_COLS}`,
      [p.workflowId, p.mode, JSON.stringify(p.spec), p.desiredStatus, p.at],
    );
    const row = r.rows[0];
    if (!row) throw new Error(`Publishing workflow ${p.workflowId} returned no row.`);
    return toPublication(row);
  }

  async get(workflowId: string): Promise<PublicationRecord | undefined> {
    const row = (await this.#db.query<PublicationRow>(`SELECT ${PUBLICATION_COLS} FROM publications WHERE workflow_id = $1`, [workflowId]))
      .rows[0];
    return row ? toPublication(row) : undefined;
  }

  async delete(workflowId: string): Promise<boolean> {
    return ((await this.#db.query('DELETE FROM publications WHERE workflow_id = $1', [workflowId])).rowCount ?? 0) > 0;
  }

  async list(): Promise<PublicationRecord[]> {
    const r = await this.#db.query<PublicationRow>(`SELECT ${PUBLICATION_COLS} FROM publications ORDER BY published_at, workflow_id`);
    return r.rows.map(toPublication);
  }
}
