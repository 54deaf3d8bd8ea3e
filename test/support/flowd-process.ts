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

export async function spawnFlowd(dataDir: string, env: Record<string, string> = {}, port = 0): Promise<FlowdProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', String(port), '--data-dir', dataDir], {
    cwd: ROOT,
    env: { ...process.env, FLOWD_ADMIN_PASSWORD: ADMIN_PASSWORD, FLOWD_LOG_LEVEL: 'info', FLOWD_CUSTOM_BLOCK_DIRS: tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`flowd did not start in 20s:\n${logs.join('\n')}`)), 20_000);
    const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    rl.on('line', (line) => {
      logs.push(line);
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
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => logs.push(l));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`flowd exited with ${String(code)} before it was ready:\n${logs.join('\n')}`));
    });
  });
  return { url, child, logs, exited };
}
