/**
 * Hardening of the runtime's worker-thread boundary and of block resource limits (issue 14):
 * - a value that cannot cross a thread boundary (too deep to clone, or to read on the other
 *   side, or not cloneable at all) fails only its own request, in either direction and along
 *   a chain, while the other requests of the same turn go through;
 * - a message the receiving thread cannot read (`messageerror`) fails the request it carried
 *   at once, and an answer lost without any error still fails after the block timeout;
 * - a block's `memory` covers its ArrayBuffers / typed arrays (outside V8's heap limit);
 * - the block timeout bounds loading too, promise callbacks of the top-level code included;
 * - a stall of the node's own event loop is not blamed on its instances;
 * - js stack traces and error bodies never show the host's install paths.
 * Real worker threads, real blocks; the HTTP cases run a real node in this process.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { FlowdError } from '../../src/errors.js';
import { Service } from '../../src/runtime/instances/service.js';
import type { ServiceOptions, ServiceSpec } from '../../src/runtime/instances/service.js';
import { RequestRouter } from '../../src/runtime/request-router.js';
import type { JsonObject, JsonValue } from '../../src/util/json.js';
import { startTestNode } from '../support/flowd-harness.js';
import type { TestNode } from '../support/flowd-harness.js';
import { apiKey, provisionFlow, rt } from '../support/runtime-client.js';
import { waitFor } from '../support/service-wait.js';

const logger = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'flowd-hardening-instances-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const services: Service[] = [];
after(async () => {
  await Promise.all(services.map((s) => s.stop()));
});

let seq = 0;
function service(over: Partial<ServiceSpec> & { blockType: string; config: JsonObject }, opts: Partial<ServiceOptions> = {}): Service {
  const n = ++seq;
  const svc = new Service(
    { serviceId: `hard-${n}`, blockId: `block_${n}`, prepared: {}, limits: { timeoutMs: 10_000 }, version: 1, ...over },
    { desired: 1, logger, restartBackoff: { initialMs: 20, maxMs: 200 }, waitReadyMs: 30_000, heartbeatMs: 100, hangGraceMs: 300, ...opts },
  );
  services.push(svc);
  svc.start();
  return svc;
}

const ready = (svc: Service, ms = 30_000): Promise<unknown> => waitFor(svc, `${svc.id} ready`, (v) => v.actual === v.desired, ms);

/** Nested objects (or arrays) `depth` levels deep. */
function deep(depth: number, arrays = false): JsonValue {
  let v: JsonValue = 0;
  for (let i = 0; i < depth; i++) v = arrays ? [v] : { a: v };
  return v;
}

async function rejection(p: Promise<unknown> | undefined): Promise<FlowdError> {
  assert.ok(p, 'the request should have been sent');
  try {
    await p;
  } catch (e) {
    return e as FlowdError;
  }
  assert.fail('expected the request to fail');
}

function assertUncloneable(e: FlowdError, kind: 'validation' | 'step_failure', node: string): void {
  assert.equal(e.code, 'flow.uncloneable', e.message);
  assert.equal(e.kind, kind, e.message);
  assert.equal(e.node, node, e.message);
  if (kind === 'validation') assert.equal(e.status, 400);
}

/** Sends `culprit` in the same turn as ten ordinary requests: only the culprit may fail. */
async function amongOthers(send: (input: JsonValue) => Promise<JsonValue> | undefined, culprit: JsonValue): Promise<FlowdError> {
  const before = Array.from({ length: 5 }, (_, n) => send({ n }));
  const bad = rejection(send(culprit));
  const afterwards = Array.from({ length: 5 }, (_, n) => send({ n: n + 5 }));
  const outs = await Promise.all([...before, ...afterwards]);
  outs.forEach((o, n) => assert.equal((o as { n: number }).n, n, 'the other requests of the turn were answered'));
  return bad;
}

/** A js block that echoes `n`, or answers an output `depth` levels deep. */
const DEEPENER = `function process(input) {
  if (input.depth) { let v = 0; for (let k = 0; k < input.depth; k++) v = input.arrays ? [v] : { a: v }; return { v: v }; }
  return { n: input.n === undefined ? null : input.n };
}`;

/** The same, as one link of a chain named NAME: deepens its output when `deepAt` names it. */
const chainLink = (name: string): string => `const NAME = ${JSON.stringify(name)};
function process(input) {
  const path = (input.path || []).concat([NAME]);
  if (input.deepAt === NAME) { let v = 0; for (let k = 0; k < input.depth; k++) v = { a: v }; return { v: v, path: path }; }
  const out = {}; for (const k in input) out[k] = input[k]; out.path = path; return out;
}`;

