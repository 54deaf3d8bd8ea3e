/** Workflow templates on SQLite. A template write also resets or drops its workflow's state row, in the same transaction. */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { Template } from '../../template/types.js';
import type { NewWorkflow, ReplaceResult, WorkflowPageQuery, WorkflowPageRow, WorkflowRecord } from '../store.js';
import type { WorkflowPageDbRow } from '../rows/workflow-page-rows.js';
import { PAGE_FROM, PAGE_FROM_STATES, STATE_FIRST_MAX, toWorkflowPageRow, workflowPageSql } from '../rows/workflow-page-rows.js';
import type { WorkflowRow } from '../rows/workflow-rows.js';
import { toWorkflow } from '../rows/workflow-rows.js';
import type { SqliteProvisioning } from './sqlite-provisioning.js';
import { statementCache } from './sqlite-statement-cache.js';

export class SqliteWorkflows {
  readonly #db: Db;
  readonly #q: (sql: string) => Statement;
  readonly #state: SqliteProvisioning;

  constructor(db: Db, state: SqliteProvisioning) {
    this.#db = db;
    this.#q = statementCache(db);
    this.#state = state;
  }

  async createWorkflow(input: NewWorkflow): Promise<'ok' | 'limit'> {
    return this.#db.transaction((): 'ok' | 'limit' => {
      const n = (this.#q('SELECT COUNT(*) AS n FROM workflows').get() as { n: number }).n;
      if (n >= input.maxWorkflows) return 'limit';
      this.#state.forget(input.id);
      const now = input.template.created_time ?? Date.now();
      this.#q('INSERT INTO workflows (id, template, version, created_at, updated_at) VALUES (?, ?, 1, ?, ?)').run(
        input.id,
        JSON.stringify(input.template),
        now,
        now,
      );
      this.#q(
        `INSERT INTO workflow_state (workflow_id, state, progress, os_user, tenant_id, version, updated_at)
         VALUES (?, 'NOT_STARTED', 'NOT_STARTED', ?, ?, 1, ?)
         ON CONFLICT (workflow_id) DO UPDATE SET state = 'NOT_STARTED', progress = 'NOT_STARTED', os_user = excluded.os_user, tenant_id = excluded.tenant_id,
           start_time = NULL, end_time = NULL, error = NULL, error_detail = NULL, run_id = NULL, version = workflow_state.version + 1, updated_at = excluded.updated_at`,
      ).run(input.id, input.user ? JSON.stringify(input.user) : null, input.template.tenant_id ?? null, now);
      return 'ok';
    })();
  }

  async getWorkflow(id: string): Promise<WorkflowRecord | undefined> {
    const row = this.#q('SELECT id, template, version FROM workflows WHERE id = ?').get(id) as WorkflowRow | undefined;
    return row ? toWorkflow(row) : undefined;
  }

  async replaceWorkflow(id: string, template: Template): Promise<ReplaceResult> {
    return this.#db.transaction((): ReplaceResult => {
      const exists = this.#q('SELECT 1 FROM workflows WHERE id = ?').get(id);
      if (!exists) return 'not_found';
      const st = this.#q('SELECT progress FROM workflow_state WHERE workflow_id = ?').get(id) as { progress: string } | undefined;
      if (st && st.progress !== 'NOT_STARTED') return 'not_editable';
      const now = Date.now();
      this.#state.forget(id);
      this.#q('UPDATE workflows SET template = ?, version = version + 1, updated_at = ? WHERE id = ?').run(
        JSON.stringify(template),
        now,
        id,
      );
      this.#q(
        `UPDATE workflow_state SET state = 'NOT_STARTED', progress = 'NOT_STARTED', os_user = ?, version = version + 1, updated_at = ?
         WHERE workflow_id = ?`,
      ).run(template.user ? JSON.stringify(template.user) : null, now, id);
      return 'ok';
    })();
  }

  async saveTemplate(id: string, template: Template): Promise<boolean> {
    const r = this.#q('UPDATE workflows SET template = ?, version = version + 1, updated_at = ? WHERE id = ?').run(
      JSON.stringify(template),
      Date.now(),
      id,
    );
    return r.changes > 0;
  }

  async deleteWorkflow(id: string, clearStatus: boolean): Promise<boolean> {
    return this.#db.transaction((): boolean => {
      const r = this.#q('DELETE FROM workflows WHERE id = ?').run(id);
      const st = this.#q('SELECT progress FROM workflow_state WHERE workflow_id = ?').get(id) as { progress: string } | undefined;
      if (st && st.progress !== 'IN_PROGRESS') {
        const hasResources = this.#q('SELECT 1 FROM resources WHERE workflow_id = ? LIMIT 1').get(id) !== undefined;
        if (clearStatus || !hasResources) this.#state.deleteStateRows(id);
      }
      return r.changes > 0;
    })();
  }

  async countWorkflows(): Promise<number> {
    return (this.#q('SELECT COUNT(*) AS n FROM workflows').get() as { n: number }).n;
  }

  async listWorkflows(): Promise<WorkflowRecord[]> {
    const rows = this.#q('SELECT id, template, version FROM workflows ORDER BY created_at, id').all() as WorkflowRow[];
    return rows.map(toWorkflow);
  }

  async listWorkflowsPage(q: WorkflowPageQuery): Promise<WorkflowPageRow[]> {
    // SQLite keeps no statistics here, so the plan is chosen by counting: a few workflows in
    // the asked states (PROVISIONING, FAILED…) are read by state and sorted; many are found by
    // walking the workflows newest first, which stops once the page is full.
    let from = PAGE_FROM;
    if (q.states && q.states.length > 0 && !q.states.includes('NOT_STARTED') && !q.ids) {
      const n = this.#q('SELECT COUNT(*) AS n FROM workflow_state WHERE state IN (SELECT value FROM json_each(?))').get(
        JSON.stringify(q.states),
      ) as { n: number };
      if (n.n <= STATE_FIRST_MAX) from = PAGE_FROM_STATES;
    }
    const params: Array<string | number> = [];
    const sql = workflowPageSql(
      q,
      {
        param: (v) => {
          params.push(v);
          return '?';
        },
        templateField: (field) => `json_extract(w.template, '$.${field}')`,
        position: (haystack, needle) => `instr(${haystack}, ${needle})`,
        oneOf: (column, values) => {
          params.push(JSON.stringify(values));
          return `${column} IN (SELECT value FROM json_each(?))`;
        },
      },
      from,
    );
    // Only the filters' shape varies (a few dozen statements at most), so the cache stays small.
    return (this.#q(sql).all(...params) as WorkflowPageDbRow[]).map(toWorkflowPageRow);
  }
}
