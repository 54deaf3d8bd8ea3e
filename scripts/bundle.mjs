#!/usr/bin/env node
// Bundles the CLI into one ESM file (dist/flowd.mjs, plus dist/instance-worker.mjs for worker threads) that bin/flowd.js loads: resolving and
// reading ~900 small module files is most of a cold start, and one file halves it
// (BENCHMARKS.md, startup). Packages that load files relative to themselves at run time stay
// external: the native SQLite driver and the model packages (which load lazily anyway).
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

await build({
  // The service-instance worker is its own entry: a worker thread loads it by file name.
  entryPoints: {
    flowd: join(root, 'src/cli/main.ts'),
    'instance-worker': join(root, 'src/runtime/instances/instance-worker.ts'),
  },
  outdir: join(root, 'dist'),
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  minifySyntax: true,
  minifyWhitespace: true,
  external: ['better-sqlite3', 'wink-nlp', 'wink-eng-lite-web-model', 'compromise', 'franc-min', 'sentiment'],
  // CommonJS dependencies inside an ESM bundle still call require() for Node built-ins.
  banner: { js: "import { createRequire as __flowdRequire } from 'node:module'; const require = __flowdRequire(import.meta.url);" },
  logLevel: 'warning',
});