async function jsChain(
  names: string[],
  opts: Partial<ServiceOptions> = {},
  blockType = 'js',
  config: (name: string) => JsonObject = (name) => ({ source: chainLink(name) }),
): Promise<{ ids: string[]; svcs: Service[]; stream: RequestRouter }> {
  const svcs = names.map((name) => service({ blockType, config: config(name) }, opts));
  for (const s of svcs) await ready(s);
  return { ids: svcs.map((s) => s.spec.blockId), svcs, stream: new RequestRouter(new Map(svcs.map((s) => [s.spec.blockId, s]))) };
}

void describe('values that cannot cross a thread boundary fail only their own request', () => {
  void it('an input the node cannot post to the instance: a 400 for that request, every shape; the others of the turn are answered', async () => {
    const svc = service({ blockType: 'js', config: { source: DEEPENER } });
    await ready(svc);
    const send = (input: JsonValue): Promise<JsonValue> => svc.dispatch(input);
    const culprits: Array<[string, unknown]> = [
      ['nested objects', { text: deep(6000) }],
      ['nested arrays', { list: deep(8000, true) }],
      ['a function', { f: () => 1 }],
      ['a symbol', { s: Symbol('x') }],
    ];
    for (const [what, culprit] of culprits) {
      const e = await amongOthers(send, culprit as JsonValue);
      assertUncloneable(e, 'validation', svc.spec.blockId);
      assert.match(e.message, /cannot be passed to its instance/, what);
    }
    const st = svc.status();
    assert.equal(st.actual, 1);
    assert.equal(st.replicasDetail[0]?.restarts, 0, 'the instance was not touched');
  });

  void it('a block output too deep for the node to read: a clear error at once, objects and arrays, never a hang', async () => {
    const svc = service({ blockType: 'js', config: { source: DEEPENER } });
    await ready(svc);
    const send = (input: JsonValue): Promise<JsonValue> => svc.dispatch(input);
    for (const culprit of [{ depth: 1200 }, { depth: 3600 }, { depth: 6000, arrays: true }] as JsonObject[]) {
      const e = await amongOthers(send, culprit);
      assertUncloneable(e, 'step_failure', svc.spec.blockId);
      assert.match(e.message, /nested more than 1000 levels/);
      assert.equal(e.retryable, false);
    }
    // Just under the limit still goes through.
    const ok = (await send({ depth: 900 })) as { v: unknown };
    assert.equal(typeof ok.v, 'object');
    assert.equal(svc.status().replicasDetail[0]?.restarts, 0);
  });

  void it('along a chain: a deep input fails at the first block (400), a deep output mid-chain names that block; the chain keeps working', async () => {
    const { ids, svcs, stream } = await jsChain(['a', 'b', 'c']);
    const signal = new AbortController().signal;
    const send = (input: JsonValue): Promise<JsonValue> | undefined => stream.sendChain(ids, input, { signal });
    const inFirst = await amongOthers((i) => send(i), { deep: deep(6000) });
    assertUncloneable(inFirst, 'validation', ids[0] as string);
    for (const at of ['a', 'b']) {
      const e = await amongOthers((i) => send(i), { deepAt: at, depth: 1500 });
      assertUncloneable(e, 'step_failure', ids[at === 'a' ? 0 : 1] as string);
    }
    // The last block's output goes to the node: the same check.
    assertUncloneable(await rejection(send({ deepAt: 'c', depth: 1500 })), 'step_failure', ids[2] as string);
    const out = (await send({ n: 1 })) as { path: string[] };
    assert.deepEqual(out.path, ['a', 'b', 'c']);
    assert.deepEqual(
      svcs.map((s) => s.inFlight),
      [0, 0, 0],
    );
  });
});

/**
 * A module that makes the next message its thread posts unreadable (wrapped with a value too
 * deep for the receiver to read: the receiver gets `messageerror`, and nothing else), or drops
 * it: a message lost on the way, as a transport failure would. With `how: 'throw'`, posting
 * its own output throws as for a value that cannot be cloned (the batch it is in too).
 */
