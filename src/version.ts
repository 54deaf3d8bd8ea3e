/**
 * flowd's version, read from its own package.json (the one version source). The module runs
 * from src/ (tsx), dist/ (tsc output), the dist/flowd.mjs bundle or an installed package, so
 * it walks up from its own location to the first package.json named "flowd".
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function readVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'flowd' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // No package.json here (or unreadable): keep walking up.
    }
    const up = dirname(dir);
    if (up === dir) return '0.0.0-unknown';
    dir = up;
  }
}

export const FLOWD_VERSION: string = readVersion();
