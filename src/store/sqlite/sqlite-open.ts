/**
 * Opening the embedded database file for the store: private file modes (sqlite-file-modes.ts),
 * WAL and connection settings, the optional start-up `quick_check`, then the schema migrations.
 * A file too damaged to get that far is refused with what to do about it.
 */
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import type { IntegrityLatch } from '../store-integrity.js';
import { isCorruptionError } from '../store-integrity.js';
import type { QuickCheckResult } from './sqlite-integrity.js';
import { quickCheck, repairAdvice } from './sqlite-integrity.js';
import { isPlainFilePath, prepareDatabaseFile, tightenDatabaseFiles } from './sqlite-file-modes.js';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.js';

export interface SqliteOpenOptions {
  /** File path, or ':memory:'. */
  path: string;
  /** 'NORMAL' survives process crashes (WAL); 'FULL' also survives power loss. */
  synchronous?: 'NORMAL' | 'FULL';
  /** Run `PRAGMA quick_check` on open (flowd's start-up); problems mark the latch damaged. */
  quickCheck?: boolean;
}

export interface OpenedSqlite {
  db: Db;
  startupCheck: QuickCheckResult | undefined;
  /** What to do when the file turns out damaged later. */
  advice: string;
}

export function openSqliteDatabase(opts: SqliteOpenOptions, latch: IntegrityLatch): OpenedSqlite {
  const onDisk = isPlainFilePath(opts.path);
  // Before SQLite creates anything: the file, and so its -wal and -shm, start 0600.
  if (onDisk) prepareDatabaseFile(opts.path);
  const advice = repairAdvice(opts.path);
  const db = new Database(opts.path);
  let startupCheck: QuickCheckResult | undefined;
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous ?? 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // Before the migrations write anything, and before any read fills the page cache.
    startupCheck = opts.quickCheck === true ? quickCheck(db) : undefined;
    const problems = startupCheck?.problems ?? [];
    if (problems.length > 0)
      latch.markDamaged(`PRAGMA quick_check found the database ${opts.path} damaged: ${problems.join('; ')}. ${advice}`);
    migrate(db);
  } catch (e) {
    db.close();
    if (isCorruptionError(e)) throw new Error(`The database ${opts.path} is damaged (${(e as Error).message}). ${advice}`, { cause: e });
    throw e;
  }
  if (onDisk) tightenDatabaseFiles(opts.path);
  return { db, startupCheck, advice };
}

export const latestSqliteVersion = (): number => SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1]?.version ?? 0;

function migrate(db: Db): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const current = (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
  const latest = latestSqliteVersion();
  if (current > latest) {
    throw new Error(
      `The data directory's schema (version ${current}) is newer than this flowd supports (${latest}). Upgrade flowd or use another data directory.`,
    );
  }
  for (const m of SQLITE_MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
      db.exec(m.sql);
    })();
  }
}
