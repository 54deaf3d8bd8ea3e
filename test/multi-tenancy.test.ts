/**
 * Multi-tenancy as Flow Framework and ML Commons do it (`multiTenancyEnabled`, the `x-tenant-id`
 * header), through HTTP on a real node (SQLite, or PostgreSQL with FLOWD_TEST_STORE=postgres)
 * with two tenants: every template, state, ML resource, API key and published flow belongs to
 * the tenant that created it; another tenant's id answers 403 with the plugin's message on every
 * route (searches and lists leave it out); a request without the header is refused with
 * TenantAwareHelper's 403; the runtime API's key reaches its own tenant's workflows only. With
 * multi-tenancy off (the default) the header changes nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FF, httpRequest, startTestNode, template } from './support/flowd-harness.js';
import type { HttpResult, RequestOptions, TestNode } from './support/flowd-harness.js';
import { FakeModelServer, openAiChatConnector } from './support/fake-model-server.js';

const ML = '/_plugins/_ml';
const RT = '/api/v1/runtime/workflow';
const KEYS = '/_flowd/api_keys';
/** Mixed case and punctuation: a tenant id is compared exactly, never analyzed. */
const A = 'Tenant-A.one';
const B = 'tenant-a.one2';

const MISSING = 'Tenant ID header is missing or has no value';
const FF_DENIED = 'No permission to access this resource';
const ML_DENIED = "You don't have permission to access this resource";

let node: TestNode;
let server: FakeModelServer;

type Caller = (method: string, path: string, opts?: RequestOptions) => Promise<HttpResult>;
/** Requests as `tenant` (null: without the header). */
const as =
  (tenant: string | null): Caller =>
  (method, path, opts = {}) =>
    node.request(method, path, { ...opts, headers: { ...(opts.headers ?? {}), ...(tenant !== null ? { 'x-tenant-id': tenant } : {}) } });
const asA = as(A);
const asB = as(B);
const asNobody = as(null);

function ffDenied(r: HttpResult): void {
  assert.equal(r.status, 403, r.text);
  assert.deepEqual(r.body, { error: FF_DENIED });
}
function ffMissing(r: HttpResult): void {
  assert.equal(r.status, 403, r.text);
  assert.deepEqual(r.body, { error: MISSING });
}
function mlError(r: HttpResult, reason: string): void {
  assert.equal(r.status, 403, r.text);
  assert.deepEqual(r.body, {
    error: { root_cause: [{ type: 'status_exception', reason }], type: 'status_exception', reason },
    status: 403,
  });
}
const mlDenied = (r: HttpResult): void => mlError(r, ML_DENIED);
const mlMissing = (r: HttpResult): void => mlError(r, MISSING);
function runtimeError(r: HttpResult, message: string): void {
  assert.equal(r.status, 403, r.text);
  assert.equal(r.body.errors[0].message, message, r.text);
}

const hitIds = (r: HttpResult): string[] => {
  assert.equal(r.status, 200, r.text);
  return (r.body.hits.hits as Array<{ _id: string }>).map((h) => h._id).sort();
};

async function createWorkflow(call: Caller, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await call('POST', FF, { body: template([{ id: 'a', type: 'noop' }], [], extra) });
  assert.equal(r.status, 201, r.text);
  return r.body.workflow_id as string;
}

const UPPER = 'function process(input) { return { text: input.text.toUpperCase() }; }';

/** A published flow (SYNC unless said) of the caller's tenant. */
async function publishFlow(call: Caller, mode: 'SYNC' | 'ASYNC' = 'SYNC'): Promise<string> {
  const flow = { mode, blocks: [{ id: 'upper', type: 'js', config: { source: UPPER } }], edges: [] };
  const r = await call('POST', `${FF}?provision=true&wait_for_completion_timeout=60s`, {
    body: { name: 'rt', description: 'runtime', use_case: 'TEST', flow },
  });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.body.state, 'COMPLETED', r.text);
  return r.body.workflow_id as string;
}

