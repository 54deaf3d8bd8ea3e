/**
 * The web dashboard's routes (dashboard-routes.ts): its page and assets (hidden from the API
 * document), and the data routes the management API lacks, with basic auth. The workflow list
 * and the runtime status take `?watch=true` (Server-Sent Events); analyze answers in the runtime
 * API's shapes. route-schema.ts explains the contract.
 */
import { Type } from 'typebox';
import type { ProvisionState, ProvisioningProgress } from '../../store/store.js';
import { AnyJson, FLOW_FRAMEWORK_ERRORS, pathParams, stringEnum } from './common-schemas.js';
import { routeSchema } from './route-schema.js';
import { RUNTIME_ERRORS, RuntimeHealth, RuntimeStatus, WorkflowInput, jsonOrStream } from './runtime-contract.js';

const TAGS = ['dashboard'] as const;

const STATES = ['NOT_STARTED', 'PROVISIONING', 'COMPLETED', 'FAILED'] as const satisfies readonly ProvisionState[];
const PROGRESS = ['NOT_STARTED', 'IN_PROGRESS', 'DONE', 'FAILED'] as const satisfies readonly ProvisioningProgress[];

/** One row of the dashboard's workflow list, in the order dashboard-routes.ts builds it. */
export const WorkflowOverview = Type.Object(
  {
    workflow_id: Type.String(),
    name: Type.String(),
    description: Type.String(),
    state: stringEnum(STATES),
    provisioning_progress: stringEnum(PROGRESS),
    steps_completed: Type.Number({ description: 'Steps of the current (or last) run that completed, of steps_total nodes to provision' }),
    steps_total: Type.Number(),
    last_change: Type.Number({ description: 'Epoch ms of the last change to the template or its state' }),
    error: Type.Optional(Type.String()),
    runtime_status: Type.Optional(RuntimeHealth),
  },
  { title: 'WorkflowOverview' },
);

export const WorkflowOverviewList = Type.Object({ workflows: Type.Array(WorkflowOverview) }, { title: 'WorkflowOverviewList' });

const WATCH = Type.Object(
  { watch: Type.Optional(Type.String({ description: 'true: follow it as Server-Sent Events' })) },
  { additionalProperties: true },
);
const WorkflowParams = pathParams('workflowId');

/** A body sent as bytes or text as it is (never serialized): a file, a page, a message. */
const Bytes = Type.Unsafe<Uint8Array | string>({ type: 'string', format: 'binary' });
const file = (description: string, type: string): { description: string; content: Record<string, { schema: typeof Bytes }> } => ({
  description,
  content: { [type]: { schema: Bytes } },
});

export const DashboardContract = {
  page: routeSchema({
    summary: 'The dashboard page',
    tags: TAGS,
    hide: true,
    response: {
      200: file('The page (no data: its data calls take basic auth)', 'text/html'),
      503: file('The dashboard is not built', 'text/plain'),
    },
  }),
  asset: routeSchema({
    summary: 'A dashboard asset (script, style, font)',
    tags: TAGS,
    hide: true,
    params: pathParams('file'),
    response: {
      200: file('The asset, cached for good (its name holds a content hash)', 'application/octet-stream'),
      ...FLOW_FRAMEWORK_ERRORS,
    },
  }),
  workflows: routeSchema({
    summary: 'Workflow list for the dashboard',
    tags: TAGS,
    description: 'watch=true streams changes.',
    querystring: WATCH,
    response: {
      200: jsonOrStream(WorkflowOverviewList, '`event: workflows` with the whole list, again on every change'),
      ...FLOW_FRAMEWORK_ERRORS,
    },
  }),
  runtime: routeSchema({
    summary: 'Runtime status with basic auth (dashboard)',
    tags: TAGS,
    description:
      "The runtime API's action/status; with watch=true the stream stays open while the flow is not published (`event: unpublished`).",
    params: WorkflowParams,
    querystring: WATCH,
    response: {
      200: jsonOrStream(
        RuntimeStatus,
        '`event: status` on every change; `event: unpublished` with {"workflow_id"} while there is no published flow',
      ),
      ...FLOW_FRAMEWORK_ERRORS,
    },
  }),
  analyze: routeSchema({
    summary: 'Analyze with basic auth (dashboard)',
    tags: TAGS,
    description: "Runs the flow as the runtime API's action/analyze does (permission ml:write); errors in the runtime API's shape.",
    params: WorkflowParams,
    body: WorkflowInput,
    response: { 200: AnyJson("The flow's output"), ...RUNTIME_ERRORS },
  }),
};

/** The dashboard routes' named schemas (wire-schemas.ts). */
export const DASHBOARD_WIRE = { WorkflowOverview, WorkflowOverviewList };
