/**
 * Where OpenSearch's API-spec stories for the Flow Framework caught flowd answering otherwise
 * than Flow Framework's code: reprovision with update_fields, GET _search with a body, the
 * `_steps` fields, DELETE of a missing id, and reprovisioning an unchanged template that holds
 * a credential. Each case states what Flow Framework (its transport actions) answers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { ADMIN_PASSWORD, FF, basic, startTestNode, template } from './support/flowd-harness.js';
import type { TestNode } from './support/flowd-harness.js';

const BODY_LIMIT = 64 * 1024;
let node: TestNode;
before(async () => {
  node = await startTestNode({ bodyLimitBytes: BODY_LIMIT });
});
after(async () => node.close());

const noop = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ id, type: 'noop', ...extra });

/** A create_connector node: it records a resource (a connector) and holds a credential; nothing is called. */
const CONNECTOR = (key: string): Record<string, unknown> => ({
  id: 'c',
  type: 'create_connector',
  user_inputs: {
    name: 'parity connector',
    description: 'never called',
    version: '1',
    protocol: 'http',
    parameters: { endpoint: 'http://127.0.0.1:9' },
    credential: { key },
    actions: [{ action_type: 'predict', method: 'POST', url: '${parameters.endpoint}/x', request_body: '{}' }],
  },
});

interface RawResult {
  status: number;
  body: any;
  text: string;
}

/**
 * A GET with a body, as OpenSearch clients send searches (fetch refuses a GET body): with a
 * Content-Length, or chunked (Transfer-Encoding).
 */
function getWithBody(path: string, body: string, opts: { chunked?: boolean; contentType?: string } = {}): Promise<RawResult> {
  const headers: Record<string, string | number> = {
    authorization: basic('admin', ADMIN_PASSWORD),
    'content-type': opts.contentType ?? 'application/json',
  };
  // Node's client sends a GET body chunked only when told to.
  if (opts.chunked === true) headers['transfer-encoding'] = 'chunked';
  else headers['content-length'] = Buffer.byteLength(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(node.url + path), { method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body: parsed, text });
      });
    });
    req.on('error', reject);
    if (opts.chunked === true) {
      // Two writes: the body really arrives in chunks.
      const half = Math.floor(body.length / 2);
      req.write(body.slice(0, half));
      req.end(body.slice(half));
    } else req.end(body);
  });
}

async function create(t: Record<string, unknown>, query = ''): Promise<string> {
  const r = await node.request('POST', `${FF}${query}`, { body: t });
  assert.ok(r.status === 201 || r.status === 202, r.text);
  return r.body.workflow_id as string;
}

void describe('PUT ?reprovision=true&update_fields=true (CreateWorkflowTransportAction → reprovision)', () => {
  void it('on a NOT_STARTED workflow: 400, the state message; nothing saved', async () => {
    const id = await create(template([noop('a')], [], { name: 'rp-uf-not-started' }));
    const r = await node.request('PUT', `${FF}/${id}?reprovision=true&update_fields=true`, { body: { name: 'renamed' } });
    assert.equal(r.status, 400, r.text);
    assert.deepEqual(r.body, { error: `The template can not be reprovisioned unless its provisioning state is DONE or FAILED: ${id}` });
    assert.equal((await node.request('GET', `${FF}/${id}`)).body.name, 'rp-uf-not-started', 'the fields were not saved');
  });

  void it('on a COMPLETED workflow: the fields cannot change a workflow, so 400 "no modifications"; nothing saved', async () => {
    const id = await create(template([noop('a')], [], { name: 'rp-uf-done' }), '?provision=true&wait_for_completion_timeout=5s');
    assert.equal((await node.waitForState(id)).state, 'COMPLETED');
    const r = await node.request('PUT', `${FF}/${id}?reprovision=true&update_fields=true`, {
      body: { name: 'renamed', description: 'new description' },
    });
    assert.equal(r.status, 400, r.text);
    assert.deepEqual(r.body, { error: 'Template does not contain any modifications' });
    const g = (await node.request('GET', `${FF}/${id}`)).body;
    assert.equal(g.name, 'rp-uf-done');
    assert.equal(g.description, 'test workflow');
    assert.equal((await node.request('GET', `${FF}/${id}/_status`)).body.state, 'COMPLETED', 'no run started');
  });

  void it('the other parameter checks still come first, and update_fields alone still saves (201)', async () => {
    const id = await create(template([noop('a')], [], { name: 'rp-uf-checks' }));
    const both = await node.request('PUT', `${FF}/${id}?reprovision=true&update_fields=true&use_case=x`, { body: { name: 'n' } });
    assert.equal(both.status, 400);
    assert.equal(both.body.error, 'You cannot use the reprovision and use_case parameters in the same request.');
    const workflows = await node.request('PUT', `${FF}/${id}?reprovision=true&update_fields=true`, {
      body: { workflows: { provision: { nodes: [] } } },
    });
    assert.equal(workflows.status, 400, 'workflows is not an updatable field');
    const fields = await node.request('PUT', `${FF}/${id}?update_fields=true`, { body: { name: 'renamed' } });
    assert.equal(fields.status, 201, fields.text);
    assert.equal((await node.request('GET', `${FF}/${id}`)).body.name, 'renamed');
  });
});

