import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BlockRunner } from '../src/blocks/block.js';
import { builtinBlockRegistry } from '../src/blocks/block-registry.js';

const blocks = builtinBlockRegistry();
const getBlockType = (name: string) => blocks.get(name);
import { parseFlowSpec } from '../src/blocks/flow-spec.js';
import { FlowExecutor } from '../src/runtime/flow-executor.js';
import type { Dispatch, FlowResult } from '../src/runtime/flow-executor.js';
import type { JsonValue } from '../src/util/json.js';
import { sleep } from '../src/util/sleep.js';

type Doc = Record<string, unknown>;

const js = (id: string, body: string, extra: Doc = {}): Doc => ({
  id,
  type: 'js',
  config: { source: `function process(input) { ${body} }` },
  ...extra,
});
const edge = (source: string, dest: string) => ({ source, dest });

interface Harness {
  executor: FlowExecutor;
  dispatch: Dispatch;
  /** Block ids in dispatch order. */
  calls: string[];
  run(input: JsonValue, opts?: { verbose?: boolean; signal?: AbortSignal; correlationId?: string }): Promise<FlowResult>;
}

/**
 * The real block code loaded in-process (what an instance does, without the worker hop).
 * `delay` holds a block's dispatch until its signal aborts or the delay ends.
 */
async function harness(flow: Doc, opts: { delay?: Record<string, number>; seen?: Map<string, AbortSignal> } = {}): Promise<Harness> {
  const spec = parseFlowSpec(flow, { blockType: getBlockType, provisionNodeIds: new Set() });
  const runners = new Map<string, BlockRunner>();
  for (const b of spec.blocks) {
    const t = getBlockType(b.type);
    assert.ok(t);
    runners.set(b.id, await t.load(t.validateConfig(b.config, b.id), {}, { timeoutMs: b.timeoutMs }));
  }
  const calls: string[] = [];
  const dispatch: Dispatch = async (blockId, input, ctx) => {
    calls.push(blockId);
    opts.seen?.set(blockId, ctx.signal);
    const wait = opts.delay?.[blockId];
    if (wait !== undefined) await sleep(wait, ctx.signal);
    const runner = runners.get(blockId);
    assert.ok(runner);
    return runner.run(
      input,
      ctx.correlationId === undefined ? { blockId, signal: ctx.signal } : { blockId, signal: ctx.signal, correlationId: ctx.correlationId },
    );
  };
  const executor = new FlowExecutor(spec, getBlockType);
  return { executor, dispatch, calls, run: (input, o = {}) => executor.execute(input, { dispatch, ...o }) };
}

function output(r: FlowResult): JsonValue {
  assert.ok(r.ok, `expected success, got ${JSON.stringify(r)}`);
  return r.output;
}

function failure(r: FlowResult): Extract<FlowResult, { ok: false }> {
  assert.ok(!r.ok, `expected a failure, got ${JSON.stringify(r)}`);
  return r;
}

