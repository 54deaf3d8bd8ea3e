/**
 * The native ML service over a real store (SQLite in memory; a fresh PostgreSQL schema with
 * FLOWD_TEST_STORE=postgres) and a real SecretBox: connectors with
 * sealed credentials, idempotent creation, local models (register → deploy → predict with
 * real output), remote models through a connector against a real HTTP server speaking
 * OpenAI's shapes, model/connector lifecycle rules, agents, and SigV4 signing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { FlowdError } from '../src/errors.js';
import { NativeMlService } from '../src/ml/ml-service.js';
import { signSigV4 } from '../src/ml/sigv4.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';
import type { JsonObject } from '../src/util/json.js';
import { SecretBox } from '../src/util/secret-box.js';
import { FakeModelServer, openAiChatConnector } from './support/fake-model-server.js';
import { TEST_ON_POSTGRES } from './support/flowd-harness.js';
import { openTestStore } from './support/store-matrix.js';

const API_KEY = 'sk-test-5f2a9c1d7e';

/** Everything the service logs, at debug level, to check that no secret is ever written. */
const logLines: string[] = [];
const logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(chunk.toString('utf8'));
      cb();
    },
  }),
);

async function rejectsWith(p: Promise<unknown>, kind: FlowdError['kind'], status: number, message: RegExp): Promise<FlowdError> {
  let caught: unknown;
  await assert.rejects(p, (e) => {
    caught = e;
    return true;
  });
  assert.ok(caught instanceof FlowdError, `expected a FlowdError, got ${String(caught)}`);
  assert.equal(caught.kind, kind, caught.message);
  assert.equal(caught.status, status, caught.message);
  assert.match(caught.message, message);
  return caught;
}

function openAiConnector(url: string, extra: JsonObject = {}): JsonObject {
  return openAiChatConnector(url, API_KEY, extra) as JsonObject;
}

