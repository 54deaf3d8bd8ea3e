/**
 * The ML steps and deleters, driven through `execute` / `remove` with a hand-built
 * StepContext over real services (SQLite store, SecretBox, native ML service): the declared
 * contract (as Flow Framework's step catalog declares it), idempotent creation across retries, `deploy: true` recording two resources,
 * agent tool wiring, and deleters that undo things and tolerate what is already gone.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { FlowdError } from '../src/errors.js';
import { NativeMlService } from '../src/ml/ml-service.js';
import type { StepServices } from '../src/steps/services.js';
import type { DeleteContext, StepContext, StepDefinition, StepResult } from '../src/steps/step.js';
import { mlDeleters, mlSteps } from '../src/steps/ml/index.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { JsonObject } from '../src/util/json.js';
import { SecretBox } from '../src/util/secret-box.js';

const step = (name: string): StepDefinition => {
  const found = mlSteps.find((s) => s.name === name);
  assert.ok(found, `step ${name} is registered`);
  return found;
};
/** An output that must be a string id. */
const str = (v: unknown): string => {
  assert.equal(typeof v, 'string', `expected a string id, got ${JSON.stringify(v)}`);
  return v as string;
};
const deleter = (createdBy: string) => {
  const found = mlDeleters.find((d) => d.createdBy === createdBy);
  assert.ok(found, `deleter for ${createdBy} is registered`);
  return found;
};

const CONNECTOR_INPUTS: JsonObject = {
  name: 'OpenAI Chat Connector',
  description: 'The connector to public OpenAI model service for GPT 3.5',
  version: '1',
  protocol: 'http',
  parameters: { endpoint: 'api.openai.com', model: 'gpt-3.5-turbo' },
  credential: { openAI_key: '12345' },
  actions: [{ action_type: 'predict', method: 'POST', url: 'https://${parameters.endpoint}/v1/chat/completions' }],
};

async function rejectsStepFailure(p: Promise<unknown>, status: number, message: RegExp): Promise<FlowdError> {
  let caught: unknown;
  await assert.rejects(p, (e) => {
    caught = e;
    return true;
  });
  assert.ok(caught instanceof FlowdError, `expected a FlowdError, got ${String(caught)}`);
  assert.equal(caught.kind, 'step_failure', caught.message);
  assert.equal(caught.status, status, caught.message);
  assert.match(caught.message, message);
  return caught;
}

