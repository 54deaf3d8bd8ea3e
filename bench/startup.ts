/**
 * Startup to first answered request: spawn `flowd serve` (built, fresh data dir) and poll until
 * it answers; baseline in the same run: a bare Fastify server script started the same way.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { table } from './support.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

async function timeToFirstResponse(args: string[], url: string, env: Record<string, string> = {}): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'ignore' });
  try {
    for (;;) {
      try {
        const r = await fetch(url);
        if (r.status < 500) return performance.now() - t0;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 2));
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
  const flowd: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < 5; i++) {
    bare.push(await timeToFirstResponse([bareScript], 'http://127.0.0.1:39411/'));
    const dir = mkdtempSync(join(tmpdir(), 'flowd-bench-start-'));
    flowd.push(await timeToFirstResponse(['bin/flowd.js', 'serve', '--port', '39412', '--data-dir', dir], 'http://127.0.0.1:39412/', { FLOWD_ADMIN_PASSWORD: 'bench-password-1', FLOWD_LOG_LEVEL: 'warn' }));
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  table('Startup to first answered request (median of 5, fresh data dir)', ['process', 'ms', 'ratio vs bare'], [
    ['bare Fastify script', med(bare), 1],
    ['flowd serve (SQLite migrate, admin bootstrap, recovery)', med(flowd), med(flowd) / med(bare)],
  ]);
  console.log(`\nGoal: ≤ 300 ms (${med(flowd).toFixed(0)} ms).`);
}

await main();
