/**
 * Workflow templates on PostgreSQL. A template write also resets or drops its workflow's state
 * row in the same transaction, taking the locks in the order every writer uses: the template
 * row, then the state row.
 */
import type { Template } from '../../template/types.js';
import type { NewWorkflow, ReplaceResult, WorkflowPageQuery, WorkflowPageRow, WorkflowRecord } from '../store.js';
import type { WorkflowPageDbRow } from '../rows/workflow-page-rows.js';
import { toWorkflowPageRow, workflowPageSql } from '../rows/workflow-page-rows.js';
import type { PgDb } from './postgres-connection.js';
import { deleteStateRows } from './postgres-provisioning.js';
import type { WorkflowRow } from '../rows/workflow-rows.js';
import { toWorkflow } from '../rows/workflow-rows.js';

export class PgWorkflows {
  readonly #db: PgDb;
  /** Serialises createWorkflow's limit check across nodes (per schema: other schemas are other stores). */
  readonly #limitKey: string;

  constructor(db: PgDb, limitKey: string) {
    this.#db = db;
    this.#limitKey = limitKey;
  }

  createWorkflow(input: NewWorkflow): Promise<'ok' | 'limit'> {
    return this.#db.tx(async (q): Promise<'ok' | 'limit'> => {
      // Two nodes creating at once must not both pass the count: they take turns here.
      await q.query('SELECT pg_advisory_xact_lock($1::bigint)', [this.#limitKey]);
      const n = (await q.query<{ n: number }>('SELECT COUNT(*) AS n FROM workflows')).rows[0]?.n ?? 0;
      if (n >= input.maxWorkflows) return 'limit';
      const now = input.template.created_time ?? Date.now();
      // A state row may outlive its template (deleted with resources left): it starts over.
      await q.query(
        `WITH wf AS (INSERT INTO workflows (id, template, version, created_at, updated_at) VALUES ($1, $2, 1, $3, $3))
         INSERT INTO workflow_state (workflow_id, state, progress, os_user, tenant_id, version, updated_at)
         VALUES ($1, 'NOT_STARTED', 'NOT_STARTED', $4, $5, 1, $3)
         ON CONFLICT (workflow_id) DO UPDATE SET state = 'NOT_STARTED', progress = 'NOT_STARTED', os_user = EXCLUDED.os_user, tenant_id = EXCLUDED.tenant_id,
           start_time = NULL, end_time = NULL, error = NULL, error_detail = NULL, run_id = NULL, version = workflow_state.version + 1, updated_at = EXCLUDED.updated_at`,
        [input.id, JSON.stringify(input.template), now, input.user ? JSON.stringify(input.user) : null, input.template.tenant_id ?? null],
      );
      return 'ok';
    });
  }

  async getWorkflow(id: string): Promise<WorkflowRecord | undefined> {
    const row = (await this.#db.query<WorkflowRow>('SELECT id, template, version FROM workflows WHERE id = $1', [id])).rows[0];
    return row ? toWorkflow(row) : undefined;
  }

  replaceWorkflow(id: string, template: Template): Promise<ReplaceResult> {
    return this.#db.tx(async (q): Promise<ReplaceResult> => {
      // Lock order as everywhere: the template row, then the state row.
      if ((await q.query('SELECT 1 FROM workflows WHERE id = $1 FOR UPDATE', [id])).rowCount === 0) return 'not_found';
      const st = (await q.query<{ progress: string }>('SELECT progress FROM workflow_state WHERE workflow_id = $1 FOR UPDATE', [id]))
        .rows[0];
      if (st && st.progress !== 'NOT_STARTED') return 'not_editable';
      await q.query(
        `WITH wf AS (UPDATE workflows SET template = $2, version = version + 1, updated_at = $3 WHERE id = $1)
         UPDATE workflow_state SET state = 'NOT_STARTED', progress = 'NOT_STARTED', os_user = $4, version = version + 1, updated_at = $3
         WHERE workflow_id = $1`,
        [id, JSON.stringify(template), Date.now(), template.user ? JSON.stringify(template.user) : null],
      );
      return 'ok';
    });
  }

  async saveTemplate(id: string, template: Template): Promise<boolean> {
    const r = await this.#db.query('UPDATE workflows SET template = $1, version = version + 1, updated_at = $2 WHERE id = $3', [
      JSON.stringify(template),
      Date.now(),
      id,
    ]);
    return (r.rowCount ?? 0) > 0;
  }

  deleteWorkflow(id: string, clearStatus: boolean): Promise<boolean> {
    return this.#db.tx(async (q) => {
      const deleted = ((await q.query('DELETE FROM workflows WHERE id = $1', [id])).rowCount ?? 0) > 0;
      const st = (await q.query<{ progress: string }>('SELECT progress FROM workflow_state WHERE workflow_id = $1 FOR UPDATE', [id]))
        .rows[0];
      if (st && st.progress !== 'IN_PROGRESS') {
        const hasResources = ((await q.query('SELECT 1 FROM resources WHERE workflow_id = $1 LIMIT 1', [id])).rowCount ?? 0) > 0;
        if (clearStatus || !hasResources) await deleteStateRows(q, id);
      }
      return deleted;
    });
  }

  async countWorkflows(): Promise<number> {
    return (await this.#db.query<{ n: number }>('SELECT COUNT(*) AS n FROM workflows')).rows[0]?.n ?? 0;
  }

  async listWorkflows(): Promise<WorkflowRecord[]> {
    const r = await this.#db.query<WorkflowRow>('SELECT id, template, version FROM workflows ORDER BY created_at, id');
    return r.rows.map(toWorkflow);
  }

  async listWorkflowsPage(q: WorkflowPageQuery): Promise<WorkflowPageRow[]> {
    const params: Array<string | number | string[]> = [];
    const sql = workflowPageSql(q, {
      param: (v) => {
        params.push(v);
        return `$${params.length}`;
      },
      // The template is JSON text: json (not jsonb) parses it without rebuilding it.
      templateField: (field) => `(w.template::json ->> '${field}')`,
      position: (haystack, needle) => `strpos(${haystack}, ${needle})`,
      oneOf: (column, values) => {
        params.push(values);
        return `${column} = ANY($${params.length}::text[])`;
      },
    });
    return (await this.#db.query<WorkflowPageDbRow>(sql, params)).rows.map(toWorkflowPageRow);
  }
}
