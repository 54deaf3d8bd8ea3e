/**
 * A typed HTTP client for flowd: the Flow Framework management API (basic auth), API keys
 * (admin), the NL Flow runtime API (X-API-KEY), and flowd's own overview routes. The CLI and
 * the dashboard talk to flowd only through it. Every failure is a FlowdClientError carrying
 * the server's message.
 *
 * It uses only what Node.js 20+ and browsers both have (fetch, TextEncoder / TextDecoder,
 * ReadableStream, AbortSignal, btoa), and nothing from flowd's server.
 *
 *   const flowd = new FlowdClient({ url: 'http://127.0.0.1:9200', password: process.env.FLOWD_PASSWORD });
 *   const { workflow_id } = await flowd.createWorkflow(yamlText, { provision: true });
 *   await flowd.watchStatus(workflow_id, (e) => console.log(e), signal);
 */
import type {
  ApiKeyDeleted,
  ApiKeyInfo,
  ApiKeyList,
  CreatedApiKey,
  CreateWorkflowResult,
  DeleteWorkflowResult,
  Deprovisioned,
  JsonObject,
  JsonValue,
  OnFailure,
  RuntimeStatus,
  RuntimeStreamEvent,
  SearchResponse,
  StateDocument,
  StatusStreamEvent,
  StepsListing,
  TaskBatchItem,
  TaskBatchResult,
  TaskDeleted,
  TaskInfo,
  TaskList,
  TaskResult,
  TaskStatus,
  OverviewUpdate,
  WorkflowListOptions,
  WorkflowOverviewDelta,
  WorkflowOverviewPage,
  WorkflowOverviewRow,
  WorkflowStatus,
  WorkflowSummary,
  WorkflowSummaryPage,
  WorkflowTemplate,
} from './client-types.js';
import { watchStream } from './event-stream-watch.js';
import { applyOverviewChanges } from './overview-changes.js';
import { FlowdClientError } from './flowd-client-error.js';
import { HttpTransport, parseJson } from './http-transport.js';

export interface FlowdClientOptions {
  /** Base URL of the flowd node, e.g. http://127.0.0.1:9200. */
  url: string;
  /** Basic-auth user for management calls (default admin). */
  user?: string;
  /**
   * Basic-auth password; without one, management calls send no Authorization header (in a
   * browser page served by flowd, the browser then sends the login it asked the user for).
   */
  password?: string;
  /** API key for runtime calls (X-API-KEY). */
  apiKey?: string;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof globalThis.fetch;
}

export interface CreateWorkflowOptions {
  /** Start provisioning at once. */
  provision?: boolean;
  /** Provision params (`${{ name }}` in the template); only with `provision`. */
  params?: Record<string, string>;
  onFailure?: OnFailure;
  /** Wait up to this long (e.g. "30s") and answer with the state. */
  waitForCompletionTimeout?: string;
  /** Build the template from a built-in use case; the body holds its parameters. */
  useCase?: string;
  /** "all" (default) or "none". */
  validation?: 'all' | 'none';
  /** How a string template is encoded; default: JSON when it starts with `{`, YAML otherwise. */
  format?: 'json' | 'yaml';
}

export interface ProvisionOptions {
  params?: Record<string, string>;
  onFailure?: OnFailure;
  waitForCompletionTimeout?: string;
}

/**
 * Which credentials a runtime call uses: `apiKey` (default) calls the NL Flow runtime API with
 * X-API-KEY; `basic` calls flowd's equivalent routes under /_flowd/workflows with the
 * management login (user and password, or the browser's), as the dashboard does.
 */
export type RuntimeAuth = 'apiKey' | 'basic';

export interface ListTasksOptions {
  status?: TaskStatus[];
  limit?: number;
  cursor?: string;
}

const FF = '/_plugins/_flow_framework/workflow';
const RT = '/api/v1/runtime/workflow';
const KEYS = '/_flowd/api_keys';
const STEPS = '/_flowd/steps';
const OVERVIEW = '/_flowd/workflows';