void describe('FlowExecutor: data through the blocks', () => {
  void it('runs a linear chain: each block gets the previous output', async () => {
    const h = await harness({
      blocks: [
        js('upper', 'return { text: input.text.toUpperCase() };'),
        js('count', 'return { text: input.text, length: input.text.length };'),
      ],
      edges: [edge('upper', 'count')],
    });
    assert.deepEqual(output(await h.run({ text: 'hello' })), { text: 'HELLO', length: 5 });
    assert.deepEqual(h.calls, ['upper', 'count']);
  });

  void it('fans out and in; several last blocks give an object keyed by block id', async () => {
    const h = await harness({
      blocks: [
        js('a', 'return { n: input.n + 1 };'),
        js('b', 'return { n: input.n * 10 };'),
        js('c', 'return { n: input.n * 100 };'),
        js('d', 'return { sum: input.b.n + input.c.n, keys: Object.keys(input).sort() };'),
        js('e', 'return { last: input.n };'),
      ],
      edges: [edge('a', 'b'), edge('a', 'c'), edge('b', 'd'), edge('c', 'd'), edge('a', 'e')],
    });
    assert.deepEqual(output(await h.run({ n: 1 })), { d: { sum: 220, keys: ['b', 'c'] }, e: { last: 2 } });
    assert.equal(h.calls[0], 'a');
    assert.equal(h.calls.at(-1) === 'd' || h.calls.at(-1) === 'e', true);
  });

  void it('two start blocks both receive the workflow input', async () => {
    const h = await harness({ blocks: [js('x', 'return input.v;'), js('y', 'return input.v + 1;')] });
    assert.deepEqual(output(await h.run({ v: 1 })), { x: 1, y: 2 });
  });

  void it('builds an input mapping from $input and from a non-adjacent upstream block', async () => {
    const h = await harness({
      blocks: [
        js('a', 'return { text: input.text.toUpperCase(), meta: { n: 7 } };'),
        js('b', 'return { len: input.text.length };'),
        js('c', 'return input;', {
          input: {
            original: '$input.text',
            upper: 'a.text',
            n: 'a.meta.n',
            len: 'b.len',
            lang: '$input.opts.lang',
            whole: '$input',
            missing: '$input.nope.deeper',
          },
        }),
      ],
      edges: [edge('a', 'b'), edge('b', 'c')],
    });
    const input = { text: 'abc', opts: { lang: 'en' } };
    assert.deepEqual(output(await h.run(input)), { original: 'abc', upper: 'ABC', n: 7, len: 3, lang: 'en', whole: input });
  });

  void it('passes the correlation id to every dispatch', async () => {
    const seen: Array<string | undefined> = [];
    const h = await harness({ blocks: [js('a', 'return input;'), js('b', 'return input;')], edges: [edge('a', 'b')] });
    const r = await h.executor.execute(
      {},
      { correlationId: 'c-42', dispatch: (id, input, ctx) => (seen.push(ctx.correlationId), h.dispatch(id, input, ctx)) },
    );
    assert.ok(r.ok);
    assert.deepEqual(seen, ['c-42', 'c-42']);
  });
});

void describe('FlowExecutor: input validation', () => {
  const flow = {
    input_schema: { type: 'object', required: ['text'], properties: { text: { type: 'string' }, lang: { enum: ['en', 'fr'] } } },
    blocks: [js('a', 'return input;')],
  };

  void it('rejects input that does not match input_schema with a 400 naming the path', async () => {
    const h = await harness(flow);
    let f = failure(await h.run({ lang: 'en' }));
    assert.equal(f.status, 400);
    assert.deepEqual(f.errors, [
      {
        message: "The workflow input does not match the flow's input_schema: input must have required property 'text'.",
        node: '$input',
        code: 'flow.invalid_input',
        retryable: false,
      },
    ]);
    f = failure(await h.run({ text: 3 }));
    assert.equal(f.errors[0]?.message, "The workflow input does not match the flow's input_schema: input.text must be string.");
    f = failure(await h.run({ text: 'x', lang: 'de' }));
    assert.match(f.errors[0]?.message ?? '', /input\.lang must be equal to one of the allowed values: \["en","fr"\]/);
    assert.deepEqual(h.calls, []);
    assert.deepEqual(output(await h.run({ text: 'ok' })), { text: 'ok' });
  });

  void it('requires a JSON object even without a schema', async () => {
    const h = await harness({ blocks: [js('a', 'return input;')] });
    for (const bad of [[1, 2], 'text', null, 3]) {
      const f = failure(await h.run(bad));
      assert.equal(f.status, 400);
      assert.equal(f.errors[0]?.code, 'flow.invalid_input');
      assert.equal(f.errors[0]?.node, '$input');
    }
  });
});