void describe('ML steps', () => {
  let store: SqliteStore;
  let ml: NativeMlService;
  let services: StepServices;
  let keySeq = 0;

  before(() => {
    store = new SqliteStore({ path: ':memory:' });
    const secrets = new SecretBox(randomBytes(32));
    const logger = pino({ level: 'silent' });
    ml = new NativeMlService({ store, secrets, fetch: globalThis.fetch, logger });
    services = { store, secrets, logger, opensearch: undefined, ml, fetch: globalThis.fetch };
  });

  after(async () => {
    await ml.close();
    await store.close();
  });

  interface CtxOptions {
    key?: string;
    previousOutputs?: Record<string, JsonObject>;
    previousNodeInputs?: Record<string, string>;
  }
  const ctx = (nodeId: string, inputs: JsonObject, o: CtxOptions = {}): StepContext => ({
    workflowId: 'wf1',
    nodeId,
    inputs,
    previousOutputs: o.previousOutputs ?? {},
    previousNodeInputs: o.previousNodeInputs ?? {},
    idempotencyKey: o.key ?? `run1.${nodeId}.${++keySeq}`,
    signal: AbortSignal.timeout(10_000),
    services,
  });
  const delCtx = (resourceType: string, resourceId: string): DeleteContext => ({
    workflowId: 'wf1',
    nodeId: 'n',
    resourceId,
    resourceType,
    nodeInputs: undefined,
    signal: AbortSignal.timeout(10_000),
    services,
  });
  const run = (name: string, c: StepContext): Promise<StepResult> => step(name).execute(c);

  void it('declares the Flow Framework step contract: inputs, outputs, resources, timeouts, secrets, plugin', () => {
    assert.deepEqual(mlSteps.map((s) => s.name).sort(), [
      'create_connector',
      'create_tool',
      'delete_agent',
      'delete_connector',
      'delete_model',
      'deploy_model',
      'register_agent',
      'register_local_pretrained_model',
      'register_model_group',
      'register_remote_model',
      'undeploy_model',
    ]);
    for (const s of mlSteps) assert.deepEqual(s.requiredPlugins, ['opensearch-ml'], s.name);
    const cc = step('create_connector');
    assert.deepEqual(cc.inputs, ['name', 'description', 'version', 'protocol', 'parameters', 'credential', 'actions']);
    assert.deepEqual(cc.outputs, ['connector_id']);
    assert.equal(cc.resourceType, 'connector_id');
    assert.equal(cc.defaultTimeoutMs, 60_000);
    assert.deepEqual(cc.secretInputs, ['credential']);
    assert.deepEqual(step('register_remote_model').inputs, ['name', 'connector_id']);
    assert.deepEqual(step('register_remote_model').outputs, ['model_id', 'register_model_status']);
    assert.equal(step('register_remote_model').defaultTimeoutMs, undefined);
    assert.deepEqual(step('register_local_pretrained_model').inputs, ['name', 'version', 'model_format']);
    assert.equal(step('register_local_pretrained_model').defaultTimeoutMs, 60_000);
    assert.equal(step('deploy_model').defaultTimeoutMs, 15_000);
    assert.equal(step('deploy_model').resourceType, 'model_id');
    assert.deepEqual(step('register_model_group').outputs, ['model_group_id', 'model_group_status']);
    assert.deepEqual(step('undeploy_model').outputs, ['success']);
    assert.deepEqual(step('register_agent').inputs, ['name', 'type']);
    assert.equal(step('register_agent').resourceType, 'agent_id');
    assert.deepEqual(step('create_tool').outputs, ['tools']);
    assert.deepEqual(mlDeleters.map((d) => [d.createdBy, d.deleteStep]).sort(), [
      ['create_connector', 'delete_connector'],
      ['deploy_model', 'undeploy_model'],
      ['register_agent', 'delete_agent'],
      ['register_local_pretrained_model', 'delete_model'],
      ['register_remote_model', 'delete_model'],
    ]);
    for (const d of mlDeleters) assert.equal(d.requiresAllowDelete, false);
  });

  void it('create_connector: records the connector; a retry with the same key creates nothing new', async () => {
    const before = (await store.listMlResources('connector')).length;
    const a = await run('create_connector', ctx('create_connector_1', CONNECTOR_INPUTS, { key: 'runA.create_connector_1' }));
    const b = await run('create_connector', ctx('create_connector_1', CONNECTOR_INPUTS, { key: 'runA.create_connector_1' }));
    const id = a.outputs['connector_id'];
    assert.equal(typeof id, 'string');
    assert.deepEqual(b.outputs, a.outputs);
    assert.deepEqual(a.resources, [{ workflow_step_name: 'create_connector', resource_type: 'connector_id', resource_id: id }]);
    assert.equal((await store.listMlResources('connector')).length, before + 1);
    assert.equal('credential' in ((await ml.getConnector(str(id))) ?? {}), false);
  });

  void it('create_connector: a bad configuration is a 400 step failure naming the field', async () => {
    const err = await rejectsStepFailure(
      run('create_connector', ctx('c', { ...CONNECTOR_INPUTS, actions: [{ action_type: 'predict' }] })),
      400,
      /actions\[0\]\.url is required/,
    );
    assert.equal(err.node, 'c');
    assert.equal(err.retryable, false);
  });

  void it('register_remote_model with deploy:true yields two resources; a retry returns the same model', async () => {
    const conn = await run('create_connector', ctx('conn', CONNECTOR_INPUTS));
    const connectorId = str(conn.outputs['connector_id']);
    const inputs = { name: 'openAI-gpt-3.5-turbo', function_name: 'remote', connector_id: connectorId, deploy: true };
    const models = (await store.listMlResources('model')).length;
    const first = await run('register_remote_model', ctx('register_model_2', inputs, { key: 'runB.register_model_2' }));
    const retry = await run('register_remote_model', ctx('register_model_2', inputs, { key: 'runB.register_model_2' }));
    const modelId = str(first.outputs['model_id']);
    assert.deepEqual(first.outputs, { model_id: modelId, register_model_status: 'CREATED', deploy_model_status: 'COMPLETED' });
    assert.deepEqual(first.resources, [
      { workflow_step_name: 'register_remote_model', resource_type: 'model_id', resource_id: modelId },
      { workflow_step_name: 'deploy_model', resource_type: 'model_id', resource_id: modelId },
    ]);
    assert.deepEqual(retry.outputs, first.outputs);
    assert.equal((await store.listMlResources('model')).length, models + 1, 'no duplicate model');
    assert.equal((await ml.getModel(modelId))?.['model_state'], 'DEPLOYED');

    const plain = await run('register_remote_model', ctx('register_model_3', { name: 'm', connector_id: connectorId }));
    assert.deepEqual(plain.outputs, { model_id: plain.outputs['model_id'] ?? null, register_model_status: 'CREATED' });
    assert.equal(plain.resources?.length, 1);
    assert.equal((await ml.getModel(str(plain.outputs['model_id'])))?.['model_state'], 'REGISTERED');
  });

  void it('register_remote_model: a missing connector is a 404 step failure that is not retried', async () => {
    const err = await rejectsStepFailure(
      run('register_remote_model', ctx('m', { name: 'm', connector_id: 'gone' })),
      404,
      /Failed to find connector gone/,
    );
    assert.equal(err.retryable, false);
  });

  void it('register_local_pretrained_model: deploy "true" loads it; unknown names list the available ones', async () => {
    const res = await run(
      'register_local_pretrained_model',
      ctx('local', { name: 'flowd/sentiment', version: '1.0.0', model_format: 'NPM_PACKAGE', deploy: 'true' }),
    );
    const id = str(res.outputs['model_id']);
    assert.equal(res.outputs['register_model_status'], 'COMPLETED');
    assert.deepEqual(
      res.resources?.map((r) => r.workflow_step_name),
      ['register_local_pretrained_model', 'deploy_model'],
    );
    const out = await ml.predict(id, { text_docs: ['What a lovely day'] });
    assert.equal((out.inference_results[0]?.output[0]?.dataAsMap as JsonObject)['label'], 'positive');

    await rejectsStepFailure(
      run(
        'register_local_pretrained_model',
        ctx('x', { name: 'huggingface/sentence-transformers/paraphrase-MiniLM-L3-v2', version: '1.0.2', model_format: 'TORCH_SCRIPT' }),
      ),
      400,
      /not available in flowd.*flowd\/sentiment/,
    );
  });

  void it('deploy_model / undeploy_model / delete_model steps', async () => {
    const reg = await run(
      'register_local_pretrained_model',
      ctx('l', { name: 'flowd/tokens', version: '1.0.0', model_format: 'NPM_PACKAGE' }),
    );
    const id = str(reg.outputs['model_id']);
    const dep = await run('deploy_model', ctx('deploy_model_3', { model_id: id }));
    assert.deepEqual(dep.outputs, { model_id: id, deploy_model_status: 'COMPLETED' });
    assert.deepEqual(dep.resources, [{ workflow_step_name: 'deploy_model', resource_type: 'model_id', resource_id: id }]);
    await rejectsStepFailure(run('delete_model', ctx('d', { model_id: id })), 409, /undeploy model first/);
    assert.deepEqual((await run('undeploy_model', ctx('u', { model_id: id }))).outputs, { success: true });
    assert.deepEqual((await run('delete_model', ctx('d', { model_id: id }))).outputs, { model_id: id });
    assert.deepEqual((await run('delete_model', ctx('d', { model_id: id }))).outputs, { model_id: id }, 'already gone counts as deleted');
    await rejectsStepFailure(run('deploy_model', ctx('x', { model_id: id })), 404, /Failed to find model/);
    await rejectsStepFailure(run('undeploy_model', ctx('x', { model_id: id })), 404, /Failed to find model/);
    await rejectsStepFailure(run('deploy_model', ctx('x', {})), 400, /Missing required inputs \[model_id\] in workflow \[wf1\] node \[x\]/);
  });

  void it('create_tool injects predecessor ids into parameters (unless already set); nothing is stored', async () => {
    const tool = await run(
      'create_tool',
      ctx(
        'create_tool',
        { parameters: {}, name: 'ConnectorTool', type: 'ConnectorTool' },
        {
          previousNodeInputs: { create_connector: 'connector_id' },
          previousOutputs: { create_connector: { connector_id: 'C1' } },
        },
      ),
    );
    assert.deepEqual(tool.outputs, {
      tools: { type: 'ConnectorTool', name: 'ConnectorTool', parameters: { connector_id: 'C1' }, include_output_in_agent_response: false },
    });
    assert.equal(tool.resources, undefined);
    const kept = await run(
      'create_tool',
      ctx(
        't',
        { type: 'MLModelTool', parameters: { model_id: 'mine', prompt: 'p' } },
        {
          previousNodeInputs: { model: 'model_id' },
          previousOutputs: { model: { model_id: 'theirs' } },
        },
      ),
    );
    assert.deepEqual((kept.outputs['tools'] as JsonObject)['parameters'], { model_id: 'mine', prompt: 'p' });
  });

  void it('register_agent wires tools (tools_order first) and the llm model id from predecessors', async () => {
    const mlTool = await run(
      'create_tool',
      ctx(
        'ml_model_tool',
        { name: 'MLModelTool', type: 'MLModelTool', parameters: { prompt: 'Answer.' } },
        {
          previousNodeInputs: { 'gpt-3.5-model': 'model_id' },
          previousOutputs: { 'gpt-3.5-model': { model_id: 'M1', register_model_status: 'CREATED' } },
        },
      ),
    );
    const mathTool = await run('create_tool', ctx('math_tool', { name: 'MathTool', type: 'MathTool', parameters: { max_iteration: 5 } }));
    const agentTool = await run('create_tool', ctx('agent_tool', { name: 'AgentTool', type: 'AgentTool' }));
    const previousOutputs = {
      'gpt-3.5-model': { model_id: 'M1', register_model_status: 'CREATED' },
      math_tool: mathTool.outputs,
      ml_model_tool: mlTool.outputs,
      agent_tool: agentTool.outputs,
    };
    const previousNodeInputs = { 'gpt-3.5-model': 'model_id', math_tool: 'tools', ml_model_tool: 'tools', agent_tool: 'tools' };
    const inputs: JsonObject = {
      name: 'DEMO-Test_Agent_For_CoT',
      type: 'CONVERSATIONAL',
      // what input resolution leaves here when a predecessor provides `tools`: its spec
      tools: mathTool.outputs['tools'] ?? null,
      tools_order: ['agent_tool', 'ml_model_tool'],
      parameters: { hello: 'world' },
      llm: { parameters: { max_iteration: '5', stop_when_no_tool_found: 'true' } },
      memory: { type: 'conversation_index' },
      app_type: 'chatbot',
      created_time: 1689793598499,
    };
    const key = 'runC.root_agent';
    const res = await run('register_agent', ctx('root_agent', inputs, { key, previousOutputs, previousNodeInputs }));
    const agentId = str(res.outputs['agent_id']);
    assert.deepEqual(res.resources, [{ workflow_step_name: 'register_agent', resource_type: 'agent_id', resource_id: agentId }]);
    const agent = await ml.getAgent(agentId);
    assert.ok(agent);
    assert.deepEqual(
      (agent['tools'] as JsonObject[]).map((t) => t['type']),
      ['AgentTool', 'MLModelTool', 'MathTool'],
    );
    assert.deepEqual((agent['tools'] as JsonObject[])[1]?.['parameters'], { prompt: 'Answer.', model_id: 'M1' });
    assert.deepEqual(agent['llm'], { model_id: 'M1', parameters: { max_iteration: '5', stop_when_no_tool_found: 'true' } });
    assert.notEqual(agent['created_time'], 1689793598499, 'created_time is always now');
    assert.equal('tools_order' in agent, false);

    const agents = (await store.listMlResources('agent')).length;
    const again = await run('register_agent', ctx('root_agent', inputs, { key, previousOutputs, previousNodeInputs }));
    assert.equal(again.outputs['agent_id'], agentId);
    assert.equal((await store.listMlResources('agent')).length, agents, 'a retry registers nothing new');
  });

  void it('register_agent: llm.parameters must be strings; llm.model_id input wins over the predecessor', async () => {
    await rejectsStepFailure(
      run('register_agent', ctx('a', { name: 'a', type: 'flow', llm: { model_id: 'm', parameters: { max_iteration: 5 } } })),
      400,
      /^llm field \[parameters\] must be a string to string map$/,
    );
    const res = await run(
      'register_agent',
      ctx(
        'a',
        { name: 'a', type: 'conversational', llm: { model_id: 'explicit' } },
        {
          previousNodeInputs: { m: 'model_id' },
          previousOutputs: { m: { model_id: 'from-pred' } },
        },
      ),
    );
    assert.deepEqual((await ml.getAgent(str(res.outputs['agent_id'])))?.['llm'], { model_id: 'explicit' });
    const flow = await run('register_agent', ctx('f', { name: 'OpenAI Chat Agent', type: 'flow', parameters: {} }));
    assert.deepEqual((await ml.getAgent(str(flow.outputs['agent_id'])))?.['tools'], []);
  });

  void it('deleters undo in reverse order and tolerate what is already gone', async () => {
    const conn = await run('create_connector', ctx('c', CONNECTOR_INPUTS));
    const reg = await run(
      'register_remote_model',
      ctx('r', { name: 'm', connector_id: conn.outputs['connector_id'] ?? null, deploy: true }),
    );
    const agent = await run('register_agent', ctx('a', { name: 'a', type: 'flow' }));
    const group = await run('register_model_group', ctx('g', { name: 'group', access_mode: 'public' }));
    assert.equal(group.outputs['model_group_status'], 'CREATED');
    const recorded = [...(conn.resources ?? []), ...(reg.resources ?? []), ...(agent.resources ?? []), ...(group.resources ?? [])];
    assert.equal(recorded.length, 5);
    assert.equal(
      mlDeleters.find((d) => d.createdBy === 'register_model_group'),
      undefined,
      'model groups are left in place',
    );

    const undo = async (): Promise<void> => {
      for (const r of [...recorded].reverse()) {
        if (r.workflow_step_name === 'register_model_group') continue;
        await deleter(r.workflow_step_name).remove(delCtx(r.resource_type, r.resource_id));
      }
    };
    // Out of order, the model is refused while deployed and the connector while the model uses it.
    const modelId = str(reg.outputs['model_id']);
    await assert.rejects(deleter('register_remote_model').remove(delCtx('model_id', modelId)), /undeploy model first/);
    await assert.rejects(
      deleter('create_connector').remove(delCtx('connector_id', str(conn.outputs['connector_id']))),
      /still using this connector/,
    );

    await undo();
    assert.equal(await ml.getModel(modelId), undefined);
    assert.equal(await ml.getConnector(str(conn.outputs['connector_id'])), undefined);
    assert.equal(await ml.getAgent(str(agent.outputs['agent_id'])), undefined);
    assert.ok(await ml.getModelGroup(str(group.outputs['model_group_id'])));
    await undo(); // everything already gone: resolves
  });
});
