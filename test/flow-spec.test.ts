import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { FlowdError } from '../src/errors.js';
import { builtinBlockRegistry } from '../src/blocks/block-registry.js';
import { blockReplicaRange, flowSpecToJson, parseFlowSpec } from '../src/blocks/flow-spec.js';
import type { FlowSpec } from '../src/blocks/flow-spec.js';

type Doc = Record<string, unknown>;

const OPTS = { blockType: builtinBlockRegistry().get, provisionNodeIds: new Set(['create_connector', 'deploy_model']) };
const JS_UPPER = 'function process(input) { return { text: input.text.toUpperCase() }; }';
const js = (id: string, extra: Doc = {}): Doc => ({
  id,
  type: 'js',
  config: { source: 'function process(input) { return input; }' },
  ...extra,
});
const flow = (blocks: unknown[], edges: unknown[] = [], extra: Doc = {}): Doc => ({ mode: 'SYNC', blocks, edges, ...extra });
const edge = (source: string, dest: string) => ({ source, dest });

function parse(raw: unknown): FlowSpec {
  return parseFlowSpec(raw, OPTS);
}

function rejects(raw: unknown, message: string | RegExp, code?: string): FlowdError {
  let caught: unknown;
  try {
    parse(raw);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof FlowdError, `expected a FlowdError, got ${String(caught)}`);
  assert.equal(caught.kind, 'validation');
  assert.equal(caught.status, 400);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  if (code !== undefined) assert.equal(caught.code, code);
  return caught;
}

const ISSUE_YAML = `
flow:
  mode: ASYNC
  input_schema: { type: object, required: [text], properties: { text: { type: string } } }
  autoscaling: { preset: eco }
  blocks:
    - id: upper
      type: js
      replicas: 2
      timeout: 10s
      consumers: 2
      memory: 256
      input: { text: "$input.text" }
      config:
        source: "function process(input) { return { text: input.text.toUpperCase() }; }"
    - id: count
      type: js
      config: { source: "function process(input) { return { text: input.text, length: input.text.length }; }" }
  edges:
    - { source: upper, dest: count }
`;

void describe('parseFlowSpec: the template shape', () => {
  void it('parses the example of the issue (YAML)', () => {
    const doc = parseYaml(ISSUE_YAML) as { flow: unknown };
    const spec = parse(doc.flow);
    assert.equal(spec.mode, 'ASYNC');
    assert.deepEqual(spec.inputSchema, { type: 'object', required: ['text'], properties: { text: { type: 'string' } } });
    assert.deepEqual(spec.autoscaling, {
      preset: 'eco',
      minReplicas: 0,
      maxReplicas: 1,
      pollingIntervalMs: 10_000,
      cooldownPeriodMs: 120_000,
    });
    assert.deepEqual(spec.blocks[0], {
      id: 'upper',
      type: 'js',
      config: { source: JS_UPPER },
      replicas: 2,
      timeoutMs: 10_000,
      consumers: 2,
      memoryMb: 256,
      input: { text: '$input.text' },
    });
    assert.deepEqual(spec.blocks[1], {
      id: 'count',
      type: 'js',
      config: { source: 'function process(input) { return { text: input.text, length: input.text.length }; }' },
      replicas: 1,
      timeoutMs: 30_000,
      consumers: 1,
    });
    assert.deepEqual(spec.edges, [{ source: 'upper', dest: 'count' }]);
  });

  void it('parses the SYNC form (without the ASYNC-only fields) with defaults', () => {
    const spec = parse({ blocks: [js('a', { timeout: 2.5 }), js('b', { timeout: '500ms' })], edges: [edge('a', 'b')] });
    assert.equal(spec.mode, 'SYNC');
    assert.deepEqual(
      spec.blocks.map((b) => b.timeoutMs),
      [2500, 500],
    );
    assert.equal(spec.autoscaling.preset, 'disabled');
    assert.equal(spec.inputSchema, undefined);
  });

  void it('accepts placeholders that name a provisioning node or a plain parameter', () => {
    const spec = parse(
      flow([
        { id: 'm', type: 'http', config: { connector_id: '${{ create_connector.connector_id }}', parameters: { key: '${{ api_key }}' } } },
      ]),
    );
    assert.deepEqual(spec.blocks[0]?.config, {
      connector_id: '${{ create_connector.connector_id }}',
      parameters: { key: '${{ api_key }}' },
    });
  });

  void it('keeps the config as written and validates every block type it meets', () => {
    const spec = parse(
      flow([js('a'), { id: 'j', type: 'join', config: { max_failed_branches: 1 } }, js('b')], [edge('a', 'j'), edge('b', 'j')]),
    );
    assert.deepEqual(spec.blocks[1]?.config, { max_failed_branches: 1 });
  });
});

