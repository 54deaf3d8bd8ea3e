/**
 * ML Commons' agent and tool API through HTTP on a real node (SQLite, or PostgreSQL with
 * FLOWD_TEST_STORE=postgres): register → get → update → search → execute → delete, an agent a
 * workflow's register_agent step created being the same object over REST, ML Commons' error
 * bodies and messages, secrets never rendered, authorization, and the official client's
 * `ml.*` agent calls unchanged. Remote LLM calls go to the fake OpenAI-shaped model server.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@opensearch-project/opensearch';
import { ADMIN_PASSWORD, FF, startTestNode, template } from './support/flowd-harness.js';
import type { HttpResult, TestNode } from './support/flowd-harness.js';
import { FakeModelServer } from './support/fake-model-server.js';
import { basicAuth, getWithJsonBody } from './support/raw-http.js';

const API_KEY = 'sk-agent-test-key-1234567890';
const ML = '/_plugins/_ml';

/** An OpenAI chat action of `type` (predict or execute) that sends `${parameters.prompt}` as the user message. */
const chatAction = (type: string, authorization: string): Record<string, unknown> => ({
  action_type: type,
  method: 'POST',
  url: '${parameters.endpoint}/v1/chat/completions',
  headers: { Authorization: authorization },
  request_body: '{ "model": "${parameters.model}", "messages": [{"role": "user", "content": "${parameters.prompt}"}] }',
});

const connectorInputs = (endpoint: string): Record<string, unknown> => ({
  name: 'Fake OpenAI',
  description: 'chat',
  version: '1',
  protocol: 'http',
  parameters: { endpoint, model: 'gpt-4o-mini', response_filter: '$.choices[0].message.content' },
  credential: { openAI_key: API_KEY },
  actions: [chatAction('predict', 'Bearer ${credential.openAI_key}'), chatAction('execute', 'Bearer ${credential.openAI_key}')],
});

function nestedError(r: HttpResult, status: number, type: string, reason: string): void {
  assert.equal(r.status, status, r.text);
  assert.deepEqual(r.body, { error: { root_cause: [{ type, reason }], type, reason }, status });
}

function executeError(r: HttpResult, status: number, type: string, details: RegExp): void {
  assert.equal(r.status, status, r.text);
  assert.deepEqual(Object.keys(r.body), ['status', 'error']);
  assert.equal(r.body.status, status);
  assert.equal(r.body.error.type, type);
  assert.equal(r.body.error.reason, status === 400 ? 'Invalid Request' : 'System Error');
  assert.match(r.body.error.details, details);
}