void describe('reprovision of an unchanged template that holds a credential', () => {
  void it('compares the credential as sent: the same one is "no modifications", another one is a change', async () => {
    const t = template([CONNECTOR('test_api_key')], [], { name: 'rp-credential' });
    const id = await create(t, '?provision=true&wait_for_completion_timeout=5s');
    const done = await node.waitForState(id);
    assert.equal(done.state, 'COMPLETED', JSON.stringify(done));
    const same = await node.request('PUT', `${FF}/${id}?reprovision=true`, { body: t });
    assert.equal(same.status, 400, same.text);
    assert.deepEqual(same.body, { error: 'Template does not contain any modifications' });
    assert.ok(!same.text.includes('test_api_key'));
    // A different credential is a change; create_connector has no update step (nor in Flow Framework).
    const other = template([CONNECTOR('another_key')], [], { name: 'rp-credential' });
    const changed = await node.request('PUT', `${FF}/${id}?reprovision=true`, { body: other });
    assert.equal(changed.status, 400, changed.text);
    assert.deepEqual(changed.body, { error: 'Workflow Step c does not support updates when reprovisioning.' });
    assert.ok(!changed.text.includes('another_key') && !changed.text.includes('test_api_key'));
  });

  void it('key order in user_inputs is no change either (Flow Framework compares maps)', async () => {
    const t = template([noop('a', { user_inputs: { credential: { k: 'v' }, x: 1, y: { p: 1, q: 2 } } })], [], { name: 'rp-order' });
    const id = await create(t, '?provision=true&wait_for_completion_timeout=5s');
    assert.equal((await node.waitForState(id)).state, 'COMPLETED');
    const reordered = template([noop('a', { user_inputs: { y: { q: 2, p: 1 }, x: 1, credential: { k: 'v' } } })], [], {
      name: 'rp-order',
    });
    const r = await node.request('PUT', `${FF}/${id}?reprovision=true`, { body: reordered });
    assert.equal(r.status, 400, r.text);
    assert.deepEqual(r.body, { error: 'Template does not contain any modifications' });
  });
});

void describe('GET _search with a request body (OpenSearch reads it as on POST)', () => {
  let first: string;
  let second: string;
  before(async () => {
    first = await create(template([noop('a')], [], { name: 'get-body-first' }));
    second = await create(template([noop('a')], [], { name: 'get-body-second' }));
  });

  void it('state/_search: a term query on workflow_id finds that one state', async () => {
    const body = JSON.stringify({ query: { term: { workflow_id: { value: first } } } });
    const r = await getWithBody(`${FF}/state/_search`, body);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.hits.total.value, 1, r.text);
    assert.equal(r.body.hits.hits[0]._index, '.plugins-flow-framework-state');
    assert.equal(r.body.hits.hits[0]._source.workflow_id, first);
    const post = await node.request('POST', `${FF}/state/_search`, { raw: body });
    assert.deepEqual(
      post.body.hits.hits.map((h: any) => h._id),
      r.body.hits.hits.map((h: any) => h._id),
      'GET and POST answer alike',
    );
  });

  void it('_search: a match query is applied, sent with Content-Length or chunked, JSON or YAML', async () => {
    const body = JSON.stringify({ query: { term: { 'name.keyword': 'get-body-second' } } });
    for (const chunked of [false, true]) {
      const r = await getWithBody(`${FF}/_search`, body, { chunked });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(
        r.body.hits.hits.map((h: any) => h._id),
        [second],
        `chunked=${chunked}`,
      );
    }
    const none = await getWithBody(`${FF}/_search`, JSON.stringify({ query: { match: { name: 'no-such-name-xyz' } } }));
    assert.equal(none.body.hits.total.value, 0, none.text);
    const yaml = await getWithBody(`${FF}/_search`, "query:\n  term:\n    name.keyword: 'get-body-first'\n", {
      contentType: 'application/yaml',
    });
    assert.equal(yaml.status, 200, yaml.text);
    assert.deepEqual(
      yaml.body.hits.hits.map((h: any) => h._id),
      [first],
    );
  });

  void it('a GET without a body is still match_all; a bad body is a 400; an oversized one 413', async () => {
    const all = await node.request('GET', `${FF}/_search?size=1000`);
    assert.equal(all.status, 200);
    const ids = all.body.hits.hits.map((h: any) => h._id);
    assert.ok(ids.includes(first) && ids.includes(second));
    const bad = await getWithBody(`${FF}/state/_search`, '{"query": ');
    assert.equal(bad.status, 400, bad.text);
    const big = JSON.stringify({ query: { match_all: {} }, pad: 'x'.repeat(BODY_LIMIT) });
    for (const chunked of [false, true]) {
      const r = await getWithBody(`${FF}/_search`, big, { chunked });
      assert.equal(r.status, 413, `chunked=${chunked}: ${r.text}`);
      assert.match(r.body.error, /Request body is too large: the limit is 65536 bytes/);
    }
  });
});

