import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FlowdError } from '../src/errors.js';
import { parseTemplate, DEFAULT_TEMPLATE_LIMITS } from '../src/template/template-parser.js';

type Doc = Record<string, unknown>;

const node = (id: string, extra: Doc = {}): Doc => ({ id, type: 'noop', ...extra });
const tpl = (extra: Doc = {}, nodes: unknown[] = [node('a')]): Doc => ({
  name: 't',
  workflows: { provision: { nodes } },
  ...extra,
});

function rejects(doc: unknown, message: string, opts?: Parameters<typeof parseTemplate>[1]): FlowdError {
  let caught: unknown;
  try {
    parseTemplate(doc, opts);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof FlowdError, `expected a FlowdError, got ${String(caught)}`);
  assert.equal(caught.kind, 'validation');
  assert.equal(caught.status, 400);
  assert.equal(caught.message, message);
  return caught;
}

describe('parseTemplate: Flow Framework messages', () => {
  it('rejects an unknown top-level key', () => {
    rejects(tpl({ invalid: 1 }), 'Unable to parse field [invalid] in a template object.');
    rejects(tpl({ operations: ['PROVISION'] }), 'Unable to parse field [operations] in a template object.');
  });

  it('rejects a document that is not an object', () => {
    for (const doc of [null, 5, 'x', [], [tpl()], true]) {
      rejects(doc, 'IOException: template content invalid for specified Content-Type.');
    }
  });

  it('requires a name', () => {
    rejects({ description: 'd' }, 'A template object requires a name.');
    rejects({ name: null }, 'A template object requires a name.');
    rejects({ name: '   ' }, 'A template object requires a name.');
    rejects({ name: { a: 1 } }, 'Unable to parse field [name] in a template object.');
  });

  it('rejects unknown version keys with the (sic) parent name, and non X.Y.Z versions', () => {
    rejects(tpl({ version: { template: '1.0.0', foo: 'x' } }), 'Unable to parse field [version] in a version object.');
    rejects(
      tpl({ version: { template: '1.0' } }),
      'Unable to parse version [1.0] in field [version.template]: a version must look like X.Y.Z.',
    );
    rejects(
      tpl({ version: { compatibility: ['2.12.0', 'three'] } }),
      'Unable to parse version [three] in field [version.compatibility]: a version must look like X.Y.Z.',
    );
    rejects(tpl({ version: { compatibility: '2.12.0' } }), 'Unable to parse field [version] in a version object.');
    rejects(tpl({ version: 'x' }), 'Unable to parse field [version] in a template object.');
    const t = parseTemplate(tpl({ version: { template: '1.0.0', compatibility: ['2.12.0', '3.0.0-SNAPSHOT'] } }));
    assert.deepEqual(t.version, { template: '1.0.0', compatibility: ['2.12.0', '3.0.0-SNAPSHOT'] });
  });

  it('rejects unknown node keys and nodes without id or type', () => {
    rejects(tpl({}, [node('a', { inputs: {} })]), 'Unable to parse field [inputs] in a node object.');
    rejects(tpl({}, [{ id: 'a' }]), 'An node object requires both an id and type field.');
    rejects(tpl({}, [{ type: 'noop' }]), 'An node object requires both an id and type field.');
    rejects(tpl({}, [{ id: '', type: 'noop' }]), 'An node object requires both an id and type field.');
  });

  it('rejects unknown edge keys and edges without source or dest', () => {
    const wf = (edges: unknown[]) => ({ name: 't', workflows: { provision: { nodes: [node('a')], edges } } });
    rejects(wf([{ source: 'a', dest: 'b', weight: 1 }]), 'Unable to parse field [weight] in an edge object.');
    rejects(wf([{ source: 'a' }]), 'An edge object requires both a source and dest field.');
    rejects(wf([{ dest: 'a' }]), 'An edge object requires both a source and dest field.');
  });

  it('requires at least one node per workflow', () => {
    rejects({ name: 't', workflows: { provision: {} } }, 'A workflow must have at least one node.');
    rejects({ name: 't', workflows: { provision: { nodes: [] } } }, 'A workflow must have at least one node.');
    rejects({ name: 't', workflows: { provision: { nodes: {} } } }, 'Unable to parse field [nodes] in a workflow object.');
  });

  it('rejects null user_inputs values, naming the key', () => {
    rejects(tpl({}, [node('a', { user_inputs: { model_id: null } })]), 'Unable to parse field [model_id] in a node object.');
  });

  it('rejects non-map user_params and previous_node_inputs', () => {
    const bad = { name: 't', workflows: { provision: { user_params: { a: { b: 1 } }, nodes: [node('a')] } } };
    rejects(bad, 'Unable to parse field [user_params] in a workflow object.');
    rejects(tpl({}, [node('a', { previous_node_inputs: { b: ['x'] } })]), 'Unable to parse field [previous_node_inputs] in a node object.');
  });

  it('update_fields accepts only the updatable fields', () => {
    rejects({ name: 'x', workflows: {} }, 'You can not update the field [workflows] without updating the whole template.', {
      updateFields: true,
    });
    rejects({ user: {} }, 'You can not update the field [user] without updating the whole template.', {
      updateFields: true,
    });
    const t = parseTemplate({ description: 'bar', ui_metadata: {} }, { updateFields: true });
    assert.deepEqual(t, { name: '', description: 'bar', use_case: '', workflows: {}, ui_metadata: {} });
    const all = parseTemplate(
      { name: 'foo', description: 'bar', use_case: 'U', version: { template: '1.0.0' }, ui_metadata: { a: 1 } },
      { updateFields: true },
    );
    assert.equal(all.name, 'foo');
    assert.deepEqual(all.ui_metadata, { a: 1 });
  });
});

