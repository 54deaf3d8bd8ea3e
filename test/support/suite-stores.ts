/**
 * Which suites `npm test` runs on which store, read from the suites themselves (no list to
 * keep): every suite runs on SQLite; a suite that imports a way to start a node from this
 * folder (or reads TEST_ON_POSTGRES) runs again with FLOWD_TEST_STORE=postgres. Suites that
 * only open stores through store-matrix.ts already cover both stores in one run.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Imports from test/support that start a node (in process or as `flowd` processes), or say a suite differs per store. */
export const STORE_SENSITIVE_IMPORTS: readonly string[] = ['startTestNode', 'spawnFlowd', 'spawnBuiltFlowd', 'runCli', 'TEST_ON_POSTGRES'];

/** The folders whose suites `npm test` runs on both passes (test/cluster runs on its own PostgreSQL schemas). */
export const SUITE_DIRS: readonly string[] = ['test', 'test/hardening'];

/** Node 20's test runner does not expand globs: a folder's `*.test.ts` files, sorted. */
export function testFilesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => join(dir, f));
}

/** The support modules those come from: a namespace import of one of them counts as importing all. */
const NODE_STARTING_MODULES = ['flowd-harness', 'flowd-process', 'flowd-built', 'cli-runner'];

const NAMED_IMPORT = /import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'[./]*\/support\/[\w-]+\.js'/g;
const NAMESPACE_IMPORT = /import\s*\*\s*as\s+\w+\s+from\s*'[./]*\/support\/([\w-]+)\.js'/g;

/** The names a suite's source imports from test/support (type-only imports included). */
export function supportImports(source: string): Set<string> {
  const names = new Set<string>();
  for (const m of source.matchAll(NAMED_IMPORT)) {
    for (const part of (m[1] ?? '').split(',')) {
      const name = part
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)[0]
        ?.trim();
      if (name) names.add(name);
    }
  }
  for (const m of source.matchAll(NAMESPACE_IMPORT)) if (NODE_STARTING_MODULES.includes(m[1] ?? '')) names.add(`* from ${m[1] ?? ''}`);
  return names;
}

/** True when a suite's source starts a node or reads which store it runs on: it also runs on PostgreSQL. */
export function sourceRunsOnPostgres(source: string): boolean {
  const imported = supportImports(source);
  return STORE_SENSITIVE_IMPORTS.some((n) => imported.has(n)) || [...imported].some((n) => n.startsWith('* from '));
}

export const runsOnPostgres = (file: string): boolean => sourceRunsOnPostgres(readFileSync(file, 'utf8'));

export interface SuitePasses {
  /** Every suite, on SQLite. */
  sqlite: string[];
  /** The suites that start a node, again with FLOWD_TEST_STORE=postgres. */
  postgres: string[];
  /** test/cluster: real processes on PostgreSQL and NATS, one at a time. */
  cluster: string[];
}

export function suitePasses(root = '.'): SuitePasses {
  const all = SUITE_DIRS.flatMap((d) => testFilesIn(join(root, d)));
  return { sqlite: all, postgres: all.filter(runsOnPostgres), cluster: testFilesIn(join(root, 'test/cluster')) };
}