void describe('parseFlowSpec: validation errors (400, named block and fix)', () => {
  void it('refuses a flow that is not an object, a bad mode, no blocks, unknown fields', () => {
    rejects('SYNC', 'The [flow] section must be an object with [mode] (SYNC or ASYNC), [blocks] and [edges].', 'flow.invalid');
    rejects(flow([js('a')], [], { mode: 'BATCH' }), 'Invalid [flow.mode]: "BATCH". Use SYNC or ASYNC.');
    rejects(flow([]), '[flow.blocks] must be a non-empty list of blocks, each with an [id] and a [type].');
    rejects({ mode: 'SYNC' }, '[flow.blocks] must be a non-empty list of blocks, each with an [id] and a [type].');
    rejects(
      flow([js('a')], [], { replicas: 2 }),
      /^Unknown field \[flow\.replicas\]\. Allowed fields: mode, input_schema, autoscaling, blocks, edges\.$/,
    );
    rejects(flow([js('a', { replica: 2 })]), /^Unknown field \[flow\.blocks\[a\]\.replica\]\. Allowed fields: id, type, replicas/);
  });

  void it('refuses duplicate ids and ids outside [A-Za-z0-9_-]{1,64}', () => {
    rejects(flow([js('a'), js('a')]), 'Duplicate block id [a] in [flow.blocks]: give each block a unique id.', 'flow.duplicate_block');
    rejects(
      flow([js('a b')]),
      `[flow.blocks[0].id] "a b" is invalid: a block id is 1 to 64 letters, digits, '_' or '-'.`,
      'flow.invalid_block_id',
    );
    rejects(flow([js('x'.repeat(65))]), /^\[flow\.blocks\[0\]\.id\] "x{65}" is invalid/);
    rejects(flow([{ type: 'js' }]), /^\[flow\.blocks\[0\]\.id\] null is invalid/);
  });

  void it('refuses an unknown block type, listing the known ones', () => {
    rejects(
      flow([{ id: 'a', type: 'python' }]),
      'Block [a] has unknown type [python]. Known block types: js, map, switch, join, split, reduce, model, http, custom.',
      'flow.unknown_block_type',
    );
  });

  void it("runs the block type's own config validation", () => {
    const e = rejects(flow([{ id: 'a', type: 'js', config: {} }]), /^Block \[a\] \(js\): \[source\] is required/);
    assert.equal(e.node, 'a');
    rejects(
      flow([{ id: 'j', type: 'join', config: { max_failed_branches: -1 } }]),
      /^Block \[j\] \(join\): \[max_failed_branches\] must be an integer ≥ 0/,
    );
  });

  void it('refuses a ${{ node.output }} placeholder whose node is not a provisioning node', () => {
    rejects(
      flow([{ id: 'm', type: 'http', config: { connector_id: '${{ nowhere.id }}' } }]),
      'Block [m] [config.connector_id] uses ${{ nowhere.id }}, but [nowhere] is not a provisioning node (provisioning nodes: [create_connector, deploy_model]). Use ${{ <node id>.<output> }} or a parameter name without a dot.',
      'flow.invalid_placeholder',
    );
  });

  void it('checks replicas, consumers, timeout and memory ranges', () => {
    rejects(
      flow([js('a', { replicas: 65 })]),
      'Invalid [flow.blocks[a].replicas]: 65. Use an integer from 1 to 64 (0 is allowed only with `mode: ASYNC`).',
    );
    rejects(
      flow([js('a', { replicas: 0 })]),
      'Invalid [flow.blocks[a].replicas]: 0. Use an integer from 1 to 64 (0 is allowed only with `mode: ASYNC`).',
    );
    rejects(flow([js('a', { replicas: 1.5 })]), /replicas\]: 1\.5\. Use an integer/);
    rejects(
      flow([js('a', { consumers: 0 })], [], { mode: 'ASYNC' }),
      'Invalid [flow.blocks[a].consumers]: 0. Use an integer from 1 to 1024.',
    );
    rejects(
      flow([js('a', { consumers: 1025 })], [], { mode: 'ASYNC' }),
      'Invalid [flow.blocks[a].consumers]: 1025. Use an integer from 1 to 1024.',
    );
    rejects(
      flow([js('a', { timeout: 0 })]),
      'Invalid [flow.blocks[a].timeout]: 0. It must be greater than 0 and at most 1 day (e.g. "30s").',
    );
    rejects(flow([js('a', { timeout: 'soon' })]), /^Failed to parse timeout value \[soon\] for field \[flow\.blocks\[a\]\.timeout\]/);
    rejects(flow([js('a', { memory: 8 })]), 'Invalid [flow.blocks[a].memory]: 8. Use an integer from 16 to 8192 (megabytes).');
    rejects(flow([js('a', { memory: 9000 })]), 'Invalid [flow.blocks[a].memory]: 9000. Use an integer from 16 to 8192 (megabytes).');
    assert.equal(parse(flow([js('a', { replicas: 0 })], [], { mode: 'ASYNC', autoscaling: { preset: 'eco' } })).blocks[0]?.replicas, 0);
    rejects(
      flow([js('a', { replicas: 0 })], [], { mode: 'ASYNC' }),
      /^Block \[a\] has replicas 0 and autoscaling is disabled, so it would never run/,
    );
  });

  void it('refuses edges to unknown blocks, self loops and cycles (naming the cycle)', () => {
    rejects(
      flow([js('a')], [edge('a', 'b')]),
      'Edge [a -> b] refers to block [b], which does not exist. Known blocks: [a]. Fix the edge or add the block.',
      'flow.unknown_block',
    );
    rejects(flow([js('a')], [edge('a', 'a')]), 'Edge [a -> a] connects block [a] to itself; remove it.', 'flow.self_loop');
    rejects(
      flow([js('s'), js('a'), js('b'), js('c')], [edge('s', 'a'), edge('a', 'b'), edge('b', 'c'), edge('c', 'a')]),
      "The flow's edges form a cycle: [a -> b -> c -> a]. A flow must be acyclic: remove one of these edges.",
      'flow.cycle',
    );
    rejects(flow([js('a'), js('b')], [edge('a', 'b'), edge('b', 'a')]), /form a cycle: \[a -> b -> a\]/);
  });

  void it('refuses switch routes without an edge and blocks no switch route reaches', () => {
    const sw = (cases: unknown[], extra: Doc = {}) => ({ id: 'sw', type: 'switch', config: { cases, ...extra } });
    const when = { path: '/lang', equals: 'en' };
    rejects(
      flow([sw([{ when, dest: 'en' }]), js('en'), js('other')], [edge('sw', 'other')], { mode: 'ASYNC' }),
      'Block [sw] (switch) routes to [en], but there is no edge [sw -> en]. Add the edge or route to one of its downstream blocks: [other].',
      'flow.switch_route',
    );
    rejects(
      flow(
        [sw([{ when, dest: 'en' }]), js('en'), js('other'), js('after')],
        [edge('sw', 'en'), edge('sw', 'other'), edge('other', 'after')],
        { mode: 'ASYNC' },
      ),
      "Block [other] can never run: switch [sw] never routes to it. Add [other] to the switch's routes or remove the block.",
      'flow.unreachable',
    );
    rejects(flow([sw([{ when, dest: 'en' }])], [], { mode: 'ASYNC' }), /^Block \[sw\] is a switch with no downstream blocks/);
  });

  void it('refuses input mappings from blocks that are not upstream', () => {
    rejects(
      flow([js('a'), js('b'), js('c', { input: { x: 'b.text' } })], [edge('a', 'c')]),
      'Block [c] input [x] maps from [b.text], but [b] is not upstream of [c]: a block can only map from blocks that run before it. Add an edge path from [b] to [c] or map from "$input".',
      'flow.invalid_input_mapping',
    );
    rejects(flow([js('a', { input: { x: 'zz' } })]), /^Block \[a\] input \[x\] maps from \[zz\], but there is no block \[zz\]/);
    rejects(flow([js('a', { input: { x: 'a.' } })]), /^Block \[a\] input \[x\] = "a\." is invalid\. Map each key to "\$input"/);
    rejects(flow([js('a', { input: { x: 3 } })]), /^Block \[a\] input \[x\] = 3 is invalid/);
  });

  void it('refuses ASYNC-only features in SYNC, telling to use mode: ASYNC', () => {
    rejects(
      flow([{ id: 's', type: 'split', config: {} }]),
      'Block [s] has type [split], which runs in ASYNC flows only: use `mode: ASYNC` or another block type.',
      'flow.async_only',
    );
    rejects(
      flow([js('a', { consumers: 2 })]),
      'Block [a] sets [consumers], which applies to ASYNC flows only: remove it or use `mode: ASYNC`.',
      'flow.async_only',
    );
    rejects(
      flow([js('a')], [], { autoscaling: { preset: 'eco' } }),
      '[flow.autoscaling] applies to ASYNC flows only: remove it or use `mode: ASYNC`.',
      'flow.async_only',
    );
  });

  void it('checks split contexts: a reduce needs a split, contexts do not mix, per-item values stay inside', () => {
    const A = { mode: 'ASYNC' };
    const split = (id: string) => ({ id, type: 'split', config: {} });
    const reduce = (id: string, extra: Doc = {}) => ({ id, type: 'reduce', config: {}, ...extra });
    rejects(
      flow([js('a'), reduce('r')], [edge('a', 'r')], A),
      /^Block \[r\] is a reduce but no split comes before it/,
      'flow.reduce_without_split',
    );
    rejects(
      flow([split('s1'), split('s2'), js('a'), js('b'), js('m')], [edge('s1', 'a'), edge('s2', 'b'), edge('a', 'm'), edge('b', 'm')], A),
      "Block [m] takes per-item values from both split [s1]'s context and split [s2]'s context; close each split with a reduce before combining them.",
      'flow.split_context',
    );
    rejects(
      flow([split('s'), js('a'), reduce('r'), js('after', { input: { x: 'a' } })], [edge('s', 'a'), edge('a', 'r'), edge('r', 'after')], A),
      /^Block \[after\] input \[x\] maps from \[a\], but \[a\] runs once per item of split \[s\] and \[after\] runs after that split was reduced/,
    );
    rejects(
      flow([split('s'), js('a'), reduce('r'), js('b')], [edge('s', 'a'), edge('a', 'r'), edge('r', 'b'), edge('a', 'b')], A),
      /^Block \[b\] runs once per item of split \[s\] but also depends on \[r\]/,
    );
    rejects(
      flow([split('s'), js('a'), reduce('r', { input: { x: '$input' } })], [edge('s', 'a'), edge('a', 'r')], A),
      /^Block \[r\] is a reduce: .* cannot have an \[input\] mapping/,
    );
  });

  void it('refuses an input_schema that is not a valid JSON Schema', () => {
    rejects(
      flow([js('a')], [], { input_schema: { type: 'objekt' } }),
      /^\[flow\.input_schema\] is not a valid JSON Schema: .*type.*Fix the schema/,
      'flow.invalid_input_schema',
    );
    rejects(flow([js('a')], [], { input_schema: 'object' }), /^\[flow\.input_schema\] must be a JSON Schema object/);
  });
});