const POISONER = `import { MessagePort, parentPort } from 'node:worker_threads';
const post = MessagePort.prototype.postMessage;
let poison;
let myName;
function deep(n) { let v = 0; for (let i = 0; i < n; i++) v = { a: v }; return v; }
const mine = (v) => v !== null && typeof v === 'object' && v.how === 'throw' && v.poisonAt === myName;
const throws = (m) => m !== null && typeof m === 'object' && ((m.type === 'result' && mine(m.output)) || (m.type === 'run' && mine(m.input)));
MessagePort.prototype.postMessage = function (m, transfer) {
  if (throws(m) || (m?.type === 'batch' && m.messages.some(throws))) throw new DOMException('#<Object> could not be cloned.', 'DataCloneError');
  if (poison !== undefined && (poison.where === 'link') === (this !== parentPort)) {
    const how = poison.how;
    poison = undefined;
    if (how === 'drop') return undefined;
    return post.call(this, { unreadable: deep(10000), m }, transfer);
  }
  return post.call(this, m, transfer);
};
export function createBlock(options) {
  myName = options.name;
  return {
    run(input) {
      if (input.poisonAt === options.name && input.how !== 'throw') poison = { where: input.where ?? 'parent', how: input.how ?? 'unreadable' };
      return { ...input, path: [...(input.path ?? []), options.name] };
    },
  };
}
`;

void describe('messages a thread cannot read', () => {
  const poisoner = join(dir, 'poisoner.mjs');
  before(() => writeFileSync(poisoner, POISONER));
  const custom = (name: string): JsonObject => ({ module: poisoner, options: { name } });

  void it('an output its worker cannot post (not cloneable) fails only its own request, to the node or to the next block', async () => {
    const svc = service({ blockType: 'custom', config: custom('only') });
    await ready(svc);
    const one = await amongOthers((i) => svc.dispatch(i), { poisonAt: 'only', how: 'throw' });
    assertUncloneable(one, 'step_failure', svc.spec.blockId);
    assert.match(one.message, /DataCloneError/);
    const { ids, stream } = await jsChain(['a', 'b', 'c'], {}, 'custom', custom);
    const signal = new AbortController().signal;
    for (const [at, k] of [
      ['b', 1],
      ['c', 2],
    ] as const) {
      const e = await amongOthers((i) => stream.sendChain(ids, i, { signal }), { poisonAt: at, how: 'throw' });
      assertUncloneable(e, 'step_failure', ids[k] as string);
    }
  });

  void it('an answer the node cannot read fails its request at once (not at the block timeout); the instance keeps serving', async () => {
    const svc = service({ blockType: 'custom', config: custom('only'), limits: { timeoutMs: 60_000 } });
    await ready(svc);
    const t0 = Date.now();
    const e = await rejection(svc.dispatch({ poisonAt: 'only' }));
    assertUncloneable(e, 'step_failure', svc.spec.blockId);
    assert.match(e.message, /could not be read by the thread it was sent to/);
    assert.ok(Date.now() - t0 < 20_000, 'long before the block timeout of 60 s');
    assert.deepEqual((await svc.dispatch({ n: 1 })) as JsonObject, { n: 1, path: ['only'] });
    assert.equal(svc.status().replicasDetail[0]?.restarts, 0);
  });

  void it('along a chain: a run the next worker cannot read, or an answer of the last block, fails that request at once', async () => {
    const { ids, svcs, stream } = await jsChain(['a', 'b', 'c'], {}, 'custom', custom);
    const signal = new AbortController().signal;
    for (const input of [
      { poisonAt: 'a', where: 'link' },
      { poisonAt: 'b', where: 'link' },
      { poisonAt: 'c', where: 'parent' },
    ]) {
      const e = await rejection(stream.sendChain(ids, input, { signal }));
      assert.equal(e.code, 'flow.uncloneable', `${JSON.stringify(input)}: ${e.message}`);
      assert.deepEqual(
        svcs.map((s) => s.inFlight),
        [0, 0, 0],
      );
    }
    assert.deepEqual(((await stream.sendChain(ids, {}, { signal })) as { path: string[] }).path, ['a', 'b', 'c']);
  });

  void it('an answer lost without any error still fails once the block timeout has passed', async () => {
    const svc = service({ blockType: 'custom', config: custom('only'), limits: { timeoutMs: 800 } }, { hangGraceMs: 200 });
    await ready(svc);
    const t0 = Date.now();
    const e = await rejection(svc.dispatch({ poisonAt: 'only', how: 'drop' }));
    const took = Date.now() - t0;
    assertUncloneable(e, 'step_failure', svc.spec.blockId);
    assert.ok(took >= 800, `not before the block timeout (${took} ms)`);
    assert.ok(took < 20_000, `but soon after it (${took} ms)`);
    assert.deepEqual((await svc.dispatch({ n: 2 })) as JsonObject, { n: 2, path: ['only'] });
  });
});

