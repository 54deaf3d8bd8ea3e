/**
 * The NL Flow runtime API under /api/v1/runtime/workflow/{workflowId} and flowd's additions to it:
 * status (with `?watch=true` as Server-Sent Events), SYNC analyze (ASYNC: all-in-one), and
 * the task API. Every route takes `X-API-KEY` instead of basic auth; the key is checked
 * before anything about the workflow is revealed. Each route's schema (contract/runtime-contract.ts)
 * validates its request and serializes its answer; errors use NL Flow's `{"errors": [...]}`
 * shape (error-renderer.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import { validationError } from '../../errors.js';
import type { ApiKeyService } from '../../runtime/api-keys.js';
import type { RuntimeEvents } from '../../runtime/runtime-events.js';
import type { RuntimeManager } from '../../runtime/runtime-manager.js';
import type { TaskRecord, TaskStatus } from '../../store/store.js';
import type { JsonObject } from '../../util/json.js';
import { parseTimeValue } from '../../template/time-value.js';
import { requireApiKey } from '../auth/api-key-auth.js';
import { parseJsonBody } from '../bounded-body.js';
import { requestLogFields } from '../request-ids.js';
import { EventStreams } from './event-stream.js';
import { connectionSignal } from '../connection-signal.js';
import { errorHandlerFor } from '../error-renderer.js';
import { typed } from '../contract/route-schema.js';
import type { TaskInfo } from '../contract/runtime-contract.js';
import { RuntimeContract, decodeWorkflowInput } from '../contract/runtime-contract.js';

export interface RuntimeRoutesOptions {
  runtime: RuntimeManager;
  apiKeys: ApiKeyService;
  events: RuntimeEvents;
  /** Longest a request may wait (analyze of an ASYNC flow, task long-poll). */
  maxWaitMs: number;
}

const BASE = '/api/v1/runtime/workflow/:workflowId';
const STATUSES: readonly TaskStatus[] = ['QUEUED', 'RUNNING', 'COMPLETED', 'ERROR', 'CANCELED'];

/**
 * Timestamps as ISO strings. The two last ones are kept: a batch of tasks shares its created
 * and expiry times, and formatting dates was a visible share of answering a batch.
 */
const isoSeen: Array<[number, string]> = [
  [Number.NaN, ''],
  [Number.NaN, ''],
];
function iso(ms: number): string {
  const [a, b] = isoSeen as [[number, string], [number, string]];
  if (a[0] === ms) return a[1];
  if (b[0] === ms) return b[1];
  const s = new Date(ms).toISOString();
  isoSeen[1] = a;
  isoSeen[0] = [ms, s];
  return s;
}

function taskView(t: TaskRecord): Static<typeof TaskInfo> {
  const out: Static<typeof TaskInfo> = {
    taskId: t.taskId,
    status: t.status,
    attempt: t.attempt,
    createdAt: iso(t.createdAt),
    expiresAt: iso(t.expiresAt),
  };
  if (t.startedAt !== undefined) out.startedAt = iso(t.startedAt);
  if (t.finishedAt !== undefined) out.finishedAt = iso(t.finishedAt);
  if (t.startedAt !== undefined && t.finishedAt !== undefined) out.durationMs = t.finishedAt - t.startedAt;
  if (t.correlationId !== undefined) out.correlationId = t.correlationId;
  return out;
}

const isJsonObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An idempotency key (header or batch item): 1 to 200 characters. */
const MAX_KEY = 200;
const goodKey = (k: string): boolean => k.length > 0 && k.length <= MAX_KEY;

function idempotencyKeyOf(req: FastifyRequest): string | undefined {
  const h = req.headers['idempotency-key'];
  const key = Array.isArray(h) ? h[0] : h;
  if (key !== undefined && !goodKey(key))
    throw validationError(`Idempotency-Key must be 1 to ${MAX_KEY} characters`, { code: 'task.bad_idempotency_key' });
  return key;
}

const MAX_BATCH = 1000;
const BATCH_SHAPE = 'send {"tasks": [{"input": {…}, "idempotencyKey": "optional"}, …]}';

/**
 * The task/batch body: 1 to 1000 items, each with a JSON-object input and an optional key.
 * With an Idempotency-Key header, an item without its own key gets `${header}#${index}`, so a
 * retried batch finds the same tasks. Keys must be unique within the batch. Checked here, not
 * by the schema: each fault has its own code (`task.bad_batch`, `flow.invalid_input`,
 * `task.bad_idempotency_key`) and a message naming the item.
 */
