/**
 * Chains: a flow whose blocks each feed only the next runs instance to instance (the output
 * goes from one worker thread straight to the next), with the same answers as block by block:
 * the last output, the failing block named in the error, a crash or timeout anywhere failing
 * the request (retryable) and the instance replaced, a cancel reaching every instance.
 * Real worker threads and real blocks; the executor part uses the library API.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { builtinBlockRegistry } from '../src/blocks/block-registry.js';

const blocks = builtinBlockRegistry();
const getBlockType = (name: string) => blocks.get(name);
import { parseFlowSpec } from '../src/blocks/flow-spec.js';
import type { FlowdError } from '../src/errors.js';
import { FlowExecutor } from '../src/runtime/flow-executor.js';
import type { Dispatch, DispatchChain } from '../src/runtime/flow-executor.js';
import { Service } from '../src/runtime/instances/service.js';
import { RequestRouter } from '../src/runtime/request-router.js';
import type { JsonValue } from '../src/util/json.js';
import { waitFor } from './support/service-wait.js';

const logger = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'flowd-chain-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// One module, three blocks: createBlock(options) names the step; each step appends its name
// and its thread's token, so the test sees the path the request took.
const stepModule = join(dir, 'step.mjs');
writeFileSync(
  stepModule,
  `
const token = Math.random().toString(36).slice(2);
export function createBlock(options) {
  return {
    async run(input, ctx) {
      const mine = input.at === options.name;
      if (mine && input.fail) throw Object.assign(new Error('step ' + options.name + ' refused the input'), { code: 'step.refused' });
      if (mine && input.crash) globalThis.process.exit(3);
      if (mine && input.sleepMs) await new Promise((r, j) => { const t = setTimeout(r, input.sleepMs); ctx.signal.addEventListener('abort', () => { clearTimeout(t); j(ctx.signal.reason); }); });
      if (mine && input.hang) { for (;;) {} }
      return { ...input, path: [...(input.path ?? []), options.name], tokens: [...(input.tokens ?? []), token] };
    },
  };
}
`,
);

const services: Service[] = [];
after(async () => {
  await Promise.all(services.map((s) => s.stop()));
});

let seq = 0;
/** Three services, a → b → c, one or more instances each, and the stream over them. */
async function chain(
  opts: { replicas?: number; timeoutMs?: number } = {},
): Promise<{ ids: string[]; svcs: Service[]; stream: RequestRouter }> {
  const n = ++seq;
  const svcs = ['a', 'b', 'c'].map((name) => {
    const svc = new Service(
      {
        serviceId: `chain-${n}-${name}`,
        blockId: `${name}${n}`,
        blockType: 'custom',
        config: { module: stepModule, options: { name } },
        prepared: {},
        limits: { timeoutMs: opts.timeoutMs ?? 5000 },
        version: 1,
      },
      {
        desired: opts.replicas ?? 1,
        logger,
        restartBackoff: { initialMs: 20, maxMs: 200 },
        waitReadyMs: 15_000,
        heartbeatMs: 50,
        hangGraceMs: 200,
      },
    );
    services.push(svc);
    svc.start();
    return svc;
  });
  for (const s of svcs) await waitFor(s, 'ready', (v) => v.actual === v.desired);
  return { ids: svcs.map((s) => s.spec.blockId), svcs, stream: new RequestRouter(new Map(svcs.map((s) => [s.spec.blockId, s]))) };
}

async function rejection(p: Promise<unknown> | undefined): Promise<FlowdError> {
  assert.ok(p, 'the chain should have been sent');
  try {
    await p;
  } catch (e) {
    return e as FlowdError;
  }
  assert.fail('expected the request to fail');
}

const signal = (): AbortSignal => new AbortController().signal;
const inFlight = (svcs: Service[]): number[] => svcs.map((s) => s.inFlight);