const enc = encodeURIComponent;

export class FlowdClient {
  readonly url: string;
  readonly #http: HttpTransport;

  constructor(opts: FlowdClientOptions) {
    this.#http = new HttpTransport(opts);
    this.url = this.#http.url;
  }

  // ---- workflows (Flow Framework API) ----

  /** POST /workflow. A string template is sent as-is (JSON or YAML). */
  async createWorkflow(template: string | WorkflowTemplate | JsonObject, opts: CreateWorkflowOptions = {}): Promise<CreateWorkflowResult> {
    const query: Record<string, string | undefined> = {
      ...(opts.provision ? opts.params : {}),
      provision: opts.provision ? 'true' : undefined,
      use_case: opts.useCase,
      validation: opts.validation,
      on_failure: opts.onFailure,
      wait_for_completion_timeout: opts.waitForCompletionTimeout,
    };
    const body = typeof template === 'string' ? { text: template, contentType: contentTypeOf(template, opts.format) } : { json: template };
    return this.#http.json<CreateWorkflowResult>('POST', FF, { query, ...body });
  }

  async getWorkflow(id: string): Promise<WorkflowTemplate> {
    return this.#http.json<WorkflowTemplate>('GET', `${FF}/${enc(id)}`);
  }

  async deleteWorkflow(id: string, opts: { clearStatus?: boolean } = {}): Promise<DeleteWorkflowResult> {
    const query = { clear_status: opts.clearStatus ? 'true' : undefined };
    return this.#http.json<DeleteWorkflowResult>('DELETE', `${FF}/${enc(id)}`, { query });
  }

  /** POST /workflow/{id}/_provision; params go in the body. */
  async provision(id: string, opts: ProvisionOptions = {}): Promise<CreateWorkflowResult> {
    const query = { on_failure: opts.onFailure, wait_for_completion_timeout: opts.waitForCompletionTimeout };
    const params = opts.params ?? {};
    const body = Object.keys(params).length > 0 ? { json: params } : {};
    return this.#http.json<CreateWorkflowResult>('POST', `${FF}/${enc(id)}/_provision`, { query, ...body });
  }

  /** POST /workflow/{id}/_deprovision; `allowDelete` names the resources (ids or types) that need consent. */
  async deprovision(id: string, opts: { allowDelete?: string[] } = {}): Promise<Deprovisioned> {
    const allow = opts.allowDelete?.filter((s) => s !== '') ?? [];
    const query = { allow_delete: allow.length > 0 ? allow.join(',') : undefined };
    return this.#http.json<Deprovisioned>('POST', `${FF}/${enc(id)}/_deprovision`, { query });
  }

  /** GET /workflow/{id}/_status; `all` adds progress, times, outputs and the steps. */
  async status(id: string, opts: { all?: boolean } = {}): Promise<WorkflowStatus> {
    const query = { all: opts.all ? 'true' : undefined };
    return this.#http.json<WorkflowStatus>('GET', `${FF}/${enc(id)}/_status`, { query });
  }

  /**
   * GET /_flowd/steps, all step types or the named ones: `_steps`' fields plus flowd's
   * optional_inputs, secret_inputs and resource_type (`_steps` answers Flow Framework's only).
   */
  async steps(names: string[] = []): Promise<StepsListing> {
    const query = { workflow_step: names.length > 0 ? names.join(',') : undefined };
    return this.#http.json<StepsListing>('GET', STEPS, { query });
  }

  /** POST /workflow/_search with an OpenSearch query DSL body. */
  async searchWorkflows(body: JsonObject = { query: { match_all: {} } }): Promise<SearchResponse<WorkflowTemplate>> {
    return this.#http.json<SearchResponse<WorkflowTemplate>>('POST', `${FF}/_search`, { json: body });
  }

