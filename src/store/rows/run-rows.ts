/** The runs row as both stores read and write it (same columns on SQLite and PostgreSQL), and its mapping to and from the Store port's record. */
import type { JsonObject } from '../../util/json.js';
import type { BeginRunInput, RunRecord } from '../store.js';

export interface RunRow {
  run_id: string;
  workflow_id: string;
  kind: RunRecord['kind'];
  plan: string;
  params: string;
  owner: string;
  lease_until: number;
  start_time: number;
  attempts: number;
}

/** The columns beginRun inserts (`attempts` starts at its default, 1). */
export const RUN_COLS = 'run_id, workflow_id, kind, plan, params, owner, lease_until, start_time';
/** The columns a run is read with. */
export const RUN_READ_COLS = `${RUN_COLS}, attempts`;

export const toRun = (r: RunRow): RunRecord => ({
  runId: r.run_id,
  workflowId: r.workflow_id,
  kind: r.kind,
  plan: JSON.parse(r.plan) as JsonObject,
  params: r.params,
  owner: r.owner,
  leaseUntil: r.lease_until,
  startTime: r.start_time,
  attempt: r.attempts,
});

/** The values of the run row that beginRun inserts, in RUN_COLS order. */
export const newRunValues = (input: BeginRunInput): [string, string, RunRecord['kind'], string, string, string, number, number] => [
  input.runId,
  input.workflowId,
  input.kind,
  JSON.stringify(input.plan),
  input.params,
  input.owner,
  input.startTime + input.leaseMs,
  input.startTime,
];