function batchItems(req: FastifyRequest, headerKey: string | undefined): Array<{ input: JsonObject; idempotencyKey?: string }> {
  const body = parseJsonBody(req, (why) =>
    validationError(`The request body must be a JSON object: ${why}; ${BATCH_SHAPE}`, { code: 'task.bad_batch' }),
  );
  const tasks = isJsonObject(body) ? body['tasks'] : undefined;
  if (!Array.isArray(tasks)) throw validationError(`tasks must be an array: ${BATCH_SHAPE}`, { code: 'task.bad_batch' });
  if (tasks.length === 0 || tasks.length > MAX_BATCH) {
    throw validationError(`tasks has ${tasks.length} items: send 1 to ${MAX_BATCH} per batch`, { code: 'task.bad_batch' });
  }
  const items = tasks.map((t: unknown, i) => {
    if (!isJsonObject(t)) throw validationError(`tasks[${i}] must be an object: ${BATCH_SHAPE}`, { code: 'task.bad_batch' });
    const { input, idempotencyKey } = t;
    if (!isJsonObject(input)) {
      throw validationError(`tasks[${i}].input must be a JSON object (the workflow input)`, { code: 'flow.invalid_input', node: '$input' });
    }
    if (idempotencyKey !== undefined && (typeof idempotencyKey !== 'string' || !goodKey(idempotencyKey))) {
      throw validationError(`tasks[${i}].idempotencyKey must be a string of 1 to ${MAX_KEY} characters`, {
        code: 'task.bad_idempotency_key',
      });
    }
    const key = idempotencyKey ?? (headerKey !== undefined ? `${headerKey}#${i}` : undefined);
    return { input, ...(key !== undefined ? { idempotencyKey: key } : {}) };
  });
  const seen = new Set<string>();
  const dups = new Set<string>();
  for (const { idempotencyKey: k } of items) {
    if (k === undefined) continue;
    if (seen.has(k)) dups.add(k);
    seen.add(k);
  }
  if (dups.size > 0) {
    throw validationError(`Duplicate idempotency keys in the batch: [${[...dups].join(', ')}]; give each task its own key`, {
      code: 'task.bad_batch',
    });
  }
  return items;
}

/** The task/status body: 1 to 1000 task ids (its own code, `task.bad_ids`, as the batch's checks). */
function taskIdsOf(req: FastifyRequest): string[] {
  const badIds = (): Error => validationError('Send {"taskIds": ["…", …]} with 1 to 1000 task ids', { code: 'task.bad_ids' });
  const body = parseJsonBody(req, badIds);
  const ids = isJsonObject(body) ? body['taskIds'] : undefined;
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > 1000 || !ids.every((x) => typeof x === 'string')) throw badIds();
  return ids;
}

function statusesParam(v: string | undefined): TaskStatus[] | undefined {
  if (v === undefined || v === '') return undefined;
  const out = v.split(',').map((s) => s.trim().toUpperCase());
  const bad = out.filter((s) => !STATUSES.includes(s as TaskStatus));
  if (bad.length > 0)
    throw validationError(`Unknown task status [${bad.join(', ')}]: use ${STATUSES.join(', ')}`, { code: 'task.bad_status' });
  return out as TaskStatus[];
}

function waitParam(v: string | undefined, max: number): number {
  if (v === undefined || v === '') return 0;
  const ms = /^\d+$/.test(v) ? Number(v) * 1000 : parseTimeValue(v, 'wait');
  return Math.min(Math.max(0, ms), max);
}

