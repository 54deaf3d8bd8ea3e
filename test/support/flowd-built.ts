/**
 * Runs the built flowd (`node bin/flowd.js serve`, the bundle users run; `npm run build` first)
 * as its own process on a temp data dir, for tests and benchmarks that must see the process
 * itself: whether it is still alive, its exit code, its memory, its log. On PostgreSQL
 * (FLOWD_TEST_STORE=postgres) it gets a schema of its own, as flowd-process.ts gives one.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { readyUrl, storeEnv } from './flowd-process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Log lines kept (the last ones); lines that look like errors are kept apart, all of them up to a cap. */
const TAIL = 400;
const MAX_ERROR_LINES = 2000;

export interface BuiltFlowd {
  url: string;
  child: ChildProcess;
  pid: number;
  dataDir: string;
  /** Settles when the process ends: its exit code, or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** The last log lines (stdout and stderr), oldest first. */
  tail(): string[];
  /** Every log line at level error or above, and every stderr line that is not a log line. */
  errorLines(): string[];
  /** Resident memory of the server process in MB (Linux /proc), 0 once it has exited. */
  rssMb(): number;
  /** SIGTERM, then SIGKILL after `graceMs`; removes the data dir it created. */
  close(graceMs?: number): Promise<void>;
}

export interface BuiltFlowdOptions {
  adminPassword: string;
  env?: Record<string, string>;
  /** Default: a fresh temp dir, removed by close(). */
  dataDir?: string;
  startTimeoutMs?: number;
}

function isErrorLine(line: string, fromStderr: boolean): boolean {
  try {
    const j = JSON.parse(line) as { level?: number };
    return typeof j.level === 'number' && j.level >= 50;
  } catch {
    return fromStderr && line.trim() !== '';
  }
}

export async function spawnBuiltFlowd(opts: BuiltFlowdOptions): Promise<BuiltFlowd> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'flowd-built-'));
  const child = spawn(process.execPath, ['bin/flowd.js', 'serve', '--port', '0', '--data-dir', dataDir], {
    cwd: ROOT,
    env: { ...process.env, FLOWD_ADMIN_PASSWORD: opts.adminPassword, FLOWD_LOG_LEVEL: 'info', ...storeEnv(dataDir, opts.env), ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('flowd did not start (no pid)');
  const tail: string[] = [];
  const errors: string[] = [];
  const keep = (line: string, fromStderr: boolean): void => {
    tail.push(line.length > 4000 ? `${line.slice(0, 4000)}…` : line);
    if (tail.length > TAIL) tail.shift();
    if (errors.length < MAX_ERROR_LINES && isErrorLine(line, fromStderr)) errors.push(line.slice(0, 4000));
  };
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => keep(l, true));
  let url: string;
  try {
    url = await readyUrl(child, {
      timeoutMs: opts.startTimeoutMs ?? 60_000,
      onLine: (l) => keep(l, false),
      output: () => tail.join('\n'),
      exitHint: 'did you run npm run build?',
    });
  } catch (e) {
    child.kill('SIGKILL');
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    url,
    child,
    pid,
    dataDir,
    exited,
    alive,
    tail: () => [...tail],
    errorLines: () => [...errors],
    rssMb() {
      try {
        const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
        return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
      } catch {
        return 0;
      }
    },
    async close(graceMs = 10_000) {
      if (alive()) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(killer);
      }
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
