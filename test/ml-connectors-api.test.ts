/**
 * ML Commons' connector and model-group API through HTTP on a real node (SQLite, or PostgreSQL
 * with FLOWD_TEST_STORE=postgres): create/get/update/delete/search with ML Commons' shapes;
 * a workflow's connector or model group is the same object; the credential never comes back
 * (GET, update, search hits, `_source` includes, queries on it) and an updated one is what
 * the next predict sends; bad input and unknown ids answer ML Commons' error bodies and
 * messages; reads need ml:read and writes ml:write; the official OpenSearch client works
 * unchanged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@opensearch-project/opensearch';
import { ADMIN_PASSWORD, FF, startTestNode, template } from './support/flowd-harness.js';
import type { HttpResult, TestNode } from './support/flowd-harness.js';
import { FakeModelServer, openAiChatConnector } from './support/fake-model-server.js';
import { basicAuth, rawRequest } from './support/raw-http.js';

const ML = '/_plugins/_ml';
const API_KEY = 'sk-connectors-api-test-4b7e';
/** Sent as the first credential, then replaced: no answer may ever show it either. */
const OLD_KEY = 'sk-stale-key-9d31aa';
const USERS = '/_plugins/_security/api/internalusers';
const READER: [string, string] = ['connreader', 'connreader-password-1'];
const NOBODY: [string, string] = ['connnobody', 'connnobody-password-1'];

let node: TestNode;
let server: FakeModelServer;

function connectorBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return openAiChatConnector(server.url, API_KEY, {
    description: 'The connector to public OpenAI model service for GPT 3.5',
    version: 1,
    ...extra,
  });
}

function assertMlError(r: HttpResult, status: number, type: string, reason: string): void {
  assert.equal(r.status, status, r.text);
  assert.deepEqual(r.body, { error: { root_cause: [{ type, reason }], type, reason }, status });
}

function assertNoSecret(r: HttpResult): void {
  for (const s of [API_KEY, OLD_KEY]) assert.ok(!r.text.includes(s), `the answer holds a credential: ${r.text}`);
}

async function createConnector(extra: Record<string, unknown> = {}): Promise<string> {
  const r = await node.request('POST', `${ML}/connectors/_create`, { body: connectorBody(extra) });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.body), ['connector_id']);
  return r.body.connector_id as string;
}

async function registerGroup(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await node.request('POST', `${ML}/model_groups/_register`, {
    body: { name, description: 'Model group for NLP models.', ...extra },
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'CREATED');
  return r.body.model_group_id as string;
}

/** Provisions `nodes` and answers the resources it created, by resource type. */
async function provision(nodes: unknown[]): Promise<Record<string, string>> {
  const r = await node.request('POST', `${FF}?provision=true&wait_for_completion_timeout=10s`, { body: template(nodes) });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.body.state, 'COMPLETED', r.text);
  const out: Record<string, string> = {};
  for (const res of r.body.resources_created as { workflow_step_name: string; resource_id: string }[]) {
    out[res.workflow_step_name] = res.resource_id;
  }
  return out;
}

/** A search; GET sends its body too, as OpenSearch clients do (fetch refuses a GET body: node:http here). */
async function search(what: 'connectors' | 'model_groups', body: unknown, method = 'POST'): Promise<HttpResult> {
  const path = `${ML}/${what}/_search`;
  if (method !== 'GET') return node.request(method, path, { body });
  const r = await rawRequest({
    base: node.url,
    method,
    path,
    headers: { authorization: basicAuth('admin', ADMIN_PASSWORD), 'content-type': 'application/json' },
    body: JSON.stringify(body),
    timeoutMs: 10_000,
    keepBytes: 1 << 22,
  });
  return { status: r.status, text: r.text, body: JSON.parse(r.text), headers: new Headers() };
}

const hitIds = (r: HttpResult): string[] => (r.body.hits.hits as { _id: string }[]).map((h) => h._id);