void describe('parseFlowSpec: autoscaling', () => {
  const async = (autoscaling: unknown, blocks: unknown[] = [js('a', { replicas: 3 })]) =>
    parse(flow(blocks, [], { mode: 'ASYNC', autoscaling }));

  void it('has eco, sport and disabled presets; ASYNC defaults to disabled', () => {
    assert.deepEqual(async({ preset: 'eco' }).autoscaling, {
      preset: 'eco',
      minReplicas: 0,
      maxReplicas: 1,
      pollingIntervalMs: 10_000,
      cooldownPeriodMs: 120_000,
    });
    assert.deepEqual(async({ preset: 'sport' }).autoscaling, {
      preset: 'sport',
      minReplicas: 1,
      maxReplicas: 1,
      pollingIntervalMs: 1_000,
      cooldownPeriodMs: 300_000,
    });
    assert.deepEqual(async({ preset: 'disabled' }).autoscaling, {
      preset: 'disabled',
      minReplicas: 1,
      maxReplicas: 1,
      pollingIntervalMs: 0,
      cooldownPeriodMs: 0,
    });
    assert.equal(async(undefined).autoscaling.preset, 'disabled');
  });

  void it('is custom when fields are given, starting from the named preset (or eco)', () => {
    assert.deepEqual(async({ min_replicas: 0, max_replicas: 4, polling_interval: '5s', cooldown_period: 60 }).autoscaling, {
      preset: 'custom',
      minReplicas: 0,
      maxReplicas: 4,
      pollingIntervalMs: 5_000,
      cooldownPeriodMs: 60_000,
    });
    assert.deepEqual(async({ preset: 'sport', cooldown_period: '500ms' }).autoscaling, {
      preset: 'custom',
      minReplicas: 1,
      maxReplicas: 1,
      pollingIntervalMs: 1_000,
      cooldownPeriodMs: 500,
    });
  });

  void it('gives each block a range: its replicas by default, max_replicas when larger; disabled pins it', () => {
    assert.deepEqual(blockReplicaRange(async({ preset: 'eco' }).autoscaling, 3), { min: 0, max: 3 });
    assert.deepEqual(blockReplicaRange(async({ preset: 'sport' }).autoscaling, 0), { min: 1, max: 1 });
    assert.deepEqual(blockReplicaRange(async({ max_replicas: 8, min_replicas: 2 }).autoscaling, 3), { min: 2, max: 8 });
    assert.deepEqual(blockReplicaRange(async(undefined).autoscaling, 3), { min: 3, max: 3 });
  });

  void it('refuses bad presets and values', () => {
    const bad = (a: unknown, m: string | RegExp) => rejects(flow([js('a')], [], { mode: 'ASYNC', autoscaling: a }), m, undefined);
    bad({ preset: 'turbo' }, 'Invalid [flow.autoscaling.preset]: "turbo". Use eco, sport, disabled or custom.');
    bad({ preset: 'disabled', min_replicas: 1 }, /^\[flow\.autoscaling\] preset disabled takes no other field \(found min_replicas\)/);
    bad(
      { min_replicas: 3, max_replicas: 2 },
      '[flow.autoscaling] max_replicas (2) is below min_replicas (3): raise max_replicas or lower min_replicas.',
    );
    bad({ max_replicas: 0 }, 'Invalid [flow.autoscaling.max_replicas]: 0. Use an integer from 1 to 64.');
    bad({ polling_interval: 0 }, /^Invalid \[flow\.autoscaling\.polling_interval\]: 0\. It must be greater than 0/);
    bad({ preset: 'eco', scale: 2 }, /^Unknown field \[flow\.autoscaling\.scale\]/);
    bad('eco', /^\[flow\.autoscaling\] must be an object/);
  });
});

