/**
 * Start-up integrity (issue 14 point 7, findings F15 and F19), against real `flowd` processes:
 * a used data dir whose database is gone or empty is refused instead of starting as a fresh
 * install; a damaged database is found by `PRAGMA quick_check` at start (red health, a clear
 * log line, doctor fails) and by the first corruption error at run time; every file flowd keeps
 * in its data dir is 0600, whatever the directory's mode.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { ADMIN_PASSWORD, FF, httpRequest, template } from '../support/flowd-harness.js';
import { readyUrl } from '../support/flowd-process.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DB = 'flowd.db';
/** The first-start line (inside a JSON log line, so its quotes are escaped). */
const CREATED_ADMIN = /Created user \\"admin\\" with a generated password/;
let scratch: string;

before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'flowd-startup-'));
});
/** Every child still running when the tests end (a failed assertion skips its stop). */
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

let dirs = 0;
const freshPath = (name: string): string => join(scratch, `${name}-${++dirs}`);

interface Running {
  url: string;
  child: ChildProcess;
  /** stdout (JSON log lines) and stderr, in order. */
  lines: string[];
  exited: Promise<number | null>;
}

/**
 * `flowd serve` as a person starts it. Unlike support/flowd-process.ts, the admin password is
 * only set when asked, so the generated `admin-password` file is exercised too.
 */
function serveArgs(dataDir: string): string[] {
  return ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--data-dir', dataDir];
}
function serveEnv(adminPassword: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, FLOWD_LOG_LEVEL: 'info', FLOWD_STORE_URL: '' };
  delete env['FLOWD_ADMIN_PASSWORD'];
  delete env['FLOWD_MASTER_KEY'];
  if (adminPassword !== undefined) env['FLOWD_ADMIN_PASSWORD'] = adminPassword;
  return env;
}

