/**
 * A durable run's plan: what to do with each node. Stored with the run, so a run resumed after
 * a crash does exactly what the interrupted one set out to do, even if the template changed.
 *
 * The stored JSON carries a version and is checked against the schema of that version when
 * read back: a resume must not act on a plan it misreads (one written by a newer flowd, or a
 * damaged row). Plans stored before the version field existed read as version 1.
 */
import { Type } from 'typebox';
import type { Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { internalError } from '../errors.js';
import type { ResourceCreated } from '../store/store.js';
import type { Template, Workflow } from '../template/types.js';
import type { JsonObject } from '../util/json.js';

export type NodeAction = 'create' | 'update' | 'replay';
export type OnFailure = 'keep' | 'rollback';

export interface Plan {
  workflow: Workflow;
  actions: Record<string, NodeAction>;
  /** Outputs of unchanged nodes replayed from the previous run (reprovision). */
  replayOutputs: Record<string, JsonObject>;
  /** Resources of nodes removed from the template (reprovision): deleted after the rest succeeds. */
  removed: ResourceCreated[];
  /** user_inputs (secrets still sealed) of the removed nodes, for their deleters. */
  removedInputs?: Record<string, JsonObject>;
  onFailure: OnFailure;
  /** Reprovision: the new template, saved when the run completes. */
  template?: Template;
}

/** The version planToJson writes; bump it (and keep reading the old ones) when Plan changes shape. */
export const PLAN_VERSION = 1;

const JsonObjectSchema = Type.Record(Type.String(), Type.Unknown());
const StringMap = Type.Record(Type.String(), Type.String());

const WorkflowSchema = Type.Object({
  user_params: StringMap,
  nodes: Type.Array(
    Type.Object({ id: Type.String(), type: Type.String(), previous_node_inputs: StringMap, user_inputs: JsonObjectSchema }),
  ),
  edges: Type.Array(Type.Object({ source: Type.String(), dest: Type.String() })),
});

/** Version 1. The template is checked as far as the run uses it (its workflows); the parser vetted the rest when it was stored. */
const PlanV1 = Type.Object({
  version: Type.Optional(Type.Literal(1)),
  workflow: WorkflowSchema,
  actions: Type.Record(Type.String(), Type.Union([Type.Literal('create'), Type.Literal('update'), Type.Literal('replay')])),
  replayOutputs: Type.Record(Type.String(), JsonObjectSchema),
  removed: Type.Array(
    Type.Object({
      workflow_step_name: Type.String(),
      workflow_step_id: Type.String(),
      resource_type: Type.String(),
      resource_id: Type.String(),
    }),
  ),
  removedInputs: Type.Optional(Type.Record(Type.String(), JsonObjectSchema)),
  onFailure: Type.Union([Type.Literal('keep'), Type.Literal('rollback')]),
  template: Type.Optional(Type.Object({ workflows: Type.Record(Type.String(), WorkflowSchema) })),
});

const checkV1 = Compile(PlanV1);

export const planToJson = (p: Plan): JsonObject => ({ version: PLAN_VERSION, ...(p as unknown as JsonObject) });

/** The stored plan, checked; an internal error (code `run.plan_invalid`) when it is not a plan this node can run. */
export function planFromJson(j: JsonObject): Plan {
  const version = j['version'] ?? 1;
  if (version !== PLAN_VERSION) {
    throw internalError(
      `The run's stored plan has version [${JSON.stringify(version)}], which this flowd does not know (it reads version ${PLAN_VERSION}).`,
      {
        code: 'run.plan_invalid',
      },
    );
  }
  if (!checkV1.Check(j)) {
    const first = checkV1.Errors(j)[0];
    const where = first ? `${first.instancePath || '/'}: ${first.message}` : 'unknown shape';
    throw internalError(`The run's stored plan is malformed (${where}).`, { code: 'run.plan_invalid' });
  }
  const { version: _version, ...plan } = j as Static<typeof PlanV1>;
  return plan as unknown as Plan;
}
