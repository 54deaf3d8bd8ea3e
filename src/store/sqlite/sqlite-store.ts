/**
 * The embedded Store: one SQLite file in WAL mode, used by exactly one flowd process (the data
 * dir is locked, see data-dir-lock.ts). better-sqlite3 is synchronous, so each method is one
 * short transaction and atomic by construction; the async signatures keep the port shared
 * with PostgreSQL. Each domain lives in its own file, named as on PostgreSQL (sqlite-<domain>.ts
 * beside postgres-<domain>.ts); this class opens the file and builds them, and the shared
 * StoreFacade hands each call to its domain.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { SchemaVersion, Store } from '../store.js';
import { StoreFacade } from '../store-facade.js';
import { SqliteSearch } from './sqlite-search.js';
import type { StoreIntegrity } from '../store-integrity.js';
import { IntegrityLatch } from '../store-integrity.js';
import { SqliteApiKeys } from './sqlite-api-keys.js';
import type { QuickCheckResult } from './sqlite-integrity.js';
import { latchCorruptionErrors } from './sqlite-integrity.js';
import { SqliteMlResources } from './sqlite-ml-resources.js';
import { SqliteNodes } from './sqlite-nodes.js';
import type { SqliteOpenOptions } from './sqlite-open.js';
import { latestSqliteVersion, openSqliteDatabase } from './sqlite-open.js';
import { SqliteProvisioning } from './sqlite-provisioning.js';
import { statementCache } from './sqlite-statement-cache.js';
import { SqlitePublications } from './sqlite-publications.js';
import { SqliteTasks } from './sqlite-tasks.js';
import { SqliteUsers } from './sqlite-users.js';
import { SqliteWorkflows } from './sqlite-workflows.js';

export interface SqliteStoreOptions extends SqliteOpenOptions {
  /** Hears once when the file turns out damaged, at the start-up check or at run time. */
  onDamaged?: (reason: string) => void;
}

export class SqliteStore extends StoreFacade implements Store {
  readonly kind = 'sqlite' as const;
  readonly #db: Db;
  readonly #q: (sql: string) => Statement;
  readonly #tasks: SqliteTasks;
  readonly #integrity: IntegrityLatch;
  /** The start-up `quick_check`, when asked for. */
  readonly startupCheck: QuickCheckResult | undefined;

  constructor(opts: SqliteStoreOptions) {
    const integrity = new IntegrityLatch(opts.onDamaged);
    const opened = openSqliteDatabase(opts, integrity);
    const db = opened.db;
    const state = new SqliteProvisioning(db);
    const tasks = new SqliteTasks(db);
    super({
      nodes: new SqliteNodes(db),
      workflows: new SqliteWorkflows(db, state),
      state,
      ml: new SqliteMlResources(db),
      users: new SqliteUsers(db),
      publications: new SqlitePublications(db),
      tasks,
      apiKeys: new SqliteApiKeys(db),
      search: new SqliteSearch(db, state),
    });
    this.#integrity = integrity;
    this.#db = db;
    this.#tasks = tasks;
    this.startupCheck = opened.startupCheck;
    this.#q = statementCache(db);
    latchCorruptionErrors(this, SqliteStore.prototype, integrity, opened.advice);
  }

  integrity(): StoreIntegrity {
    return this.#integrity.get();
  }

  async schemaVersion(): Promise<SchemaVersion> {
    const current = (this.#db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
    return { current, latest: latestSqliteVersion() };
  }

  /** SQLite reuses the space of deleted rows by itself: nothing to tune. */
  async maintenanceWarnings(): Promise<string[]> {
    return [];
  }

  // ---------------------------------------------------------------- meta

  async getMeta(key: string): Promise<string | undefined> {
    return (this.#q('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.#q('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#tasks.flush(); // grouped task writes still pending
    if (this.#db.open) this.#db.close();
  }
}