/** `generated`: no FLOWD_ADMIN_PASSWORD, so flowd writes `admin-password`. */
async function serve(dataDir: string, admin: 'generated' | 'configured' = 'configured'): Promise<Running> {
  const child = spawn(process.execPath, serveArgs(dataDir), {
    cwd: ROOT,
    env: serveEnv(admin === 'configured' ? ADMIN_PASSWORD : undefined),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => lines.push(l));
  const url = await readyUrl(child, { timeoutMs: 30_000, onLine: (l) => lines.push(l), output: () => lines.join('\n') });
  return { url, child, lines, exited };
}

async function stop(r: Running, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  r.child.kill(signal);
  await r.exited;
}

/** Runs a flowd command to its end (a refused `serve` must exit on its own within the bound). */
function runToExit(args: string[], timeoutMs = 30_000): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: serveEnv(ADMIN_PASSWORD),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`flowd ${args.join(' ')} still running after ${timeoutMs} ms (it should have refused); output:\n${out}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      children.delete(child);
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8).padStart(4, '0');

/** A data dir a real flowd used: workflows stored, stopped cleanly (WAL checkpointed away). */
async function usedDataDir(admin: 'generated' | 'configured'): Promise<string> {
  const dir = freshPath('used');
  const r = await serve(dir, admin);
  try {
    const auth: [string, string] = [
      'admin',
      admin === 'configured' ? ADMIN_PASSWORD : readFileSync(join(dir, 'admin-password'), 'utf8').trim(),
    ];
    for (let i = 0; i < 3; i++) {
      const created = await httpRequest(r.url, 'POST', FF, { body: template([{ id: 'a', type: 'noop' }], [], { name: `wf-${i}` }), auth });
      assert.equal(created.status, 201, created.text);
    }
  } finally {
    await stop(r);
  }
  return dir;
}

describe('a used data dir whose database is gone or empty', () => {
  let used: string;
  before(async () => {
    // No FLOWD_ADMIN_PASSWORD: both master.key and admin-password are written.
    used = await usedDataDir('generated');
    assert.ok(existsSync(join(used, 'master.key')) && existsSync(join(used, 'admin-password')));
  });

  const shapes: Array<{ name: string; keep: Array<'master.key' | 'admin-password'>; db: 'missing' | 'empty' | 'empty, stray -wal' }> = [
    { name: 'master key, database missing', keep: ['master.key'], db: 'missing' },
    { name: 'master key, database 0 bytes', keep: ['master.key'], db: 'empty' },
    { name: 'admin password only, database 0 bytes', keep: ['admin-password'], db: 'empty' },
    { name: 'both, database missing, an empty -wal left over', keep: ['master.key', 'admin-password'], db: 'empty, stray -wal' },
  ];
  for (const shape of shapes) {
    it(`refuses to start (exit 1, says what to do) and creates nothing: ${shape.name}`, async () => {
      const dir = freshPath('lost');
      cpSync(used, dir, { recursive: true });
      for (const f of ['master.key', 'admin-password'] as const) if (!shape.keep.includes(f)) rmSync(join(dir, f));
      if (shape.db === 'missing') rmSync(join(dir, DB));
      else truncateSync(join(dir, DB), 0);
      if (shape.db === 'empty, stray -wal') closeSync(openSync(join(dir, `${DB}-wal`), 'w'));
      const before = readdirSync(dir).sort();

      const r = await runToExit(serveArgs(dir).slice(3));
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, shape.db === 'missing' ? /flowd\.db is missing/ : /flowd\.db is empty \(0 bytes\)/);
      assert.match(r.out, /Restore flowd\.db from a backup/);
      assert.match(r.out, /move the data directory away/);
      assert.doesNotMatch(r.out, CREATED_ADMIN, 'no fresh install');
      assert.doesNotMatch(r.out, /flowd is ready/);
      assert.deepEqual(readdirSync(dir).sort(), before, 'nothing created, nothing removed');
      if (shape.db !== 'missing') assert.equal(statSync(join(dir, DB)).size, 0);
    });
  }

  it('is refused the same way by flowd doctor and flowd migrate, which do not create the database either', async () => {
    const dir = freshPath('lost-cli');
    cpSync(used, dir, { recursive: true });
    rmSync(join(dir, DB));
    for (const cmd of ['doctor', 'migrate']) {
      const r = await runToExit([cmd, '--data-dir', dir]);
      assert.equal(r.code, 1, `${cmd}: ${r.out}`);
      assert.match(r.out, /flowd\.db is missing/, cmd);
      assert.equal(existsSync(join(dir, DB)), false, `${cmd} did not create an empty database`);
    }
  });

  it('still starts the used dir when its database is intact (the check looks at the file, not the folder)', async () => {
    const dir = freshPath('intact');
    cpSync(used, dir, { recursive: true });
    const r = await serve(dir, 'generated');
    try {
      assert.ok(!r.lines.some((l) => CREATED_ADMIN.test(l)), 'admin not re-created');
    } finally {
      await stop(r);
    }
  });
});

describe('a truly fresh data dir', () => {
  for (const shape of ['does not exist', 'exists, empty'] as const) {
    it(`initialises as before: ${shape}`, async () => {
      const dir = freshPath('fresh');
      if (shape === 'exists, empty') mkdirSync(dir, { mode: 0o700 });
      const r = await serve(dir, 'generated');
      try {
        assert.ok(
          r.lines.some((l) => CREATED_ADMIN.test(l)),
          'a first start creates admin',
        );
        const health = await httpRequest(r.url, 'GET', '/_flowd/health', { auth: null });
        assert.equal(health.status, 200);
        assert.deepEqual(health.body, { status: 'green', store: 'sqlite' });
        const check = r.lines
          .map((l) => JSON.parse(l.startsWith('{') ? l : '{}') as { msg?: string; quickCheckMs?: number })
          .find((j) => j.msg === 'database integrity check passed');
        assert.equal(typeof check?.quickCheckMs, 'number', 'the start-up check logs its duration');
      } finally {
        await stop(r);
      }
    });
  }
});

describe('file modes (F19)', () => {
  const privateFiles = [DB, `${DB}-wal`, `${DB}-shm`, 'master.key', 'admin-password', 'flowd.pid'];

  it('creates a new data dir 0700 and everything in it 0600', async () => {
    const dir = freshPath('modes-new');
    const r = await serve(dir, 'generated');
    try {
      assert.equal(modeOf(dir), '0700');
      for (const f of privateFiles) assert.equal(modeOf(join(dir, f)), '0600', f);
      assert.ok(!r.lines.some((l) => l.includes('open to other users')), 'no warning for a dir flowd made');
    } finally {
      await stop(r);
    }
  });

  it('in a pre-existing 0755 dir: files 0600 anyway, looser leftovers tightened, a warning about the dir', async () => {
    const dir = freshPath('modes-0755');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    const first = await serve(dir, 'generated');
    for (const f of privateFiles) assert.equal(modeOf(join(dir, f)), '0600', `first start: ${f}`);
    const warned = first.lines.find((l) => l.includes('open to other users'));
    assert.ok(warned, 'warns about the directory');
    assert.match(warned, /mode 0755/);
    assert.match(warned, /chmod 700/);
    assert.equal(modeOf(dir), '0755', "the operator's directory is left as it is");
    // kill -9 keeps -wal and -shm; an older flowd (or cp, or an operator) left everything 0644.
    await stop(first, 'SIGKILL');
    for (const f of privateFiles) if (existsSync(join(dir, f))) chmodSync(join(dir, f), 0o644);
    assert.equal(modeOf(join(dir, `${DB}-wal`)), '0644');
    const second = await serve(dir, 'generated');
    try {
      for (const f of privateFiles) assert.equal(modeOf(join(dir, f)), '0600', `after restart: ${f}`);
    } finally {
      await stop(second);
    }
  });
});

/** Overwrites the root page of `table` with garbage: its b-tree can no longer be read. */
function corruptTable(dbFile: string, table: string): void {
  const db = new Database(dbFile);
  const { rootpage } = db.prepare('SELECT rootpage FROM sqlite_master WHERE name = ?').get(table) as { rootpage: number };
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.close();
  assert.ok(!existsSync(`${dbFile}-wal`) || statSync(`${dbFile}-wal`).size === 0, 'everything is in the main file');
  const fd = openSync(dbFile, 'r+');
  try {
    writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (rootpage - 1) * pageSize);
  } finally {
    closeSync(fd);
  }
}

describe('a damaged database', () => {
  let used: string;
  before(async () => {
    used = await usedDataDir('configured');
  });

  // A table and an index that start-up itself does not need to read.
  for (const table of ['workflows', 'resources_by_workflow']) {
    it(`found at start-up (${table}): flowd starts with health red and the reason, an error log line; doctor fails`, async () => {
      const dir = freshPath('damaged');
      cpSync(used, dir, { recursive: true });
      corruptTable(join(dir, DB), table);
      const r = await serve(dir);
      try {
        const health = await httpRequest(r.url, 'GET', '/_flowd/health', { auth: null });
        assert.equal(health.status, 503, health.text);
        assert.equal(health.body.status, 'red');
        assert.equal(health.body.store, 'sqlite');
        assert.match(health.body.reason, /quick_check/);
        assert.match(health.body.reason, /restore .*flowd\.db from a backup/);
        const logged = r.lines
          .map((l) => JSON.parse(l.startsWith('{') ? l : '{}') as { level?: number; msg?: string })
          .find((j) => (j.level ?? 0) >= 50 && /damaged/.test(j.msg ?? ''));
        assert.ok(logged, `an error line names the damage; got:\n${r.lines.join('\n')}`);
        assert.match(logged.msg ?? '', /health is red/);
      } finally {
        await stop(r);
      }
      const doctor = await runToExit(['doctor', '--data-dir', dir]);
      assert.equal(doctor.code, 1, doctor.out);
      assert.match(doctor.out, /✗ store .*quick_check/);
    });
  }

  it('refuses to start (exit 1, says what to do) when start-up itself cannot read past the damage (users)', async () => {
    const dir = freshPath('damaged-users');
    cpSync(used, dir, { recursive: true });
    corruptTable(join(dir, DB), 'users');
    const r = await runToExit(serveArgs(dir).slice(3));
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /"level":50.*The database is damaged.*quick_check/, 'the error line of the start-up check');
    assert.match(r.out, /^flowd: Cannot start on a damaged database \(database disk image is malformed\)\. .*restore .*from a backup/m);
  });

  it('refuses to start, with what to do, when even the header is unreadable', async () => {
    const dir = freshPath('bad-header');
    cpSync(used, dir, { recursive: true });
    const fd = openSync(join(dir, DB), 'r+');
    writeSync(fd, Buffer.alloc(98, 0x42), 0, 98, 0);
    closeSync(fd);
    const r = await runToExit(serveArgs(dir).slice(3));
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /is damaged \(file is not a database\)/);
    assert.match(r.out, /from a backup/);
  });

  it('found at run time: the first corruption error any store call meets turns integrity red, and stays so', async () => {
    const dir = freshPath('runtime');
    cpSync(used, dir, { recursive: true });
    const file = join(dir, DB);
    const peek = new Database(file);
    const ids = (peek.prepare('SELECT id FROM workflows').all() as Array<{ id: string }>).map((x) => x.id);
    peek.close();
    const damaged: string[] = [];
    // Opened without the start-up check: the table's pages are not read (or cached) before the damage.
    const store = new SqliteStore({ path: file, onDamaged: (reason) => damaged.push(reason) });
    try {
      assert.deepEqual(store.integrity(), { ok: true });
      corruptTable(file, 'workflows');
      await assert.rejects(store.getWorkflow(ids[0] ?? ''), /malformed/);
      const integrity = store.integrity();
      assert.equal(integrity.ok, false);
      assert.match(integrity.reason ?? '', /malformed.*restore .*from a backup/);
      assert.equal(damaged.length, 1, 'reported once');
      // Later errors do not flip it back or report again.
      await assert.rejects(store.getWorkflow(ids[1] ?? ''));
      assert.equal(damaged.length, 1);
    } finally {
      await store.close();
    }
    // Errors that are not damage leave it alone: here, a call on a closed store.
    const healthy = new SqliteStore({ path: ':memory:' });
    await healthy.close();
    await assert.rejects(healthy.getWorkflow('x'));
    assert.deepEqual(healthy.integrity(), { ok: true }, 'an error that is not damage');
  });
});
