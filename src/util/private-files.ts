/**
 * Files only flowd's own user may read: the database, the master key, the generated admin
 * password, the pid file. Created 0600 (the data dir 0700), and tightened when an older flowd
 * or an operator left them looser, whatever the directory's own mode is.
 */
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** Permission bits that let the group or others in. */
const OPEN_TO_OTHERS = 0o077;

const modeOf = (path: string): number | undefined => {
  const st = statSync(path, { throwIfNoEntry: false });
  return st === undefined ? undefined : st.mode & 0o777;
};

/** Writes a new file (fails if it exists) readable by this user only. */
export function writePrivateFile(path: string, data: string): void {
  writeFileSync(path, data, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  // The mode above passed through the umask, which only removes bits; this pins it exactly.
  chmodSync(path, PRIVATE_FILE_MODE);
}

/** chmod 0600 when the file exists and the group or others can reach it. True when changed. */
export function tightenFile(path: string): boolean {
  const mode = modeOf(path);
  if (mode === undefined || (mode & OPEN_TO_OTHERS) === 0) return false;
  chmodSync(path, PRIVATE_FILE_MODE);
  return true;
}

/**
 * Creates the directory 0700 when missing. Returns a warning when it already existed open to
 * other users: flowd keeps its own files private anyway, but does not change a directory the
 * operator made (it may be shared on purpose).
 */
export function ensurePrivateDir(dir: string): string | undefined {
  const before = modeOf(dir);
  if (before === undefined) {
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    return undefined;
  }
  if ((before & OPEN_TO_OTHERS) === 0) return undefined;
  return `The data directory ${dir} is open to other users (mode ${before.toString(8).padStart(4, '0')}); flowd keeps its files in it 0600, but other users can still list them. Run chmod 700 ${dir} unless it is shared on purpose.`;
}
