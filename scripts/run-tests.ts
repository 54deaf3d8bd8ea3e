#!/usr/bin/env node
// `npm test`: checks what the suites need first (PostgreSQL, NATS, Chromium), says in one line
// each what is missing and how to get it, then runs typecheck, lint, build and every suite it
// can: every suite on SQLite, the suites that start a node again on PostgreSQL + NATS (chosen
// by test/support/suite-stores.ts from their imports), then the cluster suites. Where the
// environment promises the services (CI=true or FLOWD_REQUIRE_POSTGRES=1) a missing one is a
// failure before anything runs.
//
// `--postgres` (npm run test:postgres): only the PostgreSQL pass. `--list`: print each pass's
// suites and run nothing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { suitePasses } from '../test/support/suite-stores.js';

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

const passes = suitePasses();
const args = new Set(process.argv.slice(2));
if (args.has('--list')) {
  for (const [name, files] of Object.entries(passes) as Array<[string, string[]]>)
    console.log(`${name} (${files.length}):\n  ${files.join('\n  ')}`);
  process.exit(0);
}
const onlyPostgres = args.has('--postgres');

const missing: string[] = [];
const hasPg = await reachable(PG_URL, 5432);
if (!hasPg) {
  missing.push(
    `PostgreSQL is not reachable at ${PG_URL}: start it (Debian: \`pg_ctlcluster <version> main start\`, trust auth, database "test") or set FLOWD_TEST_PG_URL; the PostgreSQL and cluster suites are skipped.`,
  );
}
const hasNats = await reachable(NATS_URL, 4222);
if (!hasNats) {
  missing.push(
    `NATS is not reachable at ${NATS_URL}: start \`nats-server -js\` (with JetStream) or set FLOWD_TEST_NATS_URL; the PostgreSQL and cluster suites are skipped.`,
  );
}
if (!existsSync(CHROMIUM)) {
  missing.push(
    `Chromium is not installed at ${CHROMIUM}: \`apt-get install -y chromium\` (or set FLOWD_CHROMIUM); the dashboard's browser test is skipped.`,
  );
}
for (const line of missing) console.log(`npm test: ${line}`);
const services = hasPg && hasNats;
if ((missing.length > 0 && REQUIRED) || (onlyPostgres && !services)) {
  console.error(
    `npm test: ${onlyPostgres ? 'the PostgreSQL pass needs PostgreSQL and NATS' : 'this environment must provide every service (CI=true or FLOWD_REQUIRE_POSTGRES=1)'}; nothing was run.`,
  );
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

const node = process.execPath;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const suites = (files: string[], concurrency: number): string[] => [
  '--import',
  'tsx',
  '--test',
  `--test-concurrency=${concurrency}`,
  ...files,
];
const postgresPass = (): void =>
  run(`the ${passes.postgres.length} suites that start a node, on PostgreSQL + NATS`, node, suites(passes.postgres, 2), {
    FLOWD_TEST_STORE: 'postgres',
  });

if (onlyPostgres) {
  postgresPass();
  process.exit(0);
}
run('typecheck', npm, ['run', '--silent', 'typecheck']);
run('lint', npm, ['run', '--silent', 'lint']);
run('build', npm, ['run', '--silent', 'build']);
run(`all ${passes.sqlite.length} suites on SQLite`, node, suites(passes.sqlite, 2), { FLOWD_TEST_STORE: 'sqlite' });
if (services) {
  postgresPass();
  run('cluster suites (real processes)', node, suites(passes.cluster, 1));
} else {
  console.log('\nnpm test: skipped the PostgreSQL and cluster suites (see the lines above for what is missing).');
}
