/**
 * ML Commons' ML tasks (`GET /_plugins/_ml/tasks/{id}`): the record a client polls after
 * registering or deploying a model. Documents persist through the Store (kind TASK_KIND), so
 * any node answers for a task another node runs; the work itself runs on the node that took
 * the request, and its outcome (COMPLETED with the model id, or FAILED with the error) is
 * written back to the document. Work still running when the node closes is awaited.
 */
import { FlowdError, notFound, stepFailure } from '../errors.js';
import type { Store } from '../store/store.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import { newId } from '../util/ids.js';
import { TASK_KIND } from './ml-search.js';

export type MlTaskType = 'REGISTER_MODEL' | 'DEPLOY_MODEL';
/** The `MLTaskState` values flowd's tasks pass through. */
export type MlTaskState = 'CREATED' | 'RUNNING' | 'COMPLETED' | 'FAILED';

export interface NewMlTask {
  task_type: MlTaskType;
  function_name: string;
  model_id?: string;
  is_async: boolean;
  /** Multi-tenancy: the tenant it belongs to (its model's, or the registering caller's). */
  tenant_id?: string;
}

/** A stored task as GET answers it (written only by this module, so its shape holds). */
export interface MlTaskDoc {
  model_id?: string;
  task_type: string;
  function_name: string;
  state: MlTaskState;
  worker_node: string[];
  create_time: number;
  last_update_time: number;
  error?: string;
  is_async: boolean;
}

/** ML Commons' FunctionName values (a task's `function_name` is one of them). */
export const ML_FUNCTION_NAMES: ReadonlySet<string> = new Set([
  'LINEAR_REGRESSION',
  'KMEANS',
  'AD_LIBSVM',
  'SAMPLE_ALGO',
  'LOCAL_SAMPLE_CALCULATOR',
  'FIT_RCF',
  'BATCH_RCF',
  'ANOMALY_LOCALIZATION',
  'RCF_SUMMARIZE',
  'LOGISTIC_REGRESSION',
  'TEXT_EMBEDDING',
  'METRICS_CORRELATION',
  'REMOTE',
  'SPARSE_ENCODING',
  'SPARSE_TOKENIZE',
  'TEXT_SIMILARITY',
  'QUESTION_ANSWERING',
  'AGENT',
  'CONNECTOR',
]);

export const taskNotFound = (): FlowdError => notFound('Failed to find task', { code: 'ml.task_not_found' });

/** ML Commons' field order (MLTask.toXContent); `task_id` is the document id, not a field. */
const FIELD_ORDER = [
  'model_id',
  'task_type',
  'function_name',
  'state',
  'worker_node',
  'create_time',
  'last_update_time',
  'error',
  'is_async',
];

function ordered(doc: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of FIELD_ORDER) {
    const v = doc[k];
    if (v !== undefined) out[k] = v;
  }
  for (const [k, v] of Object.entries(doc)) if (!(k in out)) out[k] = v;
  return out;
}

/** The message ML Commons records for a failed task: the root cause's. */
function rootCauseMessage(e: unknown): string {
  let cur: unknown = e;
  while (cur instanceof Error && cur.cause instanceof Error && !(cur instanceof FlowdError)) cur = cur.cause;
  return cur instanceof Error ? cur.message : String(cur);
}

/** The two log calls a task makes (a pino or Fastify logger). */
export interface MlTaskLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export class MlTasks {
  readonly #store: Store;
  readonly #nodeId: string;
  readonly #logger: MlTaskLogger;
  readonly #running = new Set<Promise<void>>();

  constructor(deps: { store: Store; nodeId: string; logger: MlTaskLogger }) {
    this.#store = deps.store;
    this.#nodeId = deps.nodeId;
    this.#logger = deps.logger;
  }

  /** The node this service's work runs on (the task's `worker_node`). */
  get nodeId(): string {
    return this.#nodeId;
  }

  async create(task: NewMlTask): Promise<string> {
    const now = Date.now();
    const doc = ordered({
      ...(task.model_id !== undefined ? { model_id: task.model_id } : {}),
      task_type: task.task_type,
      function_name: task.function_name,
      state: 'CREATED',
      worker_node: [this.#nodeId],
      create_time: now,
      last_update_time: now,
      is_async: task.is_async,
      ...(task.tenant_id !== undefined ? { tenant_id: task.tenant_id } : {}),
    });
    const { record } = await this.#store.createMlResource(TASK_KIND, newId(), doc);
    return record.id;
  }

  /** The function name the model's registration task recorded (a model a workflow created has none). */
  async registeredFunctionName(modelId: string): Promise<string | undefined> {
    const reg = (await this.#store.listMlResources(TASK_KIND)).find(
      (t) => t.doc['model_id'] === modelId && t.doc['task_type'] === 'REGISTER_MODEL',
    );
    const fn = reg?.doc['function_name'];
    return typeof fn === 'string' ? fn : undefined;
  }

  async get(taskId: string): Promise<MlTaskDoc | undefined> {
    return (await this.#store.getMlResource(TASK_KIND, taskId))?.doc as MlTaskDoc | undefined;
  }

  /** Sets `fields` (and last_update_time); a task deleted meanwhile stays deleted. */
  async update(taskId: string, fields: Readonly<Record<string, JsonValue>>): Promise<void> {
    const rec = await this.#store.getMlResource(TASK_KIND, taskId);
    if (!rec) return;
    await this.#store.updateMlResource(TASK_KIND, taskId, ordered({ ...rec.doc, ...fields, last_update_time: Date.now() }));
  }

  async complete(taskId: string, modelId: string): Promise<void> {
    await this.update(taskId, { model_id: modelId, state: 'COMPLETED' });
  }

  async fail(taskId: string, e: unknown): Promise<void> {
    await this.update(taskId, { state: 'FAILED', error: rootCauseMessage(e) });
  }

  /** As ML Commons: 404 when unknown, refused while RUNNING (its plain Exception: a 500). */
  async delete(taskId: string): Promise<void> {
    const doc = await this.get(taskId);
    if (!doc) throw taskNotFound();
    if (doc['state'] === 'RUNNING') {
      throw stepFailure('Task cannot be deleted in running state. Try after some time.', {
        status: 500,
        code: 'ml.task_running',
        details: { opensearchType: 'exception' },
      });
    }
    if (!(await this.#store.deleteMlResource(TASK_KIND, taskId))) throw taskNotFound();
  }

  /**
   * Runs `work` after the answer went out: RUNNING, then COMPLETED with the model id it
   * returns, or FAILED with its error. Never rejects.
   */
  runInBackground(taskId: string, work: () => Promise<string>): void {
    const p = (async () => {
      try {
        await this.update(taskId, { state: 'RUNNING' });
        await this.complete(taskId, await work());
      } catch (e) {
        this.#logger.warn({ taskId, err: rootCauseMessage(e) }, 'ml task failed');
        await this.fail(taskId, e).catch((err: unknown) =>
          this.#logger.error({ taskId, err: rootCauseMessage(err) }, 'could not record the failure of an ml task'),
        );
      }
    })();
    this.#running.add(p);
    void p.finally(() => this.#running.delete(p));
  }

  /** Waits for the work started here (the store must stay open until it settles). */
  async close(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }
}
