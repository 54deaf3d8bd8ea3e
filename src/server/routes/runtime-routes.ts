/**
 * The NL Flow runtime API under /api/v1/runtime/workflow/{workflowId} and flowd's additions to it:
 * status (with `?watch=true` as Server-Sent Events), SYNC analyze (ASYNC: all-in-one), and
 * the task API. Every route takes `X-API-KEY` instead of basic auth; the key is checked
 * before anything about the workflow is revealed. Errors use NL Flow's `{"errors": [...]}`
 * shape (error-renderer.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { validationError } from '../../errors.js';
import type { ApiKeyService } from '../../runtime/api-keys.js';
import type { RuntimeEvents } from '../../runtime/runtime-events.js';
import type { RuntimeManager } from '../../runtime/runtime-manager.js';
import type { TaskRecord, TaskStatus } from '../../store/store.js';
import type { JsonObject, JsonValue } from '../../util/json.js';
import { parseTimeValue } from '../../template/time-value.js';
import { requireApiKey } from '../auth/api-key-auth.js';
import { queryOf } from './request-params.js';
import { parseJsonBody } from '../bounded-body.js';
import { requestLogFields } from '../request-ids.js';
import { EventStreams } from './event-stream.js';
import { connectionSignal } from '../connection-signal.js';

export interface RuntimeRoutesOptions {
  runtime: RuntimeManager;
  apiKeys: ApiKeyService;
  events: RuntimeEvents;
  /** Longest a request may wait (analyze of an ASYNC flow, task long-poll). */
  maxWaitMs: number;
}

const BASE = '/api/v1/runtime/workflow/:workflowId';
const STATUSES: readonly TaskStatus[] = ['QUEUED', 'RUNNING', 'COMPLETED', 'ERROR', 'CANCELED'];

type WfReq = FastifyRequest<{ Params: { workflowId: string } }>;
type TaskReq = FastifyRequest<{ Params: { workflowId: string; taskId: string } }>;

/**
 * Timestamps as ISO strings. The two last ones are kept: a batch of tasks shares its created
 * and expiry times, and formatting dates was a visible share of answering a batch.
 */
const isoSeen: Array<[number, string]> = [
  [Number.NaN, ''],
  [Number.NaN, ''],
];
function iso(ms: number | undefined): string | undefined {
  if (ms === undefined) return undefined;
  const [a, b] = isoSeen as [[number, string], [number, string]];
  if (a[0] === ms) return a[1];
  if (b[0] === ms) return b[1];
  const s = new Date(ms).toISOString();
  isoSeen[1] = a;
  isoSeen[0] = [ms, s];
  return s;
}

function taskView(t: TaskRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { taskId: t.taskId, status: t.status, attempt: t.attempt, createdAt: iso(t.createdAt) };
  if (t.startedAt !== undefined) out['startedAt'] = iso(t.startedAt);
  if (t.finishedAt !== undefined) out['finishedAt'] = iso(t.finishedAt);
  if (t.startedAt !== undefined && t.finishedAt !== undefined) out['durationMs'] = t.finishedAt - t.startedAt;
  out['expiresAt'] = iso(t.expiresAt);
  if (t.correlationId !== undefined) out['correlationId'] = t.correlationId;
  return out;
}

const isJsonObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The body as JSON within the body limits; `notJson` is the start of the 400's message when it is not JSON. */
function parseBody(req: FastifyRequest, notJson: (why: string) => Error): unknown {
  return parseJsonBody(req, notJson);
}

/** The analyze / task body: a JSON object (NL Flow: "an UTF-8 encoded JSON object"). */
function jsonInput(req: FastifyRequest): JsonValue {
  const v = parseBody(req, (why) => validationError(`The request body must be a JSON object: ${why}`, { code: 'flow.invalid_input', node: '$input' }));
  if (!isJsonObject(v)) throw validationError('The request body must be a JSON object (the workflow input)', { code: 'flow.invalid_input', node: '$input' });
  return v;
}

/** An idempotency key (header or batch item): 1 to 200 characters. */
const MAX_KEY = 200;
const goodKey = (k: string): boolean => k.length > 0 && k.length <= MAX_KEY;

