/**
 * Runs the files under examples/ the way their READMEs tell people to: a helper server is
 * spawned as its own `node <script>.mjs` process (it prints `listening on <url>` once ready),
 * a template is read from disk and sent with the content type its extension names, inputs
 * are read from the example's JSON files. Nothing is copied, so the test exercises the
 * example files themselves.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { HttpResult, TestNode } from './flowd-harness.js';
import { FF } from './flowd-harness.js';

export const EXAMPLES_DIR = fileURLToPath(new URL('../../examples', import.meta.url));

export const examplePath = (...parts: string[]): string => join(EXAMPLES_DIR, ...parts);

/** An example's JSON file (an input, a params file), parsed. */
export function readExampleJson(...parts: string[]): any {
  return JSON.parse(readFileSync(examplePath(...parts), 'utf8'));
}

export interface HelperServer {
  url: string;
  child: ChildProcess;
  output: string[];
  close(): Promise<void>;
}

/**
 * Spawns `node examples/<script>` with PORT=0 (any free port) and waits for its
 * `listening on http://…` line; the process is killed (SIGTERM, then SIGKILL) by close().
 */
export async function startHelperServer(script: string, env: Record<string, string> = {}): Promise<HelperServer> {
  const child = spawn(process.execPath, [examplePath(script)], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  // If the test process ends without close() (a crash), do not leave the server running.
  const orphanGuard = (): void => void child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      process.off('exit', orphanGuard);
      resolve();
    }),
  );
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => output.push(l));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start in 10s:\n${output.join('\n')}`)), 10_000);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      output.push(line);
      const m = /listening on (http:\/\/\S+)/.exec(line);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${String(code)} before listening:\n${output.join('\n')}`));
    });
  });
  return {
    url,
    child,
    output,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** POSTs an example's template file (YAML or JSON, by extension) to the workflow API. */
export function postTemplate(node: TestNode, file: string, query = ''): Promise<HttpResult> {
  const text = readFileSync(examplePath(file), 'utf8');
  const contentType = /\.ya?ml$/.test(file) ? 'application/yaml' : 'application/json';
  return node.request('POST', `${FF}${query === '' ? '' : `?${query}`}`, { raw: text, contentType });
}
