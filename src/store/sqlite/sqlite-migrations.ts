/**
 * Numbered, append-only migrations for the embedded SQLite store. Never edit or reorder an
 * entry: add a new one. The ledger row is inserted inside the migration's transaction.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'core',
    sql: `
      CREATE TABLE workflows (
        id TEXT PRIMARY KEY,
        template TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE workflow_state (
        workflow_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        progress TEXT NOT NULL,
        start_time INTEGER,
        end_time INTEGER,
        error TEXT,
        user TEXT,
        run_id TEXT,
        version INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE resources (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        workflow_id TEXT NOT NULL,
        step_name TEXT NOT NULL,
        node_id TEXT NOT NULL,
        resource_type TEXT NOT NULL,
        resource_id TEXT NOT NULL
      );
      CREATE INDEX resources_by_workflow ON resources (workflow_id, seq);
      CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        workflow_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        plan TEXT NOT NULL,
        params TEXT NOT NULL,
        owner TEXT NOT NULL,
        lease_until INTEGER NOT NULL,
        start_time INTEGER NOT NULL,
        active INTEGER NOT NULL
      );
      CREATE INDEX runs_active ON runs (active, lease_until);
      CREATE TABLE steps (
        run_id TEXT NOT NULL,
        node_id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        type TEXT NOT NULL,
        state TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        start_time INTEGER,
        end_time INTEGER,
        error TEXT,
        outputs TEXT,
        ord INTEGER NOT NULL,
        PRIMARY KEY (run_id, node_id)
      );
      CREATE TABLE workflow_locks (
        workflow_id TEXT NOT NULL,
        op TEXT NOT NULL,
        owner TEXT NOT NULL,
        until INTEGER NOT NULL,
        PRIMARY KEY (workflow_id, op)
      );
      CREATE TABLE ml_resources (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        doc TEXT NOT NULL,
        idempotency_key TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (kind, id)
      );
      CREATE UNIQUE INDEX ml_resources_idempotency ON ml_resources (kind, idempotency_key)
        WHERE idempotency_key IS NOT NULL;
      CREATE TABLE users (
        name TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        backend_roles TEXT NOT NULL,
        roles TEXT NOT NULL,
        attributes TEXT NOT NULL
      );
      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
];