void describe('_steps: what WorkflowStepValidator writes, nothing more', () => {
  void it('every step type has inputs, outputs, required_plugins and (only when not 10s) timeout, in that order', async () => {
    const r = await node.request('GET', `${FF}/_steps`);
    assert.equal(r.status, 200);
    assert.ok(Object.keys(r.body).length > 10);
    for (const [name, s] of Object.entries<any>(r.body)) {
      const keys = Object.keys(s);
      assert.deepEqual(keys.slice(0, 3), ['inputs', 'outputs', 'required_plugins'], name);
      assert.ok(keys.length === 3 || (keys.length === 4 && keys[3] === 'timeout'), `${name}: ${keys.join(', ')}`);
    }
    assert.deepEqual(r.body.create_connector, {
      inputs: ['name', 'description', 'version', 'protocol', 'parameters', 'credential', 'actions'],
      outputs: ['connector_id'],
      required_plugins: ['opensearch-ml'],
      timeout: '1m',
    });
    assert.deepEqual(r.body.noop, { inputs: [], outputs: [], required_plugins: [] });
  });

  void it("/_flowd/steps adds flowd's optional_inputs, secret_inputs and resource_type; the same 400 for an unknown type", async () => {
    const r = await node.request('GET', '/_flowd/steps?workflow_step=create_connector,noop');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.body).sort(), ['create_connector', 'noop']);
    assert.deepEqual(r.body.create_connector.secret_inputs, ['credential']);
    assert.equal(r.body.create_connector.resource_type, 'connector_id');
    assert.ok(r.body.create_connector.optional_inputs.length > 0);
    assert.deepEqual(r.body.noop.optional_inputs, ['delay']);
    for (const path of ['/_flowd/steps', `${FF}/_steps`]) {
      const bad = await node.request('GET', `${path}?workflow_step=invalid_query`);
      assert.equal(bad.status, 400, path);
      assert.deepEqual(bad.body, { error: 'Failed to retrieve workflow step json.' });
    }
    assert.equal((await node.request('GET', '/_flowd/steps', { auth: null })).status, 401);
  });
});

void describe('DELETE of a missing workflow id', () => {
  void it("answers OpenSearch's delete response with result not_found (200), with or without clear_status", async () => {
    for (const q of ['', '?clear_status=true']) {
      const r = await node.request('DELETE', `${FF}/invalid${q}`);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body, {
        _index: '.plugins-flow-framework-templates',
        _id: 'invalid',
        _version: 1,
        result: 'not_found',
        _shards: { total: 1, successful: 1, failed: 0 },
        _seq_no: 0,
        _primary_term: 1,
      });
    }
  });

  void it('a state left behind (it records resources) is not touched', async () => {
    const id = await create(
      template([CONNECTOR('delete_key')], [], { name: 'delete-twice' }),
      '?provision=true&wait_for_completion_timeout=5s',
    );
    assert.equal((await node.waitForState(id)).state, 'COMPLETED');
    assert.equal((await node.request('DELETE', `${FF}/${id}`)).body.result, 'deleted');
    const before = (await node.request('GET', `${FF}/${id}/_status?all=true`)).body;
    assert.equal(before.resources_created.length, 1);
    const again = await node.request('DELETE', `${FF}/${id}`);
    assert.equal(again.status, 200);
    assert.equal(again.body.result, 'not_found');
    assert.deepEqual((await node.request('GET', `${FF}/${id}/_status?all=true`)).body, before, 'the state is as it was');
  });

  void it('under filter_by_backend_roles Flow Framework looks the workflow up first: 404', async () => {
    const filtered = await startTestNode({ filterByBackendRoles: true });
    try {
      const r = await filtered.request('DELETE', `${FF}/invalid`);
      assert.equal(r.status, 404, r.text);
      assert.deepEqual(r.body, { error: 'Failed to retrieve template (invalid) from global context.' });
    } finally {
      await filtered.close();
    }
  });
});
