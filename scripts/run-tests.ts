#!/usr/bin/env node
// `npm test`: checks what the suites need first (PostgreSQL, NATS, Chromium), says in one line
// each what is missing and how to get it, then runs typecheck, lint, build and every suite it
// can. Where the environment promises the services (CI=true or FLOWD_REQUIRE_POSTGRES=1) a
// missing one is a failure before anything runs.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';

const PG_URL = process.env['FLOWD_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const NATS_URL = process.env['FLOWD_TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222';
const CHROMIUM = process.env['FLOWD_CHROMIUM'] ?? '/usr/bin/chromium';
const REQUIRED = process.env['CI'] === 'true' || process.env['FLOWD_REQUIRE_POSTGRES'] === '1';

/** Resolves true when something accepts a TCP connection at host:port within 2 s. */
function reachable(url: string, defaultPort: number): Promise<boolean> {
  const u = new URL(url);
  const port = Number(u.port || defaultPort);
  const host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  return new Promise<boolean>((resolve) => {
    const s = connect({ host, port, timeout: 2000 });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('timeout', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(false));
  });
}

const missing: string[] = [];
const hasPg = await reachable(PG_URL, 5432);
if (!hasPg) {
  missing.push(
    `PostgreSQL is not reachable at ${PG_URL}: start it (Debian: \`pg_ctlcluster <version> main start\`, trust auth, database "test") or set FLOWD_TEST_PG_URL; the PostgreSQL and cluster suites are skipped.`,
  );
}
const hasNats = await reachable(NATS_URL, 4222);
if (!hasNats) {
  missing.push(`NATS is not reachable at ${NATS_URL}: start \`nats-server -js\` (with JetStream) or set FLOWD_TEST_NATS_URL; the PostgreSQL and cluster suites are skipped.`);
}
if (!existsSync(CHROMIUM)) {
  missing.push(`Chromium is not installed at ${CHROMIUM}: \`apt-get install -y chromium\` (or set FLOWD_CHROMIUM); the dashboard's browser test is skipped.`);
}
for (const line of missing) console.log(`npm test: ${line}`);
if (missing.length > 0 && REQUIRED) {
  console.error('npm test: this environment must provide every service (CI=true or FLOWD_REQUIRE_POSTGRES=1); nothing was run.');
  process.exit(1);
}

function run(what: string, cmd: string, args: string[], env: Record<string, string> = {}): void {
  console.log(`\nnpm test: ${what}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`npm test: ${what} failed (exit ${r.status ?? r.signal ?? 'unknown'})`);
    process.exit(r.status ?? 1);
  }
}

/** Node 20's test runner does not expand globs: list a folder's test files. */
const testsIn = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => `${dir}/${f}`) : []);

const node = process.execPath;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
run('typecheck', npm, ['run', '--silent', 'typecheck']);
run('lint', npm, ['run', '--silent', 'lint']);
run('build', npm, ['run', '--silent', 'build']);
run('unit and HTTP suites (SQLite)', node, ['--import', 'tsx', '--test', '--test-concurrency=2', ...testsIn('test'), ...testsIn('test/hardening')]);
const services = hasPg && hasNats;
if (services) {
  run('the same suites on PostgreSQL + NATS', npm, ['run', '--silent', 'test:postgres']);
  run('cluster suites (real processes)', node, ['--import', 'tsx', '--test', '--test-concurrency=1', ...testsIn('test/cluster')]);
} else {
  console.log('\nnpm test: skipped the PostgreSQL and cluster suites (see the lines above for what is missing).');
}
