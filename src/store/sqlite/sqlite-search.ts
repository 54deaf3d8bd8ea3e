/** Indexed candidate reads for workflow/_search and state/_search on SQLite (search-sql.ts renders the plan). */
import type { Database as Db } from 'better-sqlite3';
import type { StateRecord, WorkflowRecord } from '../store.js';
import type { CandidatePlan, CandidateResult } from '../search-plan.js';
import { type SearchTable, type SqlDialect, runCandidatePlan } from '../search-sql.js';
import { LOWERS_TO_ASCII, NUMERIC_SEARCH_FIELDS, STATE_SEARCH_COLUMNS, TEMPLATE_SEARCH_COLUMNS } from '../search-columns.js';
import type { WorkflowRow } from '../rows/workflow-rows.js';
import { toWorkflow } from '../rows/workflow-rows.js';
import type { SqliteProvisioning } from './sqlite-provisioning.js';

export class SqliteSearch {
  readonly #dialect: SqlDialect;
  readonly #templates: SearchTable<WorkflowRecord>;
  readonly #states: SearchTable<StateRecord>;

  constructor(db: Db, state: SqliteProvisioning) {
    this.#dialect = {
      placeholder: () => '?',
      inList(col, values, _numeric, params) {
        params.push(JSON.stringify(values));
        return `${col} IN (SELECT value FROM json_each(?))`;
      },
      hasRole(json, path, values, params) {
        params.push(JSON.stringify(values));
        const at = path === '' ? '$.backend_roles' : `$.${path}.backend_roles`;
        return `EXISTS (SELECT 1 FROM json_each(${json}, '${at}') r WHERE r.value IN (SELECT value FROM json_each(?)))`;
      },
      contains(col, token, params) {
        params.push(token, ...LOWERS_TO_ASCII);
        return `(instr(lower(${col}), ?) > 0 OR ${LOWERS_TO_ASCII.map(() => `instr(${col}, ?) > 0`).join(' OR ')})`;
      },
      // Dynamic SQL (the plan's shape varies), so not cached; better-sqlite3 is synchronous.
      all: async (sql, params) => db.prepare(sql).all(...params) as Record<string, unknown>[],
    };
    this.#templates = {
      table: 'workflows',
      user: { json: 'template', path: 'user' },
      columns: TEMPLATE_SEARCH_COLUMNS,
      numeric: NUMERIC_SEARCH_FIELDS,
      select: 'id, template, version',
      listing: 'created_at, id',
      toRecords: async (rows) => (rows as unknown as WorkflowRow[]).map(toWorkflow),
    };
    this.#states = {
      table: 'workflow_state',
      user: { json: 'os_user', path: '' },
      columns: STATE_SEARCH_COLUMNS,
      numeric: NUMERIC_SEARCH_FIELDS,
      select: 'workflow_id',
      listing: 'workflow_id',
      toRecords: async (rows) => {
        const out: StateRecord[] = [];
        for (const r of rows) {
          const s = await state.getState(r['workflow_id'] as string, { steps: false });
          if (s !== undefined) out.push(s);
        }
        return out;
      },
    };
  }

  searchWorkflowCandidates(plan: CandidatePlan): Promise<CandidateResult<WorkflowRecord>> {
    return runCandidatePlan(plan, this.#templates, this.#dialect);
  }

  searchStateCandidates(plan: CandidatePlan): Promise<CandidateResult<StateRecord>> {
    return runCandidatePlan(plan, this.#states, this.#dialect);
  }
}
