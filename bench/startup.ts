/**
 * Startup to first answered request: spawn `flowd serve` (built, fresh data dir) and poll until
 * it answers; baseline in the same run: a bare Fastify server script started the same way.
 */
import { spawn } from 'node:child_process';
import { get } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { table } from './support.js';

const RUNS = 9;
const ROOT = fileURLToPath(new URL('..', import.meta.url));

async function timeToFirstResponse(args: string[], url: string, env: Record<string, string> = {}): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'ignore' });
  try {
    for (;;) {
      // node:http, not fetch: the poller must cost the starting process as little CPU as possible.
      const status = await new Promise<number>((resolve) => {
        get(url, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', () => resolve(0));
      });
      if (status > 0 && status < 500) return performance.now() - t0;
      await new Promise((r) => setTimeout(r, 3));
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  }
}

async function main(): Promise<void> {
  const bareScript = join(mkdtempSync(join(tmpdir(), 'flowd-bench-')), 'bare.mjs');
  writeFileSync(
    bareScript,
    `import Fastify from '${join(ROOT, 'node_modules/fastify/fastify.js')}';\nconst app = Fastify();\napp.get('/', async () => ({ ok: true }));\nawait app.listen({ port: 39411, host: '127.0.0.1' });\n`,
  );
  const fresh: number[] = [];
  const restart: number[] = [];
  const bare: number[] = [];
  const env = { FLOWD_ADMIN_PASSWORD: 'bench-password-1', FLOWD_LOG_LEVEL: 'warn' };
  const kept = mkdtempSync(join(tmpdir(), 'flowd-bench-kept-'));
  const serve = (dir: string): string[] => ['bin/flowd.js', 'serve', '--port', '39412', '--data-dir', dir];
  await timeToFirstResponse(serve(kept), 'http://127.0.0.1:39412/', env); // creates the store
  for (let i = 0; i < RUNS; i++) {
    bare.push(await timeToFirstResponse([bareScript], 'http://127.0.0.1:39411/'));
    fresh.push(await timeToFirstResponse(serve(mkdtempSync(join(tmpdir(), 'flowd-bench-start-'))), 'http://127.0.0.1:39412/', env));
    restart.push(await timeToFirstResponse(serve(kept), 'http://127.0.0.1:39412/', env));
  }
  const med = (xs: number[]): number => Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0);
  table(
    `Startup to first answered request (median of ${RUNS}, interleaved)`,
    ['process', 'ms', 'ratio vs bare'],
    [
      ['bare Fastify script (node + fastify import + listen)', med(bare), 1],
      ['flowd serve, fresh data dir (migrate, admin scrypt, bootstrap)', med(fresh), med(fresh) / med(bare)],
      ['flowd serve, restart on existing data dir (recovery scan)', med(restart), med(restart) / med(bare)],
    ],
  );
  console.log(`\nGoal: ≤ 300 ms (fresh ${med(fresh)} ms, restart ${med(restart)} ms).`);
}

await main();
