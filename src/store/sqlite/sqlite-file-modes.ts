/**
 * The database file and its -wal/-shm companions are private to flowd's user (0600). SQLite
 * creates the main file 0644 (less the umask), and creates -wal and -shm lazily with the main
 * file's mode; so creating the main file 0600 before SQLite opens it covers all three, and files
 * left looser by an older flowd are tightened.
 */
import { chmodSync, closeSync, openSync } from 'node:fs';
import { PRIVATE_FILE_MODE, tightenFile } from '../../util/private-files.js';

export const SIDECAR_SUFFIXES = ['-wal', '-shm', '-journal'] as const;

/** A path SQLite opens as a plain file (not ':memory:', a temporary '' or a file: URI). */
export const isPlainFilePath = (path: string): boolean => path !== '' && path !== ':memory:' && !path.startsWith('file:');

/** Before SQLite opens `path`: create it 0600 when missing, tighten it and its companions otherwise. */
export function prepareDatabaseFile(path: string): void {
  try {
    closeSync(openSync(path, 'wx', PRIVATE_FILE_MODE));
    chmodSync(path, PRIVATE_FILE_MODE); // exactly: the umask could have taken the owner's bits too
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // A missing directory: SQLite's own message says so.
    if (code === 'ENOENT') return;
    if (code !== 'EEXIST') throw e;
    tightenDatabaseFiles(path);
  }
}

/** chmod 0600 the database and whichever companions exist. */
export function tightenDatabaseFiles(path: string): void {
  tightenFile(path);
  for (const suffix of SIDECAR_SUFFIXES) tightenFile(path + suffix);
}
