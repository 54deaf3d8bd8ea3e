/**
 * The store test matrix: the same cases run against SQLite (a real file) and PostgreSQL (a
 * real server, a fresh schema per store, dropped afterwards). PostgreSQL comes from
 * FLOWD_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test). When it is not reachable
 * its half is skipped, loudly, unless FLOWD_REQUIRE_POSTGRES=1 makes those tests fail instead.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { PostgresStoreOptions } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';

export type StoreKind = 'sqlite' | 'postgres';

export const PG_URL = process.env['FLOWD_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const REQUIRE_PG = process.env['FLOWD_REQUIRE_POSTGRES'] === '1';

let probe: Promise<string | undefined> | undefined;

/** Why PostgreSQL cannot be used (undefined: it can). Probed once per process. */
function pgUnavailable(): Promise<string | undefined> {
  probe ??= (async () => {
    const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.query('SELECT 1');
      return undefined;
    } catch (e) {
      return (e as Error).message || String(e);
    } finally {
      await c.end().catch(() => undefined);
    }
  })();
  return probe;
}

/** Both kinds, each with the `skip` to pass to describe(): PostgreSQL is skipped when unreachable and not required. */
export async function storeMatrix(): Promise<Array<{ kind: StoreKind; skip: string | false }>> {
  const why = await pgUnavailable();
  if (why !== undefined && !REQUIRE_PG) {
    console.warn(`!!! PostgreSQL is not reachable at ${PG_URL} (${why}) — the PostgreSQL half of the store matrix is SKIPPED`);
    return [
      { kind: 'sqlite', skip: false },
      { kind: 'postgres', skip: `PostgreSQL not reachable at ${PG_URL}` },
    ];
  }
  return [
    { kind: 'sqlite', skip: false },
    { kind: 'postgres', skip: false },
  ];
}

/** Fails with a clear message when PostgreSQL is required but down (the tests then fail, not skip). */
async function requirePg(): Promise<void> {
  const why = await pgUnavailable();
  if (why !== undefined) {
    throw new Error(
      `PostgreSQL is required (FLOWD_REQUIRE_POSTGRES=1) but not reachable at ${PG_URL}: ${why}. Start it or set FLOWD_TEST_PG_URL.`,
    );
  }
}

/** Runs `fn` on a direct connection to the test database (outside any store). */
export async function pgAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  await requirePg();
  return withPg(fn);
}

/** `fn` on a new connection to the test database, closed afterwards. */
export async function withPg<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_URL });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export interface PgSchema {
  schema: string;
  /** PG_URL with `schema=` (and any extra parameters) appended. */
  url: string;
  drop(): Promise<void>;
}

/** A fresh, not yet existing schema name and its store URL. */
export async function freshPgSchema(extraParams: Record<string, string> = {}): Promise<PgSchema> {
  await requirePg();
  const schema = `flowd_t_${randomBytes(6).toString('hex')}`;
  const params = new URLSearchParams({ schema, ...extraParams });
  const url = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}${params.toString()}`;
  return { schema, url, drop: () => pgAdmin(async (c) => void (await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))) };
}

export interface TestStore {
  store: Store;
  /** Another store on the same file / schema (for SQLite: only once this one is closed). */
  reopen(opts?: PostgresStoreOptions): Promise<Store>;
  /** Closes the store and removes its file / drops its schema. */
  cleanup(): Promise<void>;
}

export async function openTestStore(kind: StoreKind, opts: PostgresStoreOptions = {}): Promise<TestStore> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'flowd-store-'));
    const path = join(dir, 'flowd.db');
    const store = new SqliteStore({ path });
    return {
      store,
      reopen: async () => new SqliteStore({ path }),
      cleanup: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const s = await freshPgSchema();
  const store = await PostgresStore.open(s.url, opts);
  return {
    store,
    reopen: (more) => PostgresStore.open(s.url, { ...opts, ...more }),
    cleanup: async () => {
      await store.close();
      await s.drop();
    },
  };
}

/** Runs `fn` on a store of its own (for cases whose counts or sweeps see every workflow), then removes it. */
export async function withOwnTestStore(kind: StoreKind, fn: (s: Store, own: TestStore) => Promise<void>): Promise<void> {
  const own = await openTestStore(kind);
  try {
    await fn(own.store, own);
  } finally {
    await own.cleanup();
  }
}
