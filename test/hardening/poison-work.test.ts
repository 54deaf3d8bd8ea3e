/**
 * No poison work: a task or a provisioning run whose attempts keep ending the instance or the
 * node running it is counted, durably, at claim time, and after `maxAttempts` (here 2) it ends
 * dead-lettered (task: ERROR `task.dead_lettered`; run: FAILED `run.dead_lettered`) while the
 * node stays up and serves other work. Covered through every way an attempt can end without a
 * result: the whole node killed (kill -9, restart, again: real processes), and the instance
 * crashing under it (in-process, several ways). A block that merely throws is not a crash: its
 * task ends ERROR at once, on its first attempt.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FF, httpRequest, startTestNode, template } from '../support/flowd-harness.js';
import type { TestNode } from '../support/flowd-harness.js';
import type { FlowdProcess } from '../support/flowd-process.js';
import { spawnFlowd } from '../support/flowd-process.js';
import { ResourceServer, thingNode } from '../support/resource-server.js';
import { apiKey, provisionFlow, rt } from '../support/runtime-client.js';

const MAX_ATTEMPTS = 2;
/** Env of every spawned node: two attempts, and the local test servers reachable. */
const ENV = { FLOWD_MAX_ATTEMPTS: String(MAX_ATTEMPTS), FLOWD_OUTBOUND_ALLOW_PRIVATE: 'true' };

async function until<T>(what: string, read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function kill9(p: FlowdProcess): Promise<void> {
  p.child.kill('SIGKILL');
  await p.exited;
}

/** The node answers, and a harmless task of `id` completes on it. */
async function servesTasks(url: string, id: string, key: string, input: Record<string, unknown>): Promise<void> {
  const health = await httpRequest(url, 'GET', '/_flowd/health');
  assert.equal(health.status, 200, health.text);
  const sub = await httpRequest(url, 'POST', `/api/v1/runtime/workflow/${id}/task`, {
    auth: null,
    headers: { 'x-api-key': key },
    body: input,
  });
  assert.equal(sub.status, 202, sub.text);
  const done = await httpRequest(url, 'GET', `/api/v1/runtime/workflow/${id}/task/${sub.body.taskId as string}?wait=60s`, {
    auth: null,
    headers: { 'x-api-key': key },
  });
  assert.equal(done.body.status, 'COMPLETED', done.text);
}

void describe('a task whose attempts keep killing the node (kill -9, restart, again)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'flowd-poison-task-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  void it(`is dead-lettered after ${MAX_ATTEMPTS} attempts instead of running again; the node stays up and serves other tasks`, async () => {
    const dataDir = join(dir, 'data');
    let p = await spawnFlowd(dataDir, ENV);
    try {
      // A js block that spins for as long as `input.spinMs` says (the block timeout is longer).
      const created = await httpRequest(p.url, 'POST', `${FF}?provision=true&wait_for_completion_timeout=60s`, {
        body: {
          name: 'poison-task',
          flow: {
            mode: 'ASYNC',
            autoscaling: { preset: 'disabled' },
            blocks: [
              {
                id: 'spin',
                type: 'js',
                timeout: '10m',
                config: {
                  source:
                    'function process(input) { const end = Date.now() + input.spinMs; while (Date.now() < end) {} return { spun: input.spinMs }; }',
                },
              },
            ],
            edges: [],
          },
        },
      });
      assert.equal(created.body.state, 'COMPLETED', created.text);
      const id = created.body.workflow_id as string;
      const key = (await httpRequest(p.url, 'POST', '/_flowd/api_keys', { body: { name: 'k', workflow_ids: [id] } })).body.key as string;
      const task = (url: string, path: string, body?: unknown): ReturnType<typeof httpRequest> =>
        httpRequest(url, body === undefined ? 'GET' : 'POST', `/api/v1/runtime/workflow/${id}/${path}`, {
          auth: null,
          headers: { 'x-api-key': key },
          ...(body !== undefined ? { body } : {}),
        });
      const sub = await task(p.url, 'task', { spinMs: 600_000 });
      assert.equal(sub.status, 202, sub.text);
      const taskId = sub.body.taskId as string;

      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const url = p.url;
        await until(
          `attempt ${attempt} to be running`,
          async () => (await task(url, `task/${taskId}`)).body,
          (t) => t.status === 'RUNNING' && t.attempt === attempt,
        );
        await kill9(p);
        p = await spawnFlowd(dataDir, ENV);
      }
      const url = p.url;
      const end = await until(
        `the task to end`,
        async () => (await task(url, `task/${taskId}`)).body,
        (t) => t.status !== 'RUNNING' && t.status !== 'QUEUED',
      );
      assert.equal(end.status, 'ERROR', JSON.stringify(end));
      assert.equal(end.attempt, MAX_ATTEMPTS, 'not started a third time');
      const result = await task(url, `task/${taskId}/result`);
      const err = result.body.errors?.[0];
      assert.equal(err?.code, 'task.dead_lettered', result.text);
      assert.match(
        err.message,
        new RegExp(
          `attempted ${MAX_ATTEMPTS} times and each attempt ended the instance or the node running it; it was dead-lettered\\. Fix the input or the block and submit again\\.`,
        ),
      );
      assert.ok(
        p.logs.some((l) => l.includes('task dead-lettered')),
        'the node says so in its log',
      );
      await servesTasks(url, id, key, { spinMs: 1 });
      // Still up a moment later, and a restart does not bring the poison task back.
      await kill9(p);
      p = await spawnFlowd(dataDir, ENV);
      assert.equal((await task(p.url, `task/${taskId}`)).body.status, 'ERROR');
      await servesTasks(p.url, id, key, { spinMs: 1 });
    } finally {
      await kill9(p);
    }
  });
});