void describe('a block memory limit covers its ArrayBuffers', () => {
  const HOLDER = `const keep = [];
function process(input) {
  const mb = input.mb || 0;
  let b;
  if (input.kind === 'u8') { b = new Uint8Array(mb * 1048576); b.fill(1); }
  else if (input.kind === 'ab') { b = new ArrayBuffer(mb * 1048576); new Uint8Array(b).fill(2); }
  else if (input.kind === 'f64') { b = new Float64Array(mb * 131072); b.fill(3); }
  else if (input.kind === 'slice') { b = new Uint8Array(mb * 1048576).fill(4).slice(0); }
  if (b) keep.push(b);
  return { held: keep.length };
}`;

  void it('typed arrays held past `memory` fail the run (instance.out_of_memory) and the instance is replaced; the memory is given back', async () => {
    const svc = service({ blockType: 'js', config: { source: HOLDER }, limits: { timeoutMs: 30_000, memoryMb: 64 } });
    await ready(svc);
    // Under the limit: held across runs, no false alarm.
    for (let n = 1; n <= 3; n++) assert.deepEqual(await svc.dispatch({ kind: 'u8', mb: 16 }), { held: n });
    const rss0 = process.memoryUsage.rss();
    let restarts = 0;
    for (const kind of ['u8', 'u8', 'ab', 'f64', 'slice']) {
      const e = await rejection(svc.dispatch({ kind, mb: 256 }));
      assert.equal(e.code, 'instance.out_of_memory', `${kind}: ${e.message}`);
      assert.match(e.message, /memory limit of 64 MB/);
      restarts++;
      await waitFor(svc, 'the instance replaced', (v) => v.actual === 1 && v.replicasDetail[0]?.restarts === restarts);
    }
    // The replacements hold nothing: the memory went with the stopped threads.
    await new Promise((r) => setTimeout(r, 500));
    const grew = (process.memoryUsage.rss() - rss0) / 1048576;
    assert.ok(grew < 200, `the node kept ${Math.round(grew)} MB after five instances held 256 MB each`);
    assert.deepEqual(await svc.dispatch({ kind: 'u8', mb: 1 }), { held: 1 });
  });

  void it('top-level code holding typed arrays past `memory` fails the load (OOMKilled)', async () => {
    const source = 'const keep = new Uint8Array(128 * 1048576); keep.fill(1);\nfunction process(input) { return { n: keep.length }; }';
    const svc = service(
      { blockType: 'js', config: { source }, limits: { timeoutMs: 30_000, memoryMb: 64 } },
      { restartBackoff: { initialMs: 60_000, maxMs: 60_000 } },
    );
    const v = await waitFor(svc, 'the load failed', (s) => s.replicasDetail[0]?.phase === 'Failed', 30_000);
    assert.equal(v.replicasDetail[0]?.lastTerminationReason, 'OOMKilled', JSON.stringify(v));
    assert.match(v.replicasDetail[0]?.message ?? '', /memory limit of 64 MB/);
  });
});

void describe('the block timeout bounds loading', () => {
  const spins = [
    'Promise.resolve().then(() => { const end = Date.now() + 15000; while (Date.now() < end) {} });',
    'Promise.resolve().then(() => Promise.resolve()).then(() => { for (;;) {} });',
    '(async () => { await null; await null; for (;;) {} })();',
  ];

  void it('a spin in a promise callback of the top-level code fails the load after the timeout, with a message that says so', async () => {
    const svcs = spins.map((top) =>
      service(
        { blockType: 'js', config: { source: `${top}\nfunction process(input) { return input; }` }, limits: { timeoutMs: 500 } },
        { restartBackoff: { initialMs: 60_000, maxMs: 60_000 } },
      ),
    );
    for (const svc of svcs) {
      const v = await waitFor(svc, 'the load failed', (s) => s.replicasDetail[0]?.phase === 'Failed', 30_000);
      const r = v.replicasDetail[0];
      assert.equal(r?.lastTerminationReason, 'LoadFailed', JSON.stringify(v));
      assert.match(r?.message ?? '', /did not finish loading within its timeout of 500 ms/);
      assert.match(r?.message ?? '', /promise callback/);
    }
  });

  void it('promise callbacks that finish in time are part of a normal load', async () => {
    const source =
      'let settled = false;\nPromise.resolve().then(() => { settled = true; });\nfunction process(input) { return { settled }; }';
    const svc = service({ blockType: 'js', config: { source }, limits: { timeoutMs: 500 } });
    await ready(svc);
    assert.deepEqual(await svc.dispatch({}), { settled: true });
  });
});