void describe('chains: instance to instance', () => {
  void it('passes each output to the next block and answers the last output', async () => {
    const { ids, svcs, stream } = await chain({ replicas: 2 });
    const outs = await Promise.all(
      Array.from(
        { length: 40 },
        (_, i) => stream.sendChain(ids, { i }, { signal: signal(), correlationId: `c-${i}` }) ?? Promise.reject(new Error('not sent')),
      ),
    );
    outs.forEach((o, i) => {
      const v = o as { i: number; path: string[]; tokens: string[] };
      assert.equal(v.i, i);
      assert.deepEqual(v.path, ['a', 'b', 'c']);
      assert.equal(new Set(v.tokens).size, 3, 'three different threads');
    });
    // Two instances per block: the load was shared, and nothing is left in flight.
    const tokens = outs.map((o) => (o as { tokens: string[] }).tokens[1]);
    assert.equal(new Set(tokens).size, 2, 'both instances of b served');
    assert.deepEqual(inFlight(svcs), [0, 0, 0]);
  });

  void it('a failing block in the middle: its error, its node; the block after it never runs', async () => {
    const { ids, svcs, stream } = await chain();
    const e = await rejection(stream.sendChain(ids, { at: 'b', fail: true }, { signal: signal() }));
    assert.equal(e.node, ids[1]);
    assert.equal(e.code, 'block.custom_error');
    assert.match(e.message, /step b refused the input/);
    assert.equal(e.retryable, false);
    assert.deepEqual(inFlight(svcs), [0, 0, 0]);
    assert.deepEqual(
      ((await stream.sendChain(ids, {}, { signal: signal() })) as { path: string[] }).path,
      ['a', 'b', 'c'],
      'the chain still works',
    );
  });

  void it('an instance that crashes mid-chain fails the request (retryable) and is replaced; the chain works again', async () => {
    const { ids, svcs, stream } = await chain();
    const e = await rejection(stream.sendChain(ids, { at: 'c', crash: true }, { signal: signal() }));
    assert.equal(e.node, ids[2]);
    assert.equal(e.code, 'instance.crashed');
    assert.equal(e.retryable, true);
    await waitFor(svcs[2] as Service, 'c replaced', (v) => v.actual === 1 && v.replicasDetail[0]!.restarts === 1);
    // The new instance of c is linked anew; a and b keep their threads.
    const out = (await stream.sendChain(ids, {}, { signal: signal() })) as { path: string[] };
    assert.deepEqual(out.path, ['a', 'b', 'c']);
    assert.deepEqual(inFlight(svcs), [0, 0, 0]);
  });

  void it('a block past its timeout mid-chain answers block.timeout for that block', async () => {
    const { ids, svcs, stream } = await chain({ timeoutMs: 150 });
    const e = await rejection(stream.sendChain(ids, { at: 'b', hang: true }, { signal: signal() }));
    assert.equal(e.node, ids[1]);
    assert.equal(e.code, 'block.timeout');
    await waitFor(svcs[1] as Service, 'b replaced', (v) => v.actual === 1);
    assert.deepEqual(((await stream.sendChain(ids, {}, { signal: signal() })) as { path: string[] }).path, ['a', 'b', 'c']);
  });

  void it('a cancel reaches the block that is running, and frees every instance', async () => {
    const { ids, svcs, stream } = await chain();
    const ac = new AbortController();
    const p = stream.sendChain(ids, { at: 'b', sleepMs: 10_000 }, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(inFlight(svcs), [1, 1, 1], 'every instance of the chain holds the request');
    ac.abort(new Error('caller left'));
    const e = await rejection(p);
    assert.match(e.message, /caller left/);
    assert.deepEqual(inFlight(svcs), [0, 0, 0]);
    // b was told: it answers the next request at once instead of after its 10 s sleep.
    const t0 = Date.now();
    assert.deepEqual(((await stream.sendChain(ids, {}, { signal: signal() })) as { path: string[] }).path, ['a', 'b', 'c']);
    assert.ok(Date.now() - t0 < 5000);
  });

  void it('js and custom blocks mixed in a chain: the values, a string output, the failing block named', async () => {
    const n = ++seq;
    const js = (name: string, body: string): Service =>
      new Service(
        {
          serviceId: `mixed-${n}-${name}`,
          blockId: `${name}${n}`,
          blockType: 'js',
          config: { source: `function process(input) { ${body} }` },
          prepared: {},
          limits: { timeoutMs: 5000 },
          version: 1,
        },
        { desired: 1, logger, restartBackoff: { initialMs: 20, maxMs: 200 }, waitReadyMs: 15_000, heartbeatMs: 50, hangGraceMs: 200 },
      );
    const custom = new Service(
      {
        serviceId: `mixed-${n}-mid`,
        blockId: `mid${n}`,
        blockType: 'custom',
        config: { module: stepModule, options: { name: 'mid' } },
        prepared: {},
        limits: { timeoutMs: 5000 },
        version: 1,
      },
      { desired: 1, logger, restartBackoff: { initialMs: 20, maxMs: 200 }, waitReadyMs: 15_000, heartbeatMs: 50, hangGraceMs: 200 },
    );
    const svcs = [
      js('up', 'if (input.boom) throw new Error("no boom please"); return { text: input.text.toUpperCase(), quote: "say \\"hi\\"\\n" };'),
      js('two', 'return { text: input.text + "!", quote: input.quote };'),
      custom,
      js('last', 'return input.path.length === 1 ? input.text + " " + input.quote : null;'),
    ];
    for (const s of svcs) {
      services.push(s);
      s.start();
    }
    for (const s of svcs) await waitFor(s, 'ready', (v) => v.actual === v.desired);
    const stream = new RequestRouter(new Map(svcs.map((s) => [s.spec.blockId, s])));
    const ids = svcs.map((s) => s.spec.blockId);
    // Escapes and non-ASCII survive every hop; a string output arrives as a string.
    assert.equal(await stream.sendChain(ids, { text: 'héllo' }, { signal: signal() }), 'HÉLLO! say "hi"\n');
    assert.deepEqual(await stream.sendChain(ids.slice(0, 2), { text: 'a' }, { signal: signal() }), { text: 'A!', quote: 'say "hi"\n' });
    const e = await rejection(stream.sendChain(ids, { text: 'x', boom: true }, { signal: signal() }));
    assert.equal(e.node, ids[0]);
    assert.equal(e.code, 'block.js_error');
    assert.match(e.message, /no boom please/);
    assert.deepEqual(inFlight(svcs), [0, 0, 0, 0]);
  });

  void it('is not sent when a block has no ready instance (the caller goes block by block)', async () => {
    const { ids, svcs, stream } = await chain();
    svcs[1]!.setDesired(0);
    await waitFor(svcs[1] as Service, 'b scaled to zero', (v) => v.replicasDetail.length === 0);
    assert.equal(stream.sendChain(ids, {}, { signal: signal() }), undefined);
  });
});

void describe('the executor sends chain flows in one dispatch, and only those', () => {
  const js = (id: string, body: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    id,
    type: 'js',
    config: { source: `function process(input) { ${body} }` },
    ...extra,
  });

  async function run(
    flow: Record<string, unknown>,
    input: JsonValue,
    opts: { verbose?: boolean; refuse?: boolean } = {},
  ): Promise<{ chains: string[][]; blocks: string[]; ok: boolean; output?: JsonValue }> {
    const spec = parseFlowSpec(flow, { blockType: getBlockType, provisionNodeIds: new Set() });
    const runners = new Map(
      await Promise.all(
        spec.blocks.map(async (b) => {
          const t = getBlockType(b.type)!;
          return [b.id, await t.load(t.validateConfig(b.config, b.id), {}, { timeoutMs: b.timeoutMs })] as const;
        }),
      ),
    );
    const blocks: string[] = [];
    const chains: string[][] = [];
    const dispatch: Dispatch = (id, inp, ctx) => {
      blocks.push(id);
      return runners.get(id)!.run(inp, { blockId: id, signal: ctx.signal });
    };
    const dispatchChain: DispatchChain = (ids, inp, ctx) => {
      if (opts.refuse) return undefined;
      chains.push([...ids]);
      return ids.reduce<Promise<JsonValue>>(
        (p, id) => p.then((v) => runners.get(id)!.run(v, { blockId: id, signal: ctx.signal })),
        Promise.resolve(inp),
      );
    };
    const r = await new FlowExecutor(spec, getBlockType).execute(input, {
      dispatch,
      dispatchChain,
      ...(opts.verbose ? { verbose: true } : {}),
    });
    return { chains, blocks, ok: r.ok, ...(r.ok ? { output: r.output } : {}) };
  }

  const line = {
    mode: 'SYNC',
    blocks: [
      js('up', 'return { t: input.text.toUpperCase() };', { input: { text: '$input.msg' } }),
      js('len', 'return { t: input.t, n: input.t.length };'),
    ],
    edges: [{ source: 'up', dest: 'len' }],
  };

  void it('a chain (the first block may map the workflow input): one dispatch, the same output', async () => {
    const r = await run(line, { msg: 'hey' });
    assert.deepEqual(r.chains, [['up', 'len']]);
    assert.deepEqual(r.blocks, []);
    assert.deepEqual(r.output, { t: 'HEY', n: 3 });
    const byBlock = await run(line, { msg: 'hey' }, { refuse: true });
    assert.deepEqual(byBlock.blocks, ['up', 'len'], 'refused: block by block');
    assert.deepEqual(byBlock.output, r.output);
  });

  void it('verbose runs, later mappings and fan-out go block by block', async () => {
    assert.deepEqual((await run(line, { msg: 'hey' }, { verbose: true })).chains, []);
    const mapped = {
      ...line,
      blocks: [js('up', 'return { t: input.text.toUpperCase() };'), js('len', 'return { n: input.x.length };', { input: { x: 'up.t' } })],
    };
    const m = await run(mapped, { text: 'abc' });
    assert.deepEqual(m.chains, []);
    assert.deepEqual(m.output, { n: 3 });
    const fan = {
      mode: 'SYNC',
      blocks: [js('a', 'return input;'), js('b', 'return { b: 1 };'), js('c', 'return { c: 1 };')],
      edges: [
        { source: 'a', dest: 'b' },
        { source: 'a', dest: 'c' },
      ],
    };
    const f = await run(fan, { x: 1 });
    assert.deepEqual(f.chains, []);
    assert.deepEqual(f.output, { b: { b: 1 }, c: { c: 1 } });
  });
});
