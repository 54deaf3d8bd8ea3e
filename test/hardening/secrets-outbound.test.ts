/**
 * Issue 14 point 3: secrets cannot be rendered, and every outbound call follows one policy.
 * - A resolved `${credential.*}` (http_request url, header or body; a connector's credential)
 *   appears in no answer of any read route (as admin and as a read-only user), in no log line
 *   and in no stored row, whether the call failed, was refused or answered with an echo.
 * - Request parameters cannot move a connector to another scheme, host or port (F4).
 * - Loopback and other non-public addresses are refused unless outboundAllowPrivate; the allow
 *   list; redirects to another host; the response size cap (F8).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { resolveConfig } from '../../src/config.js';
import { NativeMlService } from '../../src/ml/ml-service.js';
import { openNodeSecrets } from '../../src/engine/secret-fields.js';
import { stepErrorText } from '../../src/engine/step-error-text.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { JsonObject } from '../../src/util/json.js';
import { OutboundClient } from '../../src/util/outbound-client.js';
import { SecretBox } from '../../src/util/secret-box.js';
import { Secret } from '../../src/util/secret.js';
import { FF, pgSchemaText, startTestNode, template } from '../support/flowd-harness.js';
import type { TestNode } from '../support/flowd-harness.js';
import { load, typeOf } from '../support/block-harness.js';
import type { OutboundTarget } from '../support/outbound-target.js';
import { startOutboundTarget } from '../support/outbound-target.js';

const USERS = '/_plugins/_security/api/internalusers';
const ML = '/_plugins/_ml';
const READER: [string, string] = ['reader', 'reader-password-1'];
const ML_USER: [string, string] = ['mlw', 'mlw-password-123'];

const unique = (prefix: string): string => `${prefix}-${randomBytes(8).toString('hex')}`;

/** A node whose log lines are kept (to look for secrets in them). */
async function loggedNode(overrides: Parameters<typeof startTestNode>[0] = {}): Promise<{ node: TestNode; log: string[] }> {
  const log: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      log.push(chunk.toString());
      cb();
    },
  });
  const node = await startTestNode(overrides, { logger: pino({ level: 'debug' }, sink) });
  return { node, log };
}

async function addUsers(node: TestNode): Promise<void> {
  for (const [[name, password], roles] of [
    [READER, ['flow_framework_read_access']],
    [ML_USER, ['ml_full_access']],
  ] as const) {
    const r = await node.request('PUT', `${USERS}/${name}`, { body: { password, opendistro_security_roles: roles } });
    assert.equal(r.status, 201, r.text);
  }
}

/** Creates and provisions a template; the final state once it left PROVISIONING. */
async function provision(node: TestNode, t: unknown): Promise<{ id: string; state: any; response: string }> {
  const created = await node.request('POST', FF, { body: t });
  const id = created.body?.workflow_id as string;
  assert.ok(id, created.text);
  const r = await node.request('POST', `${FF}/${id}/_provision?wait_for_completion_timeout=20s`);
  const state = await node.waitForState(id);
  return { id, state, response: r.text };
}

/** Every read route, as admin and as the read-only user: none may hold `secret`. */
async function assertNoReadRouteShows(node: TestNode, ids: string[], secret: string): Promise<void> {
  for (const auth of [undefined, READER]) {
    const who = auth === undefined ? 'admin' : 'reader';
    const opts = auth === undefined ? {} : { auth };
    const reads: Array<[string, string, unknown?]> = [
      ['GET', '/_flowd/workflows'],
      ['POST', `${FF}/_search`, { query: { match_all: {} }, size: 100 }],
      ['POST', `${FF}/state/_search`, { query: { match_all: {} }, size: 100 }],
      ['POST', `${FF}/state/_search`, { query: { match: { error: secret } } }],
      ['POST', `${FF}/state/_search`, { query: { query_string: { query: `*${secret.slice(2, -2)}*` } } }],
    ];
    for (const id of ids) reads.push(['GET', `${FF}/${id}`], ['GET', `${FF}/${id}/_status?all=true`], ['GET', `${FF}/${id}/_status`]);
    for (const [method, path, body] of reads) {
      const r = await node.request(method, path, { ...opts, ...(body !== undefined ? { body } : {}) });
      assert.ok(r.status < 500, `${who} ${method} ${path}: ${r.status} ${r.text}`);
      assert.ok(!r.text.includes(secret), `${who} ${method} ${path} shows the secret: ${r.text}`);
      assert.ok(!r.text.toLowerCase().includes(secret.toLowerCase()), `${who} ${method} ${path} shows the secret (other case)`);
    }
    // `match` is full-text: search for the secret's random part alone (a word of its own).
    const word = secret.split('-').pop() ?? secret;
    const hits = await node.request('POST', `${FF}/state/_search`, { ...opts, body: { query: { match: { error: word } } } });
    assert.equal(hits.status, 200, hits.text);
    assert.equal(hits.body?.hits?.total?.value, 0, `${who}: a search on the secret finds nothing`);
  }
}

