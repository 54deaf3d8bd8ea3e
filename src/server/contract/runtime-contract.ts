/**
 * The NL Flow runtime API's contract (runtime-routes.ts): the runtime status, analyze and the
 * task API under /api/v1/runtime/workflow/{workflowId}. Every route takes `X-API-KEY`; errors
 * are NL Flow's `{"errors": [...]}` (RuntimeErrors). Bodies are camelCase, times ISO 8601.
 * route-schema.ts explains how a declaration validates, serializes and documents a route.
 */
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { TSchema } from 'typebox';
import { validationError } from '../../errors.js';
import type { JsonObject } from '../../util/json.js';
import { parseJsonBody } from '../bounded-body.js';
import { AnyJson, OpenObject, pathParams, stringEnum } from './common-schemas.js';
import { routeSchema } from './route-schema.js';

const TAGS_RUNTIME = ['runtime'] as const;
const TAGS_TASKS = ['tasks'] as const;

// ---- shared pieces ----

/** One error of NL Flow's error body: what failed, where (`node`: the block, or `$input`), flowd's stable code. */
export const RuntimeErrorItem = Type.Object(
  {
    message: Type.String(),
    node: Type.Optional(Type.String()),
    code: Type.String(),
    retryable: Type.Boolean(),
  },
  { title: 'RuntimeErrorItem', additionalProperties: true },
);

/**
 * NL Flow's error body; with `verboseErrorOutput=true` a failed analyze adds `componentsData`
 * (per block) and `workflowData`.
 */
export const RuntimeErrors = Type.Object(
  {
    errors: Type.Array(RuntimeErrorItem),
    componentsData: Type.Optional(OpenObject({ description: 'verboseErrorOutput: per block, its status, duration, output or error' })),
    workflowData: Type.Optional(OpenObject({ description: 'verboseErrorOutput: the input and the whole run duration' })),
  },
  { title: 'RuntimeErrors', additionalProperties: true },
);

/** The 4xx/5xx answers of every runtime route (error-renderer.ts). */
export const RUNTIME_ERRORS = { '4xx': RuntimeErrors, '5xx': RuntimeErrors } as const;

export const RuntimeHealth = stringEnum(['GREEN', 'YELLOW', 'ORANGE', 'RED'], { title: 'RuntimeHealth' });
export const RolloutStatus = stringEnum(['InProgress', 'Complete', 'Failed'], { title: 'RolloutStatus' });
export const TaskStatus = stringEnum(['QUEUED', 'RUNNING', 'COMPLETED', 'ERROR', 'CANCELED'], { title: 'TaskStatus' });

/** A workflow input (what analyze runs on, what a task carries): a JSON object, kept as sent. */
export const WorkflowInput = OpenObject({ title: 'WorkflowInput', description: 'The workflow input: a JSON object' });

const ApiKeyHeaders = Type.Object(
  {
    'x-api-key': Type.Optional(
      Type.String({ description: 'An API key linked to the workflow (POST /_flowd/api_keys); checked before anything else' }),
    ),
  },
  { additionalProperties: true },
);
const CorrelatedHeaders = Type.Object(
  {
    'x-api-key': Type.Optional(Type.String({ description: 'An API key linked to the workflow' })),
    'x-correlation-id': Type.Optional(Type.String({ description: 'Echoed in the answer and the log lines of the request' })),
  },
  { additionalProperties: true },
);
const SubmitHeaders = Type.Object(
  {
    'x-api-key': Type.Optional(Type.String({ description: 'An API key linked to the workflow' })),
    'x-correlation-id': Type.Optional(Type.String({ description: 'Echoed in the answer and stored with the task' })),
    'idempotency-key': Type.Optional(
      Type.String({ description: '1 to 200 characters: a retried submission with the same key finds the same task' }),
    ),
  },
  { additionalProperties: true },
);

const WorkflowParams = pathParams('workflowId');
const TaskParams = pathParams('workflowId', 'taskId');

// ---- runtime status ----