function idempotencyKeyOf(req: FastifyRequest): string | undefined {
  const h = req.headers['idempotency-key'];
  const key = Array.isArray(h) ? h[0] : h;
  if (key !== undefined && !goodKey(key)) throw validationError(`Idempotency-Key must be 1 to ${MAX_KEY} characters`, { code: 'task.bad_idempotency_key' });
  return key;
}

const MAX_BATCH = 1000;
const BATCH_SHAPE = 'send {"tasks": [{"input": {…}, "idempotencyKey": "optional"}, …]}';

/**
 * The task/batch body: 1 to 1000 items, each with a JSON-object input and an optional key.
 * With an Idempotency-Key header, an item without its own key gets `${header}#${index}`, so a
 * retried batch finds the same tasks. Keys must be unique within the batch.
 */
function batchItems(req: FastifyRequest, headerKey: string | undefined): Array<{ input: JsonValue; idempotencyKey?: string }> {
  const body = parseBody(req, (why) => validationError(`The request body must be a JSON object: ${why}; ${BATCH_SHAPE}`, { code: 'task.bad_batch' }));
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
      throw validationError(`tasks[${i}].idempotencyKey must be a string of 1 to ${MAX_KEY} characters`, { code: 'task.bad_idempotency_key' });
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
    throw validationError(`Duplicate idempotency keys in the batch: [${[...dups].join(', ')}]; give each task its own key`, { code: 'task.bad_batch' });
  }
  return items;
}

function statusesParam(v: string | undefined): TaskStatus[] | undefined {
  if (v === undefined || v === '') return undefined;
  const out = v.split(',').map((s) => s.trim().toUpperCase());
  const bad = out.filter((s) => !STATUSES.includes(s as TaskStatus));
  if (bad.length > 0) throw validationError(`Unknown task status [${bad.join(', ')}]: use ${STATUSES.join(', ')}`, { code: 'task.bad_status' });
  return out as TaskStatus[];
}

function waitParam(v: string | undefined, max: number): number {
  if (v === undefined || v === '') return 0;
  const ms = /^\d+$/.test(v) ? Number(v) * 1000 : parseTimeValue(v, 'wait');
  return Math.min(Math.max(0, ms), max);
}

