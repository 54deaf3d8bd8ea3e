/**
 * A data directory that flowd has used before (it holds the master key or the generated admin
 * password, written right after the database was first created) but whose database file is
 * missing or empty lost its data: starting there would silently look like a fresh install
 * (no workflows, users or keys, a new admin password). flowd refuses instead.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Files flowd writes into the data directory only after its database exists. */
const EVIDENCE = ['master.key', 'admin-password'] as const;

export function refuseLostDatabase(dataDir: string, dbFile: string): void {
  const found = EVIDENCE.filter((f) => existsSync(join(dataDir, f)));
  if (found.length === 0) return;
  const size = statSync(dbFile, { throwIfNoEntry: false })?.size;
  if (size !== undefined && size > 0) return;
  const what = size === undefined ? 'is missing' : 'is empty (0 bytes)';
  throw new Error(
    `The database ${dbFile} ${what}, but the data directory ${dataDir} was used before (it holds ${found.join(' and ')}): ` +
      'starting would look like a fresh install and lose every workflow, user and API key. ' +
      `Restore flowd.db from a backup into ${dataDir}, or, to start fresh on purpose, move the data directory away (mv ${dataDir} ${dataDir}.old).`,
  );
}
