/**
 * Sets up a running flowd over HTTP the way an operator would, for adversarial tests and
 * benchmarks: users with each role, a stored workflow, published SYNC and ASYNC js flows, API
 * keys, a finished task, and ML resources (connector, local model, agent). Every call checks
 * its status, so a broken set-up fails loudly instead of fuzzing 404s.
 */
import { basicAuth, rawRequest } from './raw-http.js';

export const FF = '/_plugins/_flow_framework/workflow';
export const RT = '/api/v1/runtime/workflow';
export const USERS = '/_plugins/_security/api/internalusers';

export interface Json {
  status: number;
  body: any;
  text: string;
}

/** One JSON call as `auth` (basic user/password or an `x-api-key`), failing unless the status is in `expect`. */
export async function call(
  base: string,
  method: string,
  path: string,
  opts: { body?: unknown; basic?: [string, string]; apiKey?: string; expect?: number[]; timeoutMs?: number; localAddress?: string } = {},
): Promise<Json> {
  const headers: Record<string, string> = {};
  if (opts.basic) headers['authorization'] = basicAuth(opts.basic[0], opts.basic[1]);
  if (opts.apiKey) headers['x-api-key'] = opts.apiKey;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const r = await rawRequest({
    base,
    method,
    path,
    headers,
    ...(body !== undefined ? { body } : {}),
    timeoutMs: opts.timeoutMs ?? 120_000,
    keepBytes: 4 * 1024 * 1024,
    ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}),
  });
  let parsed: unknown;
  try {
    parsed = r.text === '' ? undefined : JSON.parse(r.text);
  } catch {
    parsed = undefined;
  }
  if (opts.expect && !opts.expect.includes(r.status))
    throw new Error(`${method} ${path} answered ${r.status}, expected ${opts.expect.join('/')}: ${r.text.slice(0, 500)}`);
  return { status: r.status, body: parsed, text: r.text };
}

/** A js block's source: upper-cases `text`, whatever the input's shape (the fuzz tests flowd, not the block). */
export const UPPER_SOURCE =
  'function process(input) { var t = input === null || typeof input !== "object" ? undefined : input.text; return { text: typeof t === "string" ? t.toUpperCase() : typeof t }; }';

export async function createUser(
  base: string,
  admin: [string, string],
  name: string,
  password: string,
  roles: string[],
  backendRoles: string[] = [],
): Promise<void> {
  await call(base, 'PUT', `${USERS}/${name}`, {
    basic: admin,
    body: { password, opendistro_security_roles: roles, backend_roles: backendRoles },
    expect: [200, 201],
  });
}

/** Creates and provisions a workflow with a `flow`, waiting until it is published (COMPLETED). */
export async function publishFlow(
  base: string,
  admin: [string, string],
  name: string,
  flow: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const r = await call(base, 'POST', `${FF}?provision=true&wait_for_completion_timeout=120s`, {
    basic: admin,
    body: { name, ...extra, flow },
    expect: [202],
  });
  const id = r.body?.workflow_id as string;
  if (r.body?.state !== 'COMPLETED') throw new Error(`publishing ${name} did not complete: ${r.text.slice(0, 500)}`);
  return id;
}

export async function createApiKey(
  base: string,
  admin: [string, string],
  name: string,
  workflowIds: string[],
): Promise<{ id: string; key: string }> {
  const r = await call(base, 'POST', '/_flowd/api_keys', { basic: admin, body: { name, workflow_ids: workflowIds }, expect: [201] });
  return { id: r.body.id as string, key: r.body.key as string };
}

export interface NodeFixtures {
  admin: [string, string];
  users: { reader: [string, string]; writer: [string, string]; mlWriter: [string, string]; victim: [string, string] };
  /** A stored, never provisioned workflow with a 1,000-character description (wildcard fodder). */
  workflowId: string;
  syncFlowId: string;
  asyncFlowId: string;
  /** A key for the SYNC and ASYNC flows, and one for another workflow only. */
  rightKey: string;
  wrongKey: string;
  /** A COMPLETED task of the ASYNC flow. */
  taskId: string;
  keyId: string;
  /** Things the fuzz may delete, rotate, reprovision or overwrite without losing its fixtures. */
  disposable: { workflowId: string; keyId: string; user: string };
  ml: MlFixtures;
}