async function assertNotAtRest(node: TestNode, secret: string): Promise<void> {
  if (node.pgSchema !== undefined) {
    const stored = await pgSchemaText(node.pgSchema);
    assert.ok(!stored.includes(secret), 'no PostgreSQL row holds the secret');
    return;
  }
  for (const f of ['flowd.db', 'flowd.db-wal']) {
    const p = join(node.dataDir, f);
    if (existsSync(p)) assert.ok(!readFileSync(p).includes(secret), `${f} holds the secret in plain text`);
  }
}

void describe('a resolved secret is a type that never prints', () => {
  void it('String, template literals, JSON, util.inspect and pino all see [secret]', () => {
    const value = unique('never-printed');
    const s = new Secret(value);
    const lines: string[] = [];
    const log = pino({}, new Writable({ write: (c: Buffer, _e, cb) => void (lines.push(c.toString()), cb()) }));
    log.info({ s, nested: { s } }, `value ${String(s)}`);
    for (const text of [String(s), `${s as unknown as string}`, JSON.stringify({ s }), inspect({ s }), inspect(s), lines.join('')]) {
      assert.ok(!text.includes(value), text);
    }
    assert.equal(s.reveal(), value);
  });

  void it('step errors are scrubbed of every opened secret whatever message a step built (defence in depth)', () => {
    const box = new SecretBox(randomBytes(32));
    const value = unique('Opened-SECRET');
    openNodeSecrets({ credential: box.sealJson({ token: value }) }, box);
    for (const e of [
      new Error(`boom ${value}`),
      new Error(`getaddrinfo ENOTFOUND ${value.toLowerCase()}.invalid`),
      `thrown ${JSON.stringify({ value })}`,
    ]) {
      const text = stepErrorText('n1', e);
      assert.ok(!text.toLowerCase().includes(value.toLowerCase()), text);
      assert.match(text, /\*\*\*/);
    }
  });
});