export const ReplicaDetail = Type.Object(
  {
    name: Type.String(),
    ready: Type.Boolean(),
    available: Type.Boolean(),
    restarts: Type.Number(),
    started_at: Type.String(),
    version: Type.Optional(Type.Number()),
    node: Type.Optional(Type.String({ description: 'flowd (cluster): the node this instance runs on' })),
  },
  { title: 'ReplicaDetail' },
);

/** One service of a published flow (a block, or the ASYNC executor), in the order published-flow.ts builds it. */
export const ServiceStatus = Type.Object(
  {
    id: Type.String(),
    desired: Type.Number(),
    actual: Type.Number(),
    status: RuntimeHealth,
    rolloutStatus: RolloutStatus,
    rolloutStatusReason: Type.Optional(Type.String()),
    replicasDetail: Type.Optional(Type.Array(ReplicaDetail)),
    blockId: Type.Optional(Type.String({ description: 'flowd: the block this service runs (absent for the executor)' })),
    queueDepth: Type.Optional(Type.Number({ description: 'flowd: inputs waiting for an instance of this service' })),
    inFlight: Type.Optional(Type.Number({ description: 'flowd: inputs being processed by it' })),
    targetReplicas: Type.Optional(Type.Number({ description: 'flowd (ASYNC): instances the autoscaler currently wants' })),
    minReplicas: Type.Optional(Type.Number()),
    maxReplicas: Type.Optional(Type.Number()),
  },
  { title: 'ServiceStatus' },
);

export const StreamStatus = Type.Object(
  { id: Type.String(), desired: Type.Number(), actual: Type.Number(), status: RuntimeHealth },
  { title: 'StreamStatus' },
);

/** NL Flow's workflow status with flowd's additions (runtime/runtime-status.ts). */
export const RuntimeStatus = Type.Object(
  {
    desiredStatus: stringEnum(['PUBLISHED']),
    actualStatus: RuntimeHealth,
    publishingMode: stringEnum(['SYNC', 'ASYNC']),
    usable: Type.Boolean({ description: 'flowd: whether requests are served now (an ASYNC flow scaled to zero is usable)' }),
    reason: Type.String(),
    message: Type.Optional(Type.String()),
    observedVersion: Type.Number(),
    desiredVersion: Type.Number(),
    lastTransitionTime: Type.String(),
    tasks: Type.Optional(Type.Object({ queued: Type.Number(), running: Type.Number() }, { description: 'flowd (ASYNC): tasks by status' })),
    details: Type.Object({ stream: StreamStatus, services: Type.Array(ServiceStatus) }),
  },
  { title: 'RuntimeStatus' },
);

/** 200 of a watchable route: the JSON body, or with `watch=true` the event stream. */
export function jsonOrStream(
  json: TSchema,
  streamDescription: string,
): { description: string; content: Record<string, { schema: TSchema }> } {
  return {
    description: `The JSON body; with watch=true a text/event-stream (${streamDescription})`,
    content: { 'application/json': { schema: json }, 'text/event-stream': { schema: Type.String({ description: streamDescription }) } },
  };
}

// ---- tasks ----

/** A task of the runtime API (no payloads: those have their own routes). Times are ISO 8601. */
export const TaskInfo = Type.Object(
  {
    taskId: Type.String(),
    status: TaskStatus,
    attempt: Type.Number({ description: 'How many times a runner claimed it' }),
    createdAt: Type.String(),
    startedAt: Type.Optional(Type.String()),
    finishedAt: Type.Optional(Type.String()),
    durationMs: Type.Optional(Type.Number()),
    expiresAt: Type.String(),
    correlationId: Type.Optional(Type.String()),
  },
  { title: 'TaskInfo' },
);

/** An id of `POST task/status` that matches no task of the workflow. */
export const TaskNotFound = Type.Object({ taskId: Type.String(), status: stringEnum(['NOT_FOUND']) }, { title: 'TaskNotFound' });

export const TaskBatchItem = Type.Object(
  {
    input: WorkflowInput,
    idempotencyKey: Type.Optional(Type.String({ description: '1 to 200 characters; unique within the batch' })),
  },
  { title: 'TaskBatchItem' },
);

export const TaskBatchRequest = Type.Object(
  { tasks: Type.Array(TaskBatchItem, { description: '1 to 1000 items' }) },
  { title: 'TaskBatchRequest' },
);