async function apiKey(call: Caller, workflowIds: string[]): Promise<{ id: string; key: string }> {
  const r = await call('POST', KEYS, { body: { name: 'k', workflow_ids: workflowIds } });
  assert.equal(r.status, 201, r.text);
  return { id: r.body.id as string, key: r.body.key as string };
}

const rt = (tenant: string | null, key: string, method: string, path: string, body?: unknown): Promise<HttpResult> =>
  httpRequest(node.url, method, `${RT}/${path}`, {
    auth: null,
    headers: { 'x-api-key': key, ...(tenant !== null ? { 'x-tenant-id': tenant } : {}) },
    ...(body !== undefined ? { body } : {}),
  });

function connectorBody(name: string): Record<string, unknown> {
  return openAiChatConnector(server.url, 'sk-tenancy-test', { name, description: 'tenant connector', version: 1 });
}

before(async () => {
  server = await FakeModelServer.start({ apiKey: 'sk-tenancy-test' });
  node = await startTestNode({ multiTenancyEnabled: true });
});
after(async () => {
  await node?.close();
  await server?.close();
});

void describe('multi-tenancy on: Flow Framework templates and states', () => {
  let a = '';
  let b = '';
  before(async () => {
    // The body's tenant_id is not the caller's to choose: the header's tenant is stored.
    a = await createWorkflow(asA, { tenant_id: B });
    b = await createWorkflow(asB);
  });

  void it('refuses every workflow route without the header, as TenantAwareHelper.getTenantID does', async () => {
    ffMissing(await asNobody('POST', FF, { body: template([{ id: 'a', type: 'noop' }]) }));
    ffMissing(await asNobody('GET', `${FF}/${a}`));
    ffMissing(await asNobody('PUT', `${FF}/${a}`, { body: template([{ id: 'a', type: 'noop' }]) }));
    ffMissing(await asNobody('DELETE', `${FF}/${a}`));
    ffMissing(await asNobody('POST', `${FF}/${a}/_provision`));
    ffMissing(await asNobody('POST', `${FF}/${a}/_deprovision`));
    ffMissing(await asNobody('GET', `${FF}/${a}/_status`));
    ffMissing(await asNobody('GET', `${FF}/_search`));
    ffMissing(await asNobody('POST', `${FF}/state/_search`, { body: { query: { match_all: {} } } }));
    ffMissing(await asNobody('GET', `${FF}/_steps`));
    ffMissing(await as('')('GET', `${FF}/${a}`));
  });

  void it('stamps the tenant on the template and its state, and GET shows it', async () => {
    const r = await asA('GET', `${FF}/${a}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.tenant_id, A);
    assert.equal((await asB('GET', `${FF}/${b}`)).body.tenant_id, B);
    const s = await asA('GET', `${FF}/${a}/_status`);
    assert.equal(s.status, 200, s.text);
  });

  void it("answers another tenant's workflow with Flow Framework's 403 on every route", async () => {
    ffDenied(await asB('GET', `${FF}/${a}`));
    ffDenied(await asB('PUT', `${FF}/${a}`, { body: template([{ id: 'a', type: 'noop' }]) }));
    ffDenied(await asB('PUT', `${FF}/${a}?update_fields=true`, { body: { name: 'stolen' } }));
    ffDenied(await asB('POST', `${FF}/${a}/_provision`));
    ffDenied(await asB('POST', `${FF}/${a}/_deprovision`));
    ffDenied(await asB('GET', `${FF}/${a}/_status`));
    ffDenied(await asB('GET', `${FF}/${a}/_status?all=true`));
    ffDenied(await asB('DELETE', `${FF}/${a}`));
    ffDenied(await asA('DELETE', `${FF}/${b}?clear_status=true`));
    // Nothing changed: the owner still reads its template as it was.
    const r = await asA('GET', `${FF}/${a}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.name, 'test');
  });

  void it('keeps the tenant through updates, whatever the body says', async () => {
    const put = await asA('PUT', `${FF}/${a}`, { body: template([{ id: 'a', type: 'noop' }], [], { name: 'renamed', tenant_id: B }) });
    assert.equal(put.status, 201, put.text);
    const fields = await asA('PUT', `${FF}/${a}?update_fields=true`, { body: { description: 'still A' } });
    assert.equal(fields.status, 201, fields.text);
    const r = await asA('GET', `${FF}/${a}`);
    assert.equal(r.body.tenant_id, A);
    assert.equal(r.body.name, 'renamed');
    assert.equal(r.body.description, 'still A');
    ffDenied(await asB('GET', `${FF}/${a}`));
  });

  void it('searches only the caller tenant templates and states', async () => {
    const all = { query: { match_all: {} } };
    const tA = hitIds(await asA('POST', `${FF}/_search`, { body: all }));
    const tB = hitIds(await asB('POST', `${FF}/_search`, { body: all }));
    assert.ok(tA.includes(a) && !tA.includes(b), JSON.stringify(tA));
    assert.ok(tB.includes(b) && !tB.includes(a), JSON.stringify(tB));
    // A query naming the other tenant finds nothing: the tenant filter is ANDed with it.
    assert.deepEqual(hitIds(await asA('POST', `${FF}/_search`, { body: { query: { term: { tenant_id: B } } } })), []);
    const sA = hitIds(await asA('POST', `${FF}/state/_search`, { body: all }));
    const sB = hitIds(await asB('GET', `${FF}/state/_search`));
    assert.ok(sA.includes(a) && !sA.includes(b), JSON.stringify(sA));
    assert.ok(sB.includes(b) && !sB.includes(a), JSON.stringify(sB));
    const doc = (await asA('POST', `${FF}/state/_search`, { body: { query: { ids: { values: [a] } } } })).body.hits.hits[0]._source;
    assert.equal(doc.tenant_id, A);
  });

  void it('deletes its own workflow, and the id is then unknown to both tenants', async () => {
    const id = await createWorkflow(asA);
    ffDenied(await asB('DELETE', `${FF}/${id}?clear_status=true`));
    const del = await asA('DELETE', `${FF}/${id}?clear_status=true`);
    assert.equal(del.status, 200, del.text);
    assert.equal((await asA('GET', `${FF}/${id}`)).status, 404);
    assert.equal((await asB('GET', `${FF}/${id}`)).status, 404);
  });
});