void describe('a provisioning run whose attempts keep killing the node (kill -9 during a step, restart, again)', () => {
  let api: ResourceServer;
  /** A remote that never answers (no timer either: closing it ends every request it holds). */
  let hanging: Server;
  let hangingUrl: string;
  let hangingPaths: string[];
  let dir: string;
  before(async () => {
    api = new ResourceServer();
    await api.start();
    hangingPaths = [];
    hanging = createServer((req) => void hangingPaths.push(req.url ?? ''));
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const addr = hanging.address();
    hangingUrl = typeof addr === 'object' && addr !== null ? `http://127.0.0.1:${addr.port}` : '';
    dir = mkdtempSync(join(tmpdir(), 'flowd-poison-run-'));
  });
  after(async () => {
    await api.close();
    hanging.closeAllConnections();
    await new Promise<void>((resolve) => hanging.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  void it(`ends FAILED run.dead_lettered after ${MAX_ATTEMPTS} attempts; the re-sent step reports its attempt; the node stays up`, async () => {
    const dataDir = join(dir, 'data');
    let p = await spawnFlowd(dataDir, ENV);
    try {
      const nodes = [thingNode(api.url, 'first'), thingNode(hangingUrl, 'slow', { node_timeout: '10m' }, { first: 'id' })];
      const created = await httpRequest(p.url, 'POST', `${FF}?provision=true`, {
        body: template(nodes, [{ source: 'first', dest: 'slow' }]),
      });
      assert.equal(created.status, 202, created.text);
      const id = created.body.workflow_id as string;
      const status = (url: string): Promise<any> => httpRequest(url, 'GET', `${FF}/${id}/_status?all=true`).then((r) => r.body);
      const slowSent = (): number => hangingPaths.filter((path) => path.startsWith('/things/slow')).length;

      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const url = p.url;
        await until(
          `the slow step's attempt ${attempt} to be in flight`,
          () => status(url),
          (s) => slowSent() === attempt && s.steps?.some((st: any) => st.id === 'slow' && st.state === 'RUNNING'),
        );
        const slow = (await status(url)).steps.find((st: any) => st.id === 'slow');
        assert.equal(slow.attempt, attempt, 'a step re-sent after a crash reports its attempt');
        await kill9(p);
        p = await spawnFlowd(dataDir, ENV);
      }
      const url = p.url;
      const s = await until(
        'the run to end',
        () => status(url),
        (st) => st.state !== 'PROVISIONING',
      );
      assert.equal(s.state, 'FAILED', JSON.stringify(s));
      assert.equal(s.provisioning_progress, 'FAILED');
      assert.match(s.error, /run\.dead_lettered/);
      assert.match(
        s.error,
        new RegExp(
          `^WorkflowStepException during step slow, The provisioning run was attempted ${MAX_ATTEMPTS} times and each attempt ended the node running it`,
        ),
      );
      const slow = s.steps.find((st: any) => st.id === 'slow');
      assert.equal(slow.state, 'FAILED');
      assert.equal(slow.error, s.error);
      assert.equal(slow.attempt, MAX_ATTEMPTS);
      assert.equal(slowSent(), MAX_ATTEMPTS, 'not sent a third time');
      assert.deepEqual(
        s.resources_created.map((r: any) => r.workflow_step_id),
        ['first'],
        'what the run created stays recorded, for deprovision',
      );
      assert.equal(api.creations.filter((c) => c.name === 'first').length, 1, 'the completed step never ran again');
      assert.ok(p.logs.some((l) => l.includes('provisioning run dead-lettered')));
      // The node is up: another workflow provisions, and this one deprovisions and provisions again.
      const other = await httpRequest(p.url, 'POST', `${FF}?provision=true&wait_for_completion_timeout=60s`, {
        body: template([thingNode(api.url, 'other')]),
      });
      assert.equal(other.body.state, 'COMPLETED', other.text);
      const dep = await httpRequest(p.url, 'POST', `${FF}/${id}/_deprovision`);
      assert.equal(dep.status, 200, dep.text);
      // Restarting finds nothing to resume.
      await kill9(p);
      p = await spawnFlowd(dataDir, ENV);
      assert.ok(
        p.logs.some((l) => l.includes('"resumedRuns":0')),
        'nothing left to resume',
      );
      assert.equal(slowSent(), MAX_ATTEMPTS);
    } finally {
      await kill9(p);
    }
  });
});

void describe('a task whose run crashes its instance (in-process)', () => {
  let node: TestNode;
  let moduleDir: string;
  before(async () => {
    node = await startTestNode({ maxAttempts: MAX_ATTEMPTS });
    moduleDir = mkdtempSync(join(tmpdir(), 'flowd-poison-mod-'));
  });
  after(async () => {
    await node.close();
    rmSync(moduleDir, { recursive: true, force: true });
  });

  async function asyncFlow(block: Record<string, unknown>): Promise<{ id: string; key: string }> {
    const p = await provisionFlow(node, { mode: 'ASYNC', autoscaling: { preset: 'disabled' }, blocks: [block], edges: [] });
    assert.equal(p.status.state, 'COMPLETED', JSON.stringify(p.status));
    return { id: p.id, key: await apiKey(node, [p.id]) };
  }

  async function runTask(id: string, key: string, input: Record<string, unknown>): Promise<{ task: any; result: any }> {
    const sub = await rt(node, key, 'POST', id, 'task', input);
    assert.equal(sub.status, 202, sub.text);
    const task = (await rt(node, key, 'GET', id, `task/${sub.body.taskId as string}?wait=60s`)).body;
    const result = (await rt(node, key, 'GET', id, `task/${sub.body.taskId as string}/result`)).body;
    return { task, result };
  }

  // Ways a run can take its instance down with it.
  const customCrash = (): string => {
    const file = join(moduleDir, 'crash.mjs');
    writeFileSync(file, 'export function process(input) { if (input.crash) globalThis.process.exit(7); return { ok: true }; }\n');
    return file;
  };
  const crashers: Array<{ name: string; block: () => Record<string, unknown>; code: string }> = [
    {
      name: 'a js block leaving an unhandled rejection of a promise without a prototype',
      block: () => ({
        id: 'b',
        type: 'js',
        config: {
          source:
            'function process(input) { if (input.crash) { const p = Promise.reject(new Error("boom")); Object.setPrototypeOf(p, null); } ' +
            'if (input.fail) throw new Error("bad input"); return { ok: true }; }',
        },
      }),
      code: 'instance.crashed',
    },
    {
      name: 'a custom block ending its thread',
      block: () => ({ id: 'b', type: 'custom', config: { module: customCrash() } }),
      code: 'instance.crashed',
    },
  ];

  for (const c of crashers) {
    void it(`${c.name}: retried up to the limit, then ERROR task.dead_lettered; other tasks still run`, async () => {
      const { id, key } = await asyncFlow(c.block());
      const { task, result } = await runTask(id, key, { crash: true });
      assert.equal(task.status, 'ERROR', JSON.stringify(task));
      assert.equal(task.attempt, MAX_ATTEMPTS, 'each crash counted, each attempt a fresh claim');
      assert.equal(result.errors[0].code, 'task.dead_lettered', JSON.stringify(result));
      assert.equal(result.errors[0].retryable, false);
      assert.match(result.errors[0].message, /each attempt ended the instance or the node running it; it was dead-lettered/);
      assert.equal(result.errors[1]?.code, c.code, 'the last crash is reported after it');
      const ok = await runTask(id, key, { crash: false });
      assert.equal(ok.task.status, 'COMPLETED', JSON.stringify(ok));
      assert.equal(ok.task.attempt, 1);
      const health = await node.request('GET', '/_flowd/health');
      assert.equal(health.status, 200);
    });
  }

  void it('a block that throws is not a crash: ERROR at once, on the first attempt, not dead-lettered', async () => {
    const { id, key } = await asyncFlow(crashers[0]?.block() ?? {});
    const { task, result } = await runTask(id, key, { fail: true });
    assert.equal(task.status, 'ERROR');
    assert.equal(task.attempt, 1);
    assert.notEqual(result.errors[0].code, 'task.dead_lettered', JSON.stringify(result));
    assert.match(result.errors[0].message, /bad input/);
  });
});