void describe('ML Commons agent API', () => {
  let node: TestNode;
  let server: FakeModelServer;
  let modelId: string;
  let connectorId: string;
  let workflowAgentId: string;

  const register = async (body: unknown): Promise<string> => {
    const r = await node.request('POST', `${ML}/agents/_register`, { body });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.body), ['agent_id']);
    return r.body.agent_id as string;
  };
  const execute = (id: string, body: unknown): Promise<HttpResult> => node.request('POST', `${ML}/agents/${id}/_execute`, { body });
  /** GET with a body (fetch cannot send one), as the API-spec stories and the official client do. */
  const getWithBody = async (path: string, body: unknown): Promise<{ status: number; body: any; text: string }> => {
    const r = await getWithJsonBody(node.url, path, body, basicAuth('admin', ADMIN_PASSWORD));
    return { status: r.status, body: JSON.parse(r.text), text: r.text };
  };

  before(async () => {
    server = await FakeModelServer.start({ apiKey: API_KEY });
    node = await startTestNode();
    // Connector, deployed remote model and a flow agent, all made by one workflow.
    const t = template([
      { id: 'connector', type: 'create_connector', user_inputs: connectorInputs(server.url) },
      {
        id: 'model',
        type: 'register_remote_model',
        previous_node_inputs: { connector: 'connector_id' },
        user_inputs: { name: 'fake-llm', deploy: true },
      },
      {
        id: 'tool',
        type: 'create_tool',
        previous_node_inputs: { model: 'model_id' },
        user_inputs: { type: 'MLModelTool', name: 'llm', parameters: { prompt: '${parameters.question}' } },
      },
      {
        id: 'agent',
        type: 'register_agent',
        previous_node_inputs: { tool: 'tools' },
        user_inputs: { name: 'workflow agent', type: 'flow', description: 'made by register_agent' },
      },
    ]);
    const created = await node.request('POST', `${FF}?provision=true`, { body: t });
    assert.equal(created.status, 202, created.text);
    const state = await node.waitForState(created.body.workflow_id as string);
    assert.equal(state.state, 'COMPLETED', JSON.stringify(state));
    const resource = (step: string): string => {
      const r = (state.resources_created as { workflow_step_name: string; resource_id: string }[]).find(
        (x) => x.workflow_step_name === step,
      );
      assert.ok(r, `${step} created a resource`);
      return r.resource_id;
    };
    connectorId = resource('create_connector');
    modelId = resource('register_remote_model');
    workflowAgentId = resource('register_agent');
  });

  after(async () => {
    await node?.close();
    await server?.close();
  });

  void it('an agent a workflow step registered is the same object over REST, and runs', async () => {
    const got = await node.request('GET', `${ML}/agents/${workflowAgentId}`);
    assert.equal(got.status, 200, got.text);
    assert.equal(got.body.name, 'workflow agent');
    assert.equal(got.body.type, 'flow');
    assert.equal(got.body.description, 'made by register_agent');
    assert.equal(got.body.tools.length, 1);
    assert.equal(got.body.tools[0].type, 'MLModelTool');
    assert.equal(got.body.tools[0].parameters.model_id, modelId);
    assert.equal(typeof got.body.created_time, 'number');

    const found = await node.request('POST', `${ML}/agents/_search`, { body: { query: { ids: { values: [workflowAgentId] } } } });
    assert.equal(found.status, 200, found.text);
    assert.equal(found.body.hits.hits[0]._index, '.plugins-ml-agent');
    assert.deepEqual(found.body.hits.hits[0]._source, got.body);

    const before = server.requests.length;
    const run = await execute(workflowAgentId, { parameters: { question: 'what is flowd?' } });
    assert.equal(run.status, 200, run.text);
    // One tool: its output is the answer, named `response` (ML Commons' processOutput).
    assert.deepEqual(run.body, { inference_results: [{ output: [{ name: 'response', result: 'Echo: what is flowd?' }] }] });
    assert.equal(server.requests.length, before + 1);
    assert.equal(server.requests.at(-1)?.path, '/v1/chat/completions');
  });

  void it('register → get → update → search → execute → delete', async () => {
    const id = await register({
      name: 'two step',
      type: 'flow',
      description: 'asks twice',
      tools: [
        {
          type: 'MLModelTool',
          name: 'first',
          include_output_in_agent_response: true,
          parameters: { model_id: modelId, prompt: '${parameters.question}' },
        },
        { type: 'MLModelTool', name: 'second', parameters: { model_id: modelId, prompt: 'Again: ${parameters.first.output}' } },
      ],
    });
    const got = await node.request('GET', `${ML}/agents/${id}`);
    assert.equal(got.status, 200, got.text);
    assert.equal(got.body.name, 'two step');
    assert.deepEqual(
      got.body.tools.map((t: { name: string }) => t.name),
      ['first', 'second'],
    );
    const created = got.body.created_time as number;

    const upd = await node.request('PUT', `${ML}/agents/${id}`, { body: { description: 'asks twice, updated', type: 'conversational' } });
    assert.equal(upd.status, 200, upd.text);
    assert.deepEqual(Object.keys(upd.body), ['_index', '_id', '_version', 'result', '_shards', '_seq_no', '_primary_term']);
    assert.equal(upd.body._index, '.plugins-ml-agent');
    assert.equal(upd.body._id, id);
    assert.equal(upd.body.result, 'updated');
    const after = (await node.request('GET', `${ML}/agents/${id}`)).body;
    assert.equal(after.description, 'asks twice, updated');
    assert.equal(after.type, 'flow', 'the type never changes');
    assert.equal(after.name, 'two step');
    assert.equal(after.created_time, created);
    assert.ok(after.last_updated_time >= created);

    const byType = await node.request('POST', `${ML}/agents/_search`, { body: { query: { term: { type: { value: 'flow' } } } } });
    assert.equal(byType.status, 200, byType.text);
    const ids = byType.body.hits.hits.map((h: { _id: string }) => h._id);
    assert.ok(ids.includes(id) && ids.includes(workflowAgentId), JSON.stringify(ids));
    // GET with a body, as the API-spec stories send it.
    const all = await getWithBody(`${ML}/agents/_search`, { query: { match_all: {} }, size: 1000 });
    assert.equal(all.status, 200, all.text);
    assert.ok(all.body.hits.total.value >= 2);
    assert.equal(typeof all.body.hits.hits[0]._version, 'number');
    const none = await getWithBody(`${ML}/agents/_search`, { query: { term: { name: 'no such agent' } } });
    assert.equal(none.body.hits.total.value, 0);

    const run = await execute(id, { parameters: { question: 'hi' } });
    assert.equal(run.status, 200, run.text);
    assert.deepEqual(run.body, {
      inference_results: [
        {
          output: [
            { name: 'first', result: 'Echo: hi' },
            { name: 'second', result: 'Echo: Again: Echo: hi' },
          ],
        },
      ],
    });

    const del = await node.request('DELETE', `${ML}/agents/${id}`);
    assert.equal(del.status, 200, del.text);
    assert.equal(del.body.result, 'deleted');
    assert.equal(del.body._id, id);
    nestedError(
      await node.request('GET', `${ML}/agents/${id}`),
      404,
      'status_exception',
      `Failed to find agent with the provided agent id: ${id}`,
    );
    nestedError(await node.request('DELETE', `${ML}/agents/${id}`), 404, 'status_exception', 'Fail to find ml agent');
  });

  void it('runs a conversational_flow agent without memory as ML Commons does: tensors named by tool', async () => {
    const id = await register({
      name: 'cf',
      type: 'conversational_flow',
      tools: [{ type: 'MLModelTool', name: 'answer', parameters: { model_id: modelId, prompt: '${parameters.question}' } }],
    });
    const run = await execute(id, { parameters: { question: 'no memory' } });
    assert.equal(run.status, 200, run.text);
    assert.deepEqual(run.body, { inference_results: [{ output: [{ name: 'answer', result: 'Echo: no memory' }] }] });
  });

  void it('runs ConnectorTool (execute action) and AgentTool (another agent), tool parameters addressed by tool name', async () => {
    const inner = await register({
      name: 'inner',
      type: 'flow',
      tools: [{ type: 'ConnectorTool', name: 'ask', parameters: { connector_id: connectorId, prompt: 'default prompt' } }],
    });
    const r1 = await execute(inner, { parameters: { 'ask.prompt': 'via connector' } });
    assert.equal(r1.status, 200, r1.text);
    assert.deepEqual(r1.body.inference_results[0].output, [{ name: 'response', result: 'Echo: via connector' }]);

    const outer = await register({
      name: 'outer',
      type: 'flow',
      tools: [
        { type: 'AgentTool', name: 'delegate', include_output_in_agent_response: true, parameters: { agent_id: inner } },
        { type: 'MLModelTool', parameters: { model_id: modelId, prompt: 'got ${parameters.delegate.output}' } },
      ],
    });
    const r2 = await execute(outer, { parameters: { 'ask.prompt': 'nested' } });
    assert.equal(r2.status, 200, r2.text);
    const out = r2.body.inference_results[0].output as { name: string; result: string }[];
    assert.deepEqual(out[0], { name: 'response', result: 'Echo: nested' });
    assert.equal(out[1]?.name, 'MLModelTool');
    // The next tool saw the inner agent's whole output, JSON-escaped into its prompt.
    assert.match(
      out[1]?.result ?? '',
      /^Echo: got \{"inference_results":\[\{"output":\[\{"name":"response","result":"Echo: nested"\}\]\}\]\}$/,
    );

    const self = await register({ name: 'loop', type: 'flow', tools: [{ type: 'AgentTool', parameters: { agent_id: 'placeholder' } }] });
    await node.request('PUT', `${ML}/agents/${self}`, { body: { tools: [{ type: 'AgentTool', parameters: { agent_id: self } }] } });
    executeError(await execute(self, { parameters: {} }), 400, 'IllegalArgumentException', /nests agents more than 8 deep/);
  });

  void it('never renders a secret parameter, and opens it only to run the agent', async () => {
    // The key travels as a tool parameter the execute action puts in its Authorization header.
    const t = template([
      {
        id: 'c',
        type: 'create_connector',
        user_inputs: {
          ...connectorInputs(server.url),
          name: 'key from parameters',
          actions: [chatAction('execute', 'Bearer ${parameters.api_key}')],
        },
      },
    ]);
    const wf = await node.request('POST', `${FF}?provision=true`, { body: t });
    const state = await node.waitForState(wf.body.workflow_id as string);
    assert.equal(state.state, 'COMPLETED', JSON.stringify(state));
    const cid = state.resources_created[0].resource_id as string;

    const id = await register({
      name: 'with a key',
      type: 'flow',
      parameters: { client_secret: 'agent-level-secret' },
      tools: [{ type: 'ConnectorTool', parameters: { connector_id: cid, api_key: API_KEY, max_tokens: '5' } }],
    });
    const got = await node.request('GET', `${ML}/agents/${id}`);
    assert.ok(!got.text.includes(API_KEY) && !got.text.includes('agent-level-secret'), got.text);
    assert.equal(got.body.tools[0].parameters.max_tokens, '5', 'only secret-named parameters are hidden');
    assert.equal(got.body.tools[0].parameters.connector_id, cid);
    const search = await node.request('POST', `${ML}/agents/_search`, { body: { query: { match_all: {} }, size: 100 } });
    assert.ok(!search.text.includes(API_KEY) && !search.text.includes('agent-level-secret'));
    const stored = await node.node.store.getMlResource('agent', id);
    assert.ok(stored && !JSON.stringify(stored.doc).includes(API_KEY), 'sealed at rest');

    const run = await execute(id, { parameters: { prompt: 'authorized?' } });
    assert.equal(run.status, 200, run.text);
    assert.equal(run.body.inference_results[0].output[0].result, 'Echo: authorized?');
    assert.equal(server.requests.at(-1)?.authorization, `Bearer ${API_KEY}`);
  });

  void it("refuses what flowd cannot run with ML Commons' execute error, before any model call", async () => {
    // The body of the API-spec stories (agents.yaml): it registers, but VectorDBTool needs an OpenSearch index.
    const story = await register({
      name: 'Test_Agent_For_RAG',
      type: 'flow',
      description: 'this is a test agent',
      tools: [
        {
          type: 'VectorDBTool',
          parameters: {
            model_id: 'YOUR_TEXT_EMBEDDING_MODEL_ID',
            index: 'my_test_data',
            embedding_field: 'embedding',
            source_field: ['text'],
            input: 'test_question',
          },
        },
        { type: 'MLModelTool', description: 'A general tool to answer any question', parameters: { model_id: modelId } },
      ],
    });
    const before = server.requests.length;
    executeError(
      await execute(story, { parameters: { question: 'q' } }),
      400,
      'IllegalArgumentException',
      /^Tool not found: VectorDBTool\./,
    );
    assert.equal(server.requests.length, before, 'no tool ran');

    const chat = await register({ name: 'chat', type: 'conversational', llm: { model_id: modelId, parameters: { max_iteration: '3' } } });
    executeError(await execute(chat, { parameters: { question: 'q' } }), 400, 'IllegalArgumentException', /flowd runs flow agents/);
    const remembering = await register({
      name: 'remembers',
      type: 'conversational_flow',
      app_type: 'rag',
      memory: { type: 'conversation_index' },
      tools: [{ type: 'MLModelTool', parameters: { model_id: modelId } }],
    });
    executeError(await execute(remembering, { parameters: { question: 'q' } }), 400, 'IllegalArgumentException', /conversation memory/);

    const empty = await register({ name: 'no tools', type: 'flow' });
    executeError(await execute(empty, { parameters: { question: 'q' } }), 400, 'IllegalArgumentException', /^no tool configured$/);
    executeError(await execute(empty, { question: 'q' }), 400, 'IllegalArgumentException', /^Agent input data can not be empty\.$/);
    executeError(
      await execute('no-such-agent', { parameters: {} }),
      404,
      'OpenSearchStatusException',
      /^Failed to find agent with the provided agent id: no-such-agent$/,
    );
    const noConnector = await register({ name: 'nc', type: 'flow', tools: [{ type: 'ConnectorTool', parameters: { prompt: 'x' } }] });
    executeError(await execute(noConnector, { parameters: {} }), 400, 'IllegalArgumentException', /^connector_id can't be null$/);

    // A remote failure keeps its status.
    server.failNext(503);
    const failed = await execute(workflowAgentId, { parameters: { question: 'q' } });
    executeError(failed, 503, 'OpenSearchStatusException', /Error from remote service.*status 503/);
  });

  void it("answers bad register and update bodies with ML Commons' messages", async () => {
    const bad = async (body: unknown, reason: string): Promise<void> =>
      nestedError(await node.request('POST', `${ML}/agents/_register`, { body }), 400, 'illegal_argument_exception', reason);
    await bad({ type: 'flow' }, "Agent name can't be null");
    await bad({ name: '  ', type: 'flow' }, 'Agent name cannot be empty or exceed max length of 128 characters');
    await bad({ name: 'x'.repeat(129), type: 'flow' }, 'Agent name cannot be empty or exceed max length of 128 characters');
    await bad({ name: 'a' }, "Agent type can't be null");
    await bad({ name: 'a', type: 'robot' }, 'robot is not a valid Agent Type');
    await bad({ name: 'a', type: 'conversational' }, 'We need model information for the conversational agent type');
    await bad(
      { name: 'a', type: 'flow', tools: [{ type: 'MLModelTool' }, { type: 'MLModelTool' }] },
      'Duplicate tool defined: MLModelTool',
    );
    nestedError(await node.request('POST', `${ML}/agents/_register`, { raw: '' }), 400, 'parse_exception', 'request body is required');

    const id = await register({ name: 'to update', type: 'flow' });
    const put = (agentId: string, body: unknown): Promise<HttpResult> => node.request('PUT', `${ML}/agents/${agentId}`, { body });
    nestedError(
      await put(id, { name: '' }),
      400,
      'illegal_argument_exception',
      'Agent name cannot be empty or exceed max length of 128 characters',
    );
    nestedError(await put(id, { memory: { type: 'buffer' } }), 400, 'illegal_argument_exception', 'Invalid memory type: buffer');
    nestedError(
      await put(id, {
        tools: [
          { type: 'A', name: 't' },
          { type: 'B', name: 't' },
        ],
      }),
      400,
      'illegal_argument_exception',
      'Duplicate tool defined: t',
    );
    nestedError(await put('no-such-agent', { name: 'x' }), 404, 'status_exception', 'Failed to get agent with ID no-such-agent');
    assert.equal((await node.request('GET', `${ML}/agents/${id}`)).body.name, 'to update', 'a refused update changes nothing');
  });

  void it('lists and gets the tools flowd runs, as ML Commons answers them', async () => {
    const list = await node.request('GET', `${ML}/tools`);
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(
      list.body.map((t: { name: string }) => t.name),
      ['AgentTool', 'ConnectorTool', 'MLModelTool'],
    );
    const one = await node.request('GET', `${ML}/tools/ConnectorTool`);
    assert.equal(one.status, 200, one.text);
    assert.deepEqual(one.body, {
      name: 'ConnectorTool',
      description: 'This tool will invoke external service.',
      type: 'ConnectorTool',
      version: 'undefined',
    });
    nestedError(
      await node.request('GET', `${ML}/tools/PPLTool`),
      404,
      'status_exception',
      'Failed to find tool information with the provided tool name: PPLTool',
    );
  });

  void it('reads need ml:read, writes and execute ml:write', async () => {
    const mk = await node.request('PUT', `/_plugins/_security/api/internalusers/ml-reader`, {
      body: { password: 'ml-reader-password', opendistro_security_roles: ['ml_read_access'] },
    });
    assert.ok(mk.status === 200 || mk.status === 201, mk.text);
    const as: [string, string] = ['ml-reader', 'ml-reader-password'];
    assert.equal((await node.request('GET', `${ML}/agents/${workflowAgentId}`, { auth: as })).status, 200);
    assert.equal((await node.request('GET', `${ML}/tools`, { auth: as })).status, 200);
    assert.equal((await node.request('POST', `${ML}/agents/_search`, { auth: as, body: {} })).status, 200);
    for (const [method, path, body] of [
      ['POST', `${ML}/agents/_register`, { name: 'x', type: 'flow' }],
      ['PUT', `${ML}/agents/${workflowAgentId}`, { name: 'x' }],
      ['DELETE', `${ML}/agents/${workflowAgentId}`, undefined],
      ['POST', `${ML}/agents/${workflowAgentId}/_execute`, { parameters: { question: 'q' } }],
    ] as const) {
      const r = await node.request(method, path, { auth: as, ...(body ? { body } : {}) });
      assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
      assert.equal(r.body.error.type, 'security_exception', r.text);
    }
    assert.equal((await node.request('GET', `${ML}/agents/${workflowAgentId}`, { auth: null })).status, 401);
  });

  void it('works with the official client unchanged (client.ml.*)', async () => {
    const client = new Client({ node: node.url, auth: { username: 'admin', password: ADMIN_PASSWORD } });
    try {
      const reg = await client.ml.registerAgents({
        body: {
          name: 'client agent',
          type: 'flow',
          tools: [{ type: 'MLModelTool', parameters: { model_id: modelId, prompt: '${parameters.question}' } }],
        },
      });
      const id = reg.body.agent_id as string;
      assert.equal(typeof id, 'string');
      const got = await client.ml.getAgent({ agent_id: id });
      assert.equal((got.body as { name?: string }).name, 'client agent');
      const found = await client.ml.searchAgents({ body: { query: { term: { name: 'client agent' } } } });
      assert.deepEqual(
        found.body.hits.hits.map((h) => h._id),
        [id],
      );
      const run = await client.ml.executeAgent({ agent_id: id, body: { parameters: { question: 'from the client' } } });
      assert.equal(run.body.inference_results?.[0]?.output?.[0]?.result, 'Echo: from the client');
      const tools = await client.ml.getAllTools();
      assert.ok(tools.body.some((t) => t.name === 'MLModelTool'));
      const tool = await client.ml.getTool({ tool_name: 'AgentTool' });
      assert.equal(tool.body.type, 'AgentTool');
      const del = await client.ml.deleteAgent({ agent_id: id });
      assert.equal(del.body.result, 'deleted');
      await assert.rejects(client.ml.getAgent({ agent_id: id }), (e: { meta?: { statusCode?: number } }) => e.meta?.statusCode === 404);
    } finally {
      await client.close();
    }
  });
});
