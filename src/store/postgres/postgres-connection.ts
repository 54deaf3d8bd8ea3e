/**
 * One PostgreSQL store's connection pool: the store URL (with flowd's own `schema` parameter),
 * per-pool type parsing, named prepared statements and transactions on one pooled client.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { CustomTypesConfig, PoolClient, QueryConfig, QueryResult, QueryResultRow } from 'pg';

export interface PgLogger {
  warn(obj: object, msg: string): void;
}

/** Where a store URL points, as pg needs it. */
export interface PgTarget {
  /** The URL handed to pg: flowd's own parameters removed. */
  connectionString: string;
  /** Every table of the store lives in this schema. */
  schema: string;
  /** Server options sent with each connection: the URL's own `options` plus the search_path. */
  options: string;
  /** The URL without its password, for messages. */
  display: string;
}

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;
const URL_HELP = 'expected postgres://user[:password]@host[:port]/database, optionally with ?schema=<name>';

/** Parses a store URL; throws an Error saying what to fix when it is not usable. */
export function parsePgUrl(url: string): PgTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`Invalid PostgreSQL store URL: ${URL_HELP}.`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new Error(`Invalid PostgreSQL store URL (scheme ${u.protocol}): ${URL_HELP}.`);
  }
  const schema = u.searchParams.get('schema') ?? 'public';
  if (!SCHEMA_RE.test(schema)) {
    throw new Error(
      `Invalid schema name [${schema}] in the PostgreSQL store URL: use 1 to 63 lower-case letters, digits and underscores, not starting with a digit.`,
    );
  }
  u.searchParams.delete('schema');
  // pg lets a URL's `options` override the client config's, so the two are merged here.
  const userOptions = u.searchParams.get('options');
  u.searchParams.delete('options');
  const options = `${userOptions ? `${userOptions} ` : ''}-c search_path=${schema}`;
  const shown = new URL(u.toString());
  if (shown.password) shown.password = '***';
  return { connectionString: u.toString(), schema, options, display: shown.toString() };
}

/** A double-quoted identifier (names are validated by parsePgUrl, quoting keeps reserved words safe). */
export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** A stable 64-bit advisory-lock key for a label (as a string: it travels as ::bigint). */
export function advisoryKey(label: string): string {
  return createHash('sha256').update(label).digest().readBigInt64BE(0).toString();
}

const INT8_OID = 20;
type TypeParser = (oid: number, format?: 'text' | 'binary') => (value: string) => unknown;
const builtinParser = pg.types.getTypeParser as TypeParser;
/**
 * BIGINT columns (ms timestamps, seq, COUNT) as JS numbers, for this pool only (not global
 * pg.types). Every such value is far below 2^53.
 */
const INT8_AS_NUMBER: CustomTypesConfig = {
  getTypeParser: ((oid, format) =>
    oid === INT8_OID ? Number : builtinParser(oid, format)) as TypeParser as CustomTypesConfig['getTypeParser'],
};

export function createPool(target: PgTarget, opts: { poolSize?: number; logger?: PgLogger }): pg.Pool {
  const pool = new pg.Pool({
    connectionString: target.connectionString,
    options: target.options,
    application_name: 'flowd',
    max: opts.poolSize ?? 10,
    idleTimeoutMillis: 30_000,
    types: INT8_AS_NUMBER,
  });
  // An idle pooled connection died (server restart, network): the pool already dropped it and
  // opens a new one on the next query. Without a listener this event would crash the process.
  pool.on('error', (err) => {
    opts.logger?.warn({ err, store: target.display }, 'PostgreSQL connection lost; the pool reconnects on the next query');
  });
  return pool;
}

export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(sql: string, values?: readonly unknown[]): Promise<QueryResult<R>>;
  /**
   * Unnamed: planned for these values every time. For statements whose best plan depends on
   * the size of an array parameter, where a cached generic plan (which assumes ten elements)
   * goes quadratic.
   */
  queryPlannedEachTime<R extends QueryResultRow = QueryResultRow>(sql: string, values: readonly unknown[]): Promise<QueryResult<R>>;
}

const statementNames = new Map<string, string>();

/**
 * A parameterised statement is named, so each connection parses and plans it once. Names are
 * per process and per SQL text, so every pool agrees on them.
 */
function statement(sql: string, values: readonly unknown[] | undefined): QueryConfig<unknown[]> {
  if (values === undefined) return { text: sql };
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `flowd_${statementNames.size + 1}`;
    statementNames.set(sql, name);
  }
  return { name, text: sql, values: [...values] };
}

/** Runs statements on one checked-out client; remembers whether its connection broke. */
export class ClientQueries implements Queryable {
  broken: Error | undefined;
  constructor(readonly client: PoolClient) {}
  query<R extends QueryResultRow = QueryResultRow>(sql: string, values?: readonly unknown[]): Promise<QueryResult<R>> {
    return this.client.query<R>(statement(sql, values));
  }
  queryPlannedEachTime<R extends QueryResultRow = QueryResultRow>(sql: string, values: readonly unknown[]): Promise<QueryResult<R>> {
    return this.client.query<R>({ text: sql, values: [...values] });
  }
}

export class PgDb implements Queryable {
  readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  /** One statement on any pooled connection (autocommit). */
  query<R extends QueryResultRow = QueryResultRow>(sql: string, values?: readonly unknown[]): Promise<QueryResult<R>> {
    return this.pool.query<R>(statement(sql, values));
  }
  queryPlannedEachTime<R extends QueryResultRow = QueryResultRow>(sql: string, values: readonly unknown[]): Promise<QueryResult<R>> {
    return this.pool.query<R>({ text: sql, values: [...values] });
  }

  /** `fn` on one pooled client with that client to itself; a connection that broke leaves the pool. */
  async withClient<T>(fn: (q: ClientQueries) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const q = new ClientQueries(client);
    // While checked out, a client's connection error is only reported here (the pool listens
    // to idle clients only); the query in flight rejects on its own.
    const onError = (err: Error): void => {
      q.broken = err;
    };
    client.on('error', onError);
    try {
      return await fn(q);
    } finally {
      client.off('error', onError);
      client.release(q.broken ?? false);
    }
  }

  /** BEGIN … COMMIT around `fn`; ROLLBACK when it throws. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.withClient(async (q) => {
      await q.query('BEGIN');
      try {
        const out = await fn(q);
        await q.query('COMMIT');
        return out;
      } catch (e) {
        if (!q.broken) {
          try {
            await q.query('ROLLBACK');
          } catch (rollbackError) {
            q.broken = rollbackError as Error;
          }
        }
        throw e;
      }
    });
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}