/** The tasks in the order sent, and how many were created (0: all already existed). */
export const TaskBatchResult = Type.Object({ tasks: Type.Array(TaskInfo), created: Type.Number() }, { title: 'TaskBatchResult' });

export const TaskList = Type.Object(
  { tasks: Type.Array(TaskInfo), next: Type.Optional(Type.String({ description: 'Cursor of the next page, when there is one' })) },
  { title: 'TaskList' },
);

export const TaskStatusRequest = Type.Object(
  { taskIds: Type.Array(Type.String(), { description: '1 to 1000 task ids' }) },
  { title: 'TaskStatusRequest' },
);

export const TaskStatusList = Type.Object({ tasks: Type.Array(Type.Union([TaskInfo, TaskNotFound])) }, { title: 'TaskStatusList' });

export const TaskDeleted = Type.Object({ taskId: Type.String(), status: TaskStatus, deleted: Type.Boolean() }, { title: 'TaskDeleted' });

export const TasksDeleted = Type.Object(
  { deleted: Type.Number({ description: 'How many tasks were deleted' }) },
  { title: 'TasksDeleted' },
);

// ---- routes ----

export const RuntimeContract = {
  status: routeSchema({
    summary: 'Runtime status of a published workflow (NL Flow)',
    tags: TAGS_RUNTIME,
    description: 'Header X-API-KEY. 404 with no body when never published; watch=true streams Server-Sent Events.',
    params: WorkflowParams,
    querystring: Type.Object(
      {
        watch: Type.Optional(
          Type.String({ description: 'true: follow it as Server-Sent Events (`event: status`, then `event: unpublished` ends it)' }),
        ),
      },
      { additionalProperties: true },
    ),
    headers: ApiKeyHeaders,
    response: {
      200: jsonOrStream(RuntimeStatus, '`event: status` with the status on every change; `event: unpublished` when the flow goes away'),
      ...RUNTIME_ERRORS,
    },
  }),
  analyze: routeSchema({
    summary: 'Analyze a document (SYNC; ASYNC all-in-one)',
    tags: TAGS_RUNTIME,
    description: 'Header X-API-KEY, optional X-Correlation-Id; query verboseErrorOutput.',
    params: WorkflowParams,
    querystring: Type.Object(
      { verboseErrorOutput: Type.Optional(Type.String({ description: 'true: a failure adds componentsData and workflowData' })) },
      { additionalProperties: true },
    ),
    headers: CorrelatedHeaders,
    body: WorkflowInput,
    response: { 200: AnyJson("The flow's output"), ...RUNTIME_ERRORS },
  }),
  submitTask: routeSchema({
    summary: 'Submit a task (202 + Location)',
    tags: TAGS_TASKS,
    description: 'Optional Idempotency-Key header: 200 with the existing task when the key was used before.',
    params: WorkflowParams,
    headers: SubmitHeaders,
    body: WorkflowInput,
    response: { 200: TaskInfo, 202: TaskInfo, ...RUNTIME_ERRORS },
  }),
  submitBatch: routeSchema({
    summary: 'Submit many tasks (202 when any was created, 200 when all already existed)',
    tags: TAGS_TASKS,
    description:
      'Body: {"tasks": [{"input": {...}, "idempotencyKey": "optional"}, ...]} with 1 to 1000 items. Optional Idempotency-Key header: an item without its own key gets "<header>#<index>", so a retried batch returns the same tasks. Answers {"tasks": [...], "created": n}, in order.',
    params: WorkflowParams,
    headers: SubmitHeaders,
    body: TaskBatchRequest,
    response: { 200: TaskBatchResult, 202: TaskBatchResult, ...RUNTIME_ERRORS },
  }),
  listTasks: routeSchema({
    summary: 'List tasks',
    tags: TAGS_TASKS,
    description: 'Query: status=QUEUED,RUNNING,…, limit, cursor.',
    params: WorkflowParams,
    querystring: Type.Object(
      {
        status: Type.Optional(Type.String({ description: 'Comma-separated task statuses' })),
        limit: Type.Optional(Type.String({ description: '1 to 1000 (default 100)' })),
        cursor: Type.Optional(Type.String({ description: 'The `next` of the previous page' })),
      },
      { additionalProperties: true },
    ),
    headers: ApiKeyHeaders,
    response: { 200: TaskList, ...RUNTIME_ERRORS },
  }),
  taskStatusMany: routeSchema({
    summary: 'Status of many tasks',
    tags: TAGS_TASKS,
    description: 'Body: {"taskIds": [...]}; an id of no task answers {"taskId", "status": "NOT_FOUND"}.',
    params: WorkflowParams,
    headers: ApiKeyHeaders,
    body: TaskStatusRequest,
    response: { 200: TaskStatusList, ...RUNTIME_ERRORS },
  }),
  deleteTasks: routeSchema({
    summary: 'Delete tasks (all, or by status=…); running ones are canceled',
    tags: TAGS_TASKS,
    params: WorkflowParams,
    querystring: Type.Object(
      { status: Type.Optional(Type.String({ description: 'Comma-separated task statuses' })) },
      { additionalProperties: true },
    ),
    headers: ApiKeyHeaders,
    response: { 200: TasksDeleted, ...RUNTIME_ERRORS },
  }),
  taskStatus: routeSchema({
    summary: 'Task status',
    tags: TAGS_TASKS,
    description: 'Query: wait=30s long-polls until the task ends.',
    params: TaskParams,
    querystring: Type.Object(
      { wait: Type.Optional(Type.String({ description: 'A time value (30s) or seconds: answer once the task ended or this passed' })) },
      { additionalProperties: true },
    ),
    headers: ApiKeyHeaders,
    response: { 200: TaskInfo, ...RUNTIME_ERRORS },
  }),
  taskResult: routeSchema({
    summary: 'Task result (the output, or the errors body)',
    tags: TAGS_TASKS,
    description: 'Header X-Task-Status says how the task ended; 409 while it runs or when it was canceled.',
    params: TaskParams,
    headers: ApiKeyHeaders,
    response: { 200: AnyJson('The flow\'s output, or a failed task\'s {"errors": [...]}'), ...RUNTIME_ERRORS },
  }),
  taskInput: routeSchema({
    summary: 'Task input as submitted',
    tags: TAGS_TASKS,
    params: TaskParams,
    headers: ApiKeyHeaders,
    response: { 200: AnyJson('The input as submitted'), ...RUNTIME_ERRORS },
  }),
  deleteTask: routeSchema({
    summary: 'Cancel (if running) and delete a task',
    tags: TAGS_TASKS,
    params: TaskParams,
    headers: ApiKeyHeaders,
    response: { 200: TaskDeleted, ...RUNTIME_ERRORS },
  }),
};

