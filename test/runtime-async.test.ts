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
import { startTestNode } from './support/flowd-harness.js';
import type { TestNode } from './support/flowd-harness.js';
import { apiKey, provisionFlow, rt, waitRuntime } from './support/runtime-client.js';

const UPPER = 'function process(input) { return { text: input.text.toUpperCase() }; }';

/** A custom block that waits `input.ms` (honouring cancellation) then echoes. */
function sleepyModule(): string {
  const dir = mkdtempSync(join(tmpdir(), 'flowd-sleepy-'));
  const file = join(dir, 'sleepy.mjs');
  writeFileSync(file, `export async function process(input) { await new Promise((r) => setTimeout(r, input.ms ?? 0)); return { slept: input.ms ?? 0, tag: input.tag ?? null }; }\n`);
  return file;
}

let node: TestNode;
before(async () => {
  node = await startTestNode();
});
after(async () => {
  await node.close();
});

void describe('tasks', () => {
  let id: string;
  let key: string;
  before(async () => {
    const p = await provisionFlow(node, {
      mode: 'ASYNC',
      autoscaling: { preset: 'disabled' },
      blocks: [{ id: 'sleepy', type: 'custom', replicas: 1, consumers: 4, config: { module: sleepyModule() } }],
      edges: [],
    });
    assert.equal(p.status.state, 'COMPLETED', JSON.stringify(p.status));
    id = p.id;
    key = await apiKey(node, [id]);
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
    const res = await fetch(`${node.url}/api/v1/runtime/workflow/${p.id}/action/status?watch=true`, { headers: { 'x-api-key': key }, signal: ac.signal });
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
    while (Date.now() < deadline && !(events.length >= 3 && events.at(-1).reason === 'ScaledToZero' && new Set(events.map((e) => e.reason)).size >= 2)) {
      if (!(await next())) break;
    }
    ac.abort();
    assert.ok(events.length >= 3, `got ${events.length} events`);
    assert.equal(events[0].publishingMode, 'ASYNC');
    assert.ok(new Set(events.map((e) => e.reason)).size >= 2, JSON.stringify(events.map((e) => e.reason)));
    assert.ok(events.some((e) => e.reason === 'ScaledToZero'));
  });
});
