/**
 * Task long-polls (TaskQueue.wait) on a real store: a wake-up ends the wait at once, and one
 * that arrives while the wait is still reading the task is not lost. The re-check interval is
 * set to a minute, so only a working wake-up answers within the test's time.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../src/store/store.js';
import { pino } from 'pino';
import { TaskQueue } from '../src/runtime/task-queue.js';
import { LocalCluster } from '../src/runtime/local-cluster.js';
import { RuntimeEvents } from '../src/runtime/runtime-events.js';
import type { TestStore } from './support/store-matrix.js';
import { openTestStore, storeMatrix } from './support/store-matrix.js';

const DAY = 86_400_000;

for (const { kind, skip } of await storeMatrix()) {
  describe(`task long-polls (${kind})`, { skip }, () => {
    let shared: TestStore;
    let store: Store;
    let tasks: TaskQueue;
    let seq = 0;

    before(async () => {
      shared = await openTestStore(kind);
      store = shared.store;
      const cluster = new LocalCluster({
        nodeId: 'node-a',
        maxInstances: 4,
        version: 'test',
        url: () => 'http://127.0.0.1:0',
        reports: () => ({}),
      });
      tasks = new TaskQueue({
        store,
        logger: pino({ level: 'silent' }),
        events: new RuntimeEvents(),
        cluster,
        owner: 'node-a',
        leaseMs: 60_000,
        maxAttempts: 3,
        ttlMs: DAY,
        shutdownGraceMs: 0,
        requeueMs: 60_000,
        waitRecheckMs: 60_000,
      });
    });
    after(() => shared.cleanup());

    /** A task that another node has claimed and is running. */
    async function running(): Promise<{ wf: string; taskId: string }> {
      const wf = `wf_lp_${++seq}`;
      const taskId = `${wf}_t`;
      const now = Date.now();
      await store.createTask({ taskId, workflowId: wf, input: '{}', createdAt: now, expiresAt: now + DAY });
      const claimed = await store.claimTasks(wf, 'node-b', 1, now, 60_000);
      assert.equal(claimed.length, 1);
      return { wf, taskId };
    }

    const complete = (taskId: string): Promise<string[]> =>
      store.completeTasks([{ taskId, owner: 'node-b', status: 'COMPLETED', output: '{"ok":true}', finishedAt: Date.now() }]);

    it('answers as soon as the task ends and the node is woken', async () => {
      const { wf, taskId } = await running();
      const t0 = Date.now();
      const waiting = tasks.wait(wf, taskId, 10_000);
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(await complete(taskId), [taskId]);
      tasks.wake(taskId);
      const t = await waiting;
      assert.equal(t.status, 'COMPLETED');
      assert.ok(Date.now() - t0 < 5_000, `answered after ${Date.now() - t0} ms`);
    });

    // SQLite answers inside the calling tick, which lets the test put the task's end and the
    // wake-up exactly between the wait's read and its handling of that read.
    it(
      'does not lose a wake-up that arrives while the task is being read (sqlite)',
      { skip: kind !== 'sqlite' && 'needs reads that run in the calling tick' },
      async () => {
        const { wf, taskId } = await running();
        const t0 = Date.now();
        const waiting = tasks.wait(wf, taskId, 3_000); // has read RUNNING; not yet handled
        const completing = complete(taskId); // committed already
        tasks.wake(taskId); // the announcement of the end
        assert.deepEqual(await completing, [taskId]);
        const t = await waiting;
        assert.equal(t.status, 'COMPLETED', `the wait answered ${t.status} after ${Date.now() - t0} ms: the wake-up was lost`);
        assert.ok(Date.now() - t0 < 2_000, `answered after ${Date.now() - t0} ms`);
      },
    );

    it('gives the current state back when the wait ends without a wake-up', async () => {
      const { wf, taskId } = await running();
      const t0 = Date.now();
      const t = await tasks.wait(wf, taskId, 300);
      assert.equal(t.status, 'RUNNING');
      assert.ok(Date.now() - t0 >= 290, `returned after ${Date.now() - t0} ms`);
    });

    it('ends the wait when the caller gives up', async () => {
      const { wf, taskId } = await running();
      const ac = new AbortController();
      const waiting = tasks.wait(wf, taskId, 30_000, ac.signal);
      setTimeout(() => ac.abort(), 100);
      const t0 = Date.now();
      const t = await waiting;
      assert.equal(t.status, 'RUNNING');
      assert.ok(Date.now() - t0 < 5_000, `returned after ${Date.now() - t0} ms`);
    });
  });
}
