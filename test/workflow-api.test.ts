/**
 * The Flow Framework management API on the wire: status codes, bodies, field omission,
 * parameter rules, validation and error strings, as Flow Framework's REST API has them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FF, startTestNode, template } from './support/flowd-harness.js';
import type { TestNode } from './support/flowd-harness.js';

let node: TestNode;
before(async () => {
  node = await startTestNode({ bodyLimitBytes: 64 * 1024 });
});
after(async () => node.close());

const noop = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ id, type: 'noop', ...extra });

void describe('create / get / update / delete', () => {
  void it('creates (201), gets the stored template with materialized edges and epoch-ms times', async () => {
    const t = template([noop('a'), noop('b', { previous_node_inputs: { a: 'x' } })], [], {
      version: { template: '1.0.0', compatibility: ['2.12.0', '3.0.0'] },
    });
    (t.workflows as any).provision.nodes[0].user_inputs = { configurations: { settings: { shards: 2 }, list: [1, 'two', { three: 3 }] } };
    const r = await node.request('POST', FF, { body: t });
    assert.equal(r.status, 201);
    assert.deepEqual(Object.keys(r.body), ['workflow_id']);
    assert.match(r.body.workflow_id, /^[A-Za-z0-9_-]{20}$/);
    const g = await node.request('GET', `${FF}/${r.body.workflow_id}`);
    assert.equal(g.status, 200);
    assert.deepEqual(g.body.workflows.provision.edges, [{ source: 'a', dest: 'b' }]);
    assert.deepEqual(g.body.workflows.provision.user_params, {});
    assert.deepEqual(
      g.body.workflows.provision.nodes[0].user_inputs.configurations,
      {
        settings: { shards: 2 },
        list: [1, 'two', { three: 3 }],
      },
      'nested JSON kept exactly',
    );
    assert.equal(typeof g.body.created_time, 'number');
    assert.equal(g.body.created_time, g.body.last_updated_time);
    assert.equal(g.body.last_provisioned_time, undefined);
    const s = await node.request('GET', `${FF}/${r.body.workflow_id}/_status`);
    assert.deepEqual(s.body, { workflow_id: r.body.workflow_id, state: 'NOT_STARTED' });
  });

  void it('refuses a NUL byte anywhere in the URL with a 400 that says so, on either store', async () => {
    for (const path of [`${FF}/%00/_status`, `${FF}/_search?q=%00`]) {
      const r = await node.request('GET', path);
      assert.equal(r.status, 400, r.text);
      assert.match(r.body.error, /NUL byte \(%00\)/);
    }
  });

  void it('accepts YAML bodies and answers the same', async () => {
    const yaml = 'name: yaml-flow\ndescription: from yaml\nworkflows:\n  provision:\n    nodes:\n      - id: only\n        type: noop\n';
    const r = await node.request('POST', FF, { raw: yaml, contentType: 'application/yaml' });
    assert.equal(r.status, 201, r.text);
    const g = await node.request('GET', `${FF}/${r.body.workflow_id}`);
    assert.equal(g.body.name, 'yaml-flow');
    assert.equal(g.body.workflows.provision.nodes[0].id, 'only');
  });

  void it('full PUT keeps created_time and advances last_updated_time; provision sets last_provisioned_time', async () => {
    const r = await node.request('POST', FF, { body: template([noop('a')]) });
    const id = r.body.workflow_id;
    const before = (await node.request('GET', `${FF}/${id}`)).body;
    await new Promise((res) => setTimeout(res, 5));
    const put = await node.request('PUT', `${FF}/${id}`, { body: template([noop('a'), noop('b')]) });
    assert.equal(put.status, 201);
    const mid = (await node.request('GET', `${FF}/${id}`)).body;
    assert.equal(mid.created_time, before.created_time);
    assert.ok(mid.last_updated_time > before.last_updated_time);
    const p = await node.request('POST', `${FF}/${id}/_provision?wait_for_completion_timeout=5s`);
    assert.equal(p.status, 202);
    assert.deepEqual(p.body, { workflow_id: id, state: 'COMPLETED' });
    const after = (await node.request('GET', `${FF}/${id}`)).body;
    assert.ok(after.last_provisioned_time > after.last_updated_time);
    assert.equal(after.last_updated_time, mid.last_updated_time);
  });

  void it('delete returns the OpenSearch delete response; clear_status removes the status', async () => {
    const id = (await node.request('POST', `${FF}?provision=true&wait_for_completion_timeout=5s`, { body: template([noop('a')]) })).body
      .workflow_id;
    const d = await node.request('DELETE', `${FF}/${id}?clear_status=true`);
    assert.equal(d.status, 200);
    assert.equal(d.body._id, id);
    assert.equal(d.body.result, 'deleted');
    assert.equal(d.body._index, '.plugins-flow-framework-templates');
    assert.equal((await node.request('GET', `${FF}/${id}`)).status, 404);
    assert.equal((await node.request('GET', `${FF}/${id}/_status`)).status, 404);
    const again = await node.request('DELETE', `${FF}/${id}`);
    assert.equal(again.status, 200, "a missing id: OpenSearch's delete response, as Flow Framework passes it through");
    assert.equal(again.body.result, 'not_found');
  });

  void it('PUT on a missing id is 404 with the Flow Framework message', async () => {
    const r = await node.request('PUT', `${FF}/123`, { body: template([noop('a')]) });
    assert.equal(r.status, 404);
    assert.equal(r.body.error, 'Failed to retrieve template (123) from global context.');
  });
});

void describe('parameter rules of create and update', () => {
  const t = template([noop('a')]);
  const cases: Array<[string, string, string]> = [
    [
      'POST',
      '?foo=bar',
      'Only the parameters [use_case, workflow_id, provision, reprovision, update_fields, wait_for_completion_timeout, validation] are permitted unless the provision parameter is set to true.',
    ],
    ['POST', '?provision=true&update_fields=true', 'You can not use both the provision and update_fields parameters in the same request.'],
    ['POST', '?reprovision=true', 'You can not use the reprovision parameter to create a new template.'],
    [
      'POST',
      '?wait_for_completion_timeout=1s',
      "Request parameter 'wait_for_completion_timeout' is not allowed unless the 'provision' or 'reprovision' parameter is set to true.",
    ],
    ['POST', '?provision=maybe', 'Failed to parse value [maybe] only [true] or [false] are allowed.'],
  ];
  for (const [method, q, msg] of cases) {
    void it(`${method} ${q} → 400`, async () => {
      const r = await node.request(method, `${FF}${q}`, { body: t });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.error, msg);
    });
  }

  void it('update_fields accepts only the allow-listed fields', async () => {
    const id = (await node.request('POST', FF, { body: t })).body.workflow_id;
    const r = await node.request('PUT', `${FF}/${id}?update_fields=true`, { body: { workflows: {} } });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'You can not update the field [workflows] without updating the whole template.');
  });

  void it('unknown query parameters on GET give OpenSearch’s nested error', async () => {
    const id = (await node.request('POST', FF, { body: t })).body.workflow_id;
    const r = await node.request('GET', `${FF}/${id}/_status?bogus=1`);
    assert.equal(r.status, 400);
    assert.equal(r.body.error.type, 'illegal_argument_exception');
    assert.match(r.body.error.reason, /contains unrecognized parameter: \[bogus\]/);
  });
});

void describe('validation in Flow Framework order, before any state changes', () => {
  const cases: Array<[string, Record<string, unknown>, number, string | RegExp]> = [
    ['duplicate ids', template([noop('a'), noop('a')]), 400, 'Duplicate node id a.'],
    ['dangling edge source', template([noop('a')], [{ source: 'x', dest: 'a' }]), 400, 'Edge source x does not correspond to a node.'],
    ['dangling edge dest', template([noop('a')], [{ source: 'a', dest: 'x' }]), 400, 'Edge destination x does not correspond to a node.'],
    ['self loop', template([noop('a')], [{ source: 'a', dest: 'a' }]), 400, 'Edge connects node a to itself.'],
    [
      'no start node',
      template(
        [noop('a'), noop('b')],
        [
          { source: 'a', dest: 'b' },
          { source: 'b', dest: 'a' },
        ],
      ),
      400,
      'No start node detected: all nodes have a predecessor.',
    ],
    [
      'cycle',
      template(
        [noop('a'), noop('b'), noop('c')],
        [
          { source: 'a', dest: 'b' },
          { source: 'b', dest: 'c' },
          { source: 'c', dest: 'b' },
        ],
      ),
      400,
      /^Cycle detected: \[(b->c, c->b|c->b, b->c)\]$/,
    ],
    ['unknown type', template([{ id: 'a', type: 'teleport' }]), 501, 'Workflow step type [teleport] is not implemented.'],
    [
      'denylisted type',
      template([{ id: 'n1', type: 'delete_index', user_inputs: { index_name: 'x' } }]),
      403,
      'The step type [delete_index] for node [n1] can not be used in a workflow.',
    ],
    [
      'missing inputs',
      template([{ id: 'workflow_step_1', type: 'register_remote_model', user_inputs: { name: 'm' } }]),
      400,
      'Invalid workflow, node [workflow_step_1] missing the following required inputs : [connector_id]',
    ],
    [
      'required plugin',
      template([{ id: 'i', type: 'create_index', user_inputs: { index_name: 'x', configurations: {} } }]),
      400,
      /^The workflowStep create_index requires the following plugins to be installed : \[opensearch\]/,
    ],
    ['negative timeout', template([noop('a', { user_inputs: { node_timeout: '-5s' } })]), 400, /Must be positive/],
  ];
  for (const [name, t, status, msg] of cases) {
    void it(name, async () => {
      const before = (await node.request('POST', `${FF}/_search`, { body: { size: 0 } })).body.hits.total.value;
      const r = await node.request('POST', FF, { body: t });
      assert.equal(r.status, status, r.text);
      if (typeof msg === 'string') assert.equal(r.body.error, msg);
      else assert.match(r.body.error, msg);
      const afterCount = (await node.request('POST', `${FF}/_search`, { body: { size: 0 } })).body.hits.total.value;
      assert.equal(afterCount, before, 'nothing stored');
    });
  }

  void it('validation=off stores an invalid template; provisioning still validates and leaves NOT_STARTED', async () => {
    const t = template([{ id: 'workflow_step_1', type: 'register_remote_model', user_inputs: { name: 'm' } }]);
    const r = await node.request('POST', `${FF}?validation=off`, { body: t });
    assert.equal(r.status, 201);
    const p = await node.request('POST', `${FF}/${r.body.workflow_id}/_provision`);
    assert.equal(p.status, 400);
    assert.match(p.body.error, /^Invalid workflow, node \[workflow_step_1\] missing the following required inputs/);
    assert.equal((await node.request('GET', `${FF}/${r.body.workflow_id}/_status`)).body.state, 'NOT_STARTED');
  });

  void it('max_workflow_steps', async () => {
    const small = await startTestNode({ maxWorkflowSteps: 2 });
    try {
      const r = await small.request('POST', FF, { body: template([noop('a'), noop('b'), noop('c')]) });
      assert.equal(r.status, 400);
      assert.equal(
        r.body.error,
        'Workflow null has 3 nodes, which exceeds the maximum of 2. Change the setting [plugins.flow_framework.max_workflow_steps] to increase this.',
      );
    } finally {
      await small.close();
    }
  });

  void it('provision=true that fails validation leaves no orphan template', async () => {
    const before = (await node.request('POST', `${FF}/_search`, { body: { size: 0 } })).body.hits.total.value;
    const r = await node.request('POST', `${FF}?provision=true`, { body: template([{ id: 'a', type: 'nope' }]) });
    assert.equal(r.status, 501);
    assert.equal((await node.request('POST', `${FF}/_search`, { body: { size: 0 } })).body.hits.total.value, before);
  });
});

void describe('bad input', () => {
  void it('malformed JSON and YAML', async () => {
    for (const [raw, ct] of [
      ['{"name": ', 'application/json'],
      ['name: [unclosed', 'application/yaml'],
    ] as const) {
      const r = await node.request('POST', FF, { raw, contentType: ct });
      assert.equal(r.status, 400);
      assert.equal(r.body.error, 'IOException: template content invalid for specified Content-Type.');
    }
  });

  void it('oversized bodies get 413 with the limit', async () => {
    const r = await node.request('POST', FF, { raw: JSON.stringify({ name: 'x'.repeat(70 * 1024) }) });
    assert.equal(r.status, 413);
    assert.match(r.body.error, /too large/);
  });

  void it('unknown template fields', async () => {
    const r = await node.request('POST', FF, { body: { name: 'x', invalid: 1, workflows: {} } });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'Unable to parse field [invalid] in a template object.');
  });

  void it('unknown routes', async () => {
    const r = await node.request('GET', '/nothing/here');
    assert.equal(r.status, 404);
    assert.match(r.body.error, /no handler found for uri \[\/nothing\/here\]/);
  });
});

void describe('_steps, use cases, search', () => {
  void it('_steps lists step types with timeouts only when not default', async () => {
    const r = await node.request('GET', `${FF}/_steps?workflow_step=create_connector,deploy_model,delete_model`);
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body).sort(), ['create_connector', 'delete_model', 'deploy_model']);
    assert.equal(r.body.create_connector.timeout, '1m');
    assert.deepEqual(r.body.create_connector.outputs, ['connector_id']);
    assert.equal(r.body.deploy_model.timeout, '15s');
    assert.equal(r.body.delete_model.timeout, undefined);
    const all = await node.request('GET', `${FF}/_steps`);
    assert.ok('noop' in all.body && 'http_request' in all.body && !('delete_index' in all.body));
    const bad = await node.request('GET', `${FF}/_steps?workflow_step=invalid_query`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'Failed to retrieve workflow step json.');
  });

  void it('use_case builds a template from the built-in use cases', async () => {
    // No OpenSearch cluster configured: the use case validates as needing the plugin…
    const needs = await node.request('POST', `${FF}?use_case=semantic_search`, { body: { 'create_ingest_pipeline.model_id': 'abc' } });
    assert.equal(needs.status, 400);
    assert.match(needs.body.error, /requires the following plugins to be installed : \[opensearch\]/);
    // …and is stored as built when validation is off.
    const r = await node.request('POST', `${FF}?use_case=semantic_search&validation=none`, {
      body: { 'create_ingest_pipeline.model_id': 'abc' },
    });
    assert.equal(r.status, 201, r.text);
    const g = await node.request('GET', `${FF}/${r.body.workflow_id}`);
    assert.equal(g.body.name, 'semantic_search');
    const missing = await node.request('POST', `${FF}?use_case=semantic_search`);
    assert.equal(
      missing.body.error,
      'Missing the following required parameters for use case [semantic_search] : [create_ingest_pipeline.model_id]',
    );
    const unknown = await node.request('POST', `${FF}?use_case=x`, { body: {} });
    assert.equal(unknown.body.error, 'Unable to find substitution ready file for use case: x');
  });

  void it('_search and state/_search answer SearchResponse shapes with the query DSL', async () => {
    const a = (await node.request('POST', FF, { body: { ...template([noop('a')]), name: 'findme-alpha' } })).body.workflow_id;
    const b = (
      await node.request('POST', `${FF}?provision=true&wait_for_completion_timeout=5s`, {
        body: { ...template([noop('a')]), name: 'findme-beta' },
      })
    ).body.workflow_id;
    // `name` is a text field: the standard analyzer splits on '-', so a plain match finds both…
    const both = await node.request('POST', `${FF}/_search`, { body: { query: { match: { name: 'findme-alpha' } } } });
    assert.equal(both.body.hits.hits.length, 2);
    assert.equal(both.body.hits.hits[0]._id, a, 'the closer match scores higher');
    // …and operator=and narrows it to one.
    const r = await node.request('POST', `${FF}/_search`, {
      body: { query: { match: { name: { query: 'findme-alpha', operator: 'and' } } } },
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.hits.hits.length, 1);
    assert.equal(r.body.hits.hits[0]._id, a);
    assert.equal(r.body.hits.hits[0]._index, '.plugins-flow-framework-templates');
    assert.equal(typeof r.body.hits.hits[0]._seq_no, 'number');
    // GET carries the query in `source` (fetch cannot send a GET body; curl users can).
    const q = JSON.stringify({ query: { bool: { must: [{ term: { state: 'COMPLETED' } }, { ids: { values: [a, b] } }] } } });
    const st = await node.request('GET', `${FF}/state/_search?source=${encodeURIComponent(q)}&source_content_type=application/json`);
    assert.equal(st.status, 200, st.text);
    assert.deepEqual(
      st.body.hits.hits.map((h: any) => h._id),
      [b],
    );
    const bad = await node.request('POST', `${FF}/_search`, { body: { query: { nonsense: {} } } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.type, 'parsing_exception');
  });
});