  /** POST /workflow/state/_search. */
  async searchStates(body: JsonObject = { query: { match_all: {} } }): Promise<SearchResponse<StateDocument>> {
    return this.#http.json<SearchResponse<StateDocument>>('POST', `${FF}/state/_search`, { json: body });
  }

  /**
   * One page of workflows with their states, newest first (GET /_flowd/workflows): `size` rows
   * (default 50, at most 1000), filtered by state and text; pass `next` as `after` for the next.
   */
  async listWorkflows(opts: WorkflowListOptions = {}): Promise<WorkflowSummaryPage> {
    const page = await this.workflowOverviewPage(opts);
    const workflows = page.workflows.map((w): WorkflowSummary => ({
      id: w.workflow_id,
      name: w.name,
      state: w.state,
      progress: w.provisioning_progress,
      ...(w.last_change > 0 ? { lastChange: w.last_change } : {}),
    }));
    return page.next !== undefined ? { workflows, next: page.next } : { workflows };
  }

  /**
   * Follows `_status?watch=true` (Server-Sent Events): `onEvent` gets the current status first,
   * then one per change. The stream is reopened by itself when the server ends it at its
   * maximum lifetime or the connection breaks. Resolves when the server ends it for good (the
   * workflow was deleted, the server shut down) or `signal` aborts (abort it from `onEvent` to
   * stop, e.g. on COMPLETED); rejects with a FlowdClientError otherwise, of kind `auth` when the
   * credential was revoked while watching.
   */
  async watchStatus(id: string, onEvent: (event: StatusStreamEvent) => void, signal?: AbortSignal): Promise<void> {
    await watchStream(this.#http, `${FF}/${enc(id)}/_status`, 'management', signal, (m, url) => {
      if (m.event === 'status') onEvent({ type: 'status', status: parseJson<WorkflowStatus>(m.data, url) });
      else if (m.event === 'deleted') onEvent({ type: 'deleted', workflowId: id });
    });
  }

  // ---- overview (flowd's own routes, basic auth) ----

  /** GET /_flowd/workflows: the rows of one page (newest first, 50 unless `size` says) with state and step progress. */
  async workflowOverview(opts: WorkflowListOptions = {}): Promise<WorkflowOverviewRow[]> {
    return (await this.workflowOverviewPage(opts)).workflows;
  }

  /** GET /_flowd/workflows: one page of the overview and the `after` of the next (absent on the last). */
  async workflowOverviewPage(opts: WorkflowListOptions = {}): Promise<WorkflowOverviewPage> {
    return this.#http.json<WorkflowOverviewPage>('GET', OVERVIEW, { query: listQuery(opts) });
  }

  /**
   * Follows one page of GET /_flowd/workflows?watch=true: `onRows` gets the page first, then
   * the page again on every change, with what changed in `update` (the server sends only the
   * rows that changed, entered or left the page; this applies them). Resolves and rejects as
   * `watchStatus`.
   */
  async watchWorkflowOverview(
    onRows: (rows: WorkflowOverviewRow[], update: OverviewUpdate) => void,
    signal?: AbortSignal,
    opts: WorkflowListOptions = {},
  ): Promise<void> {
    let rows: WorkflowOverviewRow[] = [];
    const query = listQuery(opts);
    await watchStream(
      this.#http,
      OVERVIEW,
      'management',
      signal,
      (m, url) => {
        if (m.event === 'workflows') {
          const page = parseJson<WorkflowOverviewPage>(m.data, url);
          rows = page.workflows;
          onRows(rows, { type: 'page', page });
        } else if (m.event === 'changes') {
          const changes = parseJson<WorkflowOverviewDelta>(m.data, url);
          rows = applyOverviewChanges(rows, changes, opts.order ?? 'desc');
          onRows(rows, { type: 'changes', changes });
        }
      },
      query,
    );
  }

  // ---- API keys (admin) ----

  async createApiKey(opts: { name: string; workflowIds: string[] }): Promise<CreatedApiKey> {
    return this.#http.json<CreatedApiKey>('POST', KEYS, { json: { name: opts.name, workflow_ids: opts.workflowIds } });
  }

  async listApiKeys(): Promise<ApiKeyInfo[]> {
    return (await this.#http.json<ApiKeyList>('GET', KEYS)).api_keys;
  }

  async revokeApiKey(keyId: string): Promise<ApiKeyDeleted> {
    return this.#http.json<ApiKeyDeleted>('DELETE', `${KEYS}/${enc(keyId)}`);
  }

  /** A new key value; with `gracePeriod` (e.g. "1h") the old one keeps working meanwhile. */
  async rotateApiKey(keyId: string, opts: { gracePeriod?: string } = {}): Promise<CreatedApiKey> {
    const json = opts.gracePeriod !== undefined ? { grace_period: opts.gracePeriod } : {};
    return this.#http.json<CreatedApiKey>('POST', `${KEYS}/${enc(keyId)}/_rotate`, { json });
  }

  // ---- runtime (NL Flow API, X-API-KEY) ----

  /**
   * NL Flow status of a published flow; undefined when it is not published (404). With
   * `auth: 'basic'` it is read with the management login instead of the API key.
   */
  async runtimeStatus(id: string, opts: { auth?: RuntimeAuth } = {}): Promise<RuntimeStatus | undefined> {
    const basic = opts.auth === 'basic';
    try {
      const path = basic ? `${OVERVIEW}/${enc(id)}/runtime` : `${RT}/${enc(id)}/action/status`;
      return await this.#http.json<RuntimeStatus>('GET', path, { api: basic ? 'management' : 'runtime' });
    } catch (e) {
      if (e instanceof FlowdClientError && e.status === 404 && (basic || e.body === undefined)) return undefined;
      throw e;
    }
  }

  /**
   * Follows the runtime status (`?watch=true`): `onEvent` gets the status first, then one per
   * change, and `unpublished` when the flow is not (or no longer) published. With the API key
   * the stream ends there; with `auth: 'basic'` it stays open and reports the flow when it is
   * published again. Resolves and rejects as `watchStatus`.
   */
  async watchRuntimeStatus(
    id: string,
    onEvent: (event: RuntimeStreamEvent) => void,
    signal?: AbortSignal,
    opts: { auth?: RuntimeAuth } = {},
  ): Promise<void> {
    const basic = opts.auth === 'basic';
    const path = basic ? `${OVERVIEW}/${enc(id)}/runtime` : `${RT}/${enc(id)}/action/status`;
    try {
      await watchStream(this.#http, path, basic ? 'management' : 'runtime', signal, (m, url) => {
        if (m.event === 'status') onEvent({ type: 'status', status: parseJson<RuntimeStatus>(m.data, url) });
        else if (m.event === 'unpublished') onEvent({ type: 'unpublished', workflowId: id });
      });
    } catch (e) {
      // The runtime API answers 404 with no body for a flow that is not published.
      if (!basic && e instanceof FlowdClientError && e.status === 404 && e.body === undefined)
        onEvent({ type: 'unpublished', workflowId: id });
      else throw e;
    }
  }

  /**
   * POST action/analyze: the flow's output (SYNC; an ASYNC flow submits, waits and returns).
   * With `auth: 'basic'` the management login runs it instead of the API key.
   */
  async analyze(
    id: string,
    input: JsonObject,
    opts: { verbose?: boolean; correlationId?: string; auth?: RuntimeAuth; signal?: AbortSignal } = {},
  ): Promise<JsonValue> {
    const headers: Record<string, string> = opts.correlationId !== undefined ? { 'x-correlation-id': opts.correlationId } : {};
    const signal = opts.signal ? { signal: opts.signal } : {};
    if (opts.auth === 'basic')
      return (await this.#http.call('POST', `${OVERVIEW}/${enc(id)}/analyze`, { json: input, headers, ...signal })).body ?? null;
    const query = { verboseErrorOutput: opts.verbose ? 'true' : undefined };
    return (
      (await this.#http.call('POST', `${RT}/${enc(id)}/action/analyze`, { api: 'runtime', query, json: input, headers, ...signal })).body ??
      null
    );
  }

  async submitTask(id: string, input: JsonObject, opts: { idempotencyKey?: string } = {}): Promise<TaskInfo> {
    const headers: Record<string, string> = opts.idempotencyKey !== undefined ? { 'idempotency-key': opts.idempotencyKey } : {};
    return this.#http.json<TaskInfo>('POST', `${RT}/${enc(id)}/task`, { api: 'runtime', json: input, headers });
  }

  /**
   * POST task/batch: submits 1 to 1000 tasks in one request; answers them in order and how many
   * were created. With `idempotencyKey`, an item without its own key gets `${key}#${index}`,
   * so retrying the same batch returns the same tasks and creates none.
   */
  async submitTasks(id: string, items: TaskBatchItem[], opts: { idempotencyKey?: string } = {}): Promise<TaskBatchResult> {
    const headers: Record<string, string> = opts.idempotencyKey !== undefined ? { 'idempotency-key': opts.idempotencyKey } : {};
    const json = {
      tasks: items.map((t) => ({ input: t.input, ...(t.idempotencyKey !== undefined ? { idempotencyKey: t.idempotencyKey } : {}) })),
    };
    return this.#http.json<TaskBatchResult>('POST', `${RT}/${enc(id)}/task/batch`, { api: 'runtime', json, headers });
  }

  /** GET task/{taskId}; with `wait` (e.g. "30s") a long poll that answers once the task ends. */
  async taskStatus(id: string, taskId: string, opts: { wait?: string } = {}): Promise<TaskInfo> {
    return this.#http.json<TaskInfo>('GET', `${RT}/${enc(id)}/task/${enc(taskId)}`, { api: 'runtime', query: { wait: opts.wait } });
  }

  async taskResult(id: string, taskId: string): Promise<TaskResult> {
    const a = await this.#http.call('GET', `${RT}/${enc(id)}/task/${enc(taskId)}/result`, { api: 'runtime' });
    return { status: (a.headers.get('x-task-status') ?? 'COMPLETED') as TaskStatus, output: a.body ?? null };
  }

  async taskInput(id: string, taskId: string): Promise<JsonValue> {
    return (await this.#http.call('GET', `${RT}/${enc(id)}/task/${enc(taskId)}/input`, { api: 'runtime' })).body ?? null;
  }

  async listTasks(id: string, opts: ListTasksOptions = {}): Promise<TaskList> {
    const query = {
      status: opts.status && opts.status.length > 0 ? opts.status.join(',') : undefined,
      limit: opts.limit !== undefined ? String(opts.limit) : undefined,
      cursor: opts.cursor,
    };
    return this.#http.json<TaskList>('GET', `${RT}/${enc(id)}/task`, { api: 'runtime', query });
  }

  /** DELETE task/{taskId}: cancels a queued or running task, then deletes it. */
  async deleteTask(id: string, taskId: string): Promise<TaskDeleted> {
    return this.#http.json<TaskDeleted>('DELETE', `${RT}/${enc(id)}/task/${enc(taskId)}`, { api: 'runtime' });
  }
}

function listQuery(opts: WorkflowListOptions): Record<string, string | undefined> {
  const states = opts.state === undefined ? [] : Array.isArray(opts.state) ? opts.state : [opts.state];
  return {
    size: opts.size !== undefined ? String(opts.size) : undefined,
    after: opts.after,
    state: states.length > 0 ? states.join(',') : undefined,
    query: opts.query !== undefined && opts.query !== '' ? opts.query : undefined,
    order: opts.order,
  };
}

function contentTypeOf(text: string, format: 'json' | 'yaml' | undefined): string {
  const f = format ?? (text.trimStart().startsWith('{') ? 'json' : 'yaml');
  return f === 'json' ? 'application/json' : 'application/yaml';
}