export async function runtimeRoutes(app: FastifyInstance, opts: RuntimeRoutesOptions): Promise<void> {
  const { runtime, apiKeys } = opts;
  const routeConfig = { config: { auth: 'none' as const } };
  const streams = new EventStreams(app);

  // The key is checked as soon as the request line and headers arrived: a caller without a
  // valid key gets its 401/403 before its body is read, let alone parsed.
  app.addHook('onRequest', async (req) => {
    const id = (req.params as { workflowId?: string }).workflowId;
    if (id !== undefined) await requireApiKey(req, id, apiKeys);
  });
  /** The workflow the request is for; its key was checked by the hook above. */
  const workflowOf = (req: WfReq | TaskReq): string => req.params.workflowId;

  /** The caller's correlation id (already bounded: request-ids.ts), echoed and logged. */
  const correlation = (req: FastifyRequest, reply: FastifyReply): string | undefined => {
    const c = req.correlationId;
    if (c !== undefined) {
      void reply.header('x-correlation-id', c);
      req.log.info({ ...requestLogFields(req), url: req.url }, 'runtime request');
    }
    return c;
  };

  app.get(`${BASE}/action/status`, routeConfig, async (req: WfReq, reply) => {
    const id = workflowOf(req);
    const q = queryOf(req);
    const status = runtime.status(id);
    // NL Flow: 404 with no body when the workflow was never published.
    if (!status) return reply.code(404).send();
    if (q['watch'] !== 'true' && q['watch'] !== '') return status;
    const stream = streams.open(req, reply, () => {
      const s = runtime.status(id);
      return s ? { event: 'status', data: JSON.stringify(s) } : { event: 'unpublished', data: '{}', last: true };
    });
    stream.onEnd(opts.events.subscribe(id, stream.trigger));
    stream.trigger();
    return reply;
  });

  app.post(`${BASE}/action/analyze`, routeConfig, async (req: WfReq, reply) => {
    const id = workflowOf(req);
    const q = queryOf(req);
    const correlationId = correlation(req, reply);
    const input = jsonInput(req);
    const verbose = q['verboseErrorOutput'] === 'true';
    const r = await runtime.analyze(id, input, {
      ...(correlationId !== undefined ? { correlationId } : {}),
      verbose,
      signal: connectionSignal(req.raw.socket),
      timeoutMs: opts.maxWaitMs,
    });
    if (r.ok) return reply.code(200).send(r.output);
    return reply.code(r.status).send({ errors: r.errors, ...(verbose && r.verbose ? r.verbose : {}) });
  });

  app.post(`${BASE}/task`, routeConfig, async (req: WfReq, reply) => {
    const id = workflowOf(req);
    const correlationId = correlation(req, reply);
    const input = jsonInput(req);
    const idempotencyKey = idempotencyKeyOf(req);
    const { task, created } = await runtime.tasks.submit(id, input, {
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
      ...(correlationId !== undefined ? { correlationId } : {}),
    });
    void reply.header('location', `/api/v1/runtime/workflow/${id}/task/${task.taskId}`);
    return reply.code(created ? 202 : 200).send(taskView(task));
  });

  app.post(`${BASE}/task/batch`, routeConfig, async (req: WfReq, reply) => {
    const id = workflowOf(req);
    const correlationId = correlation(req, reply);
    const items = batchItems(req, idempotencyKeyOf(req));
    const results = await runtime.tasks.submitMany(id, items, correlationId !== undefined ? { correlationId } : {});
    const created = results.filter((r) => r.created).length;
    return reply.code(created > 0 ? 202 : 200).send({ tasks: results.map((r) => taskView(r.task)), created });
  });

  app.get(`${BASE}/task`, routeConfig, async (req: WfReq) => {
    const id = workflowOf(req);
    const q = queryOf(req);
    const limit = q['limit'] === undefined ? 100 : Number(q['limit']);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw validationError('limit must be an integer from 1 to 1000', { code: 'task.bad_limit' });
    const statuses = statusesParam(q['status']);
    const page = await runtime.tasks.list(id, { limit, ...(statuses ? { statuses } : {}), ...(q['cursor'] ? { after: q['cursor'] } : {}) });
    return { tasks: page.tasks.map(taskView), ...(page.next !== undefined ? { next: page.next } : {}) };
  });

  app.post(`${BASE}/task/status`, routeConfig, async (req: WfReq) => {
    const id = workflowOf(req);
    const badIds = (): Error => validationError('Send {"taskIds": ["…", …]} with 1 to 1000 task ids', { code: 'task.bad_ids' });
    const body = parseBody(req, badIds);
    const ids = isJsonObject(body) ? body['taskIds'] : undefined;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > 1000 || !ids.every((x) => typeof x === 'string')) throw badIds();
    const found = await runtime.tasks.statusMany(id, ids);
    const byId = new Map(found.map((t) => [t.taskId, t]));
    return { tasks: ids.map((t) => (byId.has(t) ? taskView(byId.get(t) as TaskRecord) : { taskId: t, status: 'NOT_FOUND' })) };
  });

  app.delete(`${BASE}/task`, routeConfig, async (req: WfReq) => {
    const id = workflowOf(req);
    const statuses = statusesParam(queryOf(req)['status']);
    const deleted = await runtime.tasks.deleteMany(id, statuses);
    return { deleted };
  });

  app.get(`${BASE}/task/:taskId`, routeConfig, async (req: TaskReq) => {
    const id = workflowOf(req);
    const wait = waitParam(queryOf(req)['wait'], opts.maxWaitMs);
    const t = wait > 0 ? await runtime.tasks.wait(id, req.params.taskId, wait) : await runtime.tasks.get(id, req.params.taskId);
    return taskView(t);
  });

  app.get(`${BASE}/task/:taskId/result`, routeConfig, async (req: TaskReq, reply) => {
    const id = workflowOf(req);
    const { task, output } = await runtime.tasks.result(id, req.params.taskId);
    void reply.header('x-task-status', task.status);
    return reply.code(200).send(output);
  });

  app.get(`${BASE}/task/:taskId/input`, routeConfig, async (req: TaskReq) => {
    const id = workflowOf(req);
    return runtime.tasks.input(id, req.params.taskId);
  });

  app.delete(`${BASE}/task/:taskId`, routeConfig, async (req: TaskReq) => {
    const id = workflowOf(req);
    const t = await runtime.tasks.delete(id, req.params.taskId);
    return { taskId: t.taskId, status: t.status, deleted: true };
  });
}
