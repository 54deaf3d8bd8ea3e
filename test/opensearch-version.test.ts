/**
 * The OpenSearch version flowd behaves as (config `opensearchVersion`): `GET /` reports it with
 * flowd's own version beside it, and the `user` object takes that release's wire form
 * (`user_requested_tenant_access` from 3.2.0 on) in every place a Flow Framework API shows it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FF, startTestNode, template } from './support/flowd-harness.js';
import type { TestNode } from './support/flowd-harness.js';
import { resolveConfig } from '../src/config.js';
import { FLOWD_VERSION } from '../src/version.js';

/** Every `user` object the Flow Framework API shows an admin for one workflow. */
async function usersShown(node: TestNode, id: string): Promise<Array<[string, Record<string, unknown>]>> {
  const byId = { query: { term: { workflow_id: { value: id } } } };
  const get = await node.request('GET', `${FF}/${id}`);
  const status = await node.request('GET', `${FF}/${id}/_status?all=true`);
  const search = await node.request('POST', `${FF}/_search`, { body: { query: { ids: { values: [id] } } } });
  const states = await node.request('POST', `${FF}/state/_search`, { body: byId });
  for (const r of [get, status, search, states]) assert.equal(r.status, 200, r.text);
  return [
    ['GET workflow', get.body.user],
    ['_status?all=true', status.body.user],
    ['_search hit', search.body.hits.hits[0]._source.user],
    ['state/_search hit', states.body.hits.hits[0]._source.user],
  ];
}

async function createdWorkflow(node: TestNode): Promise<string> {
  const r = await node.request('POST', FF, { body: template([{ id: 'a', type: 'noop' }]) });
  assert.equal(r.status, 201, r.text);
  return r.body.workflow_id as string;
}

void describe('opensearchVersion: default (3.1.0)', () => {
  let node: TestNode;
  before(async () => (node = await startTestNode()));
  after(async () => node.close());

  void it('GET / reports OpenSearch 3.1.0, distribution flowd, and flowd’s own version in build_flavor', async () => {
    const r = await node.request('GET', '/', { auth: null });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.version.number, '3.1.0');
    assert.equal(r.body.version.distribution, 'flowd');
    assert.equal(r.body.version.build_flavor, FLOWD_VERSION);
    assert.equal(r.body.version.minimum_wire_compatibility_version, '2.19.0');
    assert.equal(r.body.version.build_snapshot, false);
    assert.equal(typeof r.body.cluster_uuid, 'string');
  });

  void it('the user object has no user_requested_tenant_access (OpenSearch before 3.2 does not write it)', async () => {
    const id = await createdWorkflow(node);
    for (const [where, user] of await usersShown(node, id)) {
      assert.equal(user.name, 'admin', where);
      assert.ok(!('user_requested_tenant_access' in user), `${where}: ${JSON.stringify(user)}`);
      assert.equal(user.user_requested_tenant, null, where);
    }
  });
});

void describe('opensearchVersion: 3.2.0', () => {
  let node: TestNode;
  before(async () => (node = await startTestNode({ opensearchVersion: '3.2.0' })));
  after(async () => node.close());

  void it('GET / reports 3.2.0 and its compatibility floor', async () => {
    const r = await node.request('GET', '/', { auth: null });
    assert.equal(r.body.version.number, '3.2.0');
    assert.equal(r.body.version.minimum_index_compatibility_version, '2.0.0');
  });

  void it('the user object carries user_requested_tenant_access (null when unset), as common-utils 3.2 writes it', async () => {
    const id = await createdWorkflow(node);
    for (const [where, user] of await usersShown(node, id)) {
      assert.equal(user.name, 'admin', where);
      assert.ok('user_requested_tenant_access' in user, `${where}: ${JSON.stringify(user)}`);
      assert.equal(user.user_requested_tenant_access, null, where);
    }
  });
});

void describe('opensearchVersion: configuration', () => {
  void it('defaults to 3.1.0; FLOWD_OPENSEARCH_VERSION sets it; a non-version is refused', () => {
    assert.equal(resolveConfig({}).opensearchVersion, '3.1.0');
    assert.equal(resolveConfig({ env: { FLOWD_OPENSEARCH_VERSION: '2.19.2' } }).opensearchVersion, '2.19.2');
    assert.throws(
      () => resolveConfig({ env: { FLOWD_OPENSEARCH_VERSION: '3.1' } }),
      /opensearchVersion: must be an OpenSearch version, major\.minor\.patch/,
    );
  });

  void it('an OpenSearch 2.x node reports 2.x compatibility floors', async () => {
    const node = await startTestNode({ opensearchVersion: '2.19.2' });
    try {
      const r = await node.request('GET', '/', { auth: null });
      assert.equal(r.body.version.number, '2.19.2');
      assert.equal(r.body.version.minimum_wire_compatibility_version, '1.3.0');
    } finally {
      await node.close();
    }
  });
});
