/**
 * ML Commons' model and ML task API through HTTP on a real node (SQLite, or PostgreSQL with
 * FLOWD_TEST_STORE=postgres): a remote model behind the fake OpenAI server and a built-in
 * local model go register → task → deploy → task → predict → undeploy → delete; a workflow's
 * model is the same object; bad input and unknown ids answer ML Commons' error bodies; the
 * official OpenSearch client works unchanged.
 */
import { after, before, describe, it } from 'node:test';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { Client } from '@opensearch-project/opensearch';
import { ADMIN_PASSWORD, FF, startTestNode, template } from './support/flowd-harness.js';
import type { HttpResult, TestNode } from './support/flowd-harness.js';
import { FakeModelServer, openAiChatConnector } from './support/fake-model-server.js';
import { basicAuth, getWithJsonBody } from './support/raw-http.js';
import { OpenApiSpec } from './support/spec-stories/spec-schemas.js';
import { withoutAllowed } from './support/spec-stories/allowances.js';
import type { Allowance } from './support/spec-stories/allowances.js';

const ML = '/_plugins/_ml';
const API_KEY = 'sk-models-api-test';
const USERS = '/_plugins/_security/api/internalusers';
const READER: [string, string] = ['mlreader', 'mlreader-password-1'];

let node: TestNode;
let server: FakeModelServer;

function connectorBody(name = 'OpenAI Chat Connector'): Record<string, unknown> {
  return openAiChatConnector(server.url, API_KEY, { name });
}

/** ML Commons' nested error body. */
function mlError(type: string, reason: string, status: number): unknown {
  return { error: { root_cause: [{ type, reason }], type, reason }, status };
}

function assertMlError(r: HttpResult, status: number, type: string, reason: string): void {
  assert.equal(r.status, status, r.text);
  assert.deepEqual(r.body, mlError(type, reason, status));
}

