/**
 * The dashboard's Vite configuration. `npm run build` (scripts/build-web.mjs) bundles web/ into
 * dist/web, which flowd serves at `/` (browsers) and `/_dashboard/`. For work on the page,
 * `npx vite web` serves it with hot reload and forwards the data calls to a flowd on :9200.
 */
import { defineConfig } from 'vite';

/** Where `npx vite web` sends the page's data calls (flowd's default address). */
const FLOWD = 'http://127.0.0.1:9200';

export default defineConfig({
  base: '/_dashboard/',
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    // One entry, no dynamic imports: the preload polyfill would be dead weight.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  server: {
    proxy: { '/_plugins': FLOWD, '/_flowd': FLOWD },
  },
});