void describe('NativeMlService', () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let secrets: SecretBox;
  let ml: NativeMlService;
  let server: FakeModelServer;

  before(async () => {
    if (TEST_ON_POSTGRES) {
      const pg = await openTestStore('postgres');
      store = pg.store;
      cleanup = () => pg.cleanup();
    } else {
      const sqlite = new SqliteStore({ path: ':memory:' });
      store = sqlite;
      cleanup = () => sqlite.close();
    }
    secrets = new SecretBox(randomBytes(32));
    ml = new NativeMlService({ store, secrets, fetch: globalThis.fetch, logger });
    server = await FakeModelServer.start({ apiKey: API_KEY });
  });

  after(async () => {
    await ml.close();
    await server.close();
    await cleanup();
    assert.ok(
      logLines.some((l) => l.includes('remote model call')),
      'remote calls are logged',
    );
    assert.ok(!logLines.join('').includes(API_KEY), 'the API key never reaches the log');
  });

  void describe('connectors', () => {
    void it('stores the credential encrypted and never returns it', async () => {
      const id = await ml.createConnector(openAiConnector(server.url));
      assert.equal(id.length, 20);
      const raw = await store.getMlResource('connector', id);
      assert.ok(raw);
      const stored = JSON.stringify(raw.doc);
      assert.ok(!stored.includes(API_KEY), 'plaintext credential absent from the stored document');
      assert.ok(SecretBox.isSealed(raw.doc['credential']));
      assert.deepEqual(secrets.openJson(raw.doc['credential']), { openAI_key: API_KEY });

      const got = await ml.getConnector(id);
      assert.ok(got);
      assert.equal('credential' in got, false);
      assert.ok(!JSON.stringify(got).includes(API_KEY));
      assert.equal(got['name'], 'OpenAI Chat Connector');
      assert.equal(got['protocol'], 'http');
      assert.deepEqual((got['actions'] as JsonObject[])[0]?.['action_type'], 'PREDICT');
    });

    void it('is idempotent by key: the same key returns the same connector, once', async () => {
      const before = (await store.listMlResources('connector')).length;
      const a = await ml.createConnector(openAiConnector(server.url), { idempotencyKey: 'run1.create_connector' });
      const b = await ml.createConnector(openAiConnector(server.url), { idempotencyKey: 'run1.create_connector' });
      const c = await ml.createConnector(openAiConnector(server.url), { idempotencyKey: 'run2.create_connector' });
      assert.equal(a, b);
      assert.notEqual(a, c);
      assert.equal((await store.listMlResources('connector')).length, before + 2);
    });

    void it('validates the configuration with messages that name the field', async () => {
      await rejectsWith(
        ml.createConnector(openAiConnector(server.url, { protocol: 'grpc' })),
        'validation',
        400,
        /\[protocol\] must be one of http, aws_sigv4/,
      );
      await rejectsWith(
        ml.createConnector(openAiConnector(server.url, { actions: { action_type: 'predict' } })),
        'validation',
        400,
        /\[actions\] must be an array/,
      );
      await rejectsWith(
        ml.createConnector(openAiConnector(server.url, { actions: [{ action_type: 'predict', method: 'POST' }] })),
        'validation',
        400,
        /actions\[0\]\.url is required/,
      );
      await rejectsWith(
        ml.createConnector(openAiConnector(server.url, { actions: [{ url: 'http://x' }] })),
        'validation',
        400,
        /actions\[0\]\.action_type is required/,
      );
      await rejectsWith(
        ml.createConnector(openAiConnector(server.url, { actions: ['predict'] })),
        'validation',
        400,
        /actions\[0\] must be an object/,
      );
      await rejectsWith(
        ml.createConnector(openAiConnector(server.url, { credential: 'k' })),
        'validation',
        400,
        /\[credential\] must be a map/,
      );
      await rejectsWith(
        ml.createConnector(openAiConnector(server.url, { protocol: 'aws_sigv4' })),
        'validation',
        400,
        /aws_sigv4 connectors need credential \[access_key\] and \[secret_key\]/,
      );
    });

    void it('delete: refused while a model uses it, false when missing', async () => {
      const cid = await ml.createConnector(openAiConnector(server.url));
      const mid = await ml.registerRemoteModel({ name: 'm', connector_id: cid });
      await rejectsWith(ml.deleteConnector(cid), 'conflict', 409, new RegExp(`still using this connector.*${mid}`));
      assert.equal(await ml.deleteModel(mid), true);
      assert.equal(await ml.deleteConnector(cid), true);
      assert.equal(await ml.deleteConnector(cid), false);
      assert.equal(await ml.getConnector(cid), undefined);
    });
  });

  void describe('local models', () => {
    void it('register → deploy → predict with real sentiment output', async () => {
      const id = await ml.registerLocalModel({ name: 'flowd/sentiment', version: '1.0.0', model_format: 'NPM_PACKAGE' });
      assert.equal((await ml.getModel(id))?.['model_state'], 'REGISTERED');
      await rejectsWith(ml.predict(id, { text_docs: ['hello'] }), 'validation', 400, /Model not ready yet/);

      assert.equal(await ml.deployModel(id), 'DEPLOYED');
      const doc = await ml.getModel(id);
      assert.equal(doc?.['model_state'], 'DEPLOYED');
      assert.equal(doc?.['algorithm'], 'SENTIMENT');
      assert.equal(typeof doc?.['last_deployed_time'], 'number');

      const res = await ml.predict(id, { text_docs: ['I love this wonderful product, it is great!', 'This is a terrible, awful mess.'] });
      assert.equal(res.inference_results.length, 2, 'one result per text');
      const [pos, neg] = res.inference_results.map((r) => {
        assert.equal(r.status_code, 200);
        assert.equal(r.output[0]?.name, 'response');
        return r.output[0]?.dataAsMap as JsonObject;
      });
      assert.equal(pos?.['label'], 'positive');
      assert.equal(neg?.['label'], 'negative');
      assert.ok((neg?.['negative'] as string[]).includes('terrible'));

      const single = await ml.predict(id, { parameters: { text: 'not good' } });
      assert.equal((single.inference_results[0]?.output[0]?.dataAsMap as JsonObject)['label'], 'negative');
      const many = await ml.predict(id, { parameters: { texts: ['good', 'bad'] } });
      assert.equal(many.inference_results.length, 2);
      await rejectsWith(ml.predict(id, { parameters: {} }), 'validation', 400, /No input text/);
      await rejectsWith(ml.predict(id, { text_docs: 'x' }), 'validation', 400, /\[text_docs\] must be an array of strings/);
    });

    void it('a deployed model loads lazily on another service instance (restart, other node)', async () => {
      const id = await ml.registerLocalModel({ name: 'flowd/sentiment', version: '1.0.0', model_format: 'NPM_PACKAGE' });
      await ml.deployModel(id);
      const other = new NativeMlService({ store, secrets, fetch: globalThis.fetch, logger });
      const res = await other.predict(id, { text_docs: ['great'] });
      assert.equal((res.inference_results[0]?.output[0]?.dataAsMap as JsonObject)['label'], 'positive');
      await other.close();
    });

    void it('an unknown name lists the available models', async () => {
      const err = await rejectsWith(
        ml.registerLocalModel({
          name: 'huggingface/sentence-transformers/all-MiniLM-L6-v2',
          version: '1.0.1',
          model_format: 'TORCH_SCRIPT',
        }),
        'validation',
        400,
        /not available in flowd/,
      );
      for (const m of ml.listLocalModels()) assert.ok(err.message.includes(m.name), m.name);
    });

    void it('unknown model: 404; lifecycle: delete refused while deployed, undeploy then delete, missing = false', async () => {
      await rejectsWith(ml.predict('nope', { text_docs: ['x'] }), 'not_found', 404, /^Failed to find model$/);
      await rejectsWith(ml.deployModel('nope'), 'not_found', 404, /Failed to find model/);
      const id = await ml.registerLocalModel({ name: 'flowd/tokens', version: '1.0.0', model_format: 'NPM_PACKAGE' });
      await ml.deployModel(id);
      await rejectsWith(ml.deleteModel(id), 'conflict', 409, /undeploy model first/);
      assert.equal(await ml.undeployModel(id), true);
      assert.equal((await ml.getModel(id))?.['model_state'], 'UNDEPLOYED');
      await rejectsWith(ml.predict(id, { text_docs: ['x'] }), 'validation', 400, /Model not ready yet/);
      assert.equal(await ml.undeployModel(id), true, 'undeploying an undeployed model is fine');
      assert.equal(await ml.deleteModel(id), true);
      assert.equal(await ml.deleteModel(id), false);
      assert.equal(await ml.undeployModel(id), false);
    });
  });

  void describe('remote models', () => {
    void it('register needs an existing connector', async () => {
      await rejectsWith(
        ml.registerRemoteModel({ name: 'm', connector_id: 'missing-connector' }),
        'not_found',
        404,
        /Failed to find connector missing-connector/,
      );
      const cid = await ml.createConnector(openAiConnector(server.url));
      await rejectsWith(
        ml.registerRemoteModel({ name: 'm', connector_id: cid, model_group_id: 'nope' }),
        'not_found',
        404,
        /Failed to find model group nope/,
      );
    });

    void it('chat completions through the connector: credential reaches the upstream, parameters substituted', async () => {
      const cid = await ml.createConnector(openAiConnector(server.url));
      const group = await ml.registerModelGroup({ name: 'chat models', access_mode: 'PUBLIC' });
      assert.equal((await ml.getModelGroup(group))?.['access'], 'public');
      const mid = await ml.registerRemoteModel({ name: 'gpt', connector_id: cid, model_group_id: group, function_name: 'remote' });
      const model = await ml.getModel(mid);
      assert.equal(model?.['algorithm'], 'REMOTE');
      assert.equal(model?.['connector_id'], cid);
      await rejectsWith(ml.predict(mid, { parameters: { messages: [] } }), 'validation', 400, /Model not ready yet/);
      await ml.deployModel(mid);

      const n = server.requests.length;
      const res = await ml.predict(mid, { parameters: { messages: [{ role: 'user', content: 'Hello "flowd"' }] } });
      const req = server.requests[n];
      assert.ok(req);
      assert.equal(req.path, '/v1/chat/completions');
      assert.equal(req.authorization, `Bearer ${API_KEY}`);
      assert.deepEqual(req.body, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello "flowd"' }] });
      assert.equal(res.inference_results.length, 1);
      const out = res.inference_results[0];
      assert.equal(out?.status_code, 200);
      assert.equal(out?.output[0]?.name, 'response');
      const data = out?.output[0]?.dataAsMap as JsonObject;
      assert.equal(((data['choices'] as JsonObject[])[0]?.['message'] as JsonObject)['content'], 'Echo: Hello "flowd"');

      // Request parameters overlay the connector's; response_filter picks one value.
      const filtered = await ml.predict(mid, {
        parameters: { model: 'gpt-other', messages: [{ role: 'user', content: 'hi' }], response_filter: '$.choices[0].message.content' },
      });
      assert.deepEqual(filtered.inference_results[0]?.output[0]?.dataAsMap, { response: 'Echo: hi' });
      assert.equal((server.requests.at(-1)?.body as JsonObject)['model'], 'gpt-other');

      // A caller cannot smuggle a credential placeholder through a parameter (it would be
      // expanded, sent upstream and echoed back): refused, nothing sent.
      const before = server.requests.length;
      await rejectsWith(
        ml.predict(mid, { parameters: { messages: [{ role: 'user', content: 'leak ${credential.openAI_key}' }] } }),
        'validation',
        400,
        /credentials may only appear in the connector's url, headers and request_body/,
      );
      assert.equal(server.requests.length, before);
    });

    void it('embeddings from text_docs with the built-in OpenAI pre/post-process functions', async () => {
      const cid = await ml.createConnector({
        name: 'OpenAI embeddings',
        protocol: 'http',
        parameters: { model: 'text-embedding-3-small' },
        credential: { key: API_KEY },
        actions: [
          {
            action_type: 'predict',
            method: 'POST',
            url: `${server.url}/v1/embeddings`,
            headers: { Authorization: 'Bearer ${credential.key}' },
            request_body: '{ "input": ${parameters.input}, "model": "${parameters.model}" }',
            pre_process_function: 'connector.pre_process.openai.embedding',
            post_process_function: 'connector.post_process.openai.embedding',
          },
        ],
      });
      const mid = await ml.registerRemoteModel({ name: 'emb', connector_id: cid });
      await ml.deployModel(mid);
      const res = await ml.predict(mid, { text_docs: ['hello world', 'good bye'] });
      const tensors = res.inference_results[0]?.output ?? [];
      assert.equal(tensors.length, 2);
      for (const t of tensors) {
        assert.equal(t.name, 'sentence_embedding');
        assert.equal(t.data_type, 'FLOAT32');
        assert.deepEqual(t.shape, [8]);
        assert.equal(t.data?.length, 8);
      }
      assert.notDeepEqual(tensors[0]?.data, tensors[1]?.data);
    });

    void it('upstream errors become step failures with the upstream status and an excerpt of its body', async () => {
      const cid = await ml.createConnector(openAiConnector(server.url));
      const mid = await ml.registerRemoteModel({ name: 'gpt', connector_id: cid });
      await ml.deployModel(mid);
      const body = { parameters: { messages: [{ role: 'user', content: 'x' }] } };

      server.failNext(500);
      const e500 = await rejectsWith(
        ml.predict(mid, body),
        'step_failure',
        500,
        /Error from remote service.*status 500.*server had an error/,
      );
      assert.equal(e500.retryable, true);

      const wrongKey = await ml.createConnector(openAiConnector(server.url, { credential: { openAI_key: 'sk-wrong' } }));
      const m2 = await ml.registerRemoteModel({ name: 'gpt', connector_id: wrongKey });
      await ml.deployModel(m2);
      const e401 = await rejectsWith(ml.predict(m2, body), 'step_failure', 401, /Incorrect API key/);
      assert.equal(e401.retryable, false);
    });

    void it('client_config.read_timeout bounds the call; the caller signal aborts it', async () => {
      const cid = await ml.createConnector(openAiConnector(server.url, { client_config: { read_timeout: 0.2 } }));
      const mid = await ml.registerRemoteModel({ name: 'slow', connector_id: cid });
      await ml.deployModel(mid);
      const body = { parameters: { messages: [{ role: 'user', content: 'x' }] } };
      server.delayMs = 1000;
      try {
        await rejectsWith(ml.predict(mid, body), 'step_failure', 504, /did not answer within 0.2s/);
        const reason = new Error('caller gave up');
        await assert.rejects(ml.predict(mid, body, AbortSignal.abort(reason)), (e) => e === reason);
      } finally {
        server.delayMs = 0;
      }
    });

    void it('payload checks: unfilled placeholders and invalid JSON are clear 400s that do not echo secrets', async () => {
      const cid = await ml.createConnector(openAiConnector(server.url));
      const mid = await ml.registerRemoteModel({ name: 'gpt', connector_id: cid });
      await ml.deployModel(mid);
      await rejectsWith(
        ml.predict(mid, { parameters: {} }),
        'validation',
        400,
        /Some parameter placeholder not filled in payload: parameters\.messages/,
      );
      const bad = await rejectsWith(ml.predict(mid, { parameters: { messages: 'not "json' } }), 'validation', 400, /Invalid payload/);
      assert.ok(!bad.message.includes(API_KEY));
      const noAction = await ml.createConnector(openAiConnector(server.url, { actions: [] }));
      const m3 = await ml.registerRemoteModel({ name: 'x', connector_id: noAction });
      await ml.deployModel(m3);
      await rejectsWith(ml.predict(m3, { parameters: {} }), 'validation', 400, /has no predict action/);
    });

    void it('aws_sigv4 connectors sign the request (Bedrock model id with a colon)', async () => {
      const seen: Array<{ url: string; headers: Record<string, string>; body: string }> = [];
      const capture: typeof fetch = async (input, init) => {
        seen.push({ url: input as string, headers: init?.headers as Record<string, string>, body: init?.body as string });
        return new Response(JSON.stringify({ completion: 'ok' }), { status: 200, headers: { 'content-type': 'application/json' } });
      };
      const aws = new NativeMlService({ store, secrets, fetch: capture, logger });
      const cid = await aws.createConnector({
        name: 'Bedrock',
        protocol: 'aws_sigv4',
        parameters: { region: 'us-east-1', service_name: 'bedrock', max_tokens: 100 },
        credential: { access_key: 'AKIDEXAMPLE', secret_key: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', session_token: 'tok' },
        actions: [
          {
            action_type: 'predict',
            method: 'POST',
            url: 'https://bedrock-runtime.${parameters.region}.amazonaws.com/model/anthropic.claude-v2:1/invoke',
            request_body: '{"prompt":"${parameters.prompt}","max_tokens_to_sample":${parameters.max_tokens}}',
          },
        ],
      });
      const mid = await aws.registerRemoteModel({ name: 'claude', connector_id: cid });
      await aws.deployModel(mid);
      const res = await aws.predict(mid, { parameters: { prompt: 'hi' } });
      assert.deepEqual(res.inference_results[0]?.output[0]?.dataAsMap, { completion: 'ok' });
      const sent = seen[0];
      assert.ok(sent);
      assert.equal(sent.url, 'https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-v2%3A1/invoke');
      assert.deepEqual(JSON.parse(sent.body), { prompt: 'hi', max_tokens_to_sample: 100 });
      assert.match(
        sent.headers['authorization'] ?? '',
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/bedrock\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
      );
      assert.equal(sent.headers['x-amz-security-token'], 'tok');
      await aws.close();
    });
  });

  void describe('agents', () => {
    void it('register / get / delete; the model credential is sealed and never returned', async () => {
      const id = await ml.registerAgent({
        name: 'Chat',
        type: 'conversational',
        llm: { model_id: 'm1', parameters: { max_iteration: '5' } },
        tools: [
          { type: 'MathTool', parameters: { max_iteration: 5 } },
          { type: 'SearchIndexTool', name: 'search' },
        ],
        memory: { type: 'conversation_index' },
        parameters: { hello: 'world' },
        app_type: 'chatbot',
        model: JSON.stringify({ model_id: 'm2', model_provider: 'openai', credential: { api_key: API_KEY } }),
      });
      const stored = await store.getMlResource('agent', id);
      assert.ok(stored && !JSON.stringify(stored.doc).includes(API_KEY));
      const got = await ml.getAgent(id);
      assert.ok(got);
      assert.equal(got['type'], 'conversational');
      assert.deepEqual(got['llm'], { model_id: 'm1', parameters: { max_iteration: '5' } });
      assert.deepEqual(
        (got['tools'] as JsonObject[]).map((t) => t['parameters']),
        [{ max_iteration: '5' }, {}],
      );
      assert.deepEqual(got['model'], { model_id: 'm2', model_provider: 'openai' });
      assert.equal(await ml.deleteAgent(id), true);
      assert.equal(await ml.deleteAgent(id), false);
      assert.equal(await ml.getAgent(id), undefined);
    });

    void it('validates type, llm and tools as ML Commons does', async () => {
      await rejectsWith(ml.registerAgent({ name: 'a', type: 'robot' }), 'validation', 400, /Wrong Agent type \[robot\]/);
      await rejectsWith(ml.registerAgent({ name: 'a', type: 'conversational' }), 'validation', 400, /We need model information/);
      await rejectsWith(
        ml.registerAgent({ name: 'a', type: 'flow', llm: { model_id: 'm', parameters: { n: 5 } } }),
        'validation',
        400,
        /^llm field \[parameters\] must be a string to string map$/,
      );
      await rejectsWith(
        ml.registerAgent({ name: 'a', type: 'flow', tools: [{ type: 'A' }, { type: 'A' }] }),
        'validation',
        400,
        /Duplicate tool defined: A/,
      );
      assert.equal((await ml.getAgent(await ml.registerAgent({ name: 'f', type: 'FLOW' })))?.['type'], 'FLOW');
    });
  });
});

void describe('SigV4 (AWS test suite vectors)', () => {
  const credentials = { accessKey: 'AKIDEXAMPLE', secretKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
  const date = new Date('2015-08-30T12:36:00Z');
  const base = { region: 'us-east-1', service: 'service', credentials, date, body: undefined, headers: {} };

  void it('post-vanilla, post-vanilla-query, post-x-www-form-urlencoded', () => {
    assert.equal(
      signSigV4({ ...base, method: 'POST', url: 'https://example.amazonaws.com/' }).signature,
      '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b',
    );
    assert.equal(
      signSigV4({ ...base, method: 'POST', url: 'https://example.amazonaws.com/?Param1=value1' }).signature,
      '28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11',
    );
    const form = signSigV4({
      ...base,
      method: 'POST',
      url: 'https://example.amazonaws.com/',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'Param1=value1',
    });
    assert.equal(form.signedHeaders, 'content-type;host;x-amz-date');
    assert.equal(form.signature, 'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a');
  });
});
