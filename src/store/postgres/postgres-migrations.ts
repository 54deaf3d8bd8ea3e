/**
 * Numbered, append-only migrations for the PostgreSQL store: the same tables and the same
 * version numbers as SQLite (sqlite-migrations.ts), so `schemaVersion()` means the same on both.
 * Never edit or reorder an entry: add a new one. Timestamps are epoch ms in BIGINT; JSON
 * documents are TEXT (flowd only ever stores and returns them whole).
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'core',
    // `user` is a reserved word in PostgreSQL (unquoted it reads CURRENT_USER), hence `os_user`.
    sql: `
      CREATE TABLE workflows (
        id TEXT PRIMARY KEY,
        template TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE INDEX workflows_by_creation ON workflows (created_at, id);
      CREATE TABLE workflow_state (
        workflow_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        progress TEXT NOT NULL,
        start_time BIGINT,
        end_time BIGINT,
        error TEXT,
        os_user TEXT,
        run_id TEXT,
        version INTEGER NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE TABLE resources (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
        lease_until BIGINT NOT NULL,
        start_time BIGINT NOT NULL,
        active BOOLEAN NOT NULL
      );
      CREATE INDEX runs_by_workflow ON runs (workflow_id);
      CREATE INDEX runs_active ON runs (lease_until) WHERE active;
      CREATE INDEX runs_active_by_owner ON runs (owner) WHERE active;
      CREATE TABLE steps (
        run_id TEXT NOT NULL,
        node_id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        type TEXT NOT NULL,
        state TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        start_time BIGINT,
        end_time BIGINT,
        error TEXT,
        outputs TEXT,
        ord INTEGER NOT NULL,
        PRIMARY KEY (run_id, node_id)
      );
      CREATE INDEX steps_by_workflow ON steps (workflow_id);
      CREATE TABLE workflow_locks (
        workflow_id TEXT NOT NULL,
        op TEXT NOT NULL,
        owner TEXT NOT NULL,
        until BIGINT NOT NULL,
        PRIMARY KEY (workflow_id, op)
      );
      CREATE TABLE ml_resources (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        doc TEXT NOT NULL,
        idempotency_key TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
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
    // Tasks: `seq` (an identity, never reused) gives FIFO order and cursors. Claims walk
    // (workflow_id, status, seq); lease sweeps read the small partial index of RUNNING rows.
    // The payloads are TEXT: TOASTed out of line when large, so status reads stay cheap.
    sql: `
      CREATE TABLE publications (
        workflow_id TEXT PRIMARY KEY,
        mode TEXT NOT NULL,
        spec TEXT NOT NULL,
        version INTEGER NOT NULL,
        desired_status TEXT NOT NULL,
        published_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE TABLE tasks (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        task_id TEXT NOT NULL UNIQUE,
        workflow_id TEXT NOT NULL,
        status TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        started_at BIGINT,
        finished_at BIGINT,
        expires_at BIGINT NOT NULL,
        owner TEXT,
        lease_until BIGINT,
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
        prev_valid_until BIGINT,
        workflow_ids TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        created_by TEXT,
        rotated_at BIGINT,
        last_used_at BIGINT
      );
      CREATE INDEX api_keys_prev_hash ON api_keys (prev_hash) WHERE prev_hash IS NOT NULL;
    `,
  },
  {
    version: 3,
    name: 'cluster',
    sql: `
      CREATE TABLE nodes (
        node_id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        heartbeat_at BIGINT NOT NULL,
        info TEXT NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'no-running-index',
    // The partial index of RUNNING tasks cost an entry on every claim, and misled the planner:
    // without fresh statistics (autovacuum off, or a burst of work) it underestimates the
    // predicate, so a result batch hash-joined every entry the index ever had (dead ones
    // included) instead of looking its rows up by key. Lease renewal and the orphan sweep now
    // read the RUNNING range of tasks_by_status, workflow by workflow.
    sql: `
      DROP INDEX IF EXISTS tasks_running;
    `,
  },
  {
    version: 5,
    name: 'run-attempts',
    // As on SQLite: how many times a provisioning run was started (resumes counted when claimed).
    sql: `
      ALTER TABLE runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
    `,
  },
  {
    version: 6,
    name: 'error-detail',
    // As on SQLite: the error a run failed with as a serialized FlowdError beside its text.
    sql: `
      ALTER TABLE workflow_state ADD COLUMN error_detail TEXT;
    `,
  },
  {
    version: 7,
    name: 'os-user-column',
    // SQLite renamed its `user` column to `os_user`, the name this schema always had: nothing
    // to do here but keep the numbering the same on both.
    sql: `
      SELECT 1;
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
    // SQLite gained the index of workflows by creation PostgreSQL's schema had from migration 1
    // (the paged workflow listing reads it); both gain the index of states by state.
    sql: `
      CREATE INDEX IF NOT EXISTS workflows_by_creation ON workflows (created_at, id);
      CREATE INDEX IF NOT EXISTS workflow_state_by_state ON workflow_state (state);
    `,
  },
  {
    version: 10,
    name: 'search-columns',
    // Indexed search (search/query-plan.ts): expression indexes over the stored JSON for the
    // template fields workflow/_search filters and sorts on (kept by every write; the queries
    // repeat the expressions, search-columns.ts). Strings in the "C" collation: code point order,
    // as prefix ranges need. Names are trimmed of exactly the characters JavaScript's trim()
    // removes, as the serializer does. A template whose JSON holds a lone surrogate escape
    // (which PostgreSQL's JSON parser refuses) gets NULLs rather than failing its write.
    // SQLite has the same as generated columns. Equality indexes end with the listing order.
    sql: `
      CREATE INDEX workflows_by_name ON workflows (((CASE WHEN template ~ '\\\\u[dD][89a-fA-F]' THEN NULL ELSE btrim((template::jsonb)->>'name', E'\\u0009\\u000a\\u000b\\u000c\\u000d\\u0020\\u00a0\\u1680\\u2000\\u2001\\u2002\\u2003\\u2004\\u2005\\u2006\\u2007\\u2008\\u2009\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff') END) COLLATE "C"), created_at, id);
      CREATE INDEX workflows_by_use_case ON workflows (((CASE WHEN template ~ '\\\\u[dD][89a-fA-F]' THEN NULL ELSE btrim((template::jsonb)->>'use_case', E'\\u0009\\u000a\\u000b\\u000c\\u000d\\u0020\\u00a0\\u1680\\u2000\\u2001\\u2002\\u2003\\u2004\\u2005\\u2006\\u2007\\u2008\\u2009\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff') END) COLLATE "C"), created_at, id);
      CREATE INDEX workflows_by_created_time ON workflows ((CASE WHEN template ~ '\\\\u[dD][89a-fA-F]' THEN NULL WHEN jsonb_typeof((template::jsonb)->'created_time') = 'number' THEN ((template::jsonb)->>'created_time')::double precision END));
      CREATE INDEX workflows_by_last_updated_time ON workflows ((CASE WHEN template ~ '\\\\u[dD][89a-fA-F]' THEN NULL WHEN jsonb_typeof((template::jsonb)->'last_updated_time') = 'number' THEN ((template::jsonb)->>'last_updated_time')::double precision END));
      CREATE INDEX workflows_by_last_provisioned_time ON workflows ((CASE WHEN template ~ '\\\\u[dD][89a-fA-F]' THEN NULL WHEN jsonb_typeof((template::jsonb)->'last_provisioned_time') = 'number' THEN ((template::jsonb)->>'last_provisioned_time')::double precision END));
      CREATE INDEX workflow_state_by_id_c ON workflow_state ((workflow_id COLLATE "C"));
      CREATE INDEX workflow_state_by_state_and_id ON workflow_state (state, workflow_id);
      CREATE INDEX workflow_state_by_progress_and_id ON workflow_state (progress, workflow_id);
      CREATE INDEX workflow_state_by_start_time ON workflow_state (start_time);
      CREATE INDEX workflow_state_by_end_time ON workflow_state (end_time);
    `,
  },
];

export const LATEST_POSTGRES_VERSION = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]?.version ?? 0;
