#!/usr/bin/env node
// Bundles the web dashboard (web/, plain TypeScript + DOM) with Vite into dist/web, which flowd
// serves at `/` (browsers) and `/_dashboard/` (server/routes/dashboard-routes.ts). Settings live
// in web/vite.config.ts; the paths are fixed here so the build does not depend on the cwd.
import { build } from 'vite';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'web');

await build({
  root: web,
  configFile: join(web, 'vite.config.ts'),
  build: { outDir: join(root, 'dist', 'web'), emptyOutDir: true },
  logLevel: 'warn',
});
