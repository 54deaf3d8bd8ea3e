/**
 * Picks the Store from the configuration: the embedded SQLite file in the data directory, or
 * PostgreSQL when a `postgres://` store URL is given (several nodes may share it).
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { SqliteStore } from './sqlite/sqlite-store.js';
import { PostgresStore } from './postgres/postgres-store.js';
import type { Store } from './store.js';
import { refuseLostDatabase } from './lost-database.js';

export const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//i.test(url);

/** The URL without its password, for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

export async function openStore(opts: {
  storeUrl?: string | undefined;
  dataDir: string;
  logger: Logger;
  migrate?: boolean;
}): Promise<Store> {
  const url = opts.storeUrl;
  if (url === undefined || url === '') return openSqlite(join(opts.dataDir, 'flowd.db'), opts.dataDir, opts.logger);
  if (!isPostgresUrl(url)) {
    throw new Error(
      `Unsupported store URL ${redactUrl(url)}: use postgres://user@host:5432/database (optionally ?schema=name), or leave FLOWD_STORE_URL unset for the embedded SQLite store.`,
    );
  }
  return PostgresStore.open(url, { logger: opts.logger, ...(opts.migrate !== undefined ? { migrate: opts.migrate } : {}) });
}

/**
 * The embedded store, checked before use: a used data dir without its database is refused
 * (lost-database.ts), and `PRAGMA quick_check` runs before anything reads the file. A damaged
 * file still starts, so its readable part stays reachable, but health turns red.
 */
function openSqlite(path: string, dataDir: string, logger: Logger): SqliteStore {
  refuseLostDatabase(dataDir, path);
  const store = new SqliteStore({
    path,
    quickCheck: true,
    onDamaged: (reason) => logger.error({ database: path }, `The database is damaged; /_flowd/health is red. ${reason}`),
  });
  const check = store.startupCheck;
  // It reads the whole file: a large database on a cold disk takes seconds, worth seeing.
  if (check && check.problems.length === 0) logger.info({ database: path, quickCheckMs: check.ms }, 'database integrity check passed');
  return store;
}
