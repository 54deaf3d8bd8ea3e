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
    created_time: Type.Number({ description: 'Epoch ms the workflow was created: the list is ordered by it (newest first)' }),
    last_change: Type.Number({ description: 'Epoch ms of the last change to the template or its state' }),
    error: Type.Optional(Type.String()),
    runtime_status: Type.Optional(RuntimeHealth),
  },
  { title: 'WorkflowOverview' },
);

const NEXT = Type.Optional(Type.String({ description: 'Pass as `after` for the next page; absent on the last page' }));

/** One page of the list, at most `size` rows. */
export const WorkflowOverviewList = Type.Object({ workflows: Type.Array(WorkflowOverview), next: NEXT }, { title: 'WorkflowOverviewList' });

/** What the list stream sends after its first page: only the rows that changed, entered or left it. */
export const WorkflowOverviewChanges = Type.Object(
  {
    workflows: Type.Array(WorkflowOverview, { description: 'Rows that changed or entered the page (place them by created_time)' }),
    removed: Type.Array(Type.String(), { description: 'Ids of rows that left the page (deleted, filtered out, pushed to the next page)' }),
    next: NEXT,
  },
  { title: 'WorkflowOverviewChanges' },
);

const WATCH = Type.Object(
  { watch: Type.Optional(Type.String({ description: 'true: follow it as Server-Sent Events' })) },
  { additionalProperties: true },
);

const LIST_QUERY = Type.Object(
  {
    watch: Type.Optional(Type.String({ description: 'true: follow the page as Server-Sent Events' })),
    size: Type.Optional(Type.String({ description: 'Rows per page: 1 to 1000 (default 50)' })),
    after: Type.Optional(Type.String({ description: 'The `next` of the previous page' })),
    state: Type.Optional(Type.String({ description: 'Only these states, comma-separated: NOT_STARTED, PROVISIONING, COMPLETED, FAILED' })),
    query: Type.Optional(Type.String({ description: 'Case-insensitive text in the name or description, or the exact workflow id' })),
    order: Type.Optional(Type.String({ description: 'desc (default: newest first) or asc' })),
  },
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
    description:
      'One bounded page, newest first, filtered by state and text; `next` pages on. watch=true streams the page, then only its changes.',
    querystring: LIST_QUERY,
    response: {
      200: jsonOrStream(
        WorkflowOverviewList,
        '`event: workflows` with the page (a WorkflowOverviewList), then `event: changes` (a WorkflowOverviewChanges) with only what changed in it',
      ),
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
export const DASHBOARD_WIRE = { WorkflowOverview, WorkflowOverviewList, WorkflowOverviewChanges };