void describe('http_request and connector credentials never reach an answer, the log or the database', () => {
  let node: TestNode;
  let log: string[];
  let target: OutboundTarget;
  before(async () => {
    ({ node, log } = await loggedNode());
    await addUsers(node);
    target = await startOutboundTarget();
  });
  after(async () => {
    await node?.close();
    await target?.close();
  });

  void it('http_request: in the url, a header or the body; unreachable, rejected, echoed, deprovisioned', async () => {
    const secret = unique('Http-SECRET');
    const credential = { token: secret };
    const failing = [
      // F3 as reported: the target is unreachable.
      {
        id: 'unreachable',
        type: 'http_request',
        user_inputs: { method: 'POST', url: 'http://127.0.0.1:1/hook?token=${credential.token}', credential },
      },
      // The remote rejects the call and echoes the request (query, header, body) in its error.
      {
        id: 'rejected',
        type: 'http_request',
        user_inputs: {
          method: 'POST',
          url: `${target.url}/deny?token=\${credential.token}`,
          headers: { authorization: 'Bearer ${credential.token}' },
          body: 'key=${credential.token}',
          credential,
        },
      },
    ];
    const echoing = {
      id: 'echoed',
      type: 'http_request',
      user_inputs: {
        method: 'POST',
        url: `${target.url}/echo?token=\${credential.token}`,
        headers: { 'x-api-key': '${credential.token}' },
        body: { nested: { key: '${credential.token}' } },
        delete_url: `${target.url}/deny/\${resource_id}?token=\${credential.token}`,
        credential,
      },
    };
    const ids: string[] = [];
    for (const n of failing) {
      const r = await provision(node, template([n]));
      assert.equal(r.state.state, 'FAILED', JSON.stringify(r.state));
      assert.ok(!r.response.includes(secret), `the provision answer shows the secret: ${r.response}`);
      assert.match(r.state.error, /\$\{credential\.token\}/, 'the error names the url as the template wrote it');
      ids.push(r.id);
    }
    const ok = await provision(node, template([echoing]));
    assert.equal(ok.state.state, 'COMPLETED', JSON.stringify(ok.state));
    ids.push(ok.id);
    // The secret was really sent (substitution happened), in every place it was written.
    const sent = target.requests.filter((q) => q.path.startsWith('/echo') || q.path.startsWith('/deny'));
    assert.ok(sent.some((q) => q.path.includes(secret) && q.headers['x-api-key'] === secret && JSON.parse(q.body).nested.key === secret));
    assert.ok(sent.some((q) => q.headers['authorization'] === `Bearer ${secret}` && q.body === `key=${secret}`));
    // The echo came back, scrubbed, as the step's response output.
    const status = await node.request('GET', `${FF}/${ok.id}/_status?all=true`);
    assert.equal(status.body.user_outputs?.echoed?.response?.headers?.['x-api-key'], '***', status.text);
    // Deprovision: the delete call is rejected (401, echoing the secret).
    const dep = await node.request('POST', `${FF}/${ok.id}/_deprovision`);
    assert.ok(!dep.text.includes(secret), dep.text);
    await node.waitForState(
      ok.id,
      (s) => s.state !== 'PROVISIONING' && s.state !== 'DEPROVISIONING' && s.provisioning_progress !== 'IN_PROGRESS',
    );
    await assertNoReadRouteShows(node, ids, secret);
    assert.ok(!log.join('').includes(secret), 'the log holds the secret');
    await assertNotAtRest(node, secret);
  });

  void it('connectors: an echoed credential (answer or error) reaches neither the caller, the log nor the database', async () => {
    const secret = unique('Conn-SECRET');
    const { state, id } = await provision(
      node,
      template([
        {
          id: 'conn',
          type: 'create_connector',
          user_inputs: {
            name: 'echo',
            description: 'echoes its Authorization header',
            version: '1',
            protocol: 'http',
            parameters: { endpoint: target.url, path: 'chat' },
            credential: { key: secret },
            actions: [
              {
                action_type: 'predict',
                method: 'POST',
                url: '${parameters.endpoint}/${parameters.path}',
                headers: { Authorization: 'Bearer ${credential.key}' },
                request_body: '{"q":"${parameters.q}"}',
              },
            ],
          },
        },
        { id: 'model', type: 'register_remote_model', user_inputs: { name: 'echo-model' }, previous_node_inputs: { conn: 'connector_id' } },
        { id: 'deploy', type: 'deploy_model', previous_node_inputs: { model: 'model_id' } },
      ]),
    );
    assert.equal(state.state, 'COMPLETED', JSON.stringify(state));
    const modelId = (state.resources_created as any[]).find((r) => r.workflow_step_id === 'model').resource_id as string;
    const n = target.requests.length;
    const answered = await node.request('POST', `${ML}/models/${modelId}/_predict`, { auth: ML_USER, body: { parameters: { q: 'hi' } } });
    assert.equal(answered.status, 200, answered.text);
    assert.equal(target.requests[n]?.headers['authorization'], `Bearer ${secret}`, 'the credential was sent');
    assert.ok(!answered.text.includes(secret), answered.text);
    assert.match(answered.text, /Bearer \*\*\*/);
    // The same model on a path where the service rejects the key and echoes the request.
    const rejected = await node.request('POST', `${ML}/models/${modelId}/_predict`, {
      auth: ML_USER,
      body: { parameters: { q: 'hi', path: 'deny' } },
    });
    assert.equal(rejected.status, 401, rejected.text);
    assert.ok(!rejected.text.includes(secret), rejected.text);
    for (const path of [`${ML}/models/${modelId}`, `${ML}/connectors/${(state.resources_created as any[])[0].resource_id as string}`]) {
      const r = await node.request('GET', path, { auth: ML_USER });
      assert.ok(!r.text.includes(secret), `${path}: ${r.text}`);
    }
    await assertNoReadRouteShows(node, [id], secret);
    assert.ok(!log.join('').includes(secret), 'the log holds the secret');
    await assertNotAtRest(node, secret);
  });
});

