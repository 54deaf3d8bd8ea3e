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
  {
    version: 2,
    name: 'runtime',
    // Task columns: small ones first and the payloads last, so reading a task's status never
    // walks the overflow pages of a large input or output. `seq` gives FIFO order and cursors
    // (AUTOINCREMENT: never reused, so a cursor cannot skip a newer task).
    sql: `
      CREATE TABLE publications (
        workflow_id TEXT PRIMARY KEY,
        mode TEXT NOT NULL,
        spec TEXT NOT NULL,
        version INTEGER NOT NULL,
        desired_status TEXT NOT NULL,
        published_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE tasks (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id TEXT NOT NULL UNIQUE,
        workflow_id TEXT NOT NULL,
        status TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER,
        expires_at INTEGER NOT NULL,
        owner TEXT,
        lease_until INTEGER,
        correlation_id TEXT,
        idempotency_key TEXT,
        input TEXT NOT NULL,
        output TEXT
      );
      CREATE INDEX tasks_by_status ON tasks (workflow_id, status, seq);
      CREATE UNIQUE INDEX tasks_idempotency ON tasks (workflow_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
      CREATE INDEX tasks_by_expiry ON tasks (expires_at);
      CREATE INDEX tasks_running ON tasks (owner, lease_until) WHERE status = 'RUNNING';
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        prev_hash TEXT,
        prev_valid_until INTEGER,
        workflow_ids TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        created_by TEXT,
        rotated_at INTEGER,
        last_used_at INTEGER
      );
      CREATE INDEX api_keys_prev_hash ON api_keys (prev_hash) WHERE prev_hash IS NOT NULL;
    `,
  },
  {
    version: 3,
    name: 'cluster',
    // A single SQLite node still registers itself, so `flowd doctor` and /_flowd/nodes read the same.
    sql: `
      CREATE TABLE nodes (
        node_id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        heartbeat_at INTEGER NOT NULL,
        info TEXT NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'no-running-index',
    // As on PostgreSQL: one index entry less per claim; renewal reads the RUNNING range of
    // tasks_by_status, and the orphan sweep runs once, at start.
    sql: `
      DROP INDEX IF EXISTS tasks_running;
    `,
  },
  {
    version: 5,
    name: 'run-attempts',
    // How many times a provisioning run was started: 1, + 1 each time a node resumed it after
    // the one running it died. Counted when the run is claimed, before any work: a run whose
    // attempts keep ending the node is dead-lettered instead of resumed forever.
    sql: `
      ALTER TABLE runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
    `,
  },
  {
    version: 6,
    name: 'error-detail',
    // The error a run failed with as a serialized FlowdError (kind, status, code…) beside
    // Flow Framework's text, so its status is read back, not parsed out of the text.
    sql: `
      ALTER TABLE workflow_state ADD COLUMN error_detail TEXT;
    `,
  },
  {
    version: 7,
    name: 'os-user-column',
    // The OS user's column takes PostgreSQL's name (`user` is reserved there), so both
    // dialects' tables have the same columns.
    sql: `
      ALTER TABLE workflow_state RENAME COLUMN user TO os_user;
    `,
  },
];