void describe('multi-tenancy on: ML Commons resources', () => {
  let connA = '';
  let connB = '';
  let groupA = '';
  let agentA = '';
  let agentB = '';

  before(async () => {
    const mk = async (call: Caller, name: string): Promise<string> => {
      const r = await call('POST', `${ML}/connectors/_create`, { body: connectorBody(name) });
      assert.equal(r.status, 200, r.text);
      return r.body.connector_id as string;
    };
    connA = await mk(asA, 'conn A');
    connB = await mk(asB, 'conn B');
    const g = await asA('POST', `${ML}/model_groups/_register`, { body: { name: 'group A' } });
    assert.equal(g.status, 200, g.text);
    groupA = g.body.model_group_id as string;
    const ag = async (call: Caller, name: string): Promise<string> => {
      const r = await call('POST', `${ML}/agents/_register`, { body: { name, type: 'flow', tools: [] } });
      assert.equal(r.status, 200, r.text);
      return r.body.agent_id as string;
    };
    agentA = await ag(asA, 'agent A');
    agentB = await ag(asB, 'agent B');
  });

  void it('refuses ML routes without the header with ML Commons’ body', async () => {
    mlMissing(await asNobody('POST', `${ML}/connectors/_create`, { body: connectorBody('x') }));
    mlMissing(await asNobody('GET', `${ML}/connectors/${connA}`));
    mlMissing(await asNobody('POST', `${ML}/connectors/_search`, { body: { query: { match_all: {} } } }));
    mlMissing(await asNobody('GET', `${ML}/model_groups/${groupA}`));
    mlMissing(await asNobody('GET', `${ML}/agents/${agentA}`));
    mlMissing(await asNobody('POST', `${ML}/models/_search`, { body: { query: { match_all: {} } } }));
  });

  void it('stamps tenant_id on each resource and its owner reads, updates and keeps it', async () => {
    const c = await asA('GET', `${ML}/connectors/${connA}`);
    assert.equal(c.status, 200, c.text);
    assert.equal(c.body.tenant_id, A);
    assert.equal((await asA('PUT', `${ML}/connectors/${connA}`, { body: { description: 'updated' } })).status, 200);
    const c2 = await asA('GET', `${ML}/connectors/${connA}`);
    assert.equal(c2.body.tenant_id, A, 'an update keeps the tenant');
    assert.equal(c2.body.description, 'updated');
    const g = await asA('GET', `${ML}/model_groups/${groupA}`);
    assert.equal(g.status, 200, g.text);
    assert.equal(g.body.tenant_id, A);
    assert.equal((await asA('PUT', `${ML}/agents/${agentA}`, { body: { description: 'new' } })).status, 200);
    const ag = await asA('GET', `${ML}/agents/${agentA}`);
    assert.equal(ag.status, 200, ag.text);
    assert.equal(ag.body.tenant_id, A, 'an agent update keeps the tenant');
  });

  void it("answers another tenant's resource with ML Commons' 403 on get, update, delete, execute", async () => {
    mlDenied(await asB('GET', `${ML}/connectors/${connA}`));
    mlDenied(await asB('PUT', `${ML}/connectors/${connA}`, { body: { description: 'stolen' } }));
    mlDenied(await asB('DELETE', `${ML}/connectors/${connA}`));
    mlDenied(await asA('GET', `${ML}/connectors/${connB}`));
    mlDenied(await asB('GET', `${ML}/model_groups/${groupA}`));
    mlDenied(await asB('PUT', `${ML}/model_groups/${groupA}`, { body: { description: 'stolen' } }));
    mlDenied(await asB('DELETE', `${ML}/model_groups/${groupA}`));
    mlDenied(await asB('GET', `${ML}/agents/${agentA}`));
    mlDenied(await asB('PUT', `${ML}/agents/${agentA}`, { body: { description: 'stolen' } }));
    mlDenied(await asB('DELETE', `${ML}/agents/${agentA}`));
    mlDenied(await asB('POST', `${ML}/agents/${agentA}/_execute`, { body: { parameters: {} } }));
    assert.equal((await asA('GET', `${ML}/connectors/${connA}`)).body.description, 'updated', 'nothing changed');
    assert.equal((await asA('GET', `${ML}/agents/${agentB}`)).status, 403);
  });

  void it('searches only the caller tenant resources', async () => {
    const all = { query: { match_all: {} } };
    assert.deepEqual(hitIds(await asA('POST', `${ML}/connectors/_search`, { body: all })), [connA]);
    assert.deepEqual(hitIds(await asB('POST', `${ML}/connectors/_search`, { body: all })), [connB]);
    assert.deepEqual(hitIds(await asA('POST', `${ML}/model_groups/_search`, { body: all })), [groupA]);
    assert.deepEqual(hitIds(await asB('POST', `${ML}/model_groups/_search`, { body: all })), []);
    assert.deepEqual(hitIds(await asA('POST', `${ML}/agents/_search`, { body: all })), [agentA]);
    assert.deepEqual(hitIds(await asB('POST', `${ML}/agents/_search`, { body: all })), [agentB]);
  });

  void it('gives models, their groups and their tasks to the registering tenant', async () => {
    const reg = await asA('POST', `${ML}/models/_register`, { body: { name: 'model A', function_name: 'remote', connector_id: connA } });
    assert.equal(reg.status, 200, reg.text);
    const modelId = reg.body.model_id as string;
    const taskId = reg.body.task_id as string;
    const model = await asA('GET', `${ML}/models/${modelId}`);
    assert.equal(model.status, 200, model.text);
    assert.equal(model.body.tenant_id, A);
    const group = await asA('GET', `${ML}/model_groups/${model.body.model_group_id}`);
    assert.equal(group.status, 200, group.text);
    assert.equal(group.body.tenant_id, A, 'the group registered with the model');
    const task = await asA('GET', `${ML}/tasks/${taskId}`);
    assert.equal(task.status, 200, task.text);
    assert.equal(task.body.tenant_id, A);

    mlDenied(await asB('GET', `${ML}/models/${modelId}`));
    mlDenied(await asB('PUT', `${ML}/models/${modelId}`, { body: { description: 'stolen' } }));
    mlDenied(await asB('POST', `${ML}/models/${modelId}/_deploy`));
    mlDenied(await asB('POST', `${ML}/models/${modelId}/_undeploy`));
    mlDenied(await asB('POST', `${ML}/models/${modelId}/_predict`, { body: { parameters: { messages: [] } } }));
    mlDenied(await asB('DELETE', `${ML}/models/${modelId}`));
    mlDenied(await asB('GET', `${ML}/tasks/${taskId}`));
    mlDenied(await asB('DELETE', `${ML}/tasks/${taskId}`));
    mlMissing(await asNobody('GET', `${ML}/tasks/${taskId}`));

    // Another tenant's connector or group can not be used either (ML Commons' access helpers).
    mlDenied(await asB('POST', `${ML}/models/_register`, { body: { name: 'm', function_name: 'remote', connector_id: connA } }));
    mlDenied(
      await asB('POST', `${ML}/models/_register`, {
        body: { name: 'm', function_name: 'remote', connector_id: connB, model_group_id: model.body.model_group_id },
      }),
    );

    const deploy = await asA('POST', `${ML}/models/${modelId}/_deploy`);
    assert.equal(deploy.status, 200, deploy.text);
    const deployTask = await asA('GET', `${ML}/tasks/${deploy.body.task_id}`);
    assert.equal(deployTask.body.tenant_id, A, 'the deploy task is the model tenant');

    const all = { query: { match_all: {} } };
    assert.deepEqual(hitIds(await asA('POST', `${ML}/models/_search`, { body: all })), [modelId]);
    assert.deepEqual(hitIds(await asB('POST', `${ML}/models/_search`, { body: all })), []);
    assert.deepEqual(hitIds(await asA('POST', `${ML}/tasks/_search`, { body: all })), [taskId, deploy.body.task_id].sort());
    assert.deepEqual(hitIds(await asB('POST', `${ML}/tasks/_search`, { body: all })), []);
    assert.equal((await asA('POST', `${ML}/models/${modelId}/_undeploy`)).status, 200);
  });

  void it('keeps model group names unique within a tenant only', async () => {
    const again = await asA('POST', `${ML}/model_groups/_register`, { body: { name: 'group A' } });
    assert.equal(again.status, 400, again.text);
    const other = await asB('POST', `${ML}/model_groups/_register`, { body: { name: 'group A' } });
    assert.equal(other.status, 200, other.text);
    assert.ok(!other.text.includes(groupA), 'nothing of the other tenant group shows');
  });

  void it('gives what provisioning creates to the workflow tenant', async () => {
    const inputs = { ...connectorBody('provisioned'), version: '1' };
    const r = await asA('POST', `${FF}?provision=true&wait_for_completion_timeout=60s`, {
      body: template([{ id: 'conn', type: 'create_connector', user_inputs: inputs }]),
    });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.body.state, 'COMPLETED', r.text);
    const created = (r.body.resources_created as Array<{ resource_type: string; resource_id: string }>).find(
      (x) => x.resource_type === 'connector_id',
    );
    assert.ok(created, r.text);
    const own = await asA('GET', `${ML}/connectors/${created.resource_id}`);
    assert.equal(own.status, 200, own.text);
    assert.equal(own.body.tenant_id, A);
    mlDenied(await asB('GET', `${ML}/connectors/${created.resource_id}`));
    ffDenied(await asB('GET', `${FF}/${r.body.workflow_id}/_status`));
  });

  void it('deletes its own resources; the other tenant could not', async () => {
    const r = await asB('DELETE', `${ML}/connectors/${connB}`);
    assert.equal(r.status, 200, r.text);
    assert.equal((await asB('GET', `${ML}/connectors/${connB}`)).status, 404);
  });
});

