/**
 * One flowd process per embedded data directory: SQLite is single-writer and the engine
 * treats every run it does not own as orphaned. A pid file guards it; a stale one (its
 * process is gone, e.g. after kill -9) is taken over.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir, writePrivateFile } from '../util/private-files.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Creates the directory (0700) when missing and locks it. `warn` hears when it pre-exists open
 * to other users (see private-files.ts).
 */
export function lockDataDir(dir: string, warn: (message: string) => void = () => undefined): () => void {
  const loose = ensurePrivateDir(dir);
  if (loose !== undefined) warn(loose);
  const file = join(dir, 'flowd.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writePrivateFile(file, String(process.pid));
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new Error(
          `The data directory ${dir} is in use by another flowd (pid ${pid}). Stop it or use --data-dir to pick another directory.`,
        );
      }
      rmSync(file, { force: true });
    }
  }
  throw new Error(`Could not lock the data directory ${dir}`);
}
