import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseBody } from '../src/template/body-parser.js';
import { parseTemplate } from '../src/template/template-parser.js';
import { serializeTemplate, templateToYaml } from '../src/template/template-serializer.js';

const keepAll = { includeUser: true, redact: () => false };

const doc = {
  name: '  padded name ',
  description: ' d ',
  workflows: {
    provision: {
      nodes: [
        {
          id: 'conn',
          type: 'create_connector',
          user_inputs: { name: 'c', credential: { key: 'secret' }, parameters: { n: 1 } },
        },
        {
          id: 'model',
          type: 'register_remote_model',
          previous_node_inputs: { conn: 'connector_id' },
          user_inputs: { api_key: 'k', name: 'm' },
        },
      ],
    },
  },
  user: { name: 'alice', backend_roles: [], roles: ['all_access'], custom_attribute_names: [], user_requested_tenant: null },
  created_time: 1,
  last_updated_time: 2,
  tenant_id: 't1',
  all_shared_principals: [],
};

describe('serializeTemplate', () => {
  it("emits Flow Framework's serialized shape: trimmed texts, always-present maps, materialized edges", () => {
    const out = serializeTemplate(parseTemplate(doc), { includeUser: false, redact: () => false });
    assert.deepEqual(out, {
      name: 'padded name',
      description: 'd',
      use_case: '',
      workflows: {
        provision: {
          user_params: {},
          nodes: [
            {
              id: 'conn',
              type: 'create_connector',
              previous_node_inputs: {},
              user_inputs: { name: 'c', credential: { key: 'secret' }, parameters: { n: 1 } },
            },
            {
              id: 'model',
              type: 'register_remote_model',
              previous_node_inputs: { conn: 'connector_id' },
              user_inputs: { api_key: 'k', name: 'm' },
            },
          ],
          edges: [{ source: 'conn', dest: 'model' }],
        },
      },
      created_time: 1,
      last_updated_time: 2,
      tenant_id: 't1',
    });
    assert.deepEqual(Object.keys(out), ['name', 'description', 'use_case', 'workflows', 'created_time', 'last_updated_time', 'tenant_id']);
  });

  it('drops the inputs redact() selects, per node type', () => {
    const out = serializeTemplate(parseTemplate(doc), {
      includeUser: false,
      redact: (type, key) => key === 'credential' || (type === 'register_remote_model' && key === 'api_key'),
    });
    const nodes = (out.workflows as { provision: { nodes: Array<{ user_inputs: object }> } }).provision.nodes;
    assert.deepEqual(nodes[0]?.user_inputs, { name: 'c', parameters: { n: 1 } });
    assert.deepEqual(nodes[1]?.user_inputs, { name: 'm' });
  });

  it('includes the user only when asked', () => {
    const t = parseTemplate(doc);
    assert.equal(serializeTemplate(t, { includeUser: false, redact: () => false }).user, undefined);
    assert.deepEqual(serializeTemplate(t, keepAll).user, doc.user);
  });

  it('emits version, ui_metadata and flow only when present', () => {
    const bare = serializeTemplate(parseTemplate({ name: 'x' }), keepAll);
    assert.deepEqual(bare, { name: 'x', description: '', use_case: '', workflows: {} });
    const full = serializeTemplate(
      parseTemplate({ name: 'x', version: { template: '1.0.0' }, ui_metadata: { a: [1] }, flow: { mode: 'SYNC' } }),
      keepAll,
    );
    assert.deepEqual(full.version, { template: '1.0.0' });
    assert.deepEqual(full.ui_metadata, { a: [1] });
    assert.deepEqual(full.flow, { mode: 'SYNC' });
  });

  it('returns fresh data (mutating the output leaves the template alone)', () => {
    const t = parseTemplate(doc);
    const out = serializeTemplate(t, keepAll) as {
      workflows: { provision: { nodes: Array<{ user_inputs: { parameters: { n: number } } }> } };
    };
    const first = out.workflows.provision.nodes[0];
    assert.ok(first);
    first.user_inputs.parameters.n = 99;
    assert.deepEqual(t.workflows.provision?.nodes[0]?.user_inputs.parameters, { n: 1 });
  });
});

describe('templateToYaml', () => {
  it('writes YAML without aliases that parses back to the same data', () => {
    const shared = { a: [1, 'two', { three: null }] };
    const data = { x: shared, y: shared, s: 'line1\nline2', num: '2.12.0', yes: 'true', n: 5, long: 'w '.repeat(200) };
    const text = templateToYaml(data);
    assert.ok(!text.includes('&') && !text.includes('*'), text);
    assert.deepEqual(parseBody(text, 'application/yaml'), data);
  });
});
