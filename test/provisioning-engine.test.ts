/**
 * The provisioning engine through the HTTP API: concurrency, timeouts, retries with stable
 * idempotency keys, cancellation on failure, rollback, the atomic state machine, deprovision
 * order and allow_delete, reprovision.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FF, startTestNode, template } from './support/flowd-harness.js';
import type { TestNode } from './support/flowd-harness.js';
import { ResourceServer, thingNode } from './support/resource-server.js';

let node: TestNode;
let api: ResourceServer;

before(async () => {
  node = await startTestNode();
  api = new ResourceServer();
  await api.start();
});
after(async () => {
  await node.close();
  await api.close();
});

async function create(t: unknown, query = ''): Promise<string> {
  const r = await node.request('POST', `${FF}${query}`, { body: t });
  assert.ok(r.status === 201 || r.status === 202, `create answered ${r.status}: ${r.text}`);
  return r.body.workflow_id as string;
}

void describe('event-driven DAG execution', () => {
  void it('runs independent branches concurrently and joins them', async () => {
    const u = api.url;
    api.delayMs.set('fan_a', 150).set('fan_b', 150).set('fan_c', 150);
    const before = api.maxInFlight;
    api.maxInFlight = 0;
    const id = await create(
      template(
        [thingNode(u, 'fan_root'), thingNode(u, 'fan_a'), thingNode(u, 'fan_b'), thingNode(u, 'fan_c'), thingNode(u, 'fan_join')],
        [
          { source: 'fan_root', dest: 'fan_a' },
          { source: 'fan_root', dest: 'fan_b' },
          { source: 'fan_root', dest: 'fan_c' },
          { source: 'fan_a', dest: 'fan_join' },
          { source: 'fan_b', dest: 'fan_join' },
          { source: 'fan_c', dest: 'fan_join' },
        ],
      ),
      '?provision=true',
    );
    const s = await node.waitForState(id);
    assert.equal(s.state, 'COMPLETED', JSON.stringify(s));
    assert.equal(api.maxInFlight, 3, 'the three branches were in flight together');
    api.maxInFlight = Math.max(before, api.maxInFlight);
    const order = s.resources_created.map((r: any) => r.workflow_step_id);
    assert.equal(order[0], 'fan_root');
    assert.equal(order[4], 'fan_join');
    assert.equal(s.steps.length, 5);
    assert.ok(s.steps.every((st: any) => st.state === 'COMPLETED' && st.duration_ms >= 0));
    assert.equal(s.user_outputs.fan_root.status, 201);
    assert.equal(s.provisioning_progress, 'DONE');
    assert.ok(s.provision_end_time >= s.provision_start_time);
  });

  void it('passes outputs through previous_node_inputs and ${{ node.output }} from any ancestor', async () => {
    const u = api.url;
    const id = await create(
      template(
        [
          thingNode(u, 'src_a'),
          { id: 'mid', type: 'noop' },
          thingNode(u, 'dst_b', { body: { parent: '${{ src_a.resource_id }}', label: 'child of ${{ src_a.resource_id }}' } }),
        ],
        [
          { source: 'src_a', dest: 'mid' },
          { source: 'mid', dest: 'dst_b' },
        ],
      ),
      '?provision=true',
    );
    const s = await node.waitForState(id);
    assert.equal(s.state, 'COMPLETED', JSON.stringify(s));
    const parent = s.user_outputs.src_a.resource_id;
    assert.equal(s.user_outputs.dst_b.response.name, 'dst_b');
    const created = [...api.created.values()].find((c) => c.id === s.user_outputs.dst_b.resource_id);
    assert.ok(created, 'dst_b exists on the server');
    assert.ok(parent.length > 10);
  });

  void it('substitutes provision params from the query and the body', async () => {
    const u = api.url;
    const id = await create(template([thingNode(u, 'param_node', { url: `${u}/things/\${{ thing_name }}` })]));
    const r = await node.request('POST', `${FF}/${id}/_provision`, { body: { thing_name: 'from_body' } });
    assert.equal(r.status, 202, r.text);
    const s = await node.waitForState(id);
    assert.equal(s.state, 'COMPLETED', JSON.stringify(s));
    assert.ok(api.requests.some((q) => q.path === '/things/from_body'));
    const dup = await node.request('POST', `${FF}/${id}/_provision?thing_name=a`, { body: { thing_name: 'b' } });
    assert.equal(dup.status, 400);
    assert.equal(dup.body.error, 'Duplicate key thing_name');
    const nonString = await node.request('POST', `${FF}/${id}/_provision`, { body: { n: 1 } });
    assert.equal(nonString.body.error, 'Request body fields must have string values');
  });
});

void describe('timeouts, retries, failures', () => {
  void it('node_timeout aborts the step and fails the workflow naming the step', async () => {
    const u = api.url;
    api.delayMs.set('slow_one', 3000);
    const abortedBefore = api.aborted;
    const id = await create(template([thingNode(u, 'slow_one', { node_timeout: '200ms' })]), '?provision=true');
    const s = await node.waitForState(id);
    assert.equal(s.state, 'FAILED');
    assert.equal(s.provisioning_progress, 'FAILED');
    assert.match(s.error, /^TimeoutException during step slow_one, .*restStatus: GATEWAY_TIMEOUT$/);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(api.aborted > abortedBefore, 'the HTTP request was aborted');
    assert.equal(s.resources_created, undefined);
  });

  void it('retries a failing step with backoff, keeping its idempotency key', async () => {
    const u = api.url;
    api.failFirst.set('flaky', 2);
    const id = await create(template([thingNode(u, 'flaky', { retry: { max_attempts: 4, backoff: '20ms' } })]), '?provision=true');
    const s = await node.waitForState(id);
    assert.equal(s.state, 'COMPLETED', JSON.stringify(s));
    const tries = api.requests.filter((q) => q.path === '/things/flaky' && q.method === 'POST');
    assert.equal(tries.length, 3);
    assert.equal(new Set(tries.map((t) => t.key)).size, 1, 'same Idempotency-Key on every attempt');
    assert.equal(s.steps[0].attempt, 3);
  });

  void it('first failure cancels in-flight siblings and records nothing after FAILED', async () => {
    const u = api.url;
    api.failAlways.set('boom', 400);
    api.delayMs.set('sibling_slow', 1500);
    const id = await create(
      template([thingNode(u, 'boom'), thingNode(u, 'sibling_slow'), thingNode(u, 'after_boom')], [{ source: 'boom', dest: 'after_boom' }]),
      '?provision=true',
    );
    const s = await node.waitForState(id);
    assert.equal(s.state, 'FAILED');
    assert.match(s.error, /^WorkflowStepException during step boom, http_request POST .* answered 400/);
    assert.match(s.error, /restStatus: BAD_REQUEST$/);
    const byId = Object.fromEntries(s.steps.map((st: any) => [st.id, st]));
    assert.equal(byId.boom.state, 'FAILED');
    assert.equal(byId.sibling_slow.state, 'CANCELED');
    assert.equal(byId.after_boom, undefined, 'a successor of the failed step never started');
    await new Promise((r) => setTimeout(r, 1700));
    const later = await node.request('GET', `${FF}/${id}/_status`);
    assert.deepEqual(later.body, { workflow_id: id, error: s.error, state: 'FAILED' });
  });

  void it('a FAILED workflow with nothing created can be provisioned again directly', async () => {
    const u = api.url;
    api.failFirst.set('second_chance', 1);
    const id = await create(template([thingNode(u, 'second_chance')]), '?provision=true');
    assert.equal((await node.waitForState(id)).state, 'FAILED');
    const again = await node.request('POST', `${FF}/${id}/_provision`);
    assert.equal(again.status, 202, again.text);
    const s = await node.waitForState(id);
    assert.equal(s.state, 'COMPLETED');
    assert.equal(s.error, undefined);
  });

  void it('a FAILED workflow with resources must be deprovisioned first (400, as Flow Framework)', async () => {
    const u = api.url;
    api.failAlways.set('late_fail', 500);
    const id = await create(
      template([thingNode(u, 'kept_one'), thingNode(u, 'late_fail')], [{ source: 'kept_one', dest: 'late_fail' }]),
      '?provision=true',
    );
    const s = await node.waitForState(id);
    assert.equal(s.state, 'FAILED');
    assert.equal(s.resources_created.length, 1);
    const again = await node.request('POST', `${FF}/${id}/_provision`);
    assert.equal(again.status, 400);
    assert.equal(
      again.body.error,
      `The workflow provisioning state is FAILED and can not be provisioned unless its state is NOT_STARTED: ${id}. Deprovision the workflow to reset the state.`,
    );
  });

  void it('on_failure=rollback deletes what was created in reverse topological order and leaves NOT_STARTED', async () => {
    const u = api.url;
    api.failAlways.set('rb_fail', 400);
    const id = await create(
      template(
        [thingNode(u, 'rb_1'), thingNode(u, 'rb_2'), thingNode(u, 'rb_fail')],
        [
          { source: 'rb_1', dest: 'rb_2' },
          { source: 'rb_2', dest: 'rb_fail' },
        ],
      ),
      '?provision=true&on_failure=rollback',
    );
    const s = await node.waitForState(id, (x) => x.state !== 'PROVISIONING');
    assert.equal(s.state, 'NOT_STARTED');
    assert.match(s.error, /during step rb_fail.*\(rolled back\)$/);
    assert.equal(s.resources_created, undefined);
    const created = api.creations.filter((c) => c.name === 'rb_1' || c.name === 'rb_2');
    const id1 = created.find((c) => c.name === 'rb_1')?.id;
    const id2 = created.find((c) => c.name === 'rb_2')?.id;
    const i1 = api.deletions.indexOf(id1 ?? '');
    const i2 = api.deletions.indexOf(id2 ?? '');
    assert.ok(i1 >= 0 && i2 >= 0 && i2 < i1, 'rb_2 deleted before rb_1');
    assert.ok(!api.created.has(id1 ?? '') && !api.created.has(id2 ?? ''));
    api.failAlways.delete('rb_fail');
    const again = await node.request('POST', `${FF}/${id}/_provision`);
    assert.equal(again.status, 202);
    assert.equal((await node.waitForState(id)).state, 'COMPLETED');
  });
});

void describe('atomic state machine', () => {
  void it('a concurrent second provision gets 409 and only one run happens', async () => {
    const u = api.url;
    api.delayMs.set('race_one', 300);
    const id = await create(template([thingNode(u, 'race_one')]));
    const results = await Promise.all(Array.from({ length: 8 }, () => node.request('POST', `${FF}/${id}/_provision`)));
    const codes = results.map((r) => r.status).sort();
    assert.equal(codes.filter((c) => c === 202).length, 1, JSON.stringify(codes));
    assert.ok(
      codes.filter((c) => c !== 202).every((c) => c === 409 || c === 400),
      JSON.stringify(codes),
    );
    const s = await node.waitForState(id);
    assert.equal(s.state, 'COMPLETED');
    assert.equal(api.creations.filter((c) => c.name === 'race_one').length, 1);
  });

  void it('deleters get inputs resolved as the creating run resolved them (params, outputs)', async () => {
    const u = api.url;
    // delete_url built from a provision param: deprovision must call the real URL…
    const viaParam = (id: string): Record<string, unknown> =>
      thingNode('${{ api }}', id, { url: `${u}/things/${id}`, delete_url: '${{ api }}/things/${resource_id}' });
    const id = await create(template([viaParam('sub_dp')]), `?provision=true&api=${encodeURIComponent(u)}`);
    assert.equal((await node.waitForState(id)).state, 'COMPLETED');
    const made = api.creations.find((c) => c.name === 'sub_dp')?.id ?? '';
    assert.ok(api.created.has(made));
    const d = await node.request('POST', `${FF}/${id}/_deprovision`);
    assert.equal(d.status, 200, d.text);
    assert.ok(!api.created.has(made), 'deleted through the substituted URL');
    // …and so must a rollback.
    api.failAlways.set('sub_fail', 500);
    const rb = await create(
      template([viaParam('sub_rb'), thingNode(u, 'sub_fail', {}, { sub_rb: 'http_resource_id' })]),
      `?provision=true&on_failure=rollback&api=${encodeURIComponent(u)}`,
    );
    const s = await node.waitForState(rb, (x) => x.state !== 'PROVISIONING');
    assert.equal(s.state, 'NOT_STARTED', JSON.stringify(s));
    const rbId = api.creations.find((c) => c.name === 'sub_rb')?.id ?? '';
    assert.ok(rbId !== '' && !api.created.has(rbId), 'rolled back through the substituted URL');
    api.failAlways.delete('sub_fail');
  });

  void it('deprovision during provisioning gets 409', async () => {
    const u = api.url;
    api.delayMs.set('busy_one', 400);
    const id = await create(template([thingNode(u, 'busy_one')]), '?provision=true');
    const r = await node.request('POST', `${FF}/${id}/_deprovision`);
    assert.equal(r.status, 409, r.text);
    assert.match(r.body.error, /is being provisioned/);
    assert.equal((await node.waitForState(id)).state, 'COMPLETED');
  });

  void it('full update is refused once provisioned; update_fields works in any state', async () => {
    const u = api.url;
    const t = template([thingNode(u, 'upd_one')]);
    const id = await create(t, '?provision=true');
    await node.waitForState(id);
    const put = await node.request('PUT', `${FF}/${id}`, { body: t });
    assert.equal(put.status, 400);
    assert.equal(
      put.body.error,
      `The template can not be updated unless its provisioning state is NOT_STARTED: ${id}. Deprovision the workflow to reset the state.`,
    );
    const uf = await node.request('PUT', `${FF}/${id}?update_fields=true`, { body: { name: 'renamed', description: 'new words' } });
    assert.equal(uf.status, 201, uf.text);
    const got = await node.request('GET', `${FF}/${id}`);
    assert.equal(got.body.name, 'renamed');
    assert.equal(got.body.description, 'new words');
  });
});

void describe('deprovision', () => {
  void it('removes resources in reverse topological order; already-gone counts as success', async () => {
    const u = api.url;
    const id = await create(
      template(
        [thingNode(u, 'dp_a'), thingNode(u, 'dp_b'), thingNode(u, 'dp_c')],
        [
          { source: 'dp_a', dest: 'dp_b' },
          { source: 'dp_b', dest: 'dp_c' },
        ],
      ),
      '?provision=true',
    );
    const s = await node.waitForState(id);
    const ids = s.resources_created.map((r: any) => r.resource_id);
    api.created.delete(ids[1]); // deleted by hand behind flowd's back
    const r = await node.request('POST', `${FF}/${id}/_deprovision`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { workflow_id: id });
    const order = api.deletions.filter((d) => ids.includes(d));
    assert.deepEqual(order, [ids[2], ids[1], ids[0]]);
    const after = await node.request('GET', `${FF}/${id}/_status?all=true`);
    assert.equal(after.body.state, 'NOT_STARTED');
    assert.equal(after.body.resources_created, undefined);
  });

  void it('reports what could not be removed (202) and keeps it', async () => {
    const u = api.url;
    const id = await create(
      template([thingNode(u, 'dp_stuck', { delete_url: `${u}/broken/\${resource_id}`, delete_method: 'POST' })]),
      '?provision=true',
    );
    const s = await node.waitForState(id);
    const rid = s.resources_created[0].resource_id;
    const r = await node.request('POST', `${FF}/${id}/_deprovision`);
    assert.equal(r.status, 202);
    assert.equal(r.body.error, `Failed to deprovision some resources: [http_resource_id ${rid}].`);
    const after = await node.request('GET', `${FF}/${id}/_status`);
    assert.equal(after.body.state, 'COMPLETED');
    assert.equal(after.body.resources_created.length, 1);
  });

  void it('unknown ids give 404 with Flow Framework messages', async () => {
    assert.equal((await node.request('POST', `${FF}/nope/_deprovision`)).body.error, 'Failed to get workflow state for workflow nope');
    assert.equal((await node.request('GET', `${FF}/nope/_status`)).body.error, 'Fail to find workflow status of nope');
    const g = await node.request('GET', `${FF}/nope`);
    assert.equal(g.status, 404);
    assert.equal(g.body.error, 'Failed to retrieve template (nope) from global context.');
  });
});

void describe('reprovision', () => {
  void it('creates new nodes, re-runs changed resource-less nodes, removes deleted nodes', async () => {
    const u = api.url;
    const v1 = template(
      [thingNode(u, 'rp_keep'), thingNode(u, 'rp_drop'), { id: 'rp_wait', type: 'noop' }],
      [{ source: 'rp_keep', dest: 'rp_wait' }],
    );
    const id = await create(v1, '?provision=true');
    const s1 = await node.waitForState(id);
    assert.equal(s1.resources_created.length, 2);
    const dropId = s1.resources_created.find((r: any) => r.workflow_step_id === 'rp_drop').resource_id;
    const keepId = s1.resources_created.find((r: any) => r.workflow_step_id === 'rp_keep').resource_id;

    const same = await node.request('PUT', `${FF}/${id}?reprovision=true`, { body: v1 });
    assert.equal(same.status, 400);
    assert.equal(same.body.error, 'Template does not contain any modifications');

    const v2 = template(
      [
        thingNode(u, 'rp_keep'),
        { id: 'rp_wait', type: 'noop', user_inputs: { delay: '10ms' } },
        thingNode(u, 'rp_new', { body: { parent: '${{ rp_keep.resource_id }}' } }),
      ],
      [
        { source: 'rp_keep', dest: 'rp_wait' },
        { source: 'rp_wait', dest: 'rp_new' },
      ],
    );
    const r = await node.request('PUT', `${FF}/${id}?reprovision=true&wait_for_completion_timeout=10s`, { body: v2 });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.body.state, 'COMPLETED', r.text);
    const s2 = await node.waitForState(id);
    const nodes = s2.resources_created.map((x: any) => x.workflow_step_id);
    assert.deepEqual(nodes, ['rp_keep', 'rp_new']);
    assert.equal(s2.resources_created[0].resource_id, keepId, 'unchanged node kept its resource');
    assert.ok(!api.created.has(dropId), 'removed node was deprovisioned');
    assert.equal(api.creations.filter((c) => c.name === 'rp_keep').length, 1, 'unchanged node not re-created');
    const got = await node.request('GET', `${FF}/${id}`);
    assert.equal(got.body.workflows.provision.nodes.length, 3, 'template saved after success');
  });
});
