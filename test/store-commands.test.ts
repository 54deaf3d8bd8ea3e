/** `flowd migrate` and `flowd doctor` against a real PostgreSQL schema and an SQLite data dir. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { freshPgSchema, pgAdmin, storeMatrix } from './support/store-matrix.js';
import { LATEST_POSTGRES_VERSION as LATEST } from '../src/store/postgres/postgres-migrations.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pgSkip = (await storeMatrix()).find((m) => m.kind === 'postgres')?.skip ?? false;

function flowd(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, FLOWD_STORE_URL: '' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('flowd migrate and doctor', () => {
  it('on the embedded store: migrates the data dir and reports it healthy', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowd-doctor-'));
    try {
      const m = flowd('migrate', '--data-dir', dir);
      assert.equal(m.code, 0, m.err);
      assert.match(m.out, new RegExp(`schema is at version ${LATEST}\\b`));
      const d = flowd('doctor', '--data-dir', dir, '--json');
      assert.equal(d.code, 0, d.out + d.err);
      const report = JSON.parse(d.out) as { ok: boolean; checks: Array<{ name: string; ok: boolean; detail: string }> };
      assert.equal(report.ok, true);
      assert.deepEqual(
        report.checks.map((c) => c.name),
        ['store', 'schema', 'nodes', 'stuck work', 'maintenance'],
      );
      assert.equal(report.checks[4]?.detail, 'nothing to tune');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(
    'on PostgreSQL: doctor refuses an unmigrated schema, migrate fixes it, stuck work and dead nodes are reported',
    { skip: pgSkip },
    async () => {
      const s = await freshPgSchema();
      try {
        const before = flowd('doctor', '--store', s.url);
        assert.equal(before.code, 1);
        assert.match(before.out, /✗ store .*flowd migrate/);
        const m = flowd('migrate', '--store', s.url);
        assert.equal(m.code, 0, m.err);
        assert.match(m.out, new RegExp(`migrated from version 0 to ${LATEST}\\b`));
        assert.match(flowd('migrate', '--store', s.url).out, new RegExp(`up to date \\(version ${LATEST}\\)`));

        const store = await PostgresStore.open(s.url);
        const now = Date.now();
        await store.heartbeatNode({ nodeId: 'live-1', url: 'http://127.0.0.1:1', startedAt: now, heartbeatAt: now + 60_000, info: {} });
        await store.heartbeatNode({
          nodeId: 'dead-1',
          url: 'http://127.0.0.1:2',
          startedAt: now - 120_000,
          heartbeatAt: now - 60_000,
          info: {},
        });
        await store.createTask({ taskId: 't1', workflowId: 'w', input: '{}', createdAt: now, expiresAt: now + 60_000 });
        await store.claimTasks('w', 'dead-1~x', 1, now - 30_000, 1000); // its lease ended long ago
        await store.close();

        const d = flowd('doctor', '--store', s.url, '--json');
        assert.equal(d.code, 1, d.out);
        const report = JSON.parse(d.out) as { ok: boolean; checks: Array<{ name: string; ok: boolean; detail: string }> };
        const byName = Object.fromEntries(report.checks.map((c) => [c.name, c]));
        assert.equal(byName['schema']?.ok, true);
        assert.match(byName['nodes']?.detail ?? '', /1 alive: live-1 .*1 gone: dead-1/);
        assert.equal(byName['stuck work']?.ok, false);
        assert.match(byName['stuck work']?.detail ?? '', /0 provisioning runs and 1 tasks hold expired leases/);
        // Whatever this server's setting, the check reports it (a warning does not fail doctor).
        const autovacuum = await pgAdmin(
          async (c) => (await c.query<{ a: string }>(`SELECT current_setting('autovacuum') AS a`)).rows[0]?.a,
        );
        assert.equal(byName['maintenance']?.ok, true);
        assert.equal((byName['maintenance'] as { warning?: boolean } | undefined)?.warning === true, autovacuum !== 'on');
        assert.match(
          byName['maintenance']?.detail ?? '',
          autovacuum === 'on' ? /^nothing to tune$/ : /^warning: autovacuum is off: .*ALTER SYSTEM SET autovacuum = on/,
        );

        await pgAdmin(
          async (c) =>
            void (await c.query(`INSERT INTO "${s.schema}".schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)`)),
        );
        const newer = flowd('doctor', '--store', s.url);
        assert.equal(newer.code, 1);
        assert.match(newer.out, /newer than this flowd supports/);
      } finally {
        await s.drop();
      }
    },
  );
});