void describe('FlowExecutor: errors', () => {
  const flow = {
    blocks: [
      js('a', 'return { v: input.v };'),
      js('b', 'if (input.v > 1) throw new Error("too big: " + input.v); return input;'),
      js('c', 'return input;'),
    ],
    edges: [edge('a', 'b'), edge('b', 'c')],
  };

  void it('answers the failing block with node, code and retryable (422)', async () => {
    const h = await harness(flow);
    const f = failure(await h.run({ v: 2 }));
    assert.equal(f.status, 422);
    assert.equal(f.errors.length, 1);
    assert.equal(f.errors[0]?.node, 'b');
    assert.equal(f.errors[0]?.code, 'block.js_error');
    assert.equal(f.errors[0]?.retryable, false);
    assert.match(f.errors[0]?.message ?? '', /too big: 2/);
    assert.equal(f.verbose, undefined);
    assert.deepEqual(h.calls, ['a', 'b']);
  });

  void it('adds componentsData and workflowData when verbose', async () => {
    const h = await harness(flow);
    const f = failure(await h.run({ v: 5 }, { verbose: true }));
    const v = f.verbose as { componentsData: Record<string, Doc>; workflowData: Doc };
    assert.equal(v.componentsData.a?.status, 'COMPLETED');
    assert.deepEqual(v.componentsData.a?.output, { v: 5 });
    assert.equal(v.componentsData.b?.status, 'ERROR');
    assert.equal((v.componentsData.b?.error as Doc).node, 'b');
    assert.equal(v.componentsData.c?.status, 'CANCELED');
    assert.equal(typeof v.componentsData.a?.durationMs, 'number');
    assert.deepEqual(v.workflowData.input, { v: 5 });
    assert.equal(typeof v.workflowData.durationMs, 'number');
    // verbose adds nothing on success
    assert.deepEqual(await h.run({ v: 1 }, { verbose: true }), { ok: true, output: { v: 1 } });
  });

  void it("keeps a block's own status: 504 for a timeout, 400 when the block blames its input", async () => {
    const h = await harness({ blocks: [js('loop', 'while (true) {}', { timeout: '100ms' })] });
    const f = failure(await h.run({}));
    assert.equal(f.status, 504);
    assert.deepEqual([f.errors[0]?.node, f.errors[0]?.code], ['loop', 'block.timeout']);
    const s = await harness({
      mode: 'ASYNC',
      blocks: [{ id: 's', type: 'split', config: { path: '/items' } }, js('x', 'return input;'), { id: 'r', type: 'reduce', config: {} }],
      edges: [edge('s', 'x'), edge('x', 'r')],
    });
    const g = failure(await s.run({ items: 'not a list' }));
    assert.equal(g.status, 400);
    assert.deepEqual([g.errors[0]?.node, g.errors[0]?.code], ['s', 'block.invalid_input']);
  });

  void it('aborts the in-flight siblings of a failing block', async () => {
    const seen = new Map<string, AbortSignal>();
    const h = await harness(
      {
        blocks: [
          js('a', 'return input;'),
          js('fast', 'throw new Error("fast failure");'),
          js('slow', 'return input;'),
          js('after', 'return input;'),
        ],
        edges: [edge('a', 'fast'), edge('a', 'slow'), edge('slow', 'after')],
      },
      { delay: { slow: 20_000 }, seen },
    );
    const f = failure(await h.run({}, { verbose: true }));
    assert.deepEqual(
      f.errors.map((e) => e.node),
      ['fast'],
    );
    assert.equal(seen.get('slow')?.aborted, true);
    assert.equal(seen.get('fast')?.aborted, true);
    const v = f.verbose as { componentsData: Record<string, Doc> };
    assert.equal(v.componentsData.slow?.status, 'CANCELED');
    assert.equal(v.componentsData.after?.status, 'CANCELED');
    assert.ok(!h.calls.includes('after'));
  });

  void it('stops when the caller aborts: 504 for a timeout signal, 499 otherwise', async () => {
    const seen = new Map<string, AbortSignal>();
    const h = await harness({ blocks: [js('slow', 'return input;')] }, { delay: { slow: 20_000 }, seen });
    let f = failure(await h.run({}, { signal: AbortSignal.timeout(30) }));
    assert.deepEqual([f.status, f.errors[0]?.code, f.errors[0]?.node], [504, 'flow.timeout', '$flow']);
    assert.equal(seen.get('slow')?.aborted, true);
    const ac = new AbortController();
    const pending = h.run({}, { signal: ac.signal });
    ac.abort(new Error('client went away'));
    f = failure(await pending);
    assert.deepEqual([f.status, f.errors[0]?.code], [499, 'flow.canceled']);
  });
});

void describe('FlowExecutor: join', () => {
  const flow = (failing: string[]) => ({
    blocks: [
      js('src', 'return input;'),
      ...['x', 'y', 'z'].map((id) => js(id, failing.includes(id) ? `throw new Error("${id} failed");` : `return { from: "${id}" };`)),
      { id: 'j', type: 'join', config: { max_failed_branches: 1 } },
      js('out', 'return { branches: Object.keys(input).sort() };'),
    ],
    edges: [edge('src', 'x'), edge('src', 'y'), edge('src', 'z'), edge('x', 'j'), edge('y', 'j'), edge('z', 'j'), edge('j', 'out')],
  });

  void it('gets { upstreamId: output } of every branch', async () => {
    const h = await harness(flow([]));
    assert.deepEqual(output(await h.run({})), { branches: ['x', 'y', 'z'] });
  });

  void it('tolerates max_failed_branches failed branches (left out of its input)', async () => {
    const h = await harness(flow(['y']));
    assert.deepEqual(output(await h.run({})), { branches: ['x', 'z'] });
  });

  void it('fails with the branch errors when more branches fail', async () => {
    const h = await harness(flow(['x', 'y']));
    const f = failure(await h.run({}, { verbose: true }));
    assert.deepEqual(f.errors.map((e) => e.node).sort(), ['x', 'y']);
    assert.equal(f.status, 422);
    const v = f.verbose as { componentsData: Record<string, Doc> };
    assert.equal(v.componentsData.j?.status, 'ERROR');
    assert.equal((v.componentsData.j?.error as Doc).code, 'flow.join_failed');
    assert.equal(v.componentsData.z?.status, 'COMPLETED');
    assert.ok(!h.calls.includes('out'));
  });
});

