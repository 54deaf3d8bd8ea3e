#!/usr/bin/env node
// Bundles the CLI into one ESM file (dist/flowd.mjs) that bin/flowd.js loads: resolving and
// reading ~900 small module files is most of a cold start, and one file halves it
// (BENCHMARKS.md, startup). Packages that load files relative to themselves at run time stay
// external: the native SQLite driver and the model packages (which load lazily anyway).
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

await build({
  entryPoints: [join(root, 'src/cli/main.ts')],
  outfile: join(root, 'dist/flowd.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  minifySyntax: true,
  minifyWhitespace: true,
  keepNames: true,
  external: ['better-sqlite3', 'wink-nlp', 'wink-eng-lite-web-model', 'compromise', 'franc-min', 'sentiment'],
  // CommonJS dependencies inside an ESM bundle still call require() for Node built-ins.
  banner: { js: "import { createRequire as __flowdRequire } from 'node:module'; const require = __flowdRequire(import.meta.url);" },
  logLevel: 'warning',
});
