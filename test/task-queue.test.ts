/**
 * The TaskQueue without HTTP, on a real store (both kinds), a LocalCluster and real
 * worker-thread instances: what it refuses, its one decision of whether a new task is stored
 * RUNNING (started at once) or QUEUED, running to COMPLETED, long-polls woken by the end of a
 * task (the re-check is a minute here), cancel, the all-in-one mode, and a restarted node
 * requeueing and finishing what a dead process left RUNNING.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowdError } from '../src/errors.js';
import type { Store } from '../src/store/store.js';
import type { TestStore } from './support/store-matrix.js';
import { openTestStore, storeMatrix } from './support/store-matrix.js';
import { asyncFlow, blockDir, publishSignal, runtimeParts, syncFlow } from './support/runtime-parts.js';
import type { RuntimeParts } from './support/runtime-parts.js';

const DAY = 86_400_000;

for (const { kind, skip } of await storeMatrix()) {
  void describe(`task queue (${kind})`, { skip }, () => {
    let shared: TestStore;
    let store: Store;
    let parts: RuntimeParts;
    const blocks = blockDir();
    let seq = 0;
    const wf = (): string => `wf_tq_${kind}_${++seq}`;

    /** An ASYNC flow of one block taking one task at a time. */
    async function published(): Promise<string> {
      const id = wf();
      await parts.publications.publish(id, asyncFlow(blocks.sleepy), publishSignal());
      return id;
    }

    before(async () => {
      shared = await openTestStore(kind);
      store = shared.store;
      parts = runtimeParts(store, { customBlockDirs: [blocks.dir] });
      await parts.tasks.start();
      await parts.publications.restore();
    });
    after(async () => {
      await parts.close();
      await shared.cleanup();
      blocks.cleanup();
    });

    void it('refuses tasks for a flow that is not published, or published SYNC', async () => {
      await assert.rejects(
        parts.tasks.submit('wf_nowhere', {}, {}),
        (e: FlowdError) => e.status === 404 && e.code === 'runtime.not_published',
      );
      const id = wf();
      await parts.publications.publish(id, syncFlow(), publishSignal());
      await assert.rejects(parts.tasks.submit(id, {}, {}), (e: FlowdError) => e.status === 400 && e.code === 'runtime.not_async');
    });

    void it('stores a task RUNNING when the runner has room, QUEUED behind it otherwise, and runs all to COMPLETED', async () => {
      const id = await published();
      const res = await parts.tasks.submitMany(
        id,
        [{ input: { ms: 300, tag: 'a' } }, { input: { ms: 10, tag: 'b' } }, { input: { ms: 10, tag: 'c' } }],
        {},
      );
      assert.deepEqual(
        res.map((r) => [r.created, r.task.status]),
        [
          [true, 'RUNNING'],
          [true, 'QUEUED'],
          [true, 'QUEUED'],
        ],
      );
      assert.equal(res[0]?.task.startedAt !== undefined, true, 'started when stored, no claim');
      for (const [i, r] of res.entries()) {
        const t = await parts.tasks.wait(id, r.task.taskId, 15_000);
        assert.equal(t.status, 'COMPLETED', `task ${i}`);
        const { output } = await parts.tasks.result(id, r.task.taskId);
        assert.deepEqual(output, { slept: i === 0 ? 300 : 10, tag: ['a', 'b', 'c'][i] });
      }
      // Nothing queued ahead and the runner free: the next one starts at once again.
      const next = await parts.tasks.submit(id, { ms: 1 }, {});
      assert.equal(next.task.status, 'RUNNING');
    });

    void it('returns the first task for a repeated idempotency key', async () => {
      const id = await published();
      const a = await parts.tasks.submit(id, { ms: 1, tag: 'x' }, { idempotencyKey: 'k1' });
      const b = await parts.tasks.submit(id, { ms: 1, tag: 'y' }, { idempotencyKey: 'k1' });
      assert.equal(a.created, true);
      assert.equal(b.created, false);
      assert.equal(b.task.taskId, a.task.taskId);
    });

    void it('answers a long-poll when the task ends, not at the re-check', async () => {
      const id = await published();
      const { task } = await parts.tasks.submit(id, { ms: 400 }, {});
      const t0 = Date.now();
      const t = await parts.tasks.wait(id, task.taskId, 30_000);
      assert.equal(t.status, 'COMPLETED');
      assert.ok(Date.now() - t0 < 10_000, `answered after ${Date.now() - t0} ms`);
    });

    void it('cancels a running task: the run is aborted, the row removed, the slot freed', async () => {
      const id = await published();
      const { task } = await parts.tasks.submit(id, { ms: 20_000 }, {});
      assert.equal(task.status, 'RUNNING');
      const waiting = parts.tasks.wait(id, task.taskId, 30_000);
      const gone = await parts.tasks.delete(id, task.taskId);
      assert.equal(gone.status, 'CANCELED');
      // The long-poll hears of it at once: its re-read finds the task CANCELED, or gone already.
      const t0 = Date.now();
      const outcome = await waiting.then(
        (t) => t.status,
        (e: FlowdError) => e.code,
      );
      assert.ok(outcome === 'CANCELED' || outcome === 'task.not_found', outcome);
      assert.ok(Date.now() - t0 < 10_000, `the long-poll answered after ${Date.now() - t0} ms`);
      await assert.rejects(parts.tasks.get(id, task.taskId), (e: FlowdError) => e.status === 404);
      const deadline = Date.now() + 10_000;
      let next = await parts.tasks.submit(id, { ms: 1 }, {});
      while (next.task.status !== 'RUNNING' && Date.now() < deadline) {
        await parts.tasks.wait(id, next.task.taskId, 10_000);
        next = await parts.tasks.submit(id, { ms: 1 }, {});
      }
      assert.equal(next.task.status, 'RUNNING', 'the canceled run gave its slot back');
    });

    void it('runs a task all in one: submit, wait, read, delete', async () => {
      const id = await published();
      const r = await parts.tasks.runAllInOne(id, { ms: 5, tag: 'once' }, { timeoutMs: 15_000 });
      assert.deepEqual(r, { ok: true, output: { slept: 5, tag: 'once' } });
      assert.deepEqual((await parts.tasks.list(id, { limit: 10 })).tasks, []);
    });

    void it('requeues at start what a dead process left RUNNING, and runs it', async () => {
      const id = await published();
      const taskId = `${id}_orphan`;
      const now = Date.now();
      await store.createTask({
        taskId,
        workflowId: id,
        input: JSON.stringify({ ms: 1, tag: 'orphan' }),
        createdAt: now,
        expiresAt: now + DAY,
      });
      // Claimed by a process that then died; its lease ran out.
      assert.equal((await store.claimTasks(id, 'node-dead~1', 1, now - 60_000, 1)).length, 1);
      await parts.close();
      parts = runtimeParts(store, { customBlockDirs: [blocks.dir] });
      await parts.tasks.start();
      await parts.publications.restore();
      const t = await parts.tasks.wait(id, taskId, 15_000);
      assert.equal(t.status, 'COMPLETED');
      assert.deepEqual((await parts.tasks.result(id, taskId)).output, { slept: 1, tag: 'orphan' });
    });
  });
}
