#!/usr/bin/env node
// Copies the non-TypeScript files flowd loads at run time from src/ into dist/ (tsc copies
// only what it compiles). Run after `tsc -p tsconfig.build.json`.
import { cpSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Directories relative to src/ (and to dist/). */
const ASSET_DIRS = ['template/use-cases'];

for (const dir of ASSET_DIRS) {
  const from = join(root, 'src', dir);
  const to = join(root, 'dist', dir);
  if (!existsSync(from)) throw new Error(`copy-assets: missing ${from}`);
  // Replace, not merge: a file deleted from src must not linger in dist.
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true });
}
