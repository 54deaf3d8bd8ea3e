/** The OpenAPI 3 document generated from the route schemas, and the docs page that renders it. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestNode } from './support/flowd-harness.js';
import type { TestNode } from './support/flowd-harness.js';

let node: TestNode;
before(async () => {
  node = await startTestNode();
});
after(async () => {
  await node.close();
});

void describe('OpenAPI', () => {
  void it('describes both APIs, with summaries and tags, without credentials', async () => {
    const r = await node.request('GET', '/_flowd/openapi.json', { auth: null });
    assert.equal(r.status, 200);
    assert.match(r.body.openapi, /^3\./);
    const paths = r.body.paths as Record<string, Record<string, { summary?: string; tags?: string[] }>>;
    const status = paths['/_plugins/_flow_framework/workflow/{workflow_id}/_status']?.['get'];
    assert.equal(status?.summary, 'Provisioning status');
    assert.deepEqual(status?.tags, ['workflows']);
    assert.equal(paths['/api/v1/runtime/workflow/{workflowId}/action/analyze']?.['post']?.tags?.[0], 'runtime');
    assert.ok(paths['/api/v1/runtime/workflow/{workflowId}/task/{taskId}']?.['get']);
    assert.ok(paths['/_flowd/api_keys']?.['post']);
    assert.ok(paths['/_plugins/_ml/models/{model_id}/_predict']?.['post']);
    // Every documented operation has a summary; internal asset routes are hidden.
    for (const [p, ops] of Object.entries(paths)) for (const [m, op] of Object.entries(ops)) assert.ok(op.summary, `${m} ${p} has no summary`);
    assert.equal(paths['/_dashboard/assets/{file}'], undefined);
    assert.ok(r.body.components.securitySchemes.apiKey);
  });

  void it('serves a docs page', async () => {
    const r = await node.request('GET', '/_flowd/docs', { auth: null });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/html/);
    assert.match(r.text, /openapi\.json/);
  });

  void it('keeps the wire contracts: documentation adds no validation', async () => {
    const bad = await node.request('GET', '/_plugins/_flow_framework/workflow/_steps?workflow_step=nope');
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body, { error: 'Failed to retrieve workflow step json.' });
  });
});