void describe('FlowExecutor: switch', () => {
  const flow = {
    mode: 'ASYNC',
    blocks: [
      {
        id: 'sw',
        type: 'switch',
        config: {
          cases: [
            { when: { path: '/lang', equals: 'en' }, dest: 'english' },
            { when: { path: '/audit', exists: true }, dest: 'audit' },
          ],
          default: 'other',
        },
      },
      js('english', 'return { hello: input.text };'),
      js('other', 'return { bonjour: input.text };'),
      js('other2', 'return input;'),
      { id: 'j', type: 'join', config: {} },
      js('audit', 'return { saw: input.lang };'),
    ],
    edges: [
      edge('sw', 'english'),
      edge('sw', 'other'),
      edge('other', 'other2'),
      edge('english', 'j'),
      edge('other2', 'j'),
      edge('sw', 'audit'),
    ],
  };

  void it('follows only its routes (downstream gets the switch input), skips the rest, completes the join with what ran', async () => {
    const h = await harness(flow);
    assert.deepEqual(output(await h.run({ lang: 'en', text: 'hi' })), { j: { english: { hello: 'hi' } } });
    assert.ok(!h.calls.includes('other') && !h.calls.includes('other2') && !h.calls.includes('audit'));
    h.calls.length = 0;
    assert.deepEqual(output(await h.run({ lang: 'fr', text: 'salut' })), { j: { other2: { bonjour: 'salut' } } });
    assert.deepEqual(h.calls.sort(), ['j', 'other', 'other2', 'sw']);
    // Only audit is routed: both join branches are skipped, so the join is skipped too.
    assert.deepEqual(output(await h.run({ lang: 'de', audit: true })), { audit: { saw: 'de' } });
  });

  void it('shows skipped blocks as SKIPPED in the verbose output', async () => {
    const h = await harness({
      mode: 'ASYNC',
      blocks: [
        { id: 'sw', type: 'switch', config: { cases: [{ when: { path: '/go', equals: 'a' }, dest: 'a' }], default: 'b' } },
        js('a', 'throw new Error("a broke");'),
        js('b', 'return input;'),
      ],
      edges: [edge('sw', 'a'), edge('sw', 'b')],
    });
    const f = failure(await h.run({ go: 'a' }, { verbose: true }));
    const v = f.verbose as { componentsData: Record<string, Doc> };
    assert.deepEqual(Object.fromEntries(Object.entries(v.componentsData).map(([k, d]) => [k, d.status])), {
      sw: 'COMPLETED',
      a: 'ERROR',
      b: 'SKIPPED',
    });
    assert.deepEqual(output(await h.run({ go: 'b', x: 1 })), { b: { go: 'b', x: 1 } });
  });
});

