/** Indexed candidate reads for workflow/_search and state/_search on PostgreSQL (search-sql.ts renders the plan). */
import type { StateRecord, WorkflowRecord } from '../store.js';
import type { CandidatePlan, CandidateResult } from '../search-plan.js';
import { type SearchTable, type SqlDialect, runCandidatePlan } from '../search-sql.js';
import {
  LOWERS_TO_ASCII,
  NUMERIC_SEARCH_FIELDS,
  PG_TEMPLATE_SEARCH_COLUMNS,
  PG_UNPARSABLE,
  STATE_SEARCH_COLUMNS,
} from '../search-columns.js';
import type { WorkflowRow } from '../rows/workflow-rows.js';
import { toWorkflow } from '../rows/workflow-rows.js';
import type { PgDb } from './postgres-connection.js';
import type { StateRow } from './postgres-rows.js';
import { stateSelect, toState } from './postgres-rows.js';

export class PgSearch {
  readonly #dialect: SqlDialect;
  readonly #templates: SearchTable<WorkflowRecord>;
  readonly #states: SearchTable<StateRecord>;

  constructor(db: PgDb) {
    this.#dialect = {
      placeholder: (params) => `$${params.length + 1}`,
      inList(col, values, numeric, params) {
        params.push(values);
        return `${col} = ANY($${params.length}::${numeric ? 'double precision' : 'text'}[])`;
      },
      hasRole(json, path, values, params) {
        params.push(values);
        const at = path === '' ? `(${json}::jsonb)->'backend_roles'` : `(${json}::jsonb)->'${path}'->'backend_roles'`;
        const roles = `(SELECT 1 FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(${at}) = 'array' THEN ${at} END) r WHERE r = ANY($${params.length}::text[]))`;
        // A document PostgreSQL cannot parse (a lone surrogate escape) stays a candidate.
        return `(CASE WHEN ${json} ~ '\\\\u[dD][89a-fA-F]' THEN TRUE ELSE EXISTS ${roles} END)`;
      },
      contains(col, token, params) {
        const ph = (v: unknown): string => `$${params.push(v)}`;
        // lower() in "C" lowercases ASCII only; a template PostgreSQL cannot parse is a candidate.
        const hits = [
          `strpos(lower(${col} COLLATE "C"), ${ph(token)}) > 0`,
          ...LOWERS_TO_ASCII.map((ch) => `strpos(${col}, ${ph(ch)}) > 0`),
        ];
        return `(CASE WHEN ${PG_UNPARSABLE} THEN TRUE ELSE (${hits.join(' OR ')}) END)`;
      },
      // The plan's shape varies: planned each time, never a named statement per shape.
      all: async (sql, params) => (await db.queryPlannedEachTime(sql, params)).rows,
    };
    this.#templates = {
      table: 'workflows',
      user: { json: 'template', path: 'user' },
      columns: PG_TEMPLATE_SEARCH_COLUMNS,
      numeric: NUMERIC_SEARCH_FIELDS,
      select: 'id, template, version',
      listing: 'created_at, id',
      toRecords: async (rows) => (rows as unknown as WorkflowRow[]).map(toWorkflow),
    };
    const prefixed: Record<string, string> = {};
    // workflow_id in code point order, as its "C" index (prefix ranges)
    for (const [f, c] of Object.entries(STATE_SEARCH_COLUMNS)) prefixed[f] = f === 'workflow_id' ? `(s.${c} COLLATE "C")` : `s.${c}`;
    this.#states = {
      table: 'workflow_state s',
      user: { json: 's.os_user', path: '' },
      columns: prefixed,
      numeric: NUMERIC_SEARCH_FIELDS,
      select: stateSelect(false),
      listing: 's.workflow_id',
      toRecords: async (rows) => (rows as unknown as StateRow[]).map(toState),
    };
  }

  searchWorkflowCandidates(plan: CandidatePlan): Promise<CandidateResult<WorkflowRecord>> {
    return runCandidatePlan(plan, this.#templates, this.#dialect);
  }

  searchStateCandidates(plan: CandidatePlan): Promise<CandidateResult<StateRecord>> {
    return runCandidatePlan(plan, this.#states, this.#dialect);
  }
}