before(async () => {
  server = await FakeModelServer.start({ apiKey: API_KEY });
  node = await startTestNode();
  for (const [[name, password], roles] of [
    [READER, ['ml_read_access']],
    [NOBODY, []],
  ] as const) {
    const r = await node.request('PUT', `${USERS}/${name}`, { body: { password, opendistro_security_roles: roles } });
    assert.equal(r.status, 201, r.text);
  }
});

after(async () => {
  await node?.close();
  await server?.close();
});

void describe('connectors', () => {
  void it('create → get → update → search → delete, in ML Commons shapes, never with the credential', async () => {
    const id = await createConnector({ credential: { openAI_key: OLD_KEY } });
    const got = await node.request('GET', `${ML}/connectors/${id}`);
    assert.equal(got.status, 200, got.text);
    assertNoSecret(got);
    assert.equal(got.body.credential, undefined);
    assert.equal(got.body.name, 'OpenAI Chat Connector');
    assert.equal(got.body.version, '1');
    assert.equal(got.body.protocol, 'http');
    assert.equal(got.body.actions[0].action_type, 'PREDICT');
    assert.equal(typeof got.body.created_time, 'number');

    const upd = await node.request('PUT', `${ML}/connectors/${id}`, {
      body: { name: 'This is the updated name.', parameters: { model: 'gpt-4o' }, credential: { openAI_key: API_KEY } },
    });
    assert.equal(upd.status, 200, upd.text);
    assertNoSecret(upd);
    assert.deepEqual(
      { ...upd.body, _version: 0, _seq_no: 0 },
      {
        _index: '.plugins-ml-connector',
        _id: id,
        _version: 0,
        result: 'updated',
        _shards: { total: 1, successful: 1, failed: 0 },
        _seq_no: 0,
        _primary_term: 1,
      },
    );
    const after = (await node.request('GET', `${ML}/connectors/${id}`)).body;
    assert.equal(after.name, 'This is the updated name.');
    // parameters are merged key by key; the rest stays.
    assert.deepEqual(after.parameters, { endpoint: server.url, model: 'gpt-4o' });
    assert.equal(after.description, got.body.description);
    assert.equal(after.created_time, got.body.created_time);
    assert.ok(after.last_updated_time >= got.body.last_updated_time);

    // The spec story's searches: match_all with size (GET with a body), and terms on _id.
    const all = await search('connectors', { query: { match_all: {} }, size: 1000 }, 'GET');
    assert.equal(all.status, 200, all.text);
    assertNoSecret(all);
    assert.ok(hitIds(all).includes(id));
    assert.equal(all.body.hits.hits[0]._score, 1);
    assert.equal(all.body.hits.hits[0]._index, '.plugins-ml-connector');
    const byId = await search('connectors', { query: { bool: { must: [{ terms: { _id: [id] } }] } } });
    assert.deepEqual(hitIds(byId), [id]);
    assert.equal(byId.body.hits.hits[0]._score, 1);
    assert.equal(byId.body.hits.hits[0]._source.name, 'This is the updated name.');

    const del = await node.request('DELETE', `${ML}/connectors/${id}`);
    assert.equal(del.status, 200, del.text);
    assert.equal(del.body.result, 'deleted');
    assert.equal(del.body._index, '.plugins-ml-connector');
    assert.equal(del.body._id, id);
    assertMlError(
      await node.request('GET', `${ML}/connectors/${id}`),
      404,
      'status_exception',
      `Failed to find connector with the provided connector id: ${id}`,
    );
  });

  void it('the credential is not reachable through _source includes, a query on it, or a source parameter', async () => {
    const id = await createConnector();
    const includes = await search('connectors', {
      query: { ids: { values: [id] } },
      _source: { includes: ['credential', 'credential.*'] },
    });
    assert.equal(includes.status, 200, includes.text);
    assertNoSecret(includes);
    assert.deepEqual(hitIds(includes), [id]);
    assert.deepEqual(includes.body.hits.hits[0]._source, {});
    for (const query of [
      { match: { 'credential.openAI_key': API_KEY } },
      { exists: { field: 'credential' } },
      { query_string: { query: API_KEY } },
      { wildcard: { 'credential.openAI_key': 'sk-*' } },
    ]) {
      const r = await search('connectors', { query });
      assert.equal(r.status, 200, `${JSON.stringify(query)}: ${r.text}`);
      assert.deepEqual(hitIds(r), [], JSON.stringify(query));
    }
    const viaSource = await node.request(
      'GET',
      `${ML}/connectors/_search?source=${encodeURIComponent(JSON.stringify({ query: { ids: { values: [id] } } }))}`,
    );
    assert.equal(viaSource.status, 200, viaSource.text);
    assert.deepEqual(hitIds(viaSource), [id]);
    assertNoSecret(viaSource);
    assert.equal((await node.request('DELETE', `${ML}/connectors/${id}`)).status, 200);
  });

  void it('a connector a workflow step created is visible, updatable and searchable through the REST API', async () => {
    const res = await provision([{ id: 'conn', type: 'create_connector', user_inputs: { ...connectorBody(), version: '1' } }]);
    const id = res['create_connector'];
    assert.ok(id);
    const got = await node.request('GET', `${ML}/connectors/${id}`);
    assert.equal(got.status, 200, got.text);
    assertNoSecret(got);
    assert.equal(got.body.name, 'OpenAI Chat Connector');
    const upd = await node.request('PUT', `${ML}/connectors/${id}`, { body: { description: 'changed over REST' } });
    assert.equal(upd.status, 200, upd.text);
    const found = await search('connectors', { query: { match: { description: 'changed over REST' } } });
    assert.deepEqual(hitIds(found), [id]);
    assertNoSecret(found);
  });

  void it('an updated credential is sealed again and used by the next predict; update (400) and delete (409) refused while models use it', async () => {
    const id = await createConnector({ credential: { openAI_key: OLD_KEY } });
    const upd = await node.request('PUT', `${ML}/connectors/${id}`, { body: { credential: { openAI_key: API_KEY } } });
    assert.equal(upd.status, 200, upd.text);
    const res = await provision([
      {
        id: 'model',
        type: 'register_remote_model',
        user_inputs: { name: 'chat', function_name: 'remote', connector_id: id, deploy: true },
      },
    ]);
    const modelId = res['register_remote_model'];
    assert.ok(modelId);
    const before = server.requests.length;
    const messages = JSON.stringify([{ role: 'user', content: 'hello there' }]);
    const p = await node.request('POST', `${ML}/models/${modelId}/_predict`, { body: { parameters: { messages } } });
    assert.equal(p.status, 200, p.text);
    assert.equal(server.requests.length, before + 1);
    assert.equal(server.requests.at(-1)?.authorization, `Bearer ${API_KEY}`);

    assertMlError(
      await node.request('PUT', `${ML}/connectors/${id}`, { body: { name: 'renamed' } }),
      400,
      'status_exception',
      `1 models are still using this connector, please undeploy the models first: [${modelId}]`,
    );
    assert.equal((await node.request('GET', `${ML}/connectors/${id}`)).body.name, 'OpenAI Chat Connector');
    assertMlError(
      await node.request('DELETE', `${ML}/connectors/${id}`),
      409,
      'status_exception',
      `1 models are still using this connector, please delete or update the models first: [${modelId}]`,
    );
    assert.equal((await node.request('GET', `${ML}/connectors/${id}`)).status, 200);
  });

  void it('answers bad input with precise 4xx in ML Commons words', async () => {
    const create = (body: unknown): Promise<HttpResult> => node.request('POST', `${ML}/connectors/_create`, { body });
    const ia = 'illegal_argument_exception';
    assertMlError(await create(connectorBody({ name: undefined })), 400, ia, 'Connector name is null');
    assertMlError(await create(connectorBody({ version: undefined })), 400, ia, 'Connector version is null');
    assertMlError(await create(connectorBody({ protocol: undefined })), 400, ia, 'Connector protocol is null');
    assertMlError(await create(connectorBody({ credential: {} })), 400, ia, 'Connector credential is null or empty list');
    assertMlError(
      await create(connectorBody({ protocol: 'grpc' })),
      400,
      ia,
      'Unsupported connector protocol. Please use one of [aws_sigv4, http]',
    );
    assertMlError(await create(connectorBody({ actions: [{ action_type: 'predict', method: 'POST' }] })), 400, ia, "url can't be null");
    assertMlError(
      await create(connectorBody({ actions: [{ action_type: 'guess', method: 'POST', url: 'http://x' }] })),
      400,
      ia,
      'Wrong Action Type of guess',
    );
    assertMlError(await create(connectorBody({ actions: [{ method: 'POST', url: 'http://x' }] })), 400, ia, "action type can't be null");
    // flowd's own checks follow, naming the field.
    const bad = await create(connectorBody({ actions: [{ action_type: 'predict', method: 'FETCH', url: 'http://x' }] }));
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.body.error.reason, /actions\[0\]\.method must be one of/);
    assertMlError(
      await node.request('POST', `${ML}/connectors/_create`, { raw: '' }),
      400,
      'parse_exception',
      'Create Connector request has empty body',
    );
    const syntax = await node.request('POST', `${ML}/connectors/_create`, { raw: '{"name": ', contentType: 'application/json' });
    assert.equal(syntax.status, 400, syntax.text);
    assert.equal(syntax.body.error.type, 'json_parse_exception');
    const notObject = await node.request('POST', `${ML}/connectors/_create`, { body: ['a'] });
    assert.equal(notObject.status, 400, notObject.text);

    const id = await createConnector();
    const upd = await node.request('PUT', `${ML}/connectors/${id}`, { body: { protocol: 'grpc' } });
    assert.equal(upd.status, 400, upd.text);
    assert.match(upd.body.error.reason, /protocol/);
    assertMlError(
      await node.request('PUT', `${ML}/connectors/${id}`, { raw: '' }),
      400,
      'parse_exception',
      'Failed to update connector: Request body is empty',
    );
    assertMlError(
      await node.request('GET', `${ML}/connectors/_search`),
      400,
      'parse_exception',
      'request body or source parameter is required',
    );
    const unknownParam = await node.request('POST', `${ML}/connectors/_search?sizee=3`, { body: { query: { match_all: {} } } });
    assert.equal(unknownParam.status, 400, unknownParam.text);
    assert.equal(unknownParam.body.error.type, 'illegal_argument_exception');
    const badQuery = await search('connectors', { query: { no_such_query: {} } });
    assert.equal(badQuery.status, 400, badQuery.text);
    assert.equal(badQuery.body.status, 400);
  });

  void it('unknown ids answer ML Commons 404 bodies', async () => {
    const reason = 'Failed to find connector with the provided connector id: nope';
    assertMlError(await node.request('GET', `${ML}/connectors/nope`), 404, 'status_exception', reason);
    assertMlError(await node.request('PUT', `${ML}/connectors/nope`, { body: { name: 'x' } }), 404, 'status_exception', reason);
    const del = await node.request('DELETE', `${ML}/connectors/nope`);
    assert.equal(del.status, 404, del.text);
    assert.equal(del.body.result, 'not_found');
    assert.equal(del.body._id, 'nope');
    assert.equal(del.body._index, '.plugins-ml-connector');
  });
});

