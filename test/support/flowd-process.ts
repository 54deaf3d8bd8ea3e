/** Runs flowd as a real child process (`flowd serve`), for crash and signal tests. */
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ADMIN_PASSWORD } from './flowd-harness.js';

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
export function readyUrl(child: ChildProcess, opts: { timeoutMs: number; onLine?: (line: string) => void; output?: () => string; exitHint?: string }): Promise<string> {
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
      reject(new Error(`flowd exited (${String(code ?? signal)}) before it was ready${opts.exitHint ? `; ${opts.exitHint}` : ''}${output()}`));
    });
  });
}

export async function spawnFlowd(dataDir: string, env: Record<string, string> = {}, port = 0): Promise<FlowdProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', String(port), '--data-dir', dataDir], {
    cwd: ROOT,
    // Helper servers listen on 127.0.0.1: let outbound calls reach loopback (users' default refuses it).
    env: { ...process.env, FLOWD_ADMIN_PASSWORD: ADMIN_PASSWORD, FLOWD_LOG_LEVEL: 'info', FLOWD_CUSTOM_BLOCK_DIRS: tmpdir(), FLOWD_OUTBOUND_ALLOW_PRIVATE: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => logs.push(l));
  const url = await readyUrl(child, { timeoutMs: 20_000, onLine: (l) => logs.push(l), output: () => logs.join('\n') });
  return { url, child, logs, exited };
}