void describe('a stall of the node itself', () => {
  void it('is not blamed on its instances: idle ones keep their threads, a request in flight is answered', async () => {
    const sleepy = join(dir, 'sleepy.mjs');
    writeFileSync(
      sleepy,
      'export async function process(input) { await new Promise((r) => setTimeout(r, input.ms ?? 0)); return { slept: input.ms ?? 0 }; }\n',
    );
    // 250 ms heartbeats: three missed (750 ms) would be a hang, were the stalls theirs; and
    // the request in flight would be past its timeout (1 000 + 200 ms).
    const idle = service({ blockType: 'js', config: { source: DEEPENER } }, { desired: 2, heartbeatMs: 250 });
    const busy = service(
      { blockType: 'custom', config: { module: sleepy }, limits: { timeoutMs: 1000 } },
      { heartbeatMs: 250, hangGraceMs: 200 },
    );
    await ready(idle);
    await ready(busy);
    const names = (svc: Service): string[] => svc.status().replicasDetail.map((r) => r.name);
    const before = { idle: names(idle), busy: names(busy) };
    const inFlight = busy.dispatch({ ms: 300 });
    // Back-to-back stalls, with one turn between them (timers only): 6 s in all.
    for (let k = 0; k < 4; k++) {
      const end = Date.now() + 1500;
      while (Date.now() < end) {
        // the event loop is blocked
      }
      await new Promise((r) => setTimeout(r, 0));
    }
    assert.deepEqual(await inFlight, { slept: 300 });
    await new Promise((r) => setTimeout(r, 1000));
    for (const [svc, was] of [
      [idle, before.idle],
      [busy, before.busy],
    ] as const) {
      const v = svc.status();
      assert.deepEqual(names(svc), was, JSON.stringify(v));
      assert.ok(
        v.replicasDetail.every((r) => r.restarts === 0 && r.ready),
        JSON.stringify(v),
      );
    }
  });
});