export async function runtimeRoutes(app: FastifyInstance, opts: RuntimeRoutesOptions): Promise<void> {
  app.setErrorHandler(errorHandlerFor('runtime'));
  const { runtime, apiKeys } = opts;
  const r = typed(app);
  const noAuth = { auth: 'none' as const };
  const streams = new EventStreams(app);

  // The key is checked as soon as the request line and headers arrived: a caller without a
  // valid key gets its 401/403 before its body is read, let alone parsed.
  app.addHook('onRequest', async (req) => {
    const id = (req.params as { workflowId?: string }).workflowId;
    if (id !== undefined) await requireApiKey(req, id, apiKeys);
  });

  /**
   * The caller's correlation id (already bounded: request-ids.ts), echoed and logged. A route
   * hook, so the echo is on the answer even when the body is refused.
   */
  const correlation = (req: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    const c = req.correlationId;
    if (c !== undefined) {
      void reply.header('x-correlation-id', c);
      req.log.info({ ...requestLogFields(req), url: req.url }, 'runtime request');
    }
    done();
  };

  r.get(`${BASE}/action/status`, { schema: RuntimeContract.status, config: noAuth }, async (req, reply) => {
    const id = req.params.workflowId;
    const status = runtime.status(id);
    // NL Flow: 404 with no body when the workflow was never published.
    if (!status) return reply.code(404).send();
    const watch = req.query.watch;
    if (watch !== 'true' && watch !== '') return status;
    const stream = streams.open(req, reply, () => {
      const s = runtime.status(id);
      return s ? { event: 'status', data: JSON.stringify(s) } : { event: 'unpublished', data: '{}', last: true };
    });
    stream.onEnd(opts.events.subscribe(id, stream.trigger));
    stream.trigger();
    return reply;
  });

  r.post(
    `${BASE}/action/analyze`,
    { schema: RuntimeContract.analyze, config: { ...noAuth, decodeBody: decodeWorkflowInput }, onRequest: correlation },
    async (req, reply) => {
      const id = req.params.workflowId;
      const correlationId = req.correlationId;
      const verbose = req.query.verboseErrorOutput === 'true';
      const result = await runtime.analyze(id, req.body as JsonObject, {
        ...(correlationId !== undefined ? { correlationId } : {}),
        verbose,
        signal: connectionSignal(req.raw.socket),
        timeoutMs: opts.maxWaitMs,
      });
      if (result.ok) return reply.code(200).send(result.output);
      return reply.code(result.status).send({ errors: result.errors, ...(verbose && result.verbose ? result.verbose : {}) });
    },
  );

  r.post(
    `${BASE}/task`,
    { schema: RuntimeContract.submitTask, config: { ...noAuth, decodeBody: decodeWorkflowInput }, onRequest: correlation },
    async (req, reply) => {
      const id = req.params.workflowId;
      const correlationId = req.correlationId;
      const idempotencyKey = idempotencyKeyOf(req);
      const { task, created } = await runtime.tasks.submit(id, req.body as JsonObject, {
        ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
        ...(correlationId !== undefined ? { correlationId } : {}),
      });
      void reply.header('location', `/api/v1/runtime/workflow/${id}/task/${task.taskId}`);
      return reply.code(created ? 202 : 200).send(taskView(task));
    },
  );

  r.post(`${BASE}/task/batch`, { schema: RuntimeContract.submitBatch, config: noAuth, onRequest: correlation }, async (req, reply) => {
    const id = req.params.workflowId;
    const correlationId = req.correlationId;
    const items = batchItems(req, idempotencyKeyOf(req));
    const results = await runtime.tasks.submitMany(id, items, correlationId !== undefined ? { correlationId } : {});
    const created = results.filter((x) => x.created).length;
    return reply.code(created > 0 ? 202 : 200).send({ tasks: results.map((x) => taskView(x.task)), created });
  });

  r.get(`${BASE}/task`, { schema: RuntimeContract.listTasks, config: noAuth }, async (req) => {
    const id = req.params.workflowId;
    const q = req.query;
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw validationError('limit must be an integer from 1 to 1000', { code: 'task.bad_limit' });
    const statuses = statusesParam(q.status);
    const page = await runtime.tasks.list(id, { limit, ...(statuses ? { statuses } : {}), ...(q.cursor ? { after: q.cursor } : {}) });
    return { tasks: page.tasks.map(taskView), ...(page.next !== undefined ? { next: page.next } : {}) };
  });

  r.post(`${BASE}/task/status`, { schema: RuntimeContract.taskStatusMany, config: noAuth }, async (req) => {
    const id = req.params.workflowId;
    const ids = taskIdsOf(req);
    const found = await runtime.tasks.statusMany(id, ids);
    const byId = new Map(found.map((t) => [t.taskId, t]));
    return { tasks: ids.map((t) => (byId.has(t) ? taskView(byId.get(t) as TaskRecord) : { taskId: t, status: 'NOT_FOUND' as const })) };
  });

  r.delete(`${BASE}/task`, { schema: RuntimeContract.deleteTasks, config: noAuth }, async (req) => {
    const deleted = await runtime.tasks.deleteMany(req.params.workflowId, statusesParam(req.query.status));
    return { deleted };
  });

  r.get(`${BASE}/task/:taskId`, { schema: RuntimeContract.taskStatus, config: noAuth }, async (req) => {
    const { workflowId: id, taskId } = req.params;
    const wait = waitParam(req.query.wait, opts.maxWaitMs);
    const t = wait > 0 ? await runtime.tasks.wait(id, taskId, wait) : await runtime.tasks.get(id, taskId);
    return taskView(t);
  });

  r.get(`${BASE}/task/:taskId/result`, { schema: RuntimeContract.taskResult, config: noAuth }, async (req, reply) => {
    const { task, output } = await runtime.tasks.result(req.params.workflowId, req.params.taskId);
    void reply.header('x-task-status', task.status);
    return reply.code(200).send(output);
  });

  r.get(`${BASE}/task/:taskId/input`, { schema: RuntimeContract.taskInput, config: noAuth }, async (req) =>
    runtime.tasks.input(req.params.workflowId, req.params.taskId),
  );

  r.delete(`${BASE}/task/:taskId`, { schema: RuntimeContract.deleteTask, config: noAuth }, async (req) => {
    const t = await runtime.tasks.delete(req.params.workflowId, req.params.taskId);
    return { taskId: t.taskId, status: t.status, deleted: true };
  });
}