void describe('multi-tenancy on: runtime API, API keys and the dashboard', () => {
  let wfA = '';
  let wfB = '';
  let keyA = { id: '', key: '' };
  let keyB = { id: '', key: '' };

  before(async () => {
    wfA = await publishFlow(asA);
    wfB = await publishFlow(asB);
    keyA = await apiKey(asA, [wfA]);
    keyB = await apiKey(asB, [wfB]);
  });

  void it('links a key only to its own tenant workflows and lists only its own keys', async () => {
    ffDenied(await asB('POST', KEYS, { body: { name: 'steal', workflow_ids: [wfA] } }));
    ffDenied(await asB('POST', KEYS, { body: { name: 'steal', workflow_ids: [wfB, wfA] } }));
    ffMissing(await asNobody('GET', KEYS));
    const listA = await asA('GET', KEYS);
    assert.equal(listA.status, 200, listA.text);
    assert.deepEqual(
      listA.body.api_keys.map((k: { id: string }) => k.id),
      [keyA.id],
    );
    const listB = await asB('GET', KEYS);
    assert.deepEqual(
      listB.body.api_keys.map((k: { id: string }) => k.id),
      [keyB.id],
    );
    ffDenied(await asB('POST', `${KEYS}/${keyA.id}/_rotate`, { body: {} }));
    ffDenied(await asB('DELETE', `${KEYS}/${keyA.id}`));
  });

  void it('serves analyze to the key of the workflow tenant, with its header', async () => {
    const ok = await rt(A, keyA.key, 'POST', `${wfA}/action/analyze`, { text: 'hi' });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.body, { text: 'HI' });
    const okB = await rt(B, keyB.key, 'POST', `${wfB}/action/analyze`, { text: 'b' });
    assert.equal(okB.status, 200, okB.text);
  });

  void it('refuses the runtime API without the header, with another tenant header, or for another tenant workflow', async () => {
    runtimeError(await rt(null, keyA.key, 'POST', `${wfA}/action/analyze`, { text: 'x' }), MISSING);
    runtimeError(await rt(null, keyA.key, 'GET', `${wfA}/action/status`), MISSING);
    // A's key presented as tenant B: the key is not B's.
    runtimeError(await rt(B, keyA.key, 'POST', `${wfA}/action/analyze`, { text: 'x' }), FF_DENIED);
    runtimeError(await rt(B, keyA.key, 'GET', `${wfA}/task`), FF_DENIED);
    // B's key and header on A's workflow: refused before anything about it is revealed.
    const cross = await rt(B, keyB.key, 'POST', `${wfA}/action/analyze`, { text: 'x' });
    assert.equal(cross.status, 403, cross.text);
    const tasks = await rt(B, keyB.key, 'GET', `${wfA}/task`);
    assert.equal(tasks.status, 403, tasks.text);
    const status = await rt(A, keyA.key, 'GET', `${wfA}/action/status`);
    assert.equal(status.status, 200, status.text);
  });

  void it("keeps an ASYNC flow's tasks to its tenant", async () => {
    const wf = await publishFlow(asA, 'ASYNC');
    const key = await apiKey(asA, [wf]);
    const sub = await rt(A, key.key, 'POST', `${wf}/task`, { text: 'queued' });
    assert.equal(sub.status, 202, sub.text);
    const taskId = sub.body.taskId as string;
    const done = await rt(A, key.key, 'GET', `${wf}/task/${taskId}?wait=20s`);
    assert.equal(done.status, 200, done.text);
    assert.equal(done.body.status, 'COMPLETED', done.text);
    const result = await rt(A, key.key, 'GET', `${wf}/task/${taskId}/result`);
    assert.deepEqual(result.body, { text: 'QUEUED' });
    // Tenant B, with its own key and header, reaches none of it.
    for (const [method, path] of [
      ['GET', `${wf}/task/${taskId}`],
      ['GET', `${wf}/task/${taskId}/result`],
      ['GET', `${wf}/task/${taskId}/input`],
      ['DELETE', `${wf}/task/${taskId}`],
      ['GET', `${wf}/task`],
      ['POST', `${wf}/task`],
    ] as const) {
      const r = await rt(B, keyB.key, method, path, method === 'POST' ? { text: 'x' } : undefined);
      assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
    }
    runtimeError(await rt(B, key.key, 'GET', `${wf}/task/${taskId}`), FF_DENIED);
    runtimeError(await rt(null, key.key, 'GET', `${wf}/task/${taskId}`), MISSING);
    assert.equal((await rt(A, key.key, 'GET', `${wf}/task/${taskId}`)).status, 200, 'still there');
    ffDenied(await asB('GET', `${FF}/${wf}/_status`));
  });

  void it('lists only the caller tenant workflows on the dashboard and refuses the other tenant runtime view', async () => {
    const list = await asA('GET', '/_flowd/workflows');
    assert.equal(list.status, 200, list.text);
    const ids = list.body.workflows.map((w: { workflow_id: string }) => w.workflow_id);
    assert.ok(ids.includes(wfA) && !ids.includes(wfB), JSON.stringify(ids));
    ffMissing(await asNobody('GET', '/_flowd/workflows'));
    ffDenied(await asB('GET', `/_flowd/workflows/${wfA}/runtime`));
    const own = await asA('GET', `/_flowd/workflows/${wfA}/runtime`);
    assert.equal(own.status, 200, own.text);
    const analyze = await asB('POST', `/_flowd/workflows/${wfA}/analyze`, { body: { text: 'x' } });
    assert.equal(analyze.status, 403, analyze.text);
  });

  void it('shows each tenant only its own instances on /_flowd/nodes', async () => {
    const seen = async (call: Caller): Promise<string[]> => {
      const r = await call('GET', '/_flowd/nodes');
      assert.equal(r.status, 200, r.text);
      return (r.body.nodes as Array<{ instances: Array<{ workflow_id: string }> }>).flatMap((n) => n.instances.map((i) => i.workflow_id));
    };
    const a = await seen(asA);
    const b = await seen(asB);
    assert.ok(a.includes(wfA) && !a.includes(wfB), JSON.stringify(a));
    assert.ok(b.includes(wfB) && !b.includes(wfA), JSON.stringify(b));
    ffMissing(await asNobody('GET', '/_flowd/nodes'));
  });

  void it('leaves the routes that belong to no tenant open without the header', async () => {
    assert.equal((await asNobody('GET', '/_flowd/health')).status, 200);
    assert.equal((await asNobody('GET', '/')).status, 200);
    assert.equal((await asNobody('GET', '/_plugins/_security/api/internalusers')).status, 200);
  });
});