/** Everything a hostile client could address, created as admin (`admin` = [name, password]). */
export async function createFixtures(base: string, admin: [string, string]): Promise<NodeFixtures> {
  const users = {
    reader: ['fx-reader', 'reader-pass-1'] as [string, string],
    writer: ['fx-writer', 'writer-pass-1'] as [string, string],
    mlWriter: ['fx-mlw', 'mlw-pass-123'] as [string, string],
    victim: ['fx-victim', 'victim-pass-1'] as [string, string],
  };
  await createUser(base, admin, users.reader[0], users.reader[1], ['flow_framework_read_access']);
  await createUser(base, admin, users.writer[0], users.writer[1], ['flow_framework_full_access']);
  await createUser(base, admin, users.mlWriter[0], users.mlWriter[1], ['ml_full_access']);
  await createUser(base, admin, users.victim[0], users.victim[1], ['flow_framework_read_access']);
  const disposableUser = 'fx-disposable';
  await createUser(base, admin, disposableUser, 'disposable-pass-1', ['ml_read_access']);

  const plain = await call(base, 'POST', FF, {
    basic: admin,
    body: {
      name: 'fx-plain',
      description: 'a'.repeat(1000),
      use_case: 'FUZZ',
      workflows: { provision: { nodes: [{ id: 'n1', type: 'noop' }] } },
    },
    expect: [201],
  });
  const workflowId = plain.body.workflow_id as string;
  const other = await call(base, 'POST', FF, {
    basic: admin,
    body: { name: 'fx-disposable', workflows: { provision: { nodes: [{ id: 'n1', type: 'noop' }] } } },
    expect: [201],
  });
  const disposableWorkflow = other.body.workflow_id as string;

  const syncFlowId = await publishFlow(base, admin, 'fx-sync', {
    mode: 'SYNC',
    // A schema with a pattern: every analyze input is checked against it on the main thread.
    input_schema: { type: 'object', properties: { code: { type: 'string', pattern: '^(a+)+$' } } },
    blocks: [{ id: 'upper', type: 'js', timeout: '10s', config: { source: UPPER_SOURCE } }],
    edges: [],
  });
  const asyncFlowId = await publishFlow(base, admin, 'fx-async', {
    mode: 'ASYNC',
    autoscaling: { preset: 'disabled' },
    blocks: [{ id: 'upper', type: 'js', replicas: 1, timeout: '10s', config: { source: UPPER_SOURCE } }],
    edges: [],
  });
  const right = await createApiKey(base, admin, 'fx-right', [syncFlowId, asyncFlowId]);
  const wrong = await createApiKey(base, admin, 'fx-wrong', [workflowId]);
  const disposableKey = await createApiKey(base, admin, 'fx-disposable', [workflowId]);

  const task = await call(base, 'POST', `${RT}/${asyncFlowId}/task`, { apiKey: right.key, body: { text: 'fixture' }, expect: [202] });
  const taskId = task.body.taskId as string;
  const done = await call(base, 'GET', `${RT}/${asyncFlowId}/task/${taskId}?wait=60s`, { apiKey: right.key, expect: [200] });
  if (done.body.status !== 'COMPLETED') throw new Error(`the fixture task did not complete: ${done.text}`);

  const ml = await createMlResources(base, admin);
  return {
    admin,
    users,
    workflowId,
    syncFlowId,
    asyncFlowId,
    rightKey: right.key,
    wrongKey: wrong.key,
    taskId,
    keyId: right.id,
    disposable: { workflowId: disposableWorkflow, keyId: disposableKey.id, user: disposableUser },
    ml,
  };
}

/** A connector (never called: its host is not reachable from tests), a deployed local model and an agent. */
export interface MlFixtures {
  modelId: string;
  connectorId: string;
  agentId: string;
  modelGroupId: string;
  /** The ML task of a `_deploy` of the model. */
  taskId: string;
}

async function createMlResources(base: string, admin: [string, string]): Promise<MlFixtures> {
  const nodes = [
    {
      id: 'connector',
      type: 'create_connector',
      user_inputs: {
        name: 'fx-connector',
        description: 'never called',
        version: '1',
        protocol: 'http',
        parameters: { endpoint: 'api.example.invalid' },
        credential: { key: 'fx-secret' },
        actions: [{ action_type: 'predict', method: 'POST', url: 'https://${parameters.endpoint}/v1/predict' }],
      },
    },
    {
      id: 'model',
      type: 'register_local_pretrained_model',
      user_inputs: { name: 'flowd/sentiment', version: '1.0.0', model_format: 'NPM_PACKAGE', deploy: 'true' },
    },
    { id: 'agent', type: 'register_agent', user_inputs: { name: 'fx-agent', type: 'flow' } },
    { id: 'group', type: 'register_model_group', user_inputs: { name: 'fx-group' } },
  ];
  const r = await call(base, 'POST', `${FF}?provision=true&wait_for_completion_timeout=120s`, {
    basic: admin,
    body: { name: 'fx-ml', workflows: { provision: { nodes } } },
    expect: [202],
  });
  if (r.body?.state !== 'COMPLETED') throw new Error(`ML set-up did not complete: ${r.text.slice(0, 500)}`);
  const s = await call(base, 'GET', `${FF}/${r.body.workflow_id as string}/_status?all=true`, { basic: admin, expect: [200] });
  const res = (s.body.resources_created ?? []) as Array<{ resource_type: string; resource_id: string }>;
  const of = (type: string): string => {
    const found = res.find((x) => x.resource_type === type)?.resource_id;
    if (!found) throw new Error(`ML set-up created no ${type}: ${s.text.slice(0, 500)}`);
    return found;
  };
  const modelId = of('model_id');
  const deploy = await call(base, 'POST', `/_plugins/_ml/models/${modelId}/_deploy`, { basic: admin, expect: [200] });
  const taskId = deploy.body?.task_id;
  if (typeof taskId !== 'string') throw new Error(`_deploy answered no task_id: ${deploy.text.slice(0, 500)}`);
  return { modelId, connectorId: of('connector_id'), agentId: of('agent_id'), modelGroupId: of('model_group_id'), taskId };
}