void describe('connector request parameters cannot change scheme, host or port (F4)', () => {
  let node: TestNode;
  let target: OutboundTarget;
  let attacker: OutboundTarget;
  const secret = unique('F4-SECRET');

  const connectorNode = (url: string, parameters: JsonObject): unknown => ({
    id: 'conn',
    type: 'create_connector',
    user_inputs: {
      name: 'c',
      description: 'd',
      version: '1',
      protocol: 'http',
      parameters,
      credential: { key: secret },
      actions: [
        { action_type: 'predict', method: 'POST', url, headers: { Authorization: 'Bearer ${credential.key}' }, request_body: '{}' },
      ],
    },
  });

  async function deployedModel(url: string, parameters: JsonObject): Promise<string> {
    const { state } = await provision(
      node,
      template([
        connectorNode(url, parameters),
        { id: 'model', type: 'register_remote_model', user_inputs: { name: 'm' }, previous_node_inputs: { conn: 'connector_id' } },
        { id: 'deploy', type: 'deploy_model', previous_node_inputs: { model: 'model_id' } },
      ]),
    );
    assert.equal(state.state, 'COMPLETED', JSON.stringify(state));
    return (state.resources_created as any[]).find((r) => r.workflow_step_id === 'model').resource_id as string;
  }

  before(async () => {
    node = await startTestNode();
    await addUsers(node);
    target = await startOutboundTarget();
    attacker = await startOutboundTarget();
  });
  after(async () => {
    await node?.close();
    await target?.close();
    await attacker?.close();
  });

  void it('a request parameter that moves the origin is a 400 and nothing is sent', async () => {
    const hostOnly = await deployedModel('http://${parameters.endpoint}/chat', { endpoint: `127.0.0.1:${target.port}` });
    const wholeUrl = await deployedModel('${parameters.endpoint}/chat', { endpoint: target.url });
    const scheme = await deployedModel('${parameters.scheme}://127.0.0.1:${parameters.port}/chat', {
      scheme: 'http',
      port: String(target.port),
    });
    const attempts: Array<[string, JsonObject]> = [
      [hostOnly, { endpoint: `127.0.0.1:${attacker.port}/exfil` }], // F4 as reported
      [hostOnly, { endpoint: `localhost:${target.port}` }], // same server, another host name
      [wholeUrl, { endpoint: attacker.url }],
      [scheme, { port: String(attacker.port) }],
      [scheme, { scheme: 'https' }],
    ];
    for (const [modelId, parameters] of attempts) {
      const r = await node.request('POST', `${ML}/models/${modelId}/_predict`, { auth: ML_USER, body: { parameters } });
      assert.equal(r.status, 400, `${JSON.stringify(parameters)}: ${r.text}`);
      assert.match(r.body.error?.reason ?? r.text, /may fill the connector's placeholders but not change the scheme, host or port/);
      assert.ok(!r.text.includes(secret));
    }
    assert.equal(attacker.requests.length, 0, 'the attacker received nothing');
    const before = target.requests.length;
    // Parameters that leave the origin alone still work (path and body placeholders).
    for (const modelId of [hostOnly, wholeUrl, scheme]) {
      const r = await node.request('POST', `${ML}/models/${modelId}/_predict`, { auth: ML_USER, body: { parameters: { q: 'x' } } });
      assert.equal(r.status, 200, r.text);
    }
    assert.equal(target.requests.length, before + 3);
  });

  void it('a connector whose host only a caller could fill is refused', async () => {
    const open = await deployedModel('http://${parameters.endpoint}/chat', {});
    const r = await node.request('POST', `${ML}/models/${open}/_predict`, {
      auth: ML_USER,
      body: { parameters: { endpoint: `127.0.0.1:${attacker.port}` } },
    });
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /connector's parameters/);
    assert.equal(attacker.requests.length, 0);
  });
});

void describe('outbound policy: private addresses', () => {
  let target: OutboundTarget;
  before(async () => {
    target = await startOutboundTarget();
  });
  after(() => target?.close());

  void it('every non-public address shape is refused by default, before anything is sent', async () => {
    const client = new OutboundClient();
    const p = target.port;
    const urls = [
      `http://127.0.0.1:${p}/`,
      `http://localhost:${p}/`,
      `http://[::1]:${p}/`,
      `http://[::ffff:127.0.0.1]:${p}/`,
      `http://2130706433:${p}/`, // 127.0.0.1 as one number
      `http://0x7f.1:${p}/`,
      `http://127.1:${p}/`,
      `http://0.0.0.0:${p}/`,
      'http://10.0.0.1/',
      'http://172.16.5.4/',
      'http://192.168.1.1/',
      'http://169.254.169.254/latest/meta-data/',
      'http://100.64.0.1/',
      'http://[fd00::1]/',
      'http://[fe80::1]/',
      'http://224.0.0.1/',
      'http://[ff02::1]/',
      'http://[64:ff9b::7f00:1]/',
      'https://127.0.0.1/',
    ];
    for (const url of urls) {
      await assert.rejects(client.request({ method: 'GET', url }), (e: any) => {
        assert.equal(e.code, 'outbound.private_address', `${url}: ${e.message}`);
        assert.match(e.message, /FLOWD_OUTBOUND_ALLOW_PRIVATE=true/);
        return true;
      });
    }
    for (const url of ['file:///etc/passwd', 'ftp://example.com/', 'gopher://127.0.0.1:70/']) {
      await assert.rejects(client.request({ method: 'GET', url }), (e: any) => e.code === 'outbound.scheme');
    }
    assert.equal(target.requests.length, 0);
    const open = new OutboundClient({ allow: [], allowPrivate: true, maxResponseBytes: 1 << 20 });
    const r = await open.request({ method: 'GET', url: `http://localhost:${p}/echo` });
    assert.equal(r.status, 200);
    assert.equal(target.requests.length, 1);
  });

  void it('a node refuses them by default (http_request, a connector, an http block) and reaches them with outboundAllowPrivate', async () => {
    const strict = await startTestNode({ outboundAllowPrivate: false });
    const reached = target.requests.length;
    try {
      const { state } = await provision(
        strict,
        template([{ id: 'call', type: 'http_request', user_inputs: { method: 'GET', url: `${target.url}/echo` } }]),
      );
      assert.equal(state.state, 'FAILED');
      assert.match(
        state.error,
        /http_request GET http:\/\/127\.0\.0\.1:\d+\/echo refused: 127\.0\.0\.1 is a loopback address.*FLOWD_OUTBOUND_ALLOW_PRIVATE=true/,
      );
      const m = await provision(
        strict,
        template([
          {
            id: 'conn',
            type: 'create_connector',
            user_inputs: {
              name: 'c',
              description: 'd',
              version: '1',
              protocol: 'http',
              parameters: { endpoint: target.url },
              credential: { k: 'v' },
              actions: [{ action_type: 'predict', method: 'POST', url: '${parameters.endpoint}/chat', request_body: '{}' }],
            },
          },
          { id: 'model', type: 'register_remote_model', user_inputs: { name: 'm' }, previous_node_inputs: { conn: 'connector_id' } },
          { id: 'deploy', type: 'deploy_model', previous_node_inputs: { model: 'model_id' } },
        ]),
      );
      assert.equal(m.state.state, 'COMPLETED', JSON.stringify(m.state));
      const modelId = (m.state.resources_created as any[]).find((r) => r.workflow_step_id === 'model').resource_id as string;
      const p = await strict.request('POST', `${ML}/models/${modelId}/_predict`, { body: { parameters: {} } });
      assert.equal(p.status, 400, p.text);
      assert.match(p.text, /loopback address/);
      assert.equal(target.requests.length, reached, 'nothing reached the target');
    } finally {
      await strict.close();
    }
    const open = await startTestNode({ outboundAllowPrivate: true });
    try {
      const { state } = await provision(
        open,
        template([{ id: 'call', type: 'http_request', user_inputs: { method: 'GET', url: `${target.url}/echo` } }]),
      );
      assert.equal(state.state, 'COMPLETED', JSON.stringify(state));
    } finally {
      await open.close();
    }
  });

  void it('an http block in an instance follows the policy of the node that opened its connector', async () => {
    const store = new SqliteStore({ path: ':memory:' });
    const logger = pino({ level: 'silent' });
    const secrets = new SecretBox(randomBytes(32));
    try {
      for (const allowPrivate of [false, true]) {
        const ml = new NativeMlService({
          store,
          secrets,
          logger,
          outbound: new OutboundClient({ allow: [], allowPrivate, maxResponseBytes: 1 << 20 }),
        });
        const cid = await ml.createConnector({
          name: 'c',
          protocol: 'http',
          parameters: { endpoint: target.url },
          credential: {},
          actions: [{ action_type: 'predict', method: 'POST', url: '${parameters.endpoint}/chat', request_body: '{}' }],
        });
        const t = typeOf('http');
        const config = t.validateConfig({ connector_id: cid }, 'h');
        // `prepared` crosses into the worker thread as a structured clone.
        const prepared = structuredClone(await t.prepare?.(config, { ml, workflowId: 'w' }));
        assert.ok(prepared);
        const b = await load('http', config, { prepared, blockId: 'h' });
        const n = target.requests.length;
        if (allowPrivate) {
          assert.ok(await b.run({}));
          assert.equal(target.requests.length, n + 1);
        } else {
          await assert.rejects(b.run({}), (e: any) => e.code === 'outbound.private_address');
          assert.equal(target.requests.length, n);
        }
        await ml.close();
      }
    } finally {
      await store.close();
    }
  });
});

void describe('outbound policy: allow list, redirects, response size', () => {
  let target: OutboundTarget;
  let other: OutboundTarget;
  before(async () => {
    target = await startOutboundTarget();
    other = await startOutboundTarget();
  });
  after(async () => {
    await target?.close();
    await other?.close();
  });

  void it('the allow list (FLOWD_OUTBOUND_ALLOW) admits only matching URLs', async () => {
    const env = resolveConfig({
      env: {
        FLOWD_OUTBOUND_ALLOW: ' https://*.example.com/*, api.openai.com ,',
        FLOWD_OUTBOUND_ALLOW_PRIVATE: 'true',
        FLOWD_OUTBOUND_MAX_RESPONSE_BYTES: '65536',
      },
      flags: {},
    });
    assert.deepEqual(env.outboundAllow, ['https://*.example.com/*', 'api.openai.com']);
    assert.equal(env.outboundAllowPrivate, true);
    assert.equal(env.outboundMaxResponseBytes, 65536);
    const defaults = resolveConfig({ env: {}, flags: {} });
    assert.deepEqual(
      [defaults.outboundAllow, defaults.outboundAllowPrivate, defaults.outboundMaxResponseBytes],
      [[], false, 10 * 1024 * 1024],
    );

    const node = await startTestNode({ outboundAllow: [`http://127.0.0.1:${target.port}/allowed/*`] });
    try {
      const call = (url: string): unknown => template([{ id: 'call', type: 'http_request', user_inputs: { method: 'GET', url } }]);
      assert.equal((await provision(node, call(`${target.url}/allowed/echo`))).state.state, 'COMPLETED');
      for (const url of [
        `${target.url}/other`,
        `http://localhost:${target.port}/allowed/x`,
        `${other.url}/allowed/x`,
        `https://127.0.0.1:${target.port}/allowed/x`,
      ]) {
        const { state } = await provision(node, call(url));
        assert.equal(state.state, 'FAILED', url);
        assert.match(state.error, /is not in the outbound allow list \(FLOWD_OUTBOUND_ALLOW/, url);
      }
      assert.equal(other.requests.length, 0);
      assert.deepEqual(
        target.requests.map((r) => r.path),
        ['/allowed/echo'],
      );
    } finally {
      await node.close();
    }
  });

  void it('redirects: followed on the same host, refused to another host, another scheme, or past a few hops', async () => {
    const node = await startTestNode();
    try {
      const call = (url: string): unknown => template([{ id: 'call', type: 'http_request', user_inputs: { method: 'GET', url } }]);
      const enc = encodeURIComponent;
      const same = await provision(node, call(`${target.url}/redirect?to=${enc('/echo/here')}`));
      assert.equal(same.state.state, 'COMPLETED');
      const out = await node.request('GET', `${FF}/${same.id}/_status?all=true`);
      assert.equal(out.body.user_outputs.call.response.path, '/echo/here');
      for (const [to, why] of [
        [`${other.url}/echo`, /redirects from 127\.0\.0\.1:\d+ to another host \(127\.0\.0\.1:\d+\)/],
        [`http://localhost:${target.port}/echo`, /to another host \(localhost:\d+\)/],
        ['file:///etc/passwd', /redirects to a file: URL/],
        // Two hops on the same host, then away.
        [`/redirect?to=${enc(`/redirect?to=${enc(`${other.url}/echo`)}`)}`, /to another host/],
      ] as const) {
        const { state } = await provision(node, call(`${target.url}/redirect?to=${enc(to)}`));
        assert.equal(state.state, 'FAILED', to);
        assert.match(state.error, why);
      }
      const loop = await provision(node, call(`${target.url}/loop`));
      assert.match(loop.state.error, /more than 5 redirects/);
      // 307 keeps the method and body; 303 turns them into a GET.
      for (const [status, method] of [
        ['307', 'POST'],
        ['303', 'GET'],
      ]) {
        const post = await provision(
          node,
          template([
            {
              id: 'call',
              type: 'http_request',
              user_inputs: { method: 'POST', url: `${target.url}/redirect?status=${status}&to=/echo`, body: { a: 1 } },
            },
          ]),
        );
        assert.equal(post.state.state, 'COMPLETED', JSON.stringify(post.state));
        const echoed = (await node.request('GET', `${FF}/${post.id}/_status?all=true`)).body.user_outputs.call.response;
        assert.equal(echoed.method, method, status);
        assert.equal(echoed.body, method === 'POST' ? '{"a":1}' : '', status);
      }
      assert.equal(other.requests.length, 0, 'no request crossed to the other host');
    } finally {
      await node.close();
    }
  });

  void it('answers past outboundMaxResponseBytes fail the step or the prediction, with or without Content-Length', async () => {
    const node = await startTestNode({ outboundMaxResponseBytes: 65536 });
    try {
      const call = (url: string): unknown => template([{ id: 'call', type: 'http_request', user_inputs: { method: 'GET', url } }]);
      for (const q of ['bytes=1000000', 'bytes=1000000&chunked=1', 'bytes=65537&chunked=1']) {
        const { state } = await provision(node, call(`${target.url}/big?${q}`));
        assert.equal(state.state, 'FAILED', q);
        assert.match(state.error, /the answer is larger than 65536 bytes \(FLOWD_OUTBOUND_MAX_RESPONSE_BYTES/, q);
      }
      const small = await provision(node, call(`${target.url}/big?bytes=65536&chunked=1`));
      assert.equal(small.state.state, 'COMPLETED', JSON.stringify(small.state.error));
      const m = await provision(
        node,
        template([
          {
            id: 'conn',
            type: 'create_connector',
            user_inputs: {
              name: 'c',
              description: 'd',
              version: '1',
              protocol: 'http',
              parameters: { endpoint: target.url },
              credential: { k: 'v' },
              actions: [{ action_type: 'predict', method: 'GET', url: '${parameters.endpoint}/big?bytes=${parameters.n}' }],
            },
          },
          { id: 'model', type: 'register_remote_model', user_inputs: { name: 'm' }, previous_node_inputs: { conn: 'connector_id' } },
          { id: 'deploy', type: 'deploy_model', previous_node_inputs: { model: 'model_id' } },
        ]),
      );
      const modelId = (m.state.resources_created as any[]).find((r) => r.workflow_step_id === 'model').resource_id as string;
      const big = await node.request('POST', `${ML}/models/${modelId}/_predict`, { body: { parameters: { n: '5000000' } } });
      assert.equal(big.status, 502, big.text);
      assert.match(big.text, /larger than 65536 bytes/);
      const ok = await node.request('POST', `${ML}/models/${modelId}/_predict`, { body: { parameters: { n: '100' } } });
      assert.equal(ok.status, 200, ok.text);
    } finally {
      await node.close();
    }
  });
});
