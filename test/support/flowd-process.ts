/**
 * Runs flowd as a real child process (`flowd serve`), for crash and signal tests.
 *
 * With FLOWD_TEST_STORE=postgres each data dir gets a PostgreSQL schema of its own, a master
 * key and the NATS bus, like an in-process test node: a process restarted on the same data dir
 * finds the same store. The schemas are dropped once the test file's tests are done.
 */
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ADMIN_PASSWORD, postgresForNode, TEST_ON_POSTGRES } from './flowd-harness.js';
import type { NodePostgres } from './flowd-harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface FlowdProcess {
  url: string;
  child: ChildProcess;
  logs: string[];
  exited: Promise<number | null>;
}

/**
 * The URL of a starting flowd process, from its 'flowd is ready' log line on stdout. Rejects
 * with what it printed (`output`) when it exits first or is not ready within `timeoutMs`.
 * `onLine` sees every stdout line; `exitHint` is added to the exit error.
 */
export function readyUrl(
  child: ChildProcess,
  opts: { timeoutMs: number; onLine?: (line: string) => void; output?: () => string; exitHint?: string },
): Promise<string> {
  const output = (): string => (opts.output ? `; its output:\n${opts.output()}` : '');
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`flowd did not start within ${opts.timeoutMs} ms${output()}`)), opts.timeoutMs);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      opts.onLine?.(line);
      try {
        const j = JSON.parse(line) as { msg?: string; url?: string };
        if (j.msg === 'flowd is ready' && j.url) {
          clearTimeout(timer);
          resolve(j.url);
        }
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(`flowd exited (${String(code ?? signal)}) before it was ready${opts.exitHint ? `; ${opts.exitHint}` : ''}${output()}`),
      );
    });
  });
}

const schemaByDataDir = new Map<string, NodePostgres>();
// Registered while the test file loads, so it runs on the file's root, after every test in it
// (a process killed by a test has let go of its connections by then).
if (TEST_ON_POSTGRES) after(() => Promise.all([...schemaByDataDir.values()].map((pg) => pg.drop())).then(() => schemaByDataDir.clear()));

/**
 * The store settings a `flowd serve` on `dataDir` gets: none on SQLite, nor where the caller
 * chose a store (a cluster's FLOWD_STORE_URL); with FLOWD_TEST_STORE=postgres the data dir's own
 * schema (the same one on every restart), its master key and the bus.
 */
export function storeEnv(dataDir: string, env: Record<string, string> = {}): Record<string, string> {
  if (!TEST_ON_POSTGRES || env['FLOWD_STORE_URL'] !== undefined) return {};
  let pg = schemaByDataDir.get(dataDir);
  if (pg === undefined) {
    pg = postgresForNode();
    schemaByDataDir.set(dataDir, pg);
  }
  return pg.env;
}

export async function spawnFlowd(dataDir: string, env: Record<string, string> = {}, port = 0): Promise<FlowdProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', String(port), '--data-dir', dataDir], {
    cwd: ROOT,
    // Helper servers listen on 127.0.0.1: let outbound calls reach loopback (users' default refuses it).
    env: {
      ...process.env,
      FLOWD_ADMIN_PASSWORD: ADMIN_PASSWORD,
      FLOWD_LOG_LEVEL: 'info',
      FLOWD_CUSTOM_BLOCK_DIRS: tmpdir(),
      FLOWD_OUTBOUND_ALLOW_PRIVATE: 'true',
      ...storeEnv(dataDir, env),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => logs.push(l));
  // Generous: `node --import tsx` compiles the sources at start, slow on a busy 2-core machine.
  const url = await readyUrl(child, { timeoutMs: 60_000, onLine: (l) => logs.push(l), output: () => logs.join('\n') });
  return { url, child, logs, exited };
}