void describe('through the HTTP API', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode();
  });
  after(async () => {
    await node.close();
  });

  void it('SYNC analyze: a too-deep output fails that request (422 flow.uncloneable), alone or mid-chain; a deep input given to the runtime directly is a 400; the node stays up', async () => {
    const flow = {
      mode: 'SYNC',
      blocks: [
        { id: 'first', type: 'js', config: { source: chainLink('first') } },
        { id: 'second', type: 'js', config: { source: chainLink('second') } },
      ],
      edges: [{ source: 'first', dest: 'second' }],
    };
    const { id } = await provisionFlow(node, flow);
    const key = await apiKey(node, [id]);
    const analyze = (body: unknown): ReturnType<typeof rt> => rt(node, key, 'POST', id, 'action/analyze', body);
    for (const at of ['first', 'second']) {
      const [bad, ...good] = await Promise.all([
        analyze({ deepAt: at, depth: 1500 }),
        ...Array.from({ length: 4 }, (_, n) => analyze({ n })),
      ]);
      assert.equal(bad?.status, 422, bad?.text);
      assert.equal(bad?.body.errors[0].code, 'flow.uncloneable', bad?.text);
      assert.equal(bad?.body.errors[0].node, at, bad?.text);
      good.forEach((g, n) => assert.deepEqual(g.body, { n, path: ['first', 'second'] }, g.text));
    }
    const direct = await node.node.runtime.analyze(id, { text: deep(3600) }, { timeoutMs: 10_000 });
    assert.equal(direct.ok, false);
    if (!direct.ok) {
      assert.equal(direct.status, 400);
      assert.equal(direct.errors[0]?.code, 'flow.uncloneable');
    }
    assert.equal((await node.request('GET', '/_flowd/health', { auth: null })).status, 200);
    assert.equal((await analyze({ n: 9 })).status, 200);
  });

  void it('ASYNC task: a too-deep output, or a too-deep input, ends that task in ERROR with flow.uncloneable; the others complete', async () => {
    const flow = {
      mode: 'ASYNC',
      autoscaling: { preset: 'disabled' },
      blocks: [{ id: 'deepener', type: 'js', config: { source: DEEPENER } }],
      edges: [],
    };
    const { id } = await provisionFlow(node, flow);
    const key = await apiKey(node, [id]);
    const submit = async (body: unknown): Promise<string> => {
      const r = await rt(node, key, 'POST', id, 'task', body);
      assert.equal(r.status, 202, r.text);
      return r.body.taskId as string;
    };
    const finished = async (taskId: string): Promise<any> => {
      for (let k = 0; k < 60; k++) {
        const r = await rt(node, key, 'GET', id, `task/${taskId}?wait=5s`);
        if (r.body.status === 'COMPLETED' || r.body.status === 'ERROR') return r.body;
      }
      assert.fail(`task ${taskId} did not finish`);
    };
    const ids = await Promise.all([submit({ depth: 1500 }), submit({ n: 1 }), submit({ n: 2 })]);
    const [bad, ...good] = await Promise.all(ids.map(finished));
    assert.equal(bad.status, 'ERROR', JSON.stringify(bad));
    const result = await rt(node, key, 'GET', id, `task/${ids[0] as string}/result`);
    assert.match(result.text, /flow\.uncloneable/);
    for (const g of good) assert.equal(g.status, 'COMPLETED', JSON.stringify(g));
    // A deep input reaches the task runner only through the runtime (the HTTP boundary bounds depth).
    const direct = await node.node.runtime.analyze(id, { text: deep(3600) }, { timeoutMs: 20_000 });
    assert.equal(direct.ok, false, JSON.stringify(direct).slice(0, 300));
    assert.match(JSON.stringify(direct).slice(0, 2000), /flow\.uncloneable/);
    assert.equal((await node.request('GET', '/_flowd/health', { auth: null })).status, 200);
  });

  void it('an ASYNC task input that cannot be serialized is refused without wedging the workflow', async () => {
    const { id } = await provisionFlow(node, {
      mode: 'ASYNC',
      blocks: [{ id: 'echo', type: 'js', config: { source: 'function process(input) { return input; }' } }],
      edges: [],
    });
    const key = await apiKey(node, [id]);
    // Only the runtime itself reaches this (the HTTP boundary bounds depth): a synchronous
    // serialization failure must not leak the runner slots reserved for the batch.
    for (let i = 0; i < 40; i++) {
      await assert.rejects(
        node.node.runtime.tasks.submitMany(id, [{ input: { n: i } }, { input: deep(50_000) }], {}),
        (e: any) => e.status === 400 && /cannot be stored as JSON/.test(e.message),
      );
    }
    for (const n of [1, 2, 3]) {
      const sub = await rt(node, key, 'POST', id, 'task', { n });
      assert.ok(sub.status === 200 || sub.status === 202, sub.text);
      const done = await rt(node, key, 'GET', id, `task/${sub.body.taskId as string}?wait=20s`);
      assert.equal(done.body.status, 'COMPLETED', done.text);
    }
  });

  void it("js errors and stack traces show the script's own lines, never the host's install paths", async () => {
    const source = `function process(input) {
  if (input.mode === 'stack') return { stack: new Error('where').stack };
  if (input.mode === 'throw') throw new Error('failed at: ' + new Error('inner').stack);
  if (input.mode === 'type') return null.x;
  const o = {}; Error.captureStackTrace(o); return { captured: o.stack };
}`;
    const { id } = await provisionFlow(node, { mode: 'SYNC', blocks: [{ id: 'thrower', type: 'js', config: { source } }], edges: [] });
    const key = await apiKey(node, [id]);
    const hostPath = /file:|node:internal|node_modules|instance-worker|js-sandbox|flowd-sandbox|\/src\/|\/dist\//;
    for (const mode of ['stack', 'throw', 'type', 'captured']) {
      for (const verbose of [false, true]) {
        const r = await rt(node, key, 'POST', id, `action/analyze${verbose ? '?verboseErrorOutput=true' : ''}`, { mode });
        assert.doesNotMatch(r.text, hostPath, `${mode}: ${r.text}`);
        assert.ok(!r.text.includes(process.cwd()), `${mode}: ${r.text}`);
        assert.match(r.text, /block\.js:\d+|line \d+/, `${mode}: the script's own line is kept: ${r.text}`);
      }
    }
  });
});
