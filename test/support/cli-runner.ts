/**
 * Runs the `flowd` CLI in a child process the way a person's shell would: the built
 * `bin/flowd.js` when dist/ is newer than every source file (`npm test` builds first; starting
 * the bundle skips compiling the sources on every command), else from source with tsx: its own environment (no FLOWD_* leaking in from the test
 * runner), stdin piped, stdout/stderr captured, exit code returned.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** An empty data dir, so the CLI never picks up a stray .flowd-data/admin-password. */
const EMPTY_DATA_DIR = mkdtempSync(join(tmpdir(), 'flowd-cli-nodata-'));

/** Newest modification time of any file under `dir` (ms). */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const BUNDLE = join(ROOT, 'dist', 'flowd.mjs');
/** Decided once per test process: the bundle when it is at least as new as the sources it was built from. */
const CLI_ENTRY: string[] =
  existsSync(BUNDLE) &&
  statSync(BUNDLE).mtimeMs >= Math.max(newestMtime(join(ROOT, 'src')), newestMtime(join(ROOT, 'packages', 'client', 'src')))
    ? [join(ROOT, 'bin', 'flowd.js')]
    : ['--import', 'tsx', join(ROOT, 'src/cli/main.ts')];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string>;
  /** Written to stdin, then closed (stdin is closed empty otherwise). */
  input?: string;
  timeoutMs?: number;
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? tmpdir(),
    FLOWD_DATA_DIR: EMPTY_DATA_DIR,
    ...(opts.env ?? {}),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_ENTRY, ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`flowd ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 30_000} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}
