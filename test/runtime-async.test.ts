/**
 * The runtime issue through HTTP, ASYNC side: durable tasks (submit, idempotency, long-poll,
 * result, input, status of many, list, cancel, delete by status), all-in-one analyze,
 * autoscaling to zero and waking on demand, and the status stream (SSE).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { httpRequest, startTestNode } from './support/flowd-harness.js';
import type { TestNode } from './support/flowd-harness.js';
import { RT, apiKey, provisionFlow, rt, waitRuntime } from './support/runtime-client.js';

const UPPER = 'function process(input) { return { text: input.text.toUpperCase() }; }';

/** A custom block that waits `input.ms` (honouring cancellation) then echoes. */
function sleepyModule(): string {
  const dir = mkdtempSync(join(tmpdir(), 'flowd-sleepy-'));
  const file = join(dir, 'sleepy.mjs');
  writeFileSync(
    file,
    `export async function process(input) { await new Promise((r) => setTimeout(r, input.ms ?? 0)); return { slept: input.ms ?? 0, tag: input.tag ?? null }; }\n`,
  );
  return file;
}

let node: TestNode;
before(async () => {
  node = await startTestNode();
});
after(async () => {
  await node.close();
});

/** Publishes a 1-block ASYNC flow (autoscaling off) and makes an API key for it. */
async function asyncFlow(block: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const p = await provisionFlow(node, { mode: 'ASYNC', autoscaling: { preset: 'disabled' }, blocks: [block], edges: [] });
  assert.equal(p.status.state, 'COMPLETED', JSON.stringify(p.status));
  return { id: p.id, key: await apiKey(node, [p.id]) };
}

void describe('tasks submitted while the runner has room', () => {
  void it('start at once, inserted RUNNING; once tasks wait in the queue, new ones queue behind them', async () => {
    const { id, key } = await asyncFlow({ id: 'sleepy', type: 'custom', replicas: 1, consumers: 4, config: { module: sleepyModule() } });
    // 4 free consumers: the first 4 of the batch are stored claimed, the other 6 queue.
    const items = Array.from({ length: 10 }, (_, i) => ({ input: { ms: 300, tag: `b${i}` } }));
    const sub = await rt(node, key, 'POST', id, 'task/batch', { tasks: items });
    assert.equal(sub.status, 202, sub.text);
    const statuses = sub.body.tasks.map((t: any) => t.status);
    assert.deepEqual(statuses, ['RUNNING', 'RUNNING', 'RUNNING', 'RUNNING', ...Array(6).fill('QUEUED')], sub.text);
    for (const t of sub.body.tasks.slice(0, 4)) {
      assert.equal(t.attempt, 1);
      assert.equal(t.startedAt, t.createdAt, 'started the moment it was stored');
    }
    // The queue is not empty: a new task does not jump ahead of it.
    const late = await rt(node, key, 'POST', id, 'task', { ms: 0, tag: 'late' });
    assert.equal(late.body.status, 'QUEUED', late.text);
    const all = [...sub.body.tasks, late.body];
    const done = await Promise.all(all.map(async (t: any) => (await rt(node, key, 'GET', id, `task/${t.taskId}?wait=20s`)).body));
    for (const d of done) {
      assert.equal(d.status, 'COMPLETED', JSON.stringify(d));
      assert.equal(d.attempt, 1, 'each ran once');
    }
    // First in, first out: the late task started after every task of the batch had.
    const lateStart = Date.parse(done[10].startedAt);
    for (const d of done.slice(0, 10)) assert.ok(Date.parse(d.startedAt) <= lateStart, `${d.startedAt} <= ${done[10].startedAt}`);
    // Once idle, a new task starts at once again.
    const next = await rt(node, key, 'POST', id, 'task', { ms: 0, tag: 'idle' });
    assert.equal(next.body.status, 'RUNNING', next.text);
    assert.equal((await rt(node, key, 'GET', id, `task/${next.body.taskId}?wait=10s`)).body.status, 'COMPLETED');
  });
});

