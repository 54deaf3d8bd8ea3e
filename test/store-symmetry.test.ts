/**
 * The two dialects side by side: the same migrations (numbers and names), the same domain files
 * (sqlite-<domain>.ts beside postgres-<domain>.ts), and the same tables with the same column
 * names once migrated. Also the upgrade of an SQLite file written before the OS user's column
 * took PostgreSQL's name.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { POSTGRES_MIGRATIONS } from '../src/store/postgres/postgres-migrations.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { SQLITE_MIGRATIONS } from '../src/store/sqlite/sqlite-migrations.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { freshPgSchema, pgAdmin, storeMatrix } from './support/store-matrix.js';

const STORE_DIR = fileURLToPath(new URL('../src/store/', import.meta.url));

/** The SQLite migration that renamed `user` to `os_user`. */
const OS_USER_RENAME = SQLITE_MIGRATIONS.find((m) => m.name === 'os-user-column')?.version ?? 0;

/** Files only one dialect needs: how it opens its database, nothing of the port. */
const DIALECT_ONLY: Record<'sqlite' | 'postgres', readonly string[]> = {
  sqlite: ['file-modes', 'integrity', 'open', 'statement-cache'],
  postgres: ['connection', 'migrator'],
};

const domains = (dialect: 'sqlite' | 'postgres'): string[] =>
  readdirSync(join(STORE_DIR, dialect))
    .filter((f) => f.startsWith(`${dialect}-`) && f.endsWith('.ts'))
    .map((f) => f.slice(dialect.length + 1, -'.ts'.length))
    .filter((d) => !DIALECT_ONLY[dialect].includes(d))
    .sort();

type Columns = Record<string, string[]>;

function sqliteColumns(path: string): Columns {
  const db = new Database(path, { readonly: true });
  try {
    const tables = db
      .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
      .all() as Array<{ name: string }>;
    const out: Columns = {};
    for (const { name } of tables) {
      out[name] = (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(name) as Array<{ name: string }>).map((c) => c.name).sort();
    }
    return out;
  } finally {
    db.close();
  }
}

async function pgColumns(schema: string): Promise<Columns> {
  const rows = await pgAdmin(
    async (c) =>
      (
        await c.query<{ table_name: string; column_name: string }>(
          'SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, column_name',
          [schema],
        )
      ).rows,
  );
  const out: Columns = {};
  for (const r of rows) (out[r.table_name] ??= []).push(r.column_name);
  for (const cols of Object.values(out)) cols.sort();
  return out;
}

async function withSqliteFile<T>(fn: (path: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'flowd-symmetry-'));
  try {
    return await fn(join(dir, 'flowd.db'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const PG_SKIP = (await storeMatrix()).find((m) => m.kind === 'postgres')?.skip ?? false;

void describe('store dialects', () => {
  void it('have the same migrations, by number and name', () => {
    const ledger = (ms: ReadonlyArray<{ version: number; name: string }>): string[] => ms.map((m) => `${m.version} ${m.name}`);
    assert.deepEqual(ledger(POSTGRES_MIGRATIONS), ledger(SQLITE_MIGRATIONS));
    assert.deepEqual(
      SQLITE_MIGRATIONS.map((m) => m.version),
      SQLITE_MIGRATIONS.map((_, i) => i + 1),
      'numbered 1, 2, 3… without gaps',
    );
  });

  void it('lay out the same domain files', () => {
    const sqlite = domains('sqlite');
    assert.deepEqual(domains('postgres'), sqlite);
    for (const d of [
      'store',
      'migrations',
      'rows',
      'workflows',
      'provisioning',
      'tasks',
      'publications',
      'api-keys',
      'ml-resources',
      'users',
      'nodes',
    ]) {
      assert.ok(sqlite.includes(d), `sqlite-${d}.ts and postgres-${d}.ts`);
    }
  });

  void it('upgrade an SQLite file that still has the `user` column, keeping every OS user', async () => {
    await withSqliteFile(async (path) => {
      const old = new Database(path);
      old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
      for (const m of SQLITE_MIGRATIONS.filter((x) => x.version < OS_USER_RENAME)) {
        old.exec(m.sql);
        old.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(m.version, m.name);
      }
      const alice = { name: 'alice', backend_roles: [], roles: ['admin'], custom_attribute_names: [], user_requested_tenant: null };
      old
        .prepare(
          `INSERT INTO workflow_state (workflow_id, state, progress, user, version, updated_at) VALUES ('w1', 'NOT_STARTED', 'NOT_STARTED', ?, 1, 0)`,
        )
        .run(JSON.stringify(alice));
      old.close();
      const store = new SqliteStore({ path });
      try {
        assert.deepEqual((await store.getState('w1'))?.user, alice);
        const v = await store.schemaVersion();
        assert.equal(v.current, v.latest);
      } finally {
        await store.close();
      }
      assert.ok(sqliteColumns(path)['workflow_state']?.includes('os_user'));
      assert.ok(!sqliteColumns(path)['workflow_state']?.includes('user'));
    });
  });

  void it('create the same tables with the same column names', { skip: PG_SKIP }, async () => {
    const sqlite = await withSqliteFile(async (path) => {
      await new SqliteStore({ path }).close();
      return sqliteColumns(path);
    });
    const s = await freshPgSchema();
    try {
      await (await PostgresStore.open(s.url)).close();
      assert.deepEqual(await pgColumns(s.schema), sqlite);
    } finally {
      await s.drop();
    }
  });
});
