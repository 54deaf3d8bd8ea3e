/**
 * Servers under test as their own processes, for benchmarks that keep the server, the
 * baseline and the load generator apart (each on its own event loop, as in production):
 * `flowd serve` from a built checkout (any checkout, so A/B runs can point at a baseline
 * tree) and the bare Fastify baseline, plus the OS's CPU time of such a process.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** This checkout. */
export const BENCH_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** User + system CPU seconds the process has used so far (Linux /proc). */
  cpuSeconds(): number;
  close(): Promise<void>;
}

/** CPU ticks per second of /proc/<pid>/stat (USER_HZ, 100 on every Linux Node supports). */
const USER_HZ = 100;

function cpuSecondsOf(pid: number | undefined): number {
  const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after its closing ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}

function asServer(child: ChildProcess, url: string): ServerProcess {
  return {
    url,
    child,
    cpuSeconds: () => cpuSecondsOf(child.pid),
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The URL a starting server announces in a JSON line on stdout: `{"url": …}` (the bare
 * server) or flowd's `flowd is ready` log line. This module loads no flowd sources (the
 * measured code is the built bundle), hence its own reader rather than the tests'.
 */
function announcedUrl(child: ChildProcess, what: string, timeoutMs = 60_000): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs} ms`)), timeoutMs);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      let j: { msg?: string; url?: string };
      try {
        j = JSON.parse(line) as { msg?: string; url?: string };
      } catch {
        return; // not a JSON line
      }
      if (typeof j.url === 'string' && (j.msg === undefined || j.msg === 'flowd is ready')) {
        clearTimeout(timer);
        resolve(j.url);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${String(code ?? signal)}) before it was ready`));
    });
  });
}

/** Newest modification time under `dir` (ms). */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

/**
 * `node bin/flowd.js serve` in `root` (a built checkout) with a fresh data dir and security on,
 * as a user runs it; `nodeArgs` go to node (e.g. `--cpu-prof`). Warns when the build is older
 * than the sources, since the bundle is what runs.
 */
export async function spawnFlowdServer(
  opts: { root?: string; env?: Record<string, string>; nodeArgs?: string[] } = {},
): Promise<ServerProcess> {
  const root = opts.root ?? BENCH_ROOT;
  const bundle = join(root, 'dist', 'flowd.mjs');
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run \`npm run build\` in ${root} first`);
  if (existsSync(join(root, 'src')) && newestMtime(join(root, 'src')) > statSync(bundle).mtimeMs) {
    console.warn(`warning: ${bundle} is older than ${join(root, 'src')}: run \`npm run build\` to measure the current code`);
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'flowd-bench-'));
  const child = spawn(
    process.execPath,
    [...(opts.nodeArgs ?? []), join(root, 'bin', 'flowd.js'), 'serve', '--port', '0', '--data-dir', dataDir],
    {
      cwd: root,
      env: { ...process.env, FLOWD_ADMIN_PASSWORD: 'bench-password-1', FLOWD_LOG_LEVEL: 'info', ...opts.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await announcedUrl(child, `flowd serve in ${root} (is it built? npm run build)`);
  return asServer(child, url);
}

/** bench/bare-fastify-server.ts in its own process, answering `body` (JSON text). */
export async function spawnBareServer(body: string): Promise<ServerProcess> {
  // BENCH_BARE_NODE_ARGS: e.g. `--cpu-prof`, to profile the baseline the same way as flowd.
  const nodeArgs = (process.env['BENCH_BARE_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(BENCH_ROOT, 'bench', 'bare-fastify-server.ts')], {
    cwd: BENCH_ROOT,
    env: { ...process.env, BARE_BODY: body },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return asServer(child, await announcedUrl(child, 'bare-fastify-server.ts'));
}