describe('parseTemplate: data kept exactly', () => {
  it('preserves nested objects, arrays, numbers and booleans in user_inputs', () => {
    const user_inputs = {
      configurations: { settings: { 'index.knn': true, number_of_shards: 2 }, mappings: { properties: {} } },
      backend_roles: ['r1', 'r2'],
      model_node_ids: [],
      mixed: [1, 'two', { three: [3, null] }, [[4]], false],
      rate_limiter: { limit: 2.5, unit: 'SECONDS' },
      deploy: true,
      window_size: 10,
      big: 12345678901234,
      name: 'n',
      nested_null: { a: null },
    };
    const t = parseTemplate(tpl({}, [node('a', { user_inputs })]));
    assert.deepEqual(t.workflows.provision?.nodes[0]?.user_inputs, user_inputs);
  });

  it('copies input data (no aliasing of the caller document)', () => {
    const user_inputs = { configurations: { a: [1] } };
    const t = parseTemplate(tpl({}, [node('a', { user_inputs })]));
    user_inputs.configurations.a.push(2);
    assert.deepEqual(t.workflows.provision?.nodes[0]?.user_inputs, { configurations: { a: [1] } });
  });

  it('keeps __proto__ keys as data without touching prototypes', () => {
    const doc = JSON.parse(
      '{"name":"t","workflows":{"provision":{"nodes":[{"id":"a","type":"noop","user_inputs":{"__proto__":{"polluted":1},"x":{"__proto__":2}}}]}}}',
    ) as unknown;
    const t = parseTemplate(doc);
    const inputs = t.workflows.provision?.nodes[0]?.user_inputs as Record<string, unknown>;
    assert.ok(Object.prototype.hasOwnProperty.call(inputs, '__proto__'));
    assert.equal(Object.getPrototypeOf(inputs), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(inputs, '__proto__')?.value, { polluted: 1 });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('applies defaults', () => {
    const t = parseTemplate({ name: ' t ', workflows: { provision: { nodes: [{ id: 'a', type: 'noop' }] } } });
    assert.deepEqual(t, {
      name: 't',
      description: '',
      use_case: '',
      workflows: {
        provision: {
          user_params: {},
          nodes: [{ id: 'a', type: 'noop', previous_node_inputs: {}, user_inputs: {} }],
          edges: [],
        },
      },
    });
    assert.deepEqual(parseTemplate({ name: 'only' }).workflows, {});
  });

  it('coerces user_params scalars to text, like Flow Framework', () => {
    const t = parseTemplate({ name: 't', workflows: { provision: { user_params: { a: 1, b: true, c: 'x' }, nodes: [node('a')] } } });
    assert.deepEqual(t.workflows.provision?.user_params, { a: '1', b: 'true', c: 'x' });
  });

  it('keeps flow as an opaque object and accepts server-managed fields', () => {
    const flow = { mode: 'ASYNC', blocks: [{ id: 'b', type: 'js', config: { code: 'x' }, replicas: 2 }] };
    const user = { name: 'alice', backend_roles: ['b'], roles: ['all_access'], custom_attribute_names: [], user_requested_tenant: null };
    const t = parseTemplate(
      tpl({
        flow,
        user,
        created_time: 1714500000000,
        last_updated_time: '1714500000001',
        last_provisioned_time: 1714500001234,
        tenant_id: 'tenant',
        all_shared_principals: ['user:alice'],
        ui_metadata: { type: 'unknown' },
      }),
    );
    assert.deepEqual(t.flow, flow);
    assert.deepEqual(t.user, user);
    assert.equal(t.created_time, 1714500000000);
    assert.equal(t.last_updated_time, 1714500000001);
    assert.equal(t.last_provisioned_time, 1714500001234);
    assert.equal(t.tenant_id, 'tenant');
    assert.deepEqual(t.all_shared_principals, ['user:alice']);
    assert.deepEqual(t.ui_metadata, { type: 'unknown' });
    rejects(tpl({ flow: [1] }), 'Unable to parse field [flow] in a template object.');
    rejects(tpl({ created_time: -5 }), 'Unable to parse field [created_time] in a template object.');
  });

  it('drops an empty ui_metadata (it is never serialized)', () => {
    assert.equal(parseTemplate(tpl({ ui_metadata: {} })).ui_metadata, undefined);
  });
});

describe('parseTemplate: edges', () => {
  it('infers edges from previous_node_inputs after the explicit ones, without duplicates', () => {
    const t = parseTemplate({
      name: 't',
      workflows: {
        provision: {
          nodes: [
            node('c1'),
            node('m2', { previous_node_inputs: { c1: 'connector_id' } }),
            node('d3', { previous_node_inputs: { m2: 'model_id', c1: 'connector_id' } }),
            node('x4'),
          ],
          edges: [
            { source: 'x4', dest: 'd3' },
            { source: 'm2', dest: 'd3' },
            { source: 'x4', dest: 'd3' },
          ],
        },
      },
    });
    assert.deepEqual(t.workflows.provision?.edges, [
      { source: 'x4', dest: 'd3' },
      { source: 'm2', dest: 'd3' },
      { source: 'c1', dest: 'm2' },
      { source: 'c1', dest: 'd3' },
    ]);
  });

  it('keeps edges to unknown nodes and self loops for graph validation to report', () => {
    const t = parseTemplate(tpl({}, [node('a', { previous_node_inputs: { a: 'x', ghost: 'y' } })]));
    assert.deepEqual(t.workflows.provision?.edges, [
      { source: 'a', dest: 'a' },
      { source: 'ghost', dest: 'a' },
    ]);
  });
});

describe('parseTemplate: limits', () => {
  it('has the documented defaults', () => {
    assert.deepEqual({ ...DEFAULT_TEMPLATE_LIMITS }, { maxNodes: 1000, maxDepth: 64, maxStringLength: 1_000_000 });
  });

  it('limits nodes per workflow', () => {
    const nodes = Array.from({ length: 1001 }, (_, i) => node(`n${i}`));
    const e = rejects(
      { name: 't', workflows: { provision: { nodes } } },
      'Workflow [provision] has 1001 nodes, which exceeds the maximum of 1000 nodes per workflow.',
    );
    assert.equal(e.code, 'template.limit');
    assert.equal(
      parseTemplate({ name: 't', workflows: { provision: { nodes: nodes.slice(0, 1000) } } }).workflows.provision?.nodes.length,
      1000,
    );
    rejects(
      { name: 't', workflows: { w: { nodes: nodes.slice(0, 3) } } },
      'Workflow [w] has 3 nodes, which exceeds the maximum of 2 nodes per workflow.',
      { limits: { maxNodes: 2 } },
    );
  });

  it('limits nesting depth', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 70; i++) deep = { d: deep };
    // Levels: template, workflows, provision, nodes, node, user_inputs, deep = 7; the 58th `d` is level 65.
    const path = `workflows.provision.nodes[0].user_inputs.deep${'.d'.repeat(58)}`;
    const e = rejects(tpl({}, [node('a', { user_inputs: { deep } })]), rejectsDepthMessage(64, path));
    assert.equal(e.code, 'template.limit');
    // The whole document counts: top-level object, workflows, provision, nodes, node, user_inputs = 6.
    let ok: unknown = 1;
    for (let i = 0; i < 58; i++) ok = [ok];
    parseTemplate(tpl({}, [node('a', { user_inputs: { ok } })]));
    let tooDeep: unknown = 1;
    for (let i = 0; i < 59; i++) tooDeep = [tooDeep];
    assert.throws(() => parseTemplate(tpl({}, [node('a', { user_inputs: { tooDeep } })])), /nesting depth exceeds the maximum of 64/);
  });

  it('limits string length, values and keys', () => {
    const long = 'x'.repeat(1_000_001);
    rejects(
      tpl({}, [node('a', { user_inputs: { prompt: long } })]),
      'The string in field [workflows.provision.nodes[0].user_inputs.prompt] has 1000001 characters, which exceeds the maximum of 1000000.',
    );
    parseTemplate(tpl({}, [node('a', { user_inputs: { prompt: long.slice(1) } })]));
    rejects(tpl({ description: 'd'.repeat(13) }), 'The string in field [description] has 13 characters, which exceeds the maximum of 12.', {
      limits: { maxStringLength: 12 },
    });
    rejects(
      tpl({}, [node('a', { user_inputs: { ['k'.repeat(13)]: 1 } })]),
      'A key in field [workflows.provision.nodes[0].user_inputs] has 13 characters, which exceeds the maximum of 12.',
      { limits: { maxStringLength: 12 } },
    );
  });

  it('rejects values that are not JSON', () => {
    const msg = 'IOException: template content invalid for specified Content-Type.';
    rejects(tpl({}, [node('a', { user_inputs: { n: Number.NaN } })]), msg);
    rejects(tpl({}, [node('a', { user_inputs: { d: new Date(0) } })]), msg);
    rejects(tpl({}, [node('a', { user_inputs: { f: () => 1 } })]), msg);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => parseTemplate(tpl({}, [node('a', { user_inputs: { cyclic } })])), /nesting depth/);
  });
});

function rejectsDepthMessage(max: number, path: string): string {
  return `The template nesting depth exceeds the maximum of ${max} at field [${path}].`;
}
