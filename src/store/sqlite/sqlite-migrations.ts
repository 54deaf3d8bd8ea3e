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
  {
    version: 8,
    name: 'tenant-id',
    // Multi-tenancy (Flow Framework's x-tenant-id): the tenant a state document and an API key
    // belong to. Templates and ML resources carry theirs in their JSON document.
    sql: `
      ALTER TABLE workflow_state ADD COLUMN tenant_id TEXT;
      ALTER TABLE api_keys ADD COLUMN tenant_id TEXT;
    `,
  },
  {
    version: 9,
    name: 'workflows-by-creation',
    // The paged workflow listing (newest first, after a (created_at, id) cursor) reads the
    // first index instead of sorting every workflow (PostgreSQL's schema had it from migration
    // 1), and the second for a state filter that matches few workflows.
    sql: `
      CREATE INDEX IF NOT EXISTS workflows_by_creation ON workflows (created_at, id);
      CREATE INDEX IF NOT EXISTS workflow_state_by_state ON workflow_state (state);
    `,
  },
  {
    version: 10,
    name: 'search-columns',
    // Indexed search (search/query-plan.ts): the template fields workflow/_search filters and
    // sorts on, as generated columns over the stored JSON (kept by every write, no backfill).
    // Equality indexes end with the listing order, so a filtered page is read in order.
    // Names are trimmed of exactly the characters JavaScript's trim() removes, as the serializer
    // does; the times are numbers only (a template's times are always numbers).
    sql: `
      ALTER TABLE workflows ADD COLUMN s_name TEXT GENERATED ALWAYS AS
        (trim(json_extract(template, '$.name'), char(9, 10, 11, 12, 13, 32, 160, 5760, 8192, 8193, 8194, 8195, 8196, 8197, 8198, 8199, 8200, 8201, 8202, 8232, 8233, 8239, 8287, 12288, 65279))) VIRTUAL;
      ALTER TABLE workflows ADD COLUMN s_use_case TEXT GENERATED ALWAYS AS
        (trim(json_extract(template, '$.use_case'), char(9, 10, 11, 12, 13, 32, 160, 5760, 8192, 8193, 8194, 8195, 8196, 8197, 8198, 8199, 8200, 8201, 8202, 8232, 8233, 8239, 8287, 12288, 65279))) VIRTUAL;
      ALTER TABLE workflows ADD COLUMN s_created_time GENERATED ALWAYS AS
        (CASE WHEN json_type(template, '$.created_time') IN ('integer', 'real') THEN json_extract(template, '$.created_time') END) VIRTUAL;
      ALTER TABLE workflows ADD COLUMN s_last_updated_time GENERATED ALWAYS AS
        (CASE WHEN json_type(template, '$.last_updated_time') IN ('integer', 'real') THEN json_extract(template, '$.last_updated_time') END) VIRTUAL;
      ALTER TABLE workflows ADD COLUMN s_last_provisioned_time GENERATED ALWAYS AS
        (CASE WHEN json_type(template, '$.last_provisioned_time') IN ('integer', 'real') THEN json_extract(template, '$.last_provisioned_time') END) VIRTUAL;
      CREATE INDEX workflows_by_name ON workflows (s_name, created_at, id);
      CREATE INDEX workflows_by_use_case ON workflows (s_use_case, created_at, id);
      CREATE INDEX workflows_by_created_time ON workflows (s_created_time);
      CREATE INDEX workflows_by_last_updated_time ON workflows (s_last_updated_time);
      CREATE INDEX workflows_by_last_provisioned_time ON workflows (s_last_provisioned_time);
      CREATE INDEX workflow_state_by_state_and_id ON workflow_state (state, workflow_id);
      CREATE INDEX workflow_state_by_progress_and_id ON workflow_state (progress, workflow_id);
      CREATE INDEX workflow_state_by_start_time ON workflow_state (start_time);
      CREATE INDEX workflow_state_by_end_time ON workflow_state (end_time);
    `,
  },
];
