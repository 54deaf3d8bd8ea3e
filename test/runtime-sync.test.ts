/**
 * The runtime issue through HTTP, SYNC side: a template with a `flow` is published by
 * provisioning (services are resources), served by action/analyze with API keys, reported by
 * action/status (NL Flow shape + flowd extensions), republished with rolling updates by
 * reprovision, unpublished by deprovision.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request as httpRequestNode } from 'node:http';
import type { ClientRequest } from 'node:http';
import { FF, startTestNode } from './support/flowd-harness.js';
import type { TestNode } from './support/flowd-harness.js';
import { RT, apiKey, provisionFlow, rt, waitRuntime } from './support/runtime-client.js';

const UPPER = 'function process(input) { return { text: input.text.toUpperCase() }; }';
const COUNT = 'function process(input) { return { text: input.text, length: input.text.length }; }';

const issueFlow = (replicas = 2, count = COUNT): Record<string, unknown> => ({
  mode: 'SYNC',
  blocks: [
    { id: 'upper', type: 'js', replicas, config: { source: UPPER } },
    { id: 'count', type: 'js', config: { source: count } },
  ],
  edges: [{ source: 'upper', dest: 'count' }],
});

let node: TestNode;
before(async () => {
  node = await startTestNode();
});
after(async () => {
  await node.close();
});

void describe('SYNC flow: publish, analyze, status', () => {
  let id: string;
  let key: string;

  before(async () => {
    const p = await provisionFlow(node, issueFlow());
    id = p.id;
    assert.equal(p.status.state, 'COMPLETED', JSON.stringify(p.status));
    key = await apiKey(node, [id]);
  });

  void it('lists each service as a resource of the publish step', async () => {
    const s = await node.request('GET', `${FF}/${id}/_status?all=true`);
    const services = s.body.resources_created.filter((r: any) => r.resource_type === 'service_id');
    assert.equal(services.length, 2);
    assert.ok(services.every((r: any) => r.workflow_step_name === 'publish_flow' && r.workflow_step_id === 'publish_flow'));
    assert.deepEqual(s.body.user_outputs.publish_flow.mode, 'SYNC');
  });

  void it('answers action/analyze with the last block output and echoes the correlation id', async () => {
    const r = await rt(node, key, 'POST', id, 'action/analyze', { text: 'hello' }, { 'x-correlation-id': 'corr-42' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { text: 'HELLO', length: 5 });
    assert.equal(r.headers.get('x-correlation-id'), 'corr-42');
  });

  void it('reports GREEN with desired/actual and replica details once every instance is ready', async () => {
    const s = await waitRuntime(node, key, id, (b) => b.actualStatus === 'GREEN');
    assert.equal(s.desiredStatus, 'PUBLISHED');
    assert.equal(s.publishingMode, 'SYNC');
    assert.equal(s.usable, true);
    assert.deepEqual(s.details.stream, { id: 'stream', desired: 1, actual: 1, status: 'GREEN' });
    const upper = s.details.services.find((x: any) => x.blockId === 'upper');
    assert.equal(upper.desired, 2);
    assert.equal(upper.actual, 2);
    assert.equal(upper.status, 'GREEN');
    assert.equal(upper.rolloutStatus, 'Complete');
    assert.equal(upper.replicasDetail.length, 2);
    for (const r of upper.replicasDetail) {
      assert.equal(r.ready, true);
      assert.match(r.name, /^depl-/);
      assert.ok(!Number.isNaN(Date.parse(r.started_at)));
    }
    assert.ok(!Number.isNaN(Date.parse(s.lastTransitionTime)));
  });

  void it('refuses a missing or wrong key (401) and a key of another workflow (403)', async () => {
    assert.equal((await rt(node, null, 'GET', id, 'action/status')).status, 401);
    assert.equal((await rt(node, 'flowd_not-a-key', 'GET', id, 'action/status')).status, 401);
    const other = await provisionFlow(node, issueFlow(1));
    const otherKey = await apiKey(node, [other.id]);
    const r = await rt(node, otherKey, 'POST', id, 'action/analyze', { text: 'x' });
    assert.equal(r.status, 403);
    assert.ok(Array.isArray(r.body.errors));
  });

  void it('answers 404 with no body for a workflow that was never published', async () => {
    const c = await node.request('POST', FF, { body: { name: 'x', workflows: { provision: { nodes: [{ id: 'a', type: 'noop' }] } } } });
    const k = await apiKey(node, [c.body.workflow_id]);
    const r = await rt(node, k, 'GET', c.body.workflow_id, 'action/status');
    assert.equal(r.status, 404);
    assert.equal(r.text, '');
  });

  void it('turns a block error into the errors body naming the block; verbose adds per-block detail', async () => {
    const bad = await rt(node, key, 'POST', id, 'action/analyze', { nottext: 1 });
    assert.ok(bad.status >= 400 && bad.status < 600, bad.text);
    assert.equal(bad.body.errors.length, 1);
    assert.equal(bad.body.errors[0].node, 'upper');
    assert.equal(typeof bad.body.errors[0].message, 'string');
    assert.equal(typeof bad.body.errors[0].code, 'string');
    assert.equal(typeof bad.body.errors[0].retryable, 'boolean');
    const verbose = await rt(node, key, 'POST', id, 'action/analyze?verboseErrorOutput=true', { nottext: 1 });
    assert.ok(verbose.body.componentsData, verbose.text);
    assert.equal(verbose.body.componentsData.upper.status, 'ERROR');
    const notJson = await node.request('POST', `/api/v1/runtime/workflow/${id}/action/analyze`, {
      auth: null,
      raw: '{oops',
      headers: { 'x-api-key': key },
    });
    assert.equal(notJson.status, 400);
    assert.match(notJson.body.errors[0].message, /JSON object/);
  });
});

void describe('validation of the flow section at create time', () => {
  const create = (flow: unknown): Promise<any> => node.request('POST', FF, { body: { name: 'v', flow } });

  void it('refuses unknown block types, cycles and ASYNC-only blocks in SYNC, before storing anything', async () => {
    const before = (await node.request('POST', `${FF}/_search`, { body: { query: { match_all: {} }, size: 0 } })).body.hits.total.value;
    const unknown = await create({ mode: 'SYNC', blocks: [{ id: 'a', type: 'nope', config: {} }], edges: [] });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error, /nope/);
    const cycle = await create({
      mode: 'SYNC',
      blocks: [
        { id: 'a', type: 'js', config: { source: UPPER } },
        { id: 'b', type: 'js', config: { source: UPPER } },
      ],
      edges: [
        { source: 'a', dest: 'b' },
        { source: 'b', dest: 'a' },
      ],
    });
    assert.equal(cycle.status, 400);
    assert.match(cycle.body.error, /cycle/i);
    const asyncOnly = await create({ mode: 'SYNC', blocks: [{ id: 's', type: 'split', config: {} }], edges: [] });
    assert.equal(asyncOnly.status, 400);
    assert.match(asyncOnly.body.error, /ASYNC/);
    const syntax = await create({
      mode: 'SYNC',
      blocks: [{ id: 'j', type: 'js', config: { source: 'function process(input) { return ; ' } }],
      edges: [],
    });
    assert.equal(syntax.status, 400);
    assert.match(syntax.body.error, /\bj\b/);
    const after2 = (await node.request('POST', `${FF}/_search`, { body: { query: { match_all: {} }, size: 0 } })).body.hits.total.value;
    assert.equal(after2, before);
  });

  void it('refuses a reference to a provision node that does not exist', async () => {
    const r = await create({
      mode: 'SYNC',
      blocks: [{ id: 'm', type: 'model', config: { model_id: '${{ deploy.model_id }}' } }],
      edges: [],
    });
    assert.equal(r.status, 400);
    assert.match(r.body.error, /deploy/);
  });
});

void describe('a model block bound to a provisioned local model', () => {
  void it('publishes after register + deploy and runs the model on the input', async () => {
    const nodes = [
      {
        id: 'register',
        type: 'register_local_pretrained_model',
        user_inputs: { name: 'flowd/sentiment', version: '1.0.0', model_format: 'NPM_PACKAGE' },
      },
      { id: 'deploy', type: 'deploy_model', previous_node_inputs: { register: 'model_id' } },
    ];
    const flow = { mode: 'SYNC', blocks: [{ id: 'sentiment', type: 'model', config: { model_id: '${{ deploy.model_id }}' } }], edges: [] };
    const p = await provisionFlow(node, flow, nodes);
    assert.equal(p.status.state, 'COMPLETED', JSON.stringify(p.status));
    const key = await apiKey(node, [p.id]);
    const good = await rt(node, key, 'POST', p.id, 'action/analyze', { text: 'I love this, it is wonderful and great!' });
    assert.equal(good.status, 200, good.text);
    const bad = await rt(node, key, 'POST', p.id, 'action/analyze', { text: 'This is terrible, awful and I hate it.' });
    assert.equal(bad.status, 200, bad.text);
    assert.notDeepEqual(good.body, bad.body);
    // Deprovision unpublishes first (reverse order), then undeploys and deletes the model.
    const d = await node.request('POST', `${FF}/${p.id}/_deprovision`);
    assert.equal(d.status, 200, d.text);
    assert.equal((await rt(node, key, 'GET', p.id, 'action/status')).status, 404);
  });
});

void describe('republish by reprovision', () => {
  void it('adds instances without restarting the others, then rolls a changed block', async () => {
    const p = await provisionFlow(node, issueFlow(1));
    const key = await apiKey(node, [p.id]);
    const first = await waitRuntime(node, key, p.id, (b) => b.actualStatus === 'GREEN');
    const upperBefore = first.details.services.find((x: any) => x.blockId === 'upper');
    const full = (await node.request('GET', `${FF}/${p.id}`)).body;
    const scaled = await node.request('PUT', `${FF}/${p.id}?reprovision=true&wait_for_completion_timeout=60s`, {
      body: { ...full, flow: issueFlow(3) },
    });
    assert.ok(scaled.status < 300, scaled.text);
    const s2 = await waitRuntime(
      node,
      key,
      p.id,
      (b) => b.actualStatus === 'GREEN' && b.details.services.find((x: any) => x.blockId === 'upper').actual === 3,
    );
    const upperAfter = s2.details.services.find((x: any) => x.blockId === 'upper');
    assert.equal(upperAfter.id, upperBefore.id, 'the service keeps its id');
    const survivor = upperBefore.replicasDetail[0];
    assert.ok(
      upperAfter.replicasDetail.some((r: any) => r.name === survivor.name && r.started_at === survivor.started_at),
      'the old instance was not restarted',
    );
    // Change the code of `count`: rolling update; analyze keeps answering throughout.
    const changed = COUNT.replace('length: input.text.length', 'length: input.text.length, v: 2');
    const put = node.request('PUT', `${FF}/${p.id}?reprovision=true&wait_for_completion_timeout=60s`, {
      body: { ...full, flow: issueFlow(3, changed) },
    });
    let failures = 0;
    let sawNew = false;
    const deadline = Date.now() + 20_000;
    let done = false;
    void put.then(() => (done = true));
    while (!done && Date.now() < deadline) {
      const r = await rt(node, key, 'POST', p.id, 'action/analyze', { text: 'abc' });
      if (r.status !== 200) {
        if (failures === 0) console.log('first failure during rollout:', r.status, r.text);
        failures++;
      } else if (r.body.v === 2) sawNew = true;
    }
    assert.ok((await put).status < 300);
    assert.equal(failures, 0, 'no request failed during the rolling update');
    const r = await rt(node, key, 'POST', p.id, 'action/analyze', { text: 'abc' });
    assert.deepEqual(r.body, { text: 'ABC', length: 3, v: 2 });
    assert.ok(sawNew || r.body.v === 2);
    const s3 = await waitRuntime(node, key, p.id, (b) => b.actualStatus === 'GREEN');
    assert.ok(s3.observedVersion >= 3, JSON.stringify(s3));
  });
});

void describe('admission', () => {
  void it('refuses to publish past the node capacity, saying what is missing', async () => {
    const small = await startTestNode({ maxInstances: 2 });
    try {
      const r = await small.request('POST', `${FF}?provision=true&wait_for_completion_timeout=30s`, {
        body: { name: 'big', flow: issueFlow(4) },
      });
      const id = r.body.workflow_id ?? undefined;
      const st = id ? (await small.request('GET', `${FF}/${id}/_status`)).body : r.body;
      const text = JSON.stringify(st) + r.text;
      assert.match(text, /capacity/);
      assert.match(text, /instances needed/);
    } finally {
      await small.close();
    }
  });
});

void describe('custom block modules', () => {
  void it('are refused unless their folder is allowed (FLOWD_CUSTOM_BLOCK_DIRS)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowd-custom-'));
    const file = join(dir, 'echo.mjs');
    writeFileSync(file, 'export function process(input) { return input; }\n');
    const flow = { mode: 'SYNC', blocks: [{ id: 'c', type: 'custom', config: { module: file } }], edges: [] };
    const disabled = await startTestNode({ customBlockDirs: [] });
    const elsewhere = await startTestNode({ customBlockDirs: [join(dir, 'other')] });
    const allowed = await startTestNode({ customBlockDirs: [dir] });
    try {
      const off = await disabled.request('POST', `${FF}?provision=true&wait_for_completion_timeout=30s`, { body: { name: 'c', flow } });
      assert.match(off.text, /custom blocks are disabled on this node/);
      const out = await elsewhere.request('POST', `${FF}?provision=true&wait_for_completion_timeout=30s`, { body: { name: 'c', flow } });
      assert.match(out.text, /outside the folders allowed by FLOWD_CUSTOM_BLOCK_DIRS/);
      const ok = await provisionFlow(allowed, flow);
      assert.equal(ok.status.state, 'COMPLETED', JSON.stringify(ok.status));
      const key = await apiKey(allowed, [ok.id]);
      assert.deepEqual((await rt(allowed, key, 'POST', ok.id, 'action/analyze', { a: 1 })).body, { a: 1 });
    } finally {
      await Promise.all([disabled.close(), elsewhere.close(), allowed.close()]);
    }
  });
});

void describe('a client that goes away', () => {
  void it('cancels its analyze: the request leaves the instance before the block would have finished', async () => {
    // Busy for 3 s: a synchronous run cannot be interrupted, but the instance drops the request
    // as soon as the cancel arrives (inFlight 0), instead of when the block returns.
    const slow = 'function process(input) { var end = Date.now() + 3000; while (Date.now() < end) {} return input; }';
    const { id, status } = await provisionFlow(node, {
      mode: 'SYNC',
      blocks: [{ id: 'slow', type: 'js', timeout: '20s', config: { source: slow } }],
      edges: [],
    });
    assert.equal(status.state, 'COMPLETED', JSON.stringify(status));
    const key = await apiKey(node, [id]);
    const inFlight = (s: any): number => s.details.services.find((x: any) => x.blockId === 'slow')?.inFlight ?? -1;
    const req = httpRequestRaw(`${node.url}${RT}/${id}/action/analyze`, key, { n: 1 });
    const busy = await waitRuntime(node, key, id, (s) => inFlight(s) === 1, 10_000);
    assert.equal(inFlight(busy), 1);
    const t0 = Date.now();
    req.destroy(); // the client closes its connection without waiting for the answer
    const idle = await waitRuntime(node, key, id, (s) => inFlight(s) === 0, 10_000);
    assert.equal(inFlight(idle), 0);
    assert.ok(Date.now() - t0 < 2_500, `the request left the instance ${Date.now() - t0} ms after the client went away, not at once`);
  });
});

/** A POST whose connection the caller can close before the answer comes. */
function httpRequestRaw(url: string, key: string, body: unknown): ClientRequest {
  const req = httpRequestNode(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'x-api-key': key } });
  req.on('error', () => undefined); // destroyed on purpose
  req.end(JSON.stringify(body));
  return req;
}