void describe('model groups', () => {
  void it('register → get → update → search → delete, in ML Commons shapes', async () => {
    const id = await registerGroup('NLP_Group');
    const got = await node.request('GET', `${ML}/model_groups/${id}`);
    assert.equal(got.status, 200, got.text);
    assert.equal(got.body.name, 'NLP_Group');
    assert.equal(got.body.description, 'Model group for NLP models.');
    assert.equal(got.body.latest_version, 0);
    assert.equal(got.body.access, 'private');

    const upd = await node.request('PUT', `${ML}/model_groups/${id}`, { body: { description: 'This is the updated description.' } });
    assert.equal(upd.status, 200, upd.text);
    assert.deepEqual(upd.body, { status: 'Updated' });
    assert.equal((await node.request('GET', `${ML}/model_groups/${id}`)).body.description, 'This is the updated description.');
    // A blank description changes nothing, as in ML Commons.
    assert.equal((await node.request('PUT', `${ML}/model_groups/${id}`, { body: { description: '  ' } })).status, 200);
    assert.equal((await node.request('GET', `${ML}/model_groups/${id}`)).body.description, 'This is the updated description.');

    const all = await search('model_groups', { query: { match_all: {} }, size: 1000 }, 'GET');
    assert.equal(all.status, 200, all.text);
    assert.ok(hitIds(all).includes(id));
    assert.equal(all.body.hits.hits[0]._score, 1);
    const byId = await search('model_groups', { query: { bool: { must: [{ terms: { _id: [id] } }] } } });
    assert.deepEqual(hitIds(byId), [id]);
    assert.equal(byId.body.hits.hits[0]._index, '.plugins-ml-model-group');

    const del = await node.request('DELETE', `${ML}/model_groups/${id}`);
    assert.equal(del.status, 200, del.text);
    assert.equal(del.body.result, 'deleted');
    assert.equal(del.body._index, '.plugins-ml-model-group');
    const again = await node.request('DELETE', `${ML}/model_groups/${id}`);
    assert.equal(again.status, 404, again.text);
    assert.equal(again.body.result, 'not_found');
  });

  void it('refuses a name already in use, on register and on rename', async () => {
    const a = await registerGroup('unique group A');
    const b = await registerGroup('unique group B');
    assertMlError(
      await node.request('POST', `${ML}/model_groups/_register`, { body: { name: 'unique group A' } }),
      400,
      'illegal_argument_exception',
      `The name you provided is already being used by a model group with ID: ${a}.`,
    );
    assertMlError(
      await node.request('PUT', `${ML}/model_groups/${b}`, { body: { name: 'unique group A' } }),
      400,
      'illegal_argument_exception',
      `The name you provided is already being used by another model with ID: ${a}. Please provide a different name`,
    );
    // Renaming to its own name, or to a free one, is fine.
    assert.equal((await node.request('PUT', `${ML}/model_groups/${b}`, { body: { name: 'unique group B' } })).status, 200);
    assert.equal((await node.request('PUT', `${ML}/model_groups/${b}`, { body: { name: 'unique group C' } })).status, 200);
    assert.equal((await node.request('GET', `${ML}/model_groups/${b}`)).body.name, 'unique group C');
    assert.equal((await registerGroup('unique group B')).length > 0, true);
  });

  void it('applies ML Commons access rules', async () => {
    assertMlError(
      await node.request('POST', `${ML}/model_groups/_register`, { body: { name: 'acl 1', access_mode: 'public', backend_roles: ['x'] } }),
      400,
      'illegal_argument_exception',
      'You can specify backend roles only for a model group with the restricted access mode.',
    );
    assertMlError(
      await node.request('POST', `${ML}/model_groups/_register`, { body: { name: 'acl 2', access_mode: 'restricted' } }),
      400,
      'illegal_argument_exception',
      'You must specify one or more backend roles or add all backend roles to register a restricted model group.',
    );
    assertMlError(
      await node.request('POST', `${ML}/model_groups/_register`, { body: { name: 'acl 3', access_mode: 'everyone' } }),
      400,
      'illegal_argument_exception',
      'Wrong access value',
    );
    // backend_roles alone make the group restricted.
    const id = await registerGroup('acl 4', { backend_roles: ['analysts'] });
    const got = (await node.request('GET', `${ML}/model_groups/${id}`)).body;
    assert.equal(got.access, 'restricted');
    assert.deepEqual(got.backend_roles, ['analysts']);
    // Going public drops the backend roles.
    assert.equal((await node.request('PUT', `${ML}/model_groups/${id}`, { body: { access_mode: 'public' } })).status, 200);
    const pub = (await node.request('GET', `${ML}/model_groups/${id}`)).body;
    assert.equal(pub.access, 'public');
    assert.deepEqual(pub.backend_roles, []);
  });

  void it('without security (as ML Commons without its security plugin): public groups, no access fields', async () => {
    const open = await startTestNode({ securityEnabled: false });
    try {
      const r = await open.request('POST', `${ML}/model_groups/_register`, { body: { name: 'open group' }, auth: null });
      assert.equal(r.status, 200, r.text);
      assert.equal((await open.request('GET', `${ML}/model_groups/${r.body.model_group_id}`, { auth: null })).body.access, 'public');
      const refusal =
        'You cannot specify model access control parameters because the Security plugin or model access control is disabled on your cluster.';
      for (const body of [
        { name: 'g2', access_mode: 'private' },
        { name: 'g3', backend_roles: ['x'] },
      ]) {
        assertMlError(
          await open.request('POST', `${ML}/model_groups/_register`, { body, auth: null }),
          400,
          'illegal_argument_exception',
          refusal,
        );
      }
      assertMlError(
        await open.request('PUT', `${ML}/model_groups/${r.body.model_group_id}`, { body: { access_mode: 'private' }, auth: null }),
        400,
        'illegal_argument_exception',
        refusal,
      );
    } finally {
      await open.close();
    }
  });

  void it('a model group a workflow step created is the same object; delete is refused while it has models', async () => {
    const res = await provision([
      { id: 'group', type: 'register_model_group', user_inputs: { name: 'workflow group', description: 'from a template' } },
      { id: 'conn', type: 'create_connector', user_inputs: { ...connectorBody(), version: '1' } },
      {
        id: 'model',
        type: 'register_remote_model',
        previous_node_inputs: { group: 'model_group_id', conn: 'connector_id' },
        user_inputs: { name: 'grouped', function_name: 'remote' },
      },
    ]);
    const groupId = res['register_model_group'];
    assert.ok(groupId);
    const got = await node.request('GET', `${ML}/model_groups/${groupId}`);
    assert.equal(got.status, 200, got.text);
    assert.equal(got.body.name, 'workflow group');
    assert.equal((await node.request('PUT', `${ML}/model_groups/${groupId}`, { body: { description: 'via REST' } })).status, 200);
    const found = await search('model_groups', { query: { term: { 'name.keyword': 'workflow group' } } });
    assert.deepEqual(hitIds(found), [groupId]);
    assert.equal(found.body.hits.hits[0]._source.description, 'via REST');
    assertMlError(
      await node.request('DELETE', `${ML}/model_groups/${groupId}`),
      409,
      'status_exception',
      'Cannot delete the model group when it has associated model versions',
    );
  });

  void it('answers bad input and unknown ids with ML Commons bodies', async () => {
    assertMlError(
      await node.request('POST', `${ML}/model_groups/_register`, { body: { description: 'no name' } }),
      400,
      'illegal_argument_exception',
      'model group name must not be null',
    );
    assertMlError(
      await node.request('POST', `${ML}/model_groups/_register`, { raw: '' }),
      400,
      'parse_exception',
      'Model group request has empty body',
    );
    const reason = 'Failed to find model group with the provided model group id: nope';
    assertMlError(await node.request('GET', `${ML}/model_groups/nope`), 404, 'status_exception', reason);
    assertMlError(await node.request('PUT', `${ML}/model_groups/nope`, { body: { description: 'x' } }), 404, 'status_exception', reason);
    assertMlError(
      await node.request('POST', `${ML}/model_groups/_search`, { raw: '' }),
      400,
      'parse_exception',
      'request body or source parameter is required',
    );
  });
});