void describe('multi-tenancy off (the default)', () => {
  let plain: TestNode;
  before(async () => {
    plain = await startTestNode();
  });
  after(async () => plain?.close());

  void it('needs no header and lets the header change nothing', async () => {
    const r = await plain.request('POST', FF, { body: template([{ id: 'a', type: 'noop' }]), headers: { 'x-tenant-id': A } });
    assert.equal(r.status, 201, r.text);
    const id = r.body.workflow_id as string;
    const got = await plain.request('GET', `${FF}/${id}`);
    assert.equal(got.status, 200, got.text);
    assert.equal(got.body.tenant_id, undefined, 'no tenant is stamped');
    assert.equal((await plain.request('GET', `${FF}/${id}`, { headers: { 'x-tenant-id': B } })).status, 200);
    const hits = await plain.request('POST', `${FF}/_search`, { body: { query: { match_all: {} } }, headers: { 'x-tenant-id': B } });
    assert.ok(hitIds(hits).includes(id));
    const c = await plain.request('POST', `${ML}/connectors/_create`, { body: connectorBody('plain'), headers: { 'x-tenant-id': A } });
    assert.equal(c.status, 200, c.text);
    const conn = await plain.request('GET', `${ML}/connectors/${c.body.connector_id}`, { headers: { 'x-tenant-id': B } });
    assert.equal(conn.status, 200, conn.text);
    assert.equal(conn.body.tenant_id, undefined);
    const key = await plain.request('POST', KEYS, { body: { name: 'k', workflow_ids: [id] }, headers: { 'x-tenant-id': B } });
    assert.equal(key.status, 201, key.text);
    assert.equal((await plain.request('GET', KEYS)).body.api_keys.length, 1);
  });
});