void describe('flowSpecToJson', () => {
  const roundTrip = (raw: unknown): void => {
    const spec = parse(raw);
    const json = JSON.parse(JSON.stringify(flowSpecToJson(spec))) as unknown;
    assert.deepEqual(parse(json), spec);
  };

  void it('round-trips through parseFlowSpec', () => {
    roundTrip((parseYaml(ISSUE_YAML) as { flow: unknown }).flow);
    roundTrip(flow([js('a', { timeout: 2.5, memory: 64 }), js('b', { input: { t: 'a.text', all: '$input' } })], [edge('a', 'b')]));
    roundTrip(flow([js('a', { replicas: 0 })], [], { mode: 'ASYNC', autoscaling: { preset: 'sport', cooldown_period: 15 } }));
    roundTrip(flow([js('a')], [], { mode: 'ASYNC', autoscaling: { preset: 'disabled' } }));
    roundTrip(flow([js('a')], [], { mode: 'ASYNC', autoscaling: { max_replicas: 6 } }));
  });

  void it('writes time values and presets the way a user would', () => {
    const json = flowSpecToJson(parse((parseYaml(ISSUE_YAML) as { flow: unknown }).flow));
    assert.deepEqual((json.blocks as Doc[])[0], {
      id: 'upper',
      type: 'js',
      replicas: 2,
      timeout: '10s',
      consumers: 2,
      memory: 256,
      input: { text: '$input.text' },
      config: { source: JS_UPPER },
    });
    assert.deepEqual(json.autoscaling, { preset: 'eco' });
  });
});