void describe('authorization', () => {
  void it('reads need ml:read, writes ml:write', async () => {
    const id = await createConnector();
    const groupId = await registerGroup('authz group');
    assert.equal((await node.request('GET', `${ML}/connectors/${id}`, { auth: READER })).status, 200);
    assert.equal((await node.request('GET', `${ML}/model_groups/${groupId}`, { auth: READER })).status, 200);
    const s = await node.request('POST', `${ML}/connectors/_search`, { auth: READER, body: { query: { match_all: {} } } });
    assert.equal(s.status, 200, s.text);
    assertNoSecret(s);
    for (const [method, path, body] of [
      ['POST', `${ML}/connectors/_create`, connectorBody()],
      ['PUT', `${ML}/connectors/${id}`, { name: 'x' }],
      ['DELETE', `${ML}/connectors/${id}`, undefined],
      ['POST', `${ML}/model_groups/_register`, { name: 'by reader' }],
      ['PUT', `${ML}/model_groups/${groupId}`, { description: 'x' }],
      ['DELETE', `${ML}/model_groups/${groupId}`, undefined],
    ] as const) {
      const r = await node.request(method, path, { auth: READER, ...(body ? { body } : {}) });
      assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
      assert.equal(r.body.error.type, 'security_exception');
    }
    for (const path of [`${ML}/connectors/${id}`, `${ML}/model_groups/${groupId}`]) {
      assert.equal((await node.request('GET', path, { auth: NOBODY })).status, 403);
    }
    assert.equal((await node.request('POST', `${ML}/connectors/_search`, { auth: NOBODY, body: {} })).status, 403);
    assert.equal((await node.request('POST', `${ML}/model_groups/_search`, { auth: NOBODY, body: {} })).status, 403);
  });
});