/** The runtime API's named schemas (wire-schemas.ts). */
export const RUNTIME_WIRE: Readonly<Record<string, TSchema>> = {
  RuntimeErrorItem,
  RuntimeErrors,
  RuntimeHealth,
  RolloutStatus,
  TaskStatus,
  WorkflowInput,
  ReplicaDetail,
  ServiceStatus,
  StreamStatus,
  RuntimeStatus,
  TaskInfo,
  TaskNotFound,
  TaskBatchItem,
  TaskBatchRequest,
  TaskBatchResult,
  TaskList,
  TaskStatusRequest,
  TaskStatusList,
  TaskDeleted,
  TasksDeleted,
};

/**
 * The body decoder of analyze and task submission (`config.decodeBody`): JSON whatever its
 * content type, within the body bounds, and an object (NL Flow: "an UTF-8 encoded JSON
 * object"); anything else is a 400 `flow.invalid_input` at `$input`.
 */
export function decodeWorkflowInput(req: FastifyRequest): JsonObject {
  const invalid = (why: string): Error =>
    validationError(`The request body must be a JSON object: ${why}`, { code: 'flow.invalid_input', node: '$input' });
  const v = parseJsonBody(req, invalid);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw validationError('The request body must be a JSON object (the workflow input), e.g. {"text": "hello"}', {
      code: 'flow.invalid_input',
      node: '$input',
    });
  }
  return v as JsonObject;
}