void describe('FlowExecutor: split and reduce', () => {
  const split = (id: string, config: Doc = {}) => ({ id, type: 'split', config });
  const reduce = (id: string, config: Doc = {}) => ({ id, type: 'reduce', config });

  void it('runs the blocks after a split once per item; the reduce gets the per-item outputs in order', async () => {
    const h = await harness({
      mode: 'ASYNC',
      blocks: [
        js('prep', 'return { items: input.words, factor: 2 };'),
        split('s', { path: '/items' }),
        js('len', 'return input.length;'),
        js('times', 'return input.n * input.factor;', { input: { n: 'len', factor: 'prep.factor' } }),
        reduce('r'),
        js('total', 'var t = 0; for (var i = 0; i < input.length; i++) t += input[i]; return { each: input, total: t };'),
      ],
      edges: [edge('prep', 's'), edge('s', 'len'), edge('len', 'times'), edge('times', 'r'), edge('r', 'total')],
    });
    assert.deepEqual(output(await h.run({ words: ['a', 'bbb', 'cc'] })), { each: [2, 6, 4], total: 12 });
    assert.equal(h.calls.filter((c) => c === 'len').length, 3);
    assert.deepEqual(output(await h.run({ words: [] })), { each: [], total: 0 });
  });

  void it('a reduce right after the split gets the items; a switch inside the context filters items', async () => {
    const items = [
      { v: 1, ok: true },
      { v: 2, ok: false },
      { v: 3, ok: true },
    ];
    const h = await harness({
      mode: 'ASYNC',
      blocks: [
        split('s', { path: '/items' }),
        reduce('all'),
        { id: 'keep', type: 'switch', config: { cases: [{ when: { path: '/ok', equals: true }, dest: 'kept' }] } },
        js('kept', 'return input.v;'),
        reduce('some'),
      ],
      edges: [edge('s', 'all'), edge('s', 'keep'), edge('keep', 'kept'), edge('kept', 'some')],
    });
    assert.deepEqual(output(await h.run({ items })), { all: items, some: [1, 3] });
  });

  void it('a last block inside a split context (no reduce) outputs the array of its per-item outputs', async () => {
    const h = await harness({
      mode: 'ASYNC',
      blocks: [split('s', { path: '/xs' }), js('sq', 'return input * input;'), js('other', 'return "done";')],
      edges: [edge('s', 'sq')],
    });
    assert.deepEqual(output(await h.run({ xs: [1, 2, 3] })), { sq: [1, 4, 9], other: 'done' });
  });

  void it('a block inside the context also gets blocks from outside it (same value for every item)', async () => {
    const h = await harness({
      mode: 'ASYNC',
      blocks: [
        js('side', 'return { tag: input.tag };'),
        split('s', { path: '/xs' }),
        js('label', 'return input.side.tag + input.s;'),
        reduce('r'),
      ],
      edges: [edge('side', 'label'), edge('s', 'label'), edge('label', 'r')],
    });
    assert.deepEqual(output(await h.run({ tag: 't', xs: [1, 2] })), ['t1', 't2']);
  });

  void it('nests splits and fails the whole run when an item fails', async () => {
    const h = await harness({
      mode: 'ASYNC',
      blocks: [
        split('rows', { path: '/rows' }),
        split('cells'),
        js('cell', 'if (input < 0) throw new Error("negative"); return input + 1;'),
        reduce('row'),
        reduce('table'),
      ],
      edges: [edge('rows', 'cells'), edge('cells', 'cell'), edge('cell', 'row'), edge('row', 'table')],
    });
    assert.deepEqual(
      output(
        await h.run({
          rows: [[1, 2], [3], []],
        }),
      ),
      [[2, 3], [4], []],
    );
    const f = failure(await h.run({ rows: [[1], [-1]] }, { verbose: true }));
    assert.deepEqual([f.errors[0]?.node, f.status], ['cell', 422]);
    const v = f.verbose as { componentsData: Record<string, Doc> };
    assert.equal(v.componentsData.cell?.status, 'ERROR');
    assert.equal(typeof v.componentsData.cell?.items, 'number');
  });

  void it('runs many items with bounded concurrency', async () => {
    let active = 0;
    let peak = 0;
    const h = await harness({
      mode: 'ASYNC',
      blocks: [split('s', { path: '/n' }), js('id', 'return input;'), reduce('r')],
      edges: [edge('s', 'id'), edge('id', 'r')],
    });
    const dispatch: Dispatch = async (id, input, ctx) => {
      if (id !== 'id') return h.dispatch(id, input, ctx);
      active++;
      peak = Math.max(peak, active);
      await sleep(1, ctx.signal);
      active--;
      return h.dispatch(id, input, ctx);
    };
    const n = Array.from({ length: 100 }, (_, i) => i);
    const r = await h.executor.execute({ n }, { dispatch });
    assert.deepEqual(output(r), n);
    assert.ok(peak > 1 && peak <= 16, `peak concurrency ${peak}`);
  });
});

void describe('FlowExecutor: concurrent runs', () => {
  void it('keeps each run separate', async () => {
    const h = await harness({
      blocks: [js('a', 'return { v: input.v * 2 };'), js('b', 'return { v: input.v + 1 };')],
      edges: [edge('a', 'b')],
    });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => h.run({ v: i })));
    assert.deepEqual(
      results.map(output),
      Array.from({ length: 50 }, (_, i) => ({ v: i * 2 + 1 })),
    );
  });
});
