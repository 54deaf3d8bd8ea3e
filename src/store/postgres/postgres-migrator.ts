/**
 * Brings a PostgreSQL schema up to the latest migration. Several nodes may start at once on an
 * empty database: the one holding the schema's advisory lock migrates, the others wait for it
 * and then find nothing left to do. Each migration and its ledger row commit together.
 */
import { LATEST_POSTGRES_VERSION, POSTGRES_MIGRATIONS } from './postgres-migrations.js';
import type { PgDb, Queryable } from './postgres-connection.js';
import { advisoryKey, quoteIdent } from './postgres-connection.js';

export interface MigrationOutcome {
  /** Schema version before. */
  from: number;
  /** Schema version after. */
  to: number;
}

async function currentVersion(q: Queryable, schema: string): Promise<number> {
  const exists = await q.query(`SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'schema_migrations'`, [schema]);
  if (exists.rowCount === 0) return 0;
  const r = await q.query<{ v: number | null }>(`SELECT MAX(version) AS v FROM ${quoteIdent(schema)}.schema_migrations`);
  return r.rows[0]?.v ?? 0;
}

function refuseNewer(current: number): void {
  if (current > LATEST_POSTGRES_VERSION) {
    throw new Error(
      `The database schema (version ${current}) is newer than this flowd supports (${LATEST_POSTGRES_VERSION}). Upgrade flowd, or point it at another database/schema.`,
    );
  }
}

/** Without migrating: refuses a schema this flowd cannot use as it is. */
export async function checkSchema(db: PgDb, schema: string): Promise<number> {
  const current = await currentVersion(db, schema);
  refuseNewer(current);
  if (current < LATEST_POSTGRES_VERSION) {
    throw new Error(
      `The database schema ${schema} is at version ${current}, this flowd needs version ${LATEST_POSTGRES_VERSION}. ` +
        'Run `flowd migrate --store <url>` first (or start flowd with migrations enabled).',
    );
  }
  return current;
}

export async function migrateSchema(db: PgDb, schema: string): Promise<MigrationOutcome> {
  const key = advisoryKey(`flowd:migrate:${schema}`);
  const s = quoteIdent(schema);
  return db.withClient(async (q) => {
    // Session-level: it must outlive the per-migration transactions below.
    await q.query('SELECT pg_advisory_lock($1::bigint)', [key]);
    try {
      // Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when the schema exists.
      const found = await q.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      if (found.rowCount === 0) await q.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      await q.query(
        `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
      );
      const from = await currentVersion(q, schema);
      refuseNewer(from);
      for (const m of POSTGRES_MIGRATIONS) {
        if (m.version <= from) continue;
        await q.query('BEGIN');
        try {
          await q.query(`SET LOCAL search_path TO ${s}`);
          await q.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
          await q.query(m.sql);
          await q.query('COMMIT');
        } catch (e) {
          if (!q.broken) await q.query('ROLLBACK').catch(() => undefined);
          throw new Error(`PostgreSQL migration ${m.version} (${m.name}) failed in schema ${schema}: ${(e as Error).message}`, {
            cause: e,
          });
        }
      }
      return { from, to: Math.max(from, LATEST_POSTGRES_VERSION) };
    } finally {
      // A broken connection released the lock with its session.
      if (!q.broken) await q.query('SELECT pg_advisory_unlock($1::bigint)', [key]).catch(() => undefined);
    }
  });
}
