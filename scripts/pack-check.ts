#!/usr/bin/env node
// The package as people get it: `npm pack`, install the tarball into an empty folder, then check
// that `npx flowd --version` prints this version, `npx flowd serve --demo` answers on a random
// port, and the demo workflow provisions. Run by .ci/run after the test suite; by hand:
// `node --import tsx scripts/pack-check.ts` (needs the npm registry for the dependencies).
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface DemoStatus {
  workflow_id: string;
  state: string;
  error?: unknown;
  resources_created: unknown[];
}

const root = fileURLToPath(new URL('..', import.meta.url));
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const work = mkdtempSync(join(tmpdir(), 'flowd-pack-'));
const step = (what: string): void => console.log(`pack-check: ${what}`);
const fail = (why: string): void => {
  console.error(`pack-check: FAILED: ${why}`);
  process.exitCode = 1;
};

function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: Error | undefined;
  while (Date.now() < until) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      last = e as Error;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not happen within ${timeoutMs / 1000} s${last ? ` (${last.message})` : ''}`);
}

let server: ChildProcess | undefined;
try {
  step(`npm pack (prepack builds) into ${work}`);
  const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tarball = join(work, out.trim().split('\n').pop() ?? '');
  const app = join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  // npm 11 runs a dependency's install script only when the installing project allows it:
  // better-sqlite3 needs its own to fetch or build its native binding.
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'flowd-pack-check', private: true, allowScripts: { 'better-sqlite3': true } }, null, 2),
  );
  step('npm install <tarball> into an empty folder');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: app, stdio: 'inherit' });

  const printed = execFileSync('npx', ['--no-install', 'flowd', '--version'], { cwd: app, encoding: 'utf8' }).trim();
  if (printed !== version) throw new Error(`flowd --version printed "${printed}", expected "${version}"`);
  step(`flowd --version prints ${printed}`);
  const clientCheck = "import('flowd/client').then((m) => { if (typeof m.FlowdClient !== 'function') process.exit(3); })";
  execFileSync(process.execPath, ['--input-type=module', '-e', clientCheck], { cwd: app, stdio: 'inherit' });
  step('flowd/client imports from the installed package');

  const port = await freePort();
  const dataDir = join(work, 'data');
  const url = `http://127.0.0.1:${port}`;
  server = spawn('npx', ['--no-install', 'flowd', 'serve', '--demo', '--port', String(port), '--data-dir', dataDir], {
    cwd: app,
    env: { ...process.env, FLOWD_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  await waitFor('flowd serve answering /_flowd/health', async () => (await fetch(`${url}/_flowd/health`)).ok, 60_000);
  step(`flowd serve answers on ${url}`);

  const password = await waitFor(
    'the generated admin password',
    async () => readFileSync(join(dataDir, 'admin-password'), 'utf8').trim(),
    10_000,
  );
  const auth = `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;
  const FF = `${url}/_plugins/_flow_framework/workflow`;
  const state = await waitFor(
    'the demo workflow reaching COMPLETED',
    async () => {
      const search = (await (
        await fetch(`${FF}/_search`, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/json' },
          body: '{"query":{"match_all":{}}}',
        })
      ).json()) as { hits?: { hits?: Array<{ _id: string }> } };
      const id = search.hits?.hits?.[0]?._id;
      if (!id) return undefined;
      const status = (await (await fetch(`${FF}/${id}/_status`, { headers: { authorization: auth } })).json()) as DemoStatus;
      if (status.state === 'FAILED') throw new Error(`demo workflow FAILED: ${JSON.stringify(status.error)}`);
      return status.state === 'COMPLETED' ? status : undefined;
    },
    60_000,
  );
  step(`demo workflow ${state.workflow_id} COMPLETED with ${state.resources_created.length} resources`);
  step('passed');
} catch (e) {
  fail(e instanceof Error ? e.message : String(e));
} finally {
  if (server?.pid !== undefined) {
    try {
      process.kill(-server.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  rmSync(work, { recursive: true, force: true });
}
