#!/usr/bin/env node
// Bundles the CLI into one ESM file (dist/flowd.mjs, plus dist/instance-worker.mjs for worker threads) that bin/flowd.js loads: resolving and
// reading ~900 small module files is most of a cold start, and one file halves it
// (BENCHMARKS.md, startup). Packages that load files relative to themselves at run time stay
// external: the native SQLite driver and the model packages (which load lazily anyway).
// The client package (packages/client, `@flowd/client`) is bundled in like any other module,
// so the installed `flowd` package needs no workspace; its build (packages/client/dist, built
// first by `npm run build`) is also copied to dist/client, which is `flowd/client`.
import { build } from 'esbuild';
import { cpSync, existsSync, rmSync } from 'node:fs';
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

// `import { FlowdClient } from 'flowd/client'`: the client package's own build, as it is.
const clientDist = join(root, 'packages', 'client', 'dist');
if (!existsSync(join(clientDist, 'index.js')))
  throw new Error(`bundle: ${clientDist} is not built: run \`npm run build\` (it builds the client first)`);
rmSync(join(root, 'dist', 'client'), { recursive: true, force: true });
cpSync(clientDist, join(root, 'dist', 'client'), { recursive: true });
