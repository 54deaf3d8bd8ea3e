/**
 * The Store on PostgreSQL: the engine for scale-out, several flowd nodes on one database (or
 * one schema of it, `?schema=` in the URL). Nothing is cached in memory, since other nodes write
 * the same rows; work is shared through leases (runs, tasks) claimed with
 * `FOR UPDATE SKIP LOCKED`, and every multi-statement method is one transaction on one pooled
 * connection. Each domain lives in its own file, named as on SQLite (postgres-<domain>.ts
 * beside sqlite-<domain>.ts); this class opens the pool and builds them, and the shared
 * StoreFacade hands each call to its domain.
 */
import type { SchemaVersion, Store } from '../store.js';
import { StoreFacade } from '../store-facade.js';
import { PgSearch } from './postgres-search.js';
import { PgApiKeys } from './postgres-api-keys.js';
import type { PgLogger } from './postgres-connection.js';
import { PgDb, advisoryKey, createPool, parsePgUrl } from './postgres-connection.js';
import { LATEST_POSTGRES_VERSION } from './postgres-migrations.js';
import type { MigrationOutcome } from './postgres-migrator.js';
import { checkSchema, migrateSchema } from './postgres-migrator.js';
import { PgMlResources } from './postgres-ml-resources.js';
import { PgNodes } from './postgres-nodes.js';
import { PgProvisioning } from './postgres-provisioning.js';
import { PgPublications } from './postgres-publications.js';
import { PgTasks } from './postgres-tasks.js';
import { PgUsers } from './postgres-users.js';
import { PgWorkflows } from './postgres-workflows.js';

export interface PostgresStoreOptions {
  /** Apply pending migrations on open (default). false: refuse a schema that is behind (`flowd migrate` first). */
  migrate?: boolean;
  /** Most connections this node opens (default 10). */
  poolSize?: number;
  logger?: PgLogger;
}

/** Opens a pool and checks the server answers, with an error that names the (password-less) URL. */
async function connect(url: string, opts: PostgresStoreOptions): Promise<{ db: PgDb; schema: string }> {
  const target = parsePgUrl(url);
  const db = new PgDb(createPool(target, opts));
  try {
    await db.query('SELECT 1');
  } catch (e) {
    await db.end().catch(() => undefined);
    throw new Error(`Cannot connect to PostgreSQL at ${target.display}: ${(e as Error).message}`, { cause: e });
  }
  return { db, schema: target.schema };
}

/** `flowd migrate`: brings the URL's schema to the latest version. */
export async function migratePostgres(url: string): Promise<MigrationOutcome> {
  const { db, schema } = await connect(url, { poolSize: 1 });
  try {
    return await migrateSchema(db, schema);
  } finally {
    await db.end();
  }
}

export class PostgresStore extends StoreFacade implements Store {
  readonly kind = 'postgres' as const;
  readonly #db: PgDb;
  readonly #tasks: PgTasks;
  #closed = false;

  private constructor(db: PgDb, schema: string) {
    const tasks = new PgTasks(db);
    super({
      nodes: new PgNodes(db),
      workflows: new PgWorkflows(db, advisoryKey(`flowd:workflows:${schema}`)),
      state: new PgProvisioning(db),
      ml: new PgMlResources(db),
      users: new PgUsers(db),
      publications: new PgPublications(db),
      tasks,
      apiKeys: new PgApiKeys(db),
      search: new PgSearch(db),
    });
    this.#db = db;
    this.#tasks = tasks;
  }

  static async open(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const { db, schema } = await connect(url, opts);
    try {
      if (opts.migrate === false) await checkSchema(db, schema);
      else await migrateSchema(db, schema);
    } catch (e) {
      await db.end().catch(() => undefined);
      throw e;
    }
    return new PostgresStore(db, schema);
  }

  async schemaVersion(): Promise<SchemaVersion> {
    const r = await this.#db.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
    return { current: r.rows[0]?.v ?? 0, latest: LATEST_POSTGRES_VERSION };
  }

  async maintenanceWarnings(): Promise<string[]> {
    const r = await this.#db.query<{ autovacuum: string }>(`SELECT current_setting('autovacuum') AS autovacuum`);
    if (r.rows[0]?.autovacuum === 'on') return [];
    // Each task row is written three times; without vacuum the dead versions and their index
    // entries stay, and every scan of the queue walks over them.
    return [
      'autovacuum is off: dead task rows are never cleaned up and the task queue slows down as they pile up; turn it on (ALTER SYSTEM SET autovacuum = on; SELECT pg_reload_conf()) or VACUUM the flowd tables regularly',
    ];
  }

  // ---------------------------------------------------------------- meta

  async getMeta(key: string): Promise<string | undefined> {
    return (await this.#db.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key])).rows[0]?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.#db.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', [
      key,
      value,
    ]);
  }

  /** Sends the task creates still grouped in this turn, then closes every connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tasks.flush();
    await this.#db.end();
  }
}