void describe('tasks', () => {
  let id: string;
  let key: string;
  before(async () => {
    ({ id, key } = await asyncFlow({ id: 'sleepy', type: 'custom', replicas: 1, consumers: 4, config: { module: sleepyModule() } }));
  });

  void it('submits (202 + Location), long-polls to COMPLETED, returns result and input', async () => {
    const sub = await rt(node, key, 'POST', id, 'task', { ms: 20, tag: 'a' });
    assert.equal(sub.status, 202, sub.text);
    assert.ok(['QUEUED', 'RUNNING'].includes(sub.body.status));
    assert.equal(sub.headers.get('location'), `/api/v1/runtime/workflow/${id}/task/${sub.body.taskId}`);
    const st = await rt(node, key, 'GET', id, `task/${sub.body.taskId}?wait=10s`);
    assert.equal(st.body.status, 'COMPLETED', st.text);
    assert.ok(Date.parse(st.body.finishedAt) >= Date.parse(st.body.startedAt));
    const res = await rt(node, key, 'GET', id, `task/${sub.body.taskId}/result`);
    assert.deepEqual(res.body, { slept: 20, tag: 'a' });
    const inp = await rt(node, key, 'GET', id, `task/${sub.body.taskId}/input`);
    assert.deepEqual(inp.body, { ms: 20, tag: 'a' });
  });

  void it('honours Idempotency-Key: the same key gives the same task, run once', async () => {
    const a = await rt(node, key, 'POST', id, 'task', { ms: 1 }, { 'idempotency-key': 'k-1' });
    const b = await rt(node, key, 'POST', id, 'task', { ms: 1 }, { 'idempotency-key': 'k-1' });
    assert.equal(a.status, 202);
    assert.equal(b.status, 200);
    assert.equal(a.body.taskId, b.body.taskId);
  });

  void it('reports the status of many, lists by status with paging, and deletes by status', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await rt(node, key, 'POST', id, 'task', { ms: 1 })).body.taskId);
    for (const t of ids) await rt(node, key, 'GET', id, `task/${t}?wait=10s`);
    const many = await rt(node, key, 'POST', id, 'task/status', { taskIds: [...ids, 'nope'] });
    assert.equal(many.body.tasks.length, 6);
    assert.ok(many.body.tasks.slice(0, 5).every((t: any) => t.status === 'COMPLETED'));
    assert.equal(many.body.tasks[5].status, 'NOT_FOUND');
    const page1 = await rt(node, key, 'GET', id, 'task?status=COMPLETED&limit=2');
    assert.equal(page1.body.tasks.length, 2);
    assert.ok(page1.body.next);
    const page2 = await rt(node, key, 'GET', id, `task?status=COMPLETED&limit=2&cursor=${encodeURIComponent(page1.body.next)}`);
    assert.equal(page2.body.tasks.length, 2);
    assert.notEqual(page2.body.tasks[0].taskId, page1.body.tasks[0].taskId);
    const bad = await rt(node, key, 'GET', id, 'task?status=DONE');
    assert.equal(bad.status, 400);
    const del = await rt(node, key, 'DELETE', id, 'task?status=COMPLETED');
    assert.ok(del.body.deleted >= 5);
    assert.equal((await rt(node, key, 'GET', id, `task/${ids[0]}`)).status, 404);
  });

  void it('cancels a running task with DELETE; its result is never recorded', async () => {
    const sub = await rt(node, key, 'POST', id, 'task', { ms: 5000 });
    await waitRuntime(node, key, id, (s) => s.tasks.running >= 1);
    const del = await rt(node, key, 'DELETE', id, `task/${sub.body.taskId}`);
    assert.equal(del.status, 200, del.text);
    assert.equal(del.body.status, 'CANCELED');
    assert.equal((await rt(node, key, 'GET', id, `task/${sub.body.taskId}`)).status, 404);
    const s = await waitRuntime(node, key, id, (x) => x.tasks.running === 0);
    assert.equal(s.tasks.running, 0);
  });

  void it('answers analyze on an ASYNC flow all-in-one (submit, wait, result, delete)', async () => {
    const r = await rt(node, key, 'POST', id, 'action/analyze', { ms: 5, tag: 'aio' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { slept: 5, tag: 'aio' });
  });

  void it('says what to do when tasks are used on a SYNC workflow', async () => {
    const p = await provisionFlow(node, { mode: 'SYNC', blocks: [{ id: 'u', type: 'js', config: { source: UPPER } }], edges: [] });
    const k = await apiKey(node, [p.id]);
    const r = await rt(node, k, 'POST', p.id, 'task', { text: 'x' });
    assert.equal(r.status, 400);
    assert.match(r.body.errors[0].message, /action\/analyze/);
  });
});

