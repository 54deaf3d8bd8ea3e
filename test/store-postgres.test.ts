/**
 * What only the PostgreSQL store has: several nodes on one schema (migrations, CAS and the
 * workflow limit racing), schema versions and URLs refused with a useful message, and
 * connections that die. Each case on a fresh schema of the test server (see
 * support/store-matrix.ts), skipped loudly when PostgreSQL is not reachable.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Template } from '../src/template/types.js';
import { PostgresStore, migratePostgres } from '../src/store/postgres/postgres-store.js';
import { LATEST_POSTGRES_VERSION, POSTGRES_MIGRATIONS } from '../src/store/postgres/postgres-migrations.js';
import { freshPgSchema, openTestStore, pgAdmin, storeMatrix } from './support/store-matrix.js';

const T0 = 1_700_000_000_000;
const LEASE = 30_000;

const template = (name: string, extra: Partial<Template> = {}): Template => ({
  name,
  description: `${name} description`,
  use_case: 'TEST',
  workflows: {},
  ...extra,
});

const matrix = await storeMatrix();

/** What only PostgreSQL has: several nodes on one schema, and connections that die. */
function pgOnly(): void {
  const ledger = (schema: string): Promise<Array<{ version: number; name: string }>> =>
    pgAdmin(
      async (c) =>
        (await c.query<{ version: number; name: string }>(`SELECT version, name FROM "${schema}".schema_migrations ORDER BY version`)).rows,
    );

  void it('two nodes opening a fresh schema at once both start, and each migration is applied once', async () => {
    const s = await freshPgSchema();
    try {
      const stores = await Promise.all([PostgresStore.open(s.url), PostgresStore.open(s.url), PostgresStore.open(s.url)]);
      try {
        assert.deepEqual(
          await ledger(s.schema),
          POSTGRES_MIGRATIONS.map(({ version, name }) => ({ version, name })),
        );
        for (const st of stores)
          assert.deepEqual(await st.schemaVersion(), { current: LATEST_POSTGRES_VERSION, latest: LATEST_POSTGRES_VERSION });
      } finally {
        await Promise.all(stores.map((st) => st.close()));
      }
      assert.deepEqual(await migratePostgres(s.url), { from: LATEST_POSTGRES_VERSION, to: LATEST_POSTGRES_VERSION }, 'nothing left to do');
    } finally {
      await s.drop();
    }
  });

  void it('`flowd migrate` brings a fresh schema to the latest version; migrate:false then opens it', async () => {
    const s = await freshPgSchema();
    try {
      assert.deepEqual(await migratePostgres(s.url), { from: 0, to: LATEST_POSTGRES_VERSION });
      const st = await PostgresStore.open(s.url, { migrate: false });
      await st.close();
    } finally {
      await s.drop();
    }
  });

  void it('refuses a schema that is behind when migrations are off, naming `flowd migrate`', async () => {
    const s = await freshPgSchema();
    try {
      await assert.rejects(
        PostgresStore.open(s.url, { migrate: false }),
        new RegExp(`version 0.*needs version ${LATEST_POSTGRES_VERSION}.*flowd migrate`),
      );
      await pgAdmin(async (c) => {
        await c.query(`CREATE SCHEMA "${s.schema}"`);
        await c.query(
          `CREATE TABLE "${s.schema}".schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
        );
        await c.query(`INSERT INTO "${s.schema}".schema_migrations VALUES (1, 'core', 0)`);
      });
      await assert.rejects(PostgresStore.open(s.url, { migrate: false }), /version 1.*flowd migrate/);
    } finally {
      await s.drop();
    }
  });

  void it('refuses a schema newer than this flowd', async () => {
    const s = await freshPgSchema();
    try {
      await (await PostgresStore.open(s.url)).close();
      await pgAdmin((c) => c.query(`INSERT INTO "${s.schema}".schema_migrations VALUES (999, 'future', 0)`));
      const newer = {
        message: `The database schema (version 999) is newer than this flowd supports (${LATEST_POSTGRES_VERSION}). Upgrade flowd, or point it at another database/schema.`,
      };
      await assert.rejects(PostgresStore.open(s.url), newer);
      await assert.rejects(PostgresStore.open(s.url, { migrate: false }), newer);
      await assert.rejects(migratePostgres(s.url), newer);
    } finally {
      await s.drop();
    }
  });

  void it('refuses bad URLs and schema names with a message saying what to fix', async () => {
    await assert.rejects(PostgresStore.open('not a url'), /Invalid PostgreSQL store URL: expected postgres:\/\//);
    await assert.rejects(PostgresStore.open('mysql://localhost/db'), /Invalid PostgreSQL store URL \(scheme mysql:\)/);
    for (const bad of ['Upper', '1abc', 'a-b', 'x'.repeat(64), 'a;drop']) {
      await assert.rejects(PostgresStore.open(`postgres://localhost/db?schema=${encodeURIComponent(bad)}`), /Invalid schema name/, bad);
    }
    await assert.rejects(PostgresStore.open('postgres://nobody:secret@127.0.0.1:1/db'), (e: Error) => {
      assert.match(e.message, /^Cannot connect to PostgreSQL at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/db/);
      assert.doesNotMatch(e.message, /secret/);
      return true;
    });
  });

  void it('racing nodes: one beginRun wins the CAS, and the workflow limit holds', async () => {
    const t = await openTestStore('postgres');
    const others = await Promise.all([t.reopen(), t.reopen(), t.reopen()]);
    const all = [t.store, ...others];
    try {
      for (let round = 0; round < 5; round++) {
        const w = `race_${round}`;
        await t.store.createWorkflow({ id: w, template: template(w), maxWorkflows: 1000 });
        const results = await Promise.all(
          all.map((s, i) =>
            s.beginRun({
              workflowId: w,
              runId: `${w}_r${i}`,
              kind: 'provision',
              plan: {},
              params: '',
              owner: `node-${i}`,
              leaseMs: LEASE,
              startTime: T0,
              allowedStates: ['NOT_STARTED'],
              keepResources: false,
            }),
          ),
        );
        assert.equal(results.filter((r) => r.ok).length, 1, 'exactly one run starts');
        for (const r of results) if (!r.ok) assert.equal(r.reason === 'state' && r.state.state, 'PROVISIONING');
      }
      const n = await t.store.countWorkflows();
      const created = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          all[i % all.length]!.createWorkflow({ id: `lim_${i}`, template: template(`lim_${i}`), maxWorkflows: n + 5 }),
        ),
      );
      assert.equal(created.filter((r) => r === 'ok').length, 5);
      assert.equal(await t.store.countWorkflows(), n + 5);
    } finally {
      await Promise.all(others.map((s) => s.close()));
      await t.cleanup();
    }
  });

  void it('survives its connections being killed (server restart): errors are logged, later queries reconnect', async () => {
    const app = `flowd_kill_${Date.now()}`;
    const s = await freshPgSchema({ application_name: app });
    const warnings: string[] = [];
    const st = await PostgresStore.open(s.url, { poolSize: 4, logger: { warn: (_obj, msg) => void warnings.push(msg) } });
    try {
      await Promise.all(Array.from({ length: 4 }, () => st.countWorkflows())); // several idle pooled connections
      const kill = (): Promise<number> =>
        pgAdmin(
          async (c) =>
            (await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [app])).rowCount ?? 0,
        );
      assert.ok((await kill()) > 0);
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(
        warnings.some((m) => /connection lost/.test(m)),
        'idle connection errors are logged, not thrown',
      );
      assert.equal(await st.countWorkflows(), 0, 'the pool reconnects');

      // Killed mid-transaction: that call rejects (the caller retries), the next ones work.
      const w = 'killed';
      await st.createWorkflow({ id: w, template: template(w), maxWorkflows: 10 });
      const begin = (runId: string) =>
        st.beginRun({
          workflowId: w,
          runId,
          kind: 'provision',
          plan: {},
          params: '',
          owner: 'a',
          leaseMs: 1,
          startTime: T0,
          allowedStates: ['NOT_STARTED'],
          keepResources: false,
        });
      await pgAdmin(async (c) => {
        await c.query('BEGIN');
        await c.query(`SELECT 1 FROM "${s.schema}".workflow_state WHERE workflow_id = $1 FOR UPDATE`, [w]);
        const outcome = begin('r1').then(
          () => 'went through',
          (e: Error) => e,
        );
        await new Promise((r) => setTimeout(r, 300)); // beginRun now waits for the row lock
        await kill();
        assert.ok((await outcome) instanceof Error, 'the call whose connection died rejects');
        await c.query('COMMIT');
      });
      assert.deepEqual(await begin('r2'), { ok: true }, 'the next call works');
      assert.equal((await st.getState(w))?.runId, 'r2');
    } finally {
      await st.close();
      await s.drop();
    }
  });
}

void describe(
  'PostgreSQL store: several nodes, migrations, failures',
  { skip: matrix.find((m) => m.kind === 'postgres')?.skip ?? false },
  pgOnly,
);