void describe('the official OpenSearch client', () => {
  void it('ml.createConnector, getConnector, updateConnector, searchConnectors, deleteConnector and the model-group calls', async () => {
    const client = new Client({ node: node.url, auth: { username: 'admin', password: ADMIN_PASSWORD } });
    try {
      const created = await client.ml.createConnector({ body: connectorBody() as any });
      assert.equal(created.statusCode, 200);
      const id = created.body.connector_id as string;
      const got = await client.ml.getConnector({ connector_id: id });
      assert.equal(got.body.name, 'OpenAI Chat Connector');
      assert.ok(!JSON.stringify(got.body).includes(API_KEY));
      const upd = await client.ml.updateConnector({ connector_id: id, body: { description: 'via the client' } });
      assert.equal(upd.body.result, 'updated');
      const found = await client.ml.searchConnectors({ body: { query: { ids: { values: [id] } } } as any });
      assert.equal((found.body.hits.hits[0] as any)._source.description, 'via the client');
      // The deprecated snake_case aliases are the same functions.
      const again = await (client.ml as any).get_connector({ connector_id: id });
      assert.equal(again.body.name, 'OpenAI Chat Connector');
      const del = await client.ml.deleteConnector({ connector_id: id });
      assert.equal(del.body.result, 'deleted');
      await assert.rejects(client.ml.getConnector({ connector_id: id }), (e: any) => e.meta?.statusCode === 404);

      const reg = await client.ml.registerModelGroup({ body: { name: 'client group', description: 'd' } });
      assert.equal(reg.body.status, 'CREATED');
      const gid = reg.body.model_group_id;
      assert.equal((await client.ml.getModelGroup({ model_group_id: gid })).body.name, 'client group');
      const gupd = await client.ml.updateModelGroup({ model_group_id: gid, body: { description: 'changed' } });
      assert.equal((gupd.body as any).status, 'Updated');
      const gfound = await client.ml.searchModelGroup({ body: { query: { ids: { values: [gid] } } } as any });
      assert.equal((gfound.body.hits.hits[0] as any)._source.description, 'changed');
      const gdel = await client.ml.deleteModelGroup({ model_group_id: gid });
      assert.equal(gdel.body.result, 'deleted');
      await assert.rejects(client.ml.getModelGroup({ model_group_id: gid }), (e: any) => e.meta?.statusCode === 404);
    } finally {
      await client.close();
    }
  });
});