void describe('task batches', () => {
  const DOUBLE = 'function process(input) { return { n: input.n, double: input.n * 2 }; }';
  let id: string;
  let key: string;
  before(async () => {
    ({ id, key } = await asyncFlow({ id: 'double', type: 'js', consumers: 8, config: { source: DOUBLE } }));
  });

  const taskCount = async (): Promise<number> => {
    const r = await rt(node, key, 'GET', id, 'task?limit=1000');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.next, undefined);
    return r.body.tasks.length;
  };

  void it('submits 50 tasks in one request; each completes with its own result, in order', async () => {
    const before = await taskCount();
    const items = Array.from({ length: 50 }, (_, i) => ({ input: { n: i } }));
    const sub = await rt(node, key, 'POST', id, 'task/batch', { tasks: items }, { 'x-correlation-id': 'batch-corr' });
    assert.equal(sub.status, 202, sub.text);
    assert.equal(sub.body.created, 50);
    assert.equal(sub.body.tasks.length, 50);
    assert.equal(new Set(sub.body.tasks.map((t: any) => t.taskId)).size, 50);
    assert.ok(sub.body.tasks.every((t: any) => ['QUEUED', 'RUNNING', 'COMPLETED'].includes(t.status) && t.correlationId === 'batch-corr'));
    assert.equal(await taskCount(), before + 50);
    await Promise.all(
      sub.body.tasks.map(async (t: any, i: number) => {
        const st = await rt(node, key, 'GET', id, `task/${t.taskId}?wait=20s`);
        assert.equal(st.body.status, 'COMPLETED', st.text);
        assert.deepEqual((await rt(node, key, 'GET', id, `task/${t.taskId}/input`)).body, { n: i });
        assert.deepEqual((await rt(node, key, 'GET', id, `task/${t.taskId}/result`)).body, { n: i, double: i * 2 });
      }),
    );
  });

  void it('replays a batch with the same Idempotency-Key: 200, the same tasks, none created', async () => {
    const items = [{ input: { n: 100 } }, { input: { n: 101 }, idempotencyKey: 'own-101' }, { input: { n: 102 } }];
    const first = await rt(node, key, 'POST', id, 'task/batch', { tasks: items }, { 'idempotency-key': 'replay-1' });
    assert.equal(first.status, 202, first.text);
    assert.equal(first.body.created, 3);
    const ids = first.body.tasks.map((t: any) => t.taskId);
    const count = await taskCount();
    const again = await rt(node, key, 'POST', id, 'task/batch', { tasks: items }, { 'idempotency-key': 'replay-1' });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.created, 0);
    assert.deepEqual(
      again.body.tasks.map((t: any) => t.taskId),
      ids,
    );
    assert.equal(await taskCount(), count);
    // An item without its own key got `${header}#${index}`; one with its own key kept it.
    const single = await rt(node, key, 'POST', id, 'task', { n: 102 }, { 'idempotency-key': 'replay-1#2' });
    assert.equal(single.status, 200, single.text);
    assert.equal(single.body.taskId, ids[2]);
    assert.equal((await rt(node, key, 'POST', id, 'task', { n: 101 }, { 'idempotency-key': 'own-101' })).body.taskId, ids[1]);
    // A longer batch under the same key: the first three are found again, the fourth is new.
    const more = await rt(
      node,
      key,
      'POST',
      id,
      'task/batch',
      { tasks: [...items, { input: { n: 103 } }] },
      { 'idempotency-key': 'replay-1' },
    );
    assert.equal(more.status, 202, more.text);
    assert.equal(more.body.created, 1);
    assert.deepEqual(
      more.body.tasks.slice(0, 3).map((t: any) => t.taskId),
      ids,
    );
    assert.ok(!ids.includes(more.body.tasks[3].taskId));
    assert.equal(await taskCount(), count + 1);
  });

  void it('rejects bad batches with 400, saying what to fix, and creates nothing', async () => {
    const count = await taskCount();
    const ok = (n: number): { input: { n: number } } => ({ input: { n } });
    const cases: Array<{ body?: unknown; raw?: string; headers?: Record<string, string>; code: string; message: RegExp }> = [
      { body: { tasks: { input: { n: 1 } } }, code: 'task.bad_batch', message: /tasks must be an array: send \{"tasks": \[\{"input"/ },
      { body: [ok(1)], code: 'task.bad_batch', message: /tasks must be an array/ },
      { body: {}, code: 'task.bad_batch', message: /tasks must be an array/ },
      { raw: '{"tasks": [', code: 'task.bad_batch', message: /must be a JSON object/ },
      { body: { tasks: [] }, code: 'task.bad_batch', message: /tasks has 0 items: send 1 to 1000 per batch/ },
      {
        body: { tasks: Array.from({ length: 1001 }, (_, i) => ok(i)) },
        code: 'task.bad_batch',
        message: /tasks has 1001 items: send 1 to 1000 per batch/,
      },
      {
        body: { tasks: [ok(1), ok(2), ok(3), { input: 'text' }] },
        code: 'flow.invalid_input',
        message: /^tasks\[3\]\.input must be a JSON object/,
      },
      { body: { tasks: [ok(1), { input: [1, 2] }] }, code: 'flow.invalid_input', message: /^tasks\[1\]\.input must be a JSON object/ },
      { body: { tasks: [ok(1), { n: 2 }] }, code: 'flow.invalid_input', message: /^tasks\[1\]\.input must be a JSON object/ },
      { body: { tasks: [ok(1), 'x'] }, code: 'task.bad_batch', message: /^tasks\[1\] must be an object/ },
      {
        body: { tasks: [ok(1), { ...ok(2), idempotencyKey: '' }] },
        code: 'task.bad_idempotency_key',
        message: /^tasks\[1\]\.idempotencyKey must be a string of 1 to 200 characters/,
      },
      {
        body: { tasks: [ok(1)] },
        headers: { 'idempotency-key': 'x'.repeat(201) },
        code: 'task.bad_idempotency_key',
        message: /Idempotency-Key must be 1 to 200 characters/,
      },
      {
        body: {
          tasks: [
            { ...ok(1), idempotencyKey: 'a' },
            { ...ok(2), idempotencyKey: 'b' },
            { ...ok(3), idempotencyKey: 'a' },
            { ...ok(4), idempotencyKey: 'b' },
            ok(5),
          ],
        },
        code: 'task.bad_batch',
        message: /Duplicate idempotency keys in the batch: \[a, b\]/,
      },
      // The header's key for item 1 (`h#1`) is also item 0's own key.
      {
        body: { tasks: [{ ...ok(1), idempotencyKey: 'h#1' }, ok(2)] },
        headers: { 'idempotency-key': 'h' },
        code: 'task.bad_batch',
        message: /Duplicate idempotency keys in the batch: \[h#1\]/,
      },
    ];
    for (const c of cases) {
      const r = await httpRequest(node.url, 'POST', `${RT}/${id}/task/batch`, {
        auth: null,
        headers: { 'x-api-key': key, ...c.headers },
        ...(c.raw !== undefined ? { raw: c.raw } : { body: c.body }),
      });
      assert.equal(r.status, 400, `${JSON.stringify(c.body ?? c.raw).slice(0, 80)}: ${r.text}`);
      assert.equal(r.body.errors[0].code, c.code, r.text);
      assert.match(r.body.errors[0].message, c.message);
    }
    assert.equal(await taskCount(), count);
    // Without the key: 401, before the body is looked at.
    assert.equal((await rt(node, null, 'POST', id, 'task/batch', { tasks: [ok(1)] })).status, 401);
    assert.equal(await taskCount(), count);
  });

  void it('on a SYNC workflow answers as POST task does', async () => {
    const p = await provisionFlow(node, { mode: 'SYNC', blocks: [{ id: 'u', type: 'js', config: { source: UPPER } }], edges: [] });
    const k = await apiKey(node, [p.id]);
    const single = await rt(node, k, 'POST', p.id, 'task', { text: 'x' });
    const batch = await rt(node, k, 'POST', p.id, 'task/batch', { tasks: [{ input: { text: 'x' } }] });
    assert.equal(batch.status, 400, batch.text);
    assert.equal(batch.status, single.status);
    assert.deepEqual(batch.body, single.body);
    assert.match(batch.body.errors[0].message, /action\/analyze/);
  });
});

void describe('autoscaling', () => {
  void it('scales to zero when idle (usable, ScaledToZero) and wakes on a new task', async () => {
    const p = await provisionFlow(node, {
      mode: 'ASYNC',
      autoscaling: { min_replicas: 0, max_replicas: 2, polling_interval: '50ms', cooldown_period: '200ms' },
      blocks: [{ id: 'upper', type: 'js', config: { source: UPPER } }],
      edges: [],
    });
    const key = await apiKey(node, [p.id]);
    const idle = await waitRuntime(node, key, p.id, (s) => s.reason === 'ScaledToZero');
    assert.equal(idle.usable, true);
    assert.equal(idle.actualStatus, 'ORANGE');
    const svc = idle.details.services.find((s: any) => s.blockId === 'upper');
    assert.equal(svc.actual, 0);
    assert.equal(svc.targetReplicas, 0);
    const sub = await rt(node, key, 'POST', p.id, 'task', { text: 'wake' });
    const done = await rt(node, key, 'GET', p.id, `task/${sub.body.taskId}?wait=20s`);
    assert.equal(done.body.status, 'COMPLETED', done.text);
    assert.deepEqual((await rt(node, key, 'GET', p.id, `task/${sub.body.taskId}/result`)).body, { text: 'WAKE' });
    const executor = (await rt(node, key, 'GET', p.id, 'action/status')).body.details.services[0];
    assert.match(executor.id, /^executor-/);
  });
});

void describe('status stream', () => {
  void it('streams status changes as Server-Sent Events', async () => {
    const p = await provisionFlow(node, {
      mode: 'ASYNC',
      autoscaling: { min_replicas: 0, max_replicas: 1, polling_interval: '50ms', cooldown_period: '300ms' },
      blocks: [{ id: 'upper', type: 'js', config: { source: UPPER } }],
      edges: [],
    });
    const key = await apiKey(node, [p.id]);
    const ac = new AbortController();
    const res = await fetch(`${node.url}/api/v1/runtime/workflow/${p.id}/action/status?watch=true`, {
      headers: { 'x-api-key': key },
      signal: ac.signal,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const dec = new TextDecoder();
    let buf = '';
    const events: any[] = [];
    const next = async (): Promise<boolean> => {
      const { value, done } = await reader.read();
      if (done) return false;
      buf += dec.decode(value, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const chunk = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = chunk.split('\n').find((l) => l.startsWith('data: '));
        if (chunk.startsWith('event: status') && data) events.push(JSON.parse(data.slice(6)));
      }
      return true;
    };
    const deadline = Date.now() + 15_000;
    while (events.length === 0 && Date.now() < deadline) await next();
    // Whatever the first snapshot says, work makes it change: a task wakes the flow, and the
    // cooldown later scales it back to zero; each change arrives as an event.
    const sub = await rt(node, key, 'POST', p.id, 'task', { text: 'x' });
    assert.equal(sub.status, 202);
    while (
      Date.now() < deadline &&
      !(events.length >= 3 && events.at(-1).reason === 'ScaledToZero' && new Set(events.map((e) => e.reason)).size >= 2)
    ) {
      if (!(await next())) break;
    }
    ac.abort();
    assert.ok(events.length >= 3, `got ${events.length} events`);
    assert.equal(events[0].publishingMode, 'ASYNC');
    assert.ok(new Set(events.map((e) => e.reason)).size >= 2, JSON.stringify(events.map((e) => e.reason)));
    assert.ok(events.some((e) => e.reason === 'ScaledToZero'));
  });
});