/** Polls the task until it leaves CREATED/RUNNING (bounded by attempts, not time). */
async function finishedTask(taskId: string): Promise<any> {
  for (let i = 0; i < 2000; i++) {
    const r = await node.request('GET', `${ML}/tasks/${taskId}`);
    assert.equal(r.status, 200, r.text);
    if (r.body.state !== 'CREATED' && r.body.state !== 'RUNNING') return r.body;
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error(`task ${taskId} never finished`);
}

/** GET with a search body, as the spec stories and OpenSearch clients send it (fetch cannot). */
async function getSearch(path: string, body: unknown): Promise<any> {
  const r = await getWithJsonBody(node.url, path, body, basicAuth('admin', ADMIN_PASSWORD));
  assert.equal(r.status, 200, r.text);
  return JSON.parse(r.text);
}

async function getModel(id: string): Promise<any> {
  const r = await node.request('GET', `${ML}/models/${id}`);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

const messages = JSON.stringify([{ role: 'user', content: 'hello there' }]);

before(async () => {
  server = await FakeModelServer.start({ apiKey: API_KEY });
  node = await startTestNode();
  const r = await node.request('PUT', `${USERS}/${READER[0]}`, {
    body: { password: READER[1], opendistro_security_roles: ['ml_read_access'] },
  });
  assert.equal(r.status, 201, r.text);
});

after(async () => {
  await node?.close();
  await server?.close();
});

void describe('remote model lifecycle', () => {
  void it('register (inline connector) → task → deploy → task → predict → undeploy → delete', async () => {
    const reg = await node.request('POST', `${ML}/models/_register`, {
      body: { name: 'chat-inline', function_name: 'remote', description: 'inline', connector: connectorBody() },
    });
    assert.equal(reg.status, 200, reg.text);
    assert.deepEqual(Object.keys(reg.body), ['task_id', 'status', 'model_id']);
    assert.equal(reg.body.status, 'CREATED');
    const modelId = reg.body.model_id as string;

    const task = await finishedTask(reg.body.task_id);
    assert.equal(task.state, 'COMPLETED');
    assert.equal(task.task_type, 'REGISTER_MODEL');
    assert.equal(task.function_name, 'REMOTE');
    assert.equal(task.model_id, modelId);
    assert.equal(task.is_async, false);
    assert.deepEqual(task.worker_node, [node.node.nodeId]);
    assert.equal(typeof task.create_time, 'number');
    assert.ok(task.last_update_time >= task.create_time);

    const model = await getModel(modelId);
    assert.equal(model.model_state, 'REGISTERED');
    assert.equal(model.algorithm, 'REMOTE');
    assert.equal(model.model_version, '1');
    assert.ok(!JSON.stringify(model).includes(API_KEY), 'no credential in the model');
    // A group named after the model was created for it, as ML Commons does.
    const groups = await node.node.store.listMlResources('model_group');
    const group = groups.find((g) => g.id === model.model_group_id);
    assert.equal(group?.doc['name'], 'chat-inline');
    assert.equal(group?.doc['latest_version'], 1);

    const dep = await node.request('POST', `${ML}/models/${modelId}/_deploy`);
    assert.equal(dep.status, 200, dep.text);
    assert.deepEqual(Object.keys(dep.body), ['task_id', 'task_type', 'status']);
    assert.equal(dep.body.task_type, 'DEPLOY_MODEL');
    assert.equal(dep.body.status, 'COMPLETED'); // ML Commons deploys a remote model before answering
    const dtask = await finishedTask(dep.body.task_id);
    assert.equal(dtask.state, 'COMPLETED');
    assert.equal(dtask.task_type, 'DEPLOY_MODEL');
    assert.equal(dtask.model_id, modelId);
    assert.equal(dtask.is_async, true);
    const deployed = await getModel(modelId);
    assert.equal(deployed.model_state, 'DEPLOYED');
    assert.deepEqual(deployed.planning_worker_nodes, [node.node.nodeId]);

    const p = await node.request('POST', `${ML}/models/${modelId}/_predict`, { body: { parameters: { messages } } });
    assert.equal(p.status, 200, p.text);
    assert.match(p.text, /hello there/);

    assertMlError(
      await node.request('DELETE', `${ML}/models/${modelId}`),
      400,
      'status_exception',
      'Model cannot be deleted in deploying or deployed state. Try undeploy model first then delete',
    );

    const und = await node.request('POST', `${ML}/models/${modelId}/_undeploy`);
    assert.equal(und.status, 200, und.text);
    assert.deepEqual(und.body, { [node.node.nodeId]: { stats: { [modelId]: 'UNDEPLOYED' } } });
    assert.equal((await getModel(modelId)).model_state, 'UNDEPLOYED');
    const again = await node.request('POST', `${ML}/models/${modelId}/_undeploy`);
    assert.deepEqual(again.body, {}, 'no node served it any more');

    const del = await node.request('DELETE', `${ML}/models/${modelId}`);
    assert.equal(del.status, 200, del.text);
    assert.deepEqual(del.body, {
      _index: '.plugins-ml-model',
      _id: modelId,
      _version: 1,
      result: 'deleted',
      _shards: { total: 1, successful: 1, failed: 0 },
      _seq_no: 0,
      _primary_term: 1,
    });
    assertMlError(
      await node.request('GET', `${ML}/models/${modelId}`),
      404,
      'status_exception',
      `Failed to find model with the provided model id: ${modelId}`,
    );
  });

  void it('?deploy=true deploys after registering; the same name joins the group at the next version', async () => {
    const first = await node.request('POST', `${ML}/models/_register`, {
      body: { name: 'chat-twice', function_name: 'remote', connector: connectorBody() },
    });
    assert.equal(first.status, 200, first.text);
    const reg = await node.request('POST', `${ML}/models/_register?deploy=true`, {
      body: { name: 'chat-twice', function_name: 'REMOTE', connector: connectorBody() },
    });
    assert.equal(reg.status, 200, reg.text);
    const a = await getModel(first.body.model_id);
    const b = await getModel(reg.body.model_id);
    assert.equal(b.model_group_id, a.model_group_id);
    assert.equal(a.model_version, '1');
    assert.equal(b.model_version, '2');
    assert.equal(a.model_state, 'REGISTERED');
    assert.equal(b.model_state, 'DEPLOYED');
    const tasks = await node.request('POST', `${ML}/tasks/_search`, {
      body: { query: { bool: { filter: [{ term: { model_id: reg.body.model_id } }, { term: { task_type: 'DEPLOY_MODEL' } }] } } },
    });
    assert.equal(tasks.status, 200, tasks.text);
    assert.equal(tasks.body.hits.hits.length, 1, tasks.text);
    assert.equal(tasks.body.hits.hits[0]._source.state, 'COMPLETED');
    // Given group: the model joins it.
    const given = await node.request('POST', `${ML}/models/_register`, {
      body: { name: 'other-name', function_name: 'remote', model_group_id: a.model_group_id, connector: connectorBody() },
    });
    assert.equal(given.status, 200, given.text);
    const c = await getModel(given.body.model_id);
    assert.equal(c.model_group_id, a.model_group_id);
    assert.equal(c.model_version, '3');
    assert.equal((await node.request('POST', `${ML}/models/${reg.body.model_id}/_undeploy`)).status, 200);
  });

  void it('a deploy whose work fails leaves a FAILED task that says why', async () => {
    const reg = await node.request('POST', `${ML}/models/_register`, {
      body: { name: 'chat-broken', function_name: 'remote', connector: connectorBody() },
    });
    const modelId = reg.body.model_id as string;
    const connectorId = (await getModel(modelId)).connector_id as string;
    // The connector disappears behind the model's back (the API refuses to delete it while used).
    assert.ok(await node.node.store.deleteMlResource('connector', connectorId));
    const dep = await node.request('POST', `${ML}/models/${modelId}/_deploy`);
    assertMlError(dep, 404, 'status_exception', `Failed to find connector ${connectorId}`);
    const tasks = await node.request('POST', `${ML}/tasks/_search`, {
      body: { query: { bool: { filter: [{ term: { model_id: modelId } }, { term: { task_type: 'DEPLOY_MODEL' } }] } } },
    });
    assert.equal(tasks.body.hits.hits.length, 1, tasks.text);
    const task = tasks.body.hits.hits[0]._source;
    assert.equal(task.state, 'FAILED');
    assert.equal(task.error, `Failed to find connector ${connectorId}`);
    assert.equal((await getModel(modelId)).model_state, 'DEPLOY_FAILED');
  });
});

void describe('built-in local model lifecycle', () => {
  void it('register → task (async) → deploy → task → predict → undeploy → delete', async () => {
    const reg = await node.request('POST', `${ML}/models/_register`, { body: { name: 'flowd/sentiment', model_format: 'TORCH_SCRIPT' } });
    assert.equal(reg.status, 200, reg.text);
    assert.deepEqual(Object.keys(reg.body), ['task_id', 'status'], 'ML Commons names no model id for a local registration');
    assert.equal(reg.body.status, 'CREATED');
    const task = await finishedTask(reg.body.task_id);
    assert.equal(task.state, 'COMPLETED', JSON.stringify(task));
    assert.equal(task.task_type, 'REGISTER_MODEL');
    assert.equal(task.function_name, 'TEXT_EMBEDDING', 'ML Commons records the requested function name, TEXT_EMBEDDING by default');
    assert.equal(task.is_async, true);
    const modelId = task.model_id as string;
    assert.equal((await getModel(modelId)).model_state, 'REGISTERED');

    const dep = await node.request('POST', `${ML}/models/${modelId}/_deploy`);
    assert.equal(dep.status, 200, dep.text);
    assert.equal(dep.body.status, 'CREATED');
    assert.equal(dep.body.task_type, 'DEPLOY_MODEL');
    const dtask = await finishedTask(dep.body.task_id);
    assert.equal(dtask.state, 'COMPLETED', JSON.stringify(dtask));
    assert.equal(dtask.model_id, modelId);
    assert.equal(dtask.function_name, 'TEXT_EMBEDDING');
    assert.equal((await getModel(modelId)).model_state, 'DEPLOYED');

    const p = await node.request('POST', `${ML}/models/${modelId}/_predict`, { body: { text_docs: ['What a wonderful, happy day'] } });
    assert.equal(p.status, 200, p.text);
    assert.match(p.text, /positive/);

    assert.equal((await node.request('POST', `${ML}/models/${modelId}/_undeploy`)).status, 200);
    assert.equal((await node.request('DELETE', `${ML}/models/${modelId}`)).status, 200);
    // The task outlives the model, and can be deleted.
    const delTask = await node.request('DELETE', `${ML}/tasks/${reg.body.task_id}`);
    assert.equal(delTask.status, 200, delTask.text);
    assert.equal(delTask.body._index, '.plugins-ml-task');
    assert.equal(delTask.body.result, 'deleted');
    assertMlError(await node.request('GET', `${ML}/tasks/${reg.body.task_id}`), 404, 'status_exception', 'Failed to find task');
  });
});

void describe('a model a workflow created is the same object', () => {
  void it('GET, search, update, undeploy and delete it through the REST API', async () => {
    const created = await node.request('POST', FF, {
      body: template([
        { id: 'conn', type: 'create_connector', user_inputs: connectorBody('wf connector') },
        { id: 'model', type: 'register_remote_model', user_inputs: { name: 'wf-model' }, previous_node_inputs: { conn: 'connector_id' } },
        { id: 'deploy', type: 'deploy_model', previous_node_inputs: { model: 'model_id' } },
      ]),
    });
    const wf = created.body.workflow_id as string;
    assert.ok(wf, created.text);
    await node.request('POST', `${FF}/${wf}/_provision`);
    const state = await node.waitForState(wf);
    assert.equal(state.state, 'COMPLETED', JSON.stringify(state));
    const modelId = (state.resources_created as any[]).find((r) => r.workflow_step_id === 'model').resource_id as string;

    const model = await getModel(modelId);
    assert.equal(model.name, 'wf-model');
    assert.equal(model.model_state, 'DEPLOYED');
    const found = await getSearch(`${ML}/models/_search`, { query: { term: { _id: modelId } } });
    assert.equal(found.hits.hits.length, 1, JSON.stringify(found));
    assert.equal(found.hits.hits[0]._index, '.plugins-ml-model');
    assert.equal(found.hits.hits[0]._source.name, 'wf-model');
    const all = await getSearch(`${ML}/models/_search`, { query: { match_all: {} }, size: 1000 });
    assert.ok(all.hits.hits.length > 1 && all.hits.hits.every((h: any) => h._score === 1));
    const remoteTasks = await getSearch(`${ML}/tasks/_search`, { query: { bool: { filter: [{ term: { function_name: 'REMOTE' } }] } } });
    assert.ok(remoteTasks.hits.hits.length > 0);
    assert.ok(remoteTasks.hits.hits.every((h: any) => h._source.function_name === 'REMOTE' && h._index === '.plugins-ml-task'));

    const upd = await node.request('PUT', `${ML}/models/${modelId}`, { body: { name: 'renamed', description: 'via REST' } });
    assert.equal(upd.status, 200, upd.text);
    assert.equal(upd.body.result, 'updated');
    assert.equal(upd.body._id, modelId);
    const after = await getModel(modelId);
    assert.equal(after.name, 'renamed');
    assert.equal(after.description, 'via REST');

    assert.equal((await node.request('POST', `${ML}/models/${modelId}/_undeploy`)).status, 200);
    assert.equal((await node.request('DELETE', `${ML}/models/${modelId}`)).status, 200);
  });
});

void describe('bad input and unknown ids', () => {
  void it('answers precise 4xx with ML Commons bodies', async () => {
    const reg = (body: unknown): Promise<HttpResult> => node.request('POST', `${ML}/models/_register`, { body });
    assertMlError(await reg({ function_name: 'remote' }), 400, 'illegal_argument_exception', 'model name is null');
    assertMlError(
      await reg({ name: 'flowd/tokens', function_name: 'SENTIMENT' }),
      400,
      'illegal_argument_exception',
      'Wrong function name',
    );
    assertMlError(
      await reg({ name: 'x', function_name: 'remote' }),
      400,
      'illegal_argument_exception',
      'You must provide connector content when creating a remote model without connector id!',
    );
    assertMlError(
      await reg({ name: 'x', function_name: 'remote', connector_id: 'nope' }),
      404,
      'status_exception',
      'Failed to find connector nope',
    );
    const local = await reg({ name: 'huggingface/sentence-transformers/msmarco-distilbert-base-tas-b', model_format: 'TORCH_SCRIPT' });
    assert.equal(local.status, 400, local.text);
    assert.equal(local.body.error.type, 'illegal_argument_exception');
    assert.match(local.body.error.reason, /is not available in flowd/);
    assertMlError(await reg({ name: 'flowd/sentiment', model_group_id: 'nope' }), 404, 'status_exception', 'Fail to find model group');
    // A refused registration leaves nothing behind (no connector, group or task).
    const counts = async (): Promise<number[]> =>
      Promise.all(['connector', 'model_group', 'ml_task'].map(async (k) => (await node.node.store.listMlResources(k)).length));
    const before = await counts();
    const refused = await reg({ name: 'x', function_name: 'remote', access_mode: 'secret', connector: connectorBody() });
    assert.equal(refused.status, 400, refused.text);
    assert.match(refused.body.error.reason, /access_mode/);
    assert.equal((await reg({ name: 'x', function_name: 'remote', connector: { name: 'c' } })).status, 400);
    assert.deepEqual(await counts(), before);
    assert.equal((await node.request('POST', `${ML}/models/_register?deploy=maybe`, { body: { name: 'flowd/tokens' } })).status, 400);
    assertMlError(
      await node.request('POST', `${ML}/models/_register?deploi=true`, { body: { name: 'flowd/tokens' } }),
      400,
      'illegal_argument_exception',
      'request [/_plugins/_ml/models/_register] contains unrecognized parameter: [deploi]',
    );

    const nf = 'Failed to find model';
    assertMlError(await node.request('GET', `${ML}/models/none`), 404, 'status_exception', `${nf} with the provided model id: none`);
    assertMlError(await node.request('DELETE', `${ML}/models/none`), 404, 'status_exception', nf);
    assertMlError(await node.request('POST', `${ML}/models/none/_deploy`), 404, 'status_exception', nf);
    assertMlError(await node.request('POST', `${ML}/models/none/_undeploy`), 404, 'status_exception', nf);
    assertMlError(
      await node.request('PUT', `${ML}/models/none`, { body: { name: 'x' } }),
      404,
      'status_exception',
      `${nf} to update with the provided model id: none`,
    );
    assertMlError(await node.request('GET', `${ML}/tasks/none`), 404, 'status_exception', 'Failed to find task');
    assertMlError(await node.request('DELETE', `${ML}/tasks/none`), 404, 'status_exception', 'Failed to find task');

    const inline = await reg({ name: 'upd-target', function_name: 'remote', connector: connectorBody() });
    const id = inline.body.model_id as string;
    assertMlError(await node.request('PUT', `${ML}/models/${id}`), 400, 'parse_exception', 'Update model request has empty body');
    assertMlError(await node.request('POST', `${ML}/models/_register`), 400, 'parse_exception', 'request body is required');
    const syntax = await node.request('PUT', `${ML}/models/${id}`, { raw: '{"name": ', contentType: 'application/json' });
    assert.equal(syntax.status, 400, syntax.text);
    assert.equal(syntax.body.error.type, 'json_parse_exception');
    assertMlError(
      await node.request('PUT', `${ML}/models/${id}`, { body: { connector_id: 'a', connector: {} } }),
      400,
      'status_exception',
      'Model cannot have both stand-alone connector and internal connector. Please check your update input body.',
    );
    assertMlError(
      await node.request('PUT', `${ML}/models/${id}`, { body: { connector_id: 'nope' } }),
      404,
      'status_exception',
      'Failed to find connector nope',
    );
    const t = await finishedTask((await reg({ name: 'flowd/tokens' })).body.task_id);
    assertMlError(
      await node.request('PUT', `${ML}/models/${t.model_id as string}`, { body: { connector_id: 'a' } }),
      400,
      'status_exception',
      'Trying to update the connector or connector_id field on a local model.',
    );
    const bad = await node.request('POST', `${ML}/models/_search`, { raw: '{"query": ', contentType: 'application/json' });
    assert.equal(bad.status, 400, bad.text);
  });

  void it('reads need ml:read, writes ml:write', async () => {
    const search = await node.request('POST', `${ML}/models/_search`, { auth: READER, body: { query: { match_all: {} } } });
    assert.equal(search.status, 200, search.text);
    assert.ok(search.body.hits.hits.length > 0);
    assert.equal((await node.request('POST', `${ML}/tasks/_search`, { auth: READER, body: { query: { match_all: {} } } })).status, 200);
    // ML Commons' search needs a body.
    assertMlError(
      await node.request('GET', `${ML}/tasks/_search`, { auth: READER }),
      400,
      'parse_exception',
      'request body or source parameter is required',
    );
    const reg = await node.request('POST', `${ML}/models/_register`, { auth: READER, body: { name: 'flowd/tokens' } });
    assert.equal(reg.status, 403, reg.text);
    assert.equal(reg.body.error.type, 'security_exception');
    assert.equal((await node.request('DELETE', `${ML}/tasks/none`, { auth: READER })).status, 403);
    assert.equal((await node.request('POST', `${ML}/models/none/_deploy`, { auth: READER })).status, 403);
  });
});

void describe('the official OpenSearch client', () => {
  void it('ml.registerModel, getTask, deployModel, predictModel, searchModels, searchTasks, getModel, undeployModel, deleteModel', async () => {
    const client = new Client({ node: node.url, auth: { username: 'admin', password: ADMIN_PASSWORD } });
    try {
      const reg = await client.ml.registerModel({ body: { name: 'flowd/language-id', model_format: 'TORCH_SCRIPT' } });
      assert.equal(reg.body.status, 'CREATED');
      let task = (await client.ml.getTask({ task_id: reg.body.task_id })).body;
      for (let i = 0; i < 2000 && (task.state === 'CREATED' || task.state === 'RUNNING'); i++) {
        await new Promise((res) => setTimeout(res, 10));
        task = (await client.ml.getTask({ task_id: reg.body.task_id })).body;
      }
      assert.equal(task.state, 'COMPLETED');
      const modelId = task.model_id as string;
      const dep = await client.ml.deployModel({ model_id: modelId });
      assert.equal(dep.body.task_type, 'DEPLOY_MODEL');
      let dtask = (await client.ml.getTask({ task_id: dep.body.task_id })).body;
      for (let i = 0; i < 2000 && (dtask.state === 'CREATED' || dtask.state === 'RUNNING'); i++) {
        await new Promise((res) => setTimeout(res, 10));
        dtask = (await client.ml.getTask({ task_id: dep.body.task_id })).body;
      }
      assert.equal(dtask.state, 'COMPLETED');
      const p = await client.ml.predictModel({ model_id: modelId, body: { text_docs: ['This is plainly an English sentence.'] } });
      assert.match(JSON.stringify(p.body), /eng/);
      const models = await client.ml.searchModels({ body: { query: { term: { _id: modelId } } } });
      assert.equal(models.body.hits.hits.length, 1);
      const tasks = await client.ml.searchTasks({ body: { query: { term: { model_id: modelId } } } });
      assert.equal(tasks.body.hits.hits.length, 2);
      const got = await client.ml.getModel({ model_id: modelId });
      assert.equal(got.body.model_state, 'DEPLOYED');
      await client.ml.undeployModel({ model_id: modelId });
      const del = await client.ml.deleteModel({ model_id: modelId });
      assert.equal(del.body.result, 'deleted');
      await assert.rejects(client.ml.getModel({ model_id: modelId }), (e: any) => e.meta?.statusCode === 404);
    } finally {
      await client.close();
    }
  });
});

/** MLModel.toXContent fields a model flowd serves carries and the spec's Model schema lacks. */
const MODEL_FIELDS_SPEC_LACKS: readonly Allowance[] = [
  'description',
  'connector_id',
  'is_enabled',
  'planning_worker_node_count',
  'planning_worker_nodes',
  'deploy_to_all_nodes',
  'last_deployed_time',
  'last_undeployed_time',
  'current_worker_node_count',
]
  .map((f): Allowance => ({ operation: 'GET /_plugins/_ml/models/{model_id}', pointer: `/${f}`, reason: `ML Commons' MLModel has ${f}` }))
  .concat(
    // A known deviation (reported, models.ts): flowd's built-in local models say model_format NPM_PACKAGE,
    // which ML Commons' MLModelFormat (ONNX, TORCH_SCRIPT) lacks.
    ['GET', 'POST'].map((m) => ({
      operation: `${m} /_plugins/_ml/models/_search`,
      pointer: '/hits/hits/*/_source/model_format',
      reason: 'built-in local models are NPM_PACKAGE',
    })),
  );

/** The spec is reference material beside the repository, absent from a user's clone. */
const SPEC_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'opensearch-api-spec', 'spec');

void describe(
  'answers match the OpenSearch API specification (strict schemas)',
  { skip: existsSync(SPEC_DIR) ? false : `no spec at ${SPEC_DIR}` },
  () => {
    void it('register, get_task, deploy, get_model, update, undeploy, delete, search and delete_task', async () => {
      const root = await node.request('GET', '/');
      const spec = new OpenApiSpec(SPEC_DIR, {
        version: String(root.body.version.number),
        distribution: String(root.body.version.distribution),
      });
      const check = (method: string, path: string, r: { status: number; body: unknown; text: string }): void => {
        assert.equal(r.status, 200, r.text);
        const s = spec.response(method, path, 200, 'application/json');
        assert.equal(s.kind, 'schema', `${method} ${path}: ${s.kind}`);
        const body = withoutAllowed(`${method} ${path}`, r.body, MODEL_FIELDS_SPEC_LACKS);
        if (s.kind === 'schema') assert.deepEqual(s.validate(body), [], `${method} ${path}: ${r.text}`);
      };
      const reg = await node.request('POST', `${ML}/models/_register`, {
        body: { name: 'spec-remote', function_name: 'remote', connector: connectorBody() },
      });
      check('POST', '/_plugins/_ml/models/_register', reg);
      const local = await node.request('POST', `${ML}/models/_register`, { body: { name: 'flowd/sentences' } });
      check('POST', '/_plugins/_ml/models/_register', local);
      const id = reg.body.model_id as string;
      check('GET', '/_plugins/_ml/tasks/{task_id}', await node.request('GET', `${ML}/tasks/${reg.body.task_id as string}`));
      check('GET', '/_plugins/_ml/tasks/{task_id}', { status: 200, body: await finishedTask(local.body.task_id), text: '' });
      const dep = await node.request('POST', `${ML}/models/${id}/_deploy`);
      check('POST', '/_plugins/_ml/models/{model_id}/_deploy', dep);
      check('GET', '/_plugins/_ml/tasks/{task_id}', await node.request('GET', `${ML}/tasks/${dep.body.task_id as string}`));
      check('GET', '/_plugins/_ml/models/{model_id}', await node.request('GET', `${ML}/models/${id}`));
      check('PUT', '/_plugins/_ml/models/{model_id}', await node.request('PUT', `${ML}/models/${id}`, { body: { name: 'updated' } }));
      check(
        'POST',
        '/_plugins/_ml/models/_search',
        await node.request('POST', `${ML}/models/_search`, { body: { query: { match_all: {} }, size: 1000 } }),
      );
      check(
        'POST',
        '/_plugins/_ml/tasks/_search',
        await node.request('POST', `${ML}/tasks/_search`, { body: { query: { match_all: {} }, size: 1000 } }),
      );
      check('POST', '/_plugins/_ml/models/{model_id}/_undeploy', await node.request('POST', `${ML}/models/${id}/_undeploy`));
      check('DELETE', '/_plugins/_ml/models/{model_id}', await node.request('DELETE', `${ML}/models/${id}`));
      check('DELETE', '/_plugins/_ml/tasks/{task_id}', await node.request('DELETE', `${ML}/tasks/${reg.body.task_id as string}`));
    });
  },
);
