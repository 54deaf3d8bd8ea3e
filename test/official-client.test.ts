/**
 * The official `@opensearch-project/opensearch` client's `flowFramework.*` calls work against
 * flowd unchanged (devDependency, driven against a live server).
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@opensearch-project/opensearch';
import { ADMIN_PASSWORD, startTestNode, template } from './support/flowd-harness.js';
import type { TestNode } from './support/flowd-harness.js';

let node: TestNode;
let client: Client;
before(async () => {
  node = await startTestNode();
  client = new Client({ node: node.url, auth: { username: 'admin', password: ADMIN_PASSWORD } });
});
after(async () => {
  await client.close();
  await node.close();
});

void it('drives the whole lifecycle through client.flowFramework', async () => {
  const t = template([
    { id: 'wait', type: 'noop', user_inputs: { delay: '20ms' } },
    {
      id: 'register',
      type: 'register_local_pretrained_model',
      user_inputs: { name: 'flowd/sentiment', version: '1.0.0', model_format: 'NPM_PACKAGE', deploy: true },
    },
  ]);
  const created = await client.flowFramework.create({ body: t as any });
  assert.equal(created.statusCode, 201);
  const id = (created.body as any).workflow_id as string;

  const got = await client.flowFramework.get({ workflow_id: id });
  assert.equal((got.body as any).name, 'test');

  const steps = await client.flowFramework.getSteps({ workflow_step: 'noop' } as any);
  assert.ok('noop' in (steps.body as any));

  const prov = await client.flowFramework.provision({ workflow_id: id });
  assert.equal(prov.statusCode, 202);

  let status: any;
  for (let i = 0; i < 200; i++) {
    status = (await client.flowFramework.getStatus({ workflow_id: id, all: true } as any)).body;
    if (status.state !== 'PROVISIONING') break;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.equal(status.state, 'COMPLETED', JSON.stringify(status));
  assert.deepEqual(
    status.resources_created.map((r: any) => [r.workflow_step_name, r.resource_type]),
    [
      ['register_local_pretrained_model', 'model_id'],
      ['deploy_model', 'model_id'],
    ],
  );

  const search = await client.flowFramework.search({ body: { query: { ids: { values: [id] } } } } as any);
  assert.equal((search.body as any).hits.hits[0]._id, id);
  const stateSearch = await client.flowFramework.searchState({ body: { query: { term: { state: 'COMPLETED' } } } } as any);
  assert.ok((stateSearch.body as any).hits.hits.some((h: any) => h._id === id));

  const dep = await client.flowFramework.deprovision({ workflow_id: id });
  assert.equal(dep.statusCode, 200);
  const upd = await client.flowFramework.update({ workflow_id: id, update_fields: true, body: { name: 'renamed' } } as any);
  assert.equal(upd.statusCode, 201);
  const del = await client.flowFramework.delete({ workflow_id: id, clear_status: true } as any);
  assert.equal((del.body as any).result, 'deleted');

  await assert.rejects(client.flowFramework.get({ workflow_id: id }), (e: any) => e.meta?.statusCode === 404);
});
