/**
 * No poison work, at the Store port, on SQLite and PostgreSQL: every claim of a task or a run
 * counts an attempt durably before any work starts, and a task past its attempts is
 * dead-lettered by the claim itself (ERROR, its output the dead-letter error) instead of being
 * handed out again — whichever way it came back to the queue (a restart's requeue, a lapsed
 * lease, an instance crash's requeue) and however it was first claimed (claim or insert).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Store, TaskDeadLetter } from '../../src/store/store.js';
import type { StoreKind, TestStore } from '../support/store-matrix.js';
import { openTestStore, storeMatrix, withOwnTestStore } from '../support/store-matrix.js';

const T0 = 1_700_000_000_000;
const DAY = 86_400_000;
const LEASE = 1000;
const DEAD: TaskDeadLetter = {
  maxAttempts: 2,
  output: JSON.stringify({ errors: [{ message: 'dead', node: '$executor', code: 'task.dead_lettered', retryable: false }] }),
};

function poisonSuite(kind: StoreKind): void {
  let shared: TestStore;
  let store: Store;
  let seq = 0;
  before(async () => {
    shared = await openTestStore(kind);
    store = shared.store;
  });
  after(() => shared.cleanup());
  const wf = (): string => `wf_${++seq}`;

  /** The orphan sweep acts on every workflow: cases that use it get a store of their own. */
  const withOwnStore = (fn: (s: Store, own: TestStore) => Promise<void>): Promise<void> => withOwnTestStore(kind, fn);

  const create = (
    s: Store,
    workflowId: string,
    taskId: string,
    at = T0,
    claim?: { owner: string; startedAt: number; leaseUntil: number },
  ): Promise<unknown> =>
    s.createTask({ taskId, workflowId, input: '{"x":1}', createdAt: at, expiresAt: at + DAY, ...(claim ? { claim } : {}) });

  /** The owner's process died: its lease lapses and the sweep puts the task back in the queue. */
  const crash = async (s: Store, at: number): Promise<void> => {
    assert.ok((await s.requeueOrphanedTasks('next-process', at + 10 * LEASE)) > 0, 'the sweep requeued the task');
  };

  void describe('tasks', () => {
    void it('the claim past maxAttempts ends the task ERROR with the dead-letter output, in the same statement, whatever came back with it', () =>
      withOwnStore(async (s) => {
        const w = wf();
        await create(s, w, 'poison');
        let at = T0;
        for (let attempt = 1; attempt <= DEAD.maxAttempts; attempt++) {
          const [t] = await s.claimTasks(w, `node-${attempt}`, 10, (at += 1), LEASE, DEAD);
          assert.equal(t?.status, 'RUNNING');
          assert.equal(t?.attempt, attempt, 'counted at claim time, before the work');
          assert.equal((await s.getTask(w, 'poison'))?.attempt, attempt, 'and durably');
          await crash(s, at);
        }
        // A fresh task queued behind it: one claim returns both, the poison one dead-lettered.
        await create(s, w, 'fresh', T0 + 5);
        at += 100 * LEASE;
        const claimed = await s.claimTasks(w, 'node-x', 10, at, LEASE, DEAD);
        assert.deepEqual(
          claimed.map((t) => [t.taskId, t.status, t.attempt]),
          [
            ['poison', 'ERROR', DEAD.maxAttempts],
            ['fresh', 'RUNNING', 1],
          ],
        );
        const dead = claimed[0];
        assert.equal(dead?.owner, undefined, 'a dead-lettered task belongs to nobody');
        assert.equal(dead?.leaseUntil, undefined);
        assert.equal(dead?.finishedAt, at);
        const stored = await s.getTask(w, 'poison', { output: true });
        assert.equal(stored?.status, 'ERROR');
        assert.equal(stored?.attempt, DEAD.maxAttempts, 'not counted again: it did not run');
        assert.equal(stored?.output, DEAD.output);
        assert.equal(stored?.finishedAt, at);
        assert.deepEqual(await s.countTasks(w), { QUEUED: 0, RUNNING: 1, COMPLETED: 0, ERROR: 1, CANCELED: 0 });
        assert.deepEqual(
          await s.completeTasks([{ taskId: 'poison', owner: 'node-x', status: 'COMPLETED', output: '{}', finishedAt: at }]),
          [],
          'no result lands on it',
        );
        assert.deepEqual(await s.claimTasks(w, 'node-y', 10, at + 1, LEASE, DEAD), [], 'never handed out again');
      }));

    void it('a task inserted already claimed (attempt 1) is dead-lettered too; maxAttempts 1 means one try', () =>
      withOwnStore(async (s) => {
        const w = wf();
        await create(s, w, 't', T0, { owner: 'node-a', startedAt: T0, leaseUntil: T0 + LEASE });
        await crash(s, T0);
        const [t] = await s.claimTasks(w, 'node-b', 10, T0 + 20 * LEASE, LEASE, { ...DEAD, maxAttempts: 1 });
        assert.equal(t?.status, 'ERROR');
        assert.equal(t?.attempt, 1);
      }));

    void it('without a dead-letter policy a claim counts attempts and never dead-letters', () =>
      withOwnStore(async (s) => {
        const w = wf();
        await create(s, w, 't');
        for (let attempt = 1; attempt <= 5; attempt++) {
          const [t] = await s.claimTasks(w, 'node-a', 1, T0 + attempt * 100 * LEASE, LEASE);
          assert.deepEqual([t?.status, t?.attempt], ['RUNNING', attempt]);
          await crash(s, T0 + attempt * 100 * LEASE);
        }
      }));

    void it('requeueTasks puts back only RUNNING tasks of that owner, attempt still counted; the next claim counts one more', async () => {
      const w = wf();
      for (const id of ['a', 'b', 'c', 'd']) await create(store, w, `${w}_${id}`);
      const claimed = await store.claimTasks(w, 'node-a', 3, T0 + 1, 60_000, DEAD);
      assert.deepEqual(
        claimed.map((t) => t.taskId),
        [`${w}_a`, `${w}_b`, `${w}_c`],
      );
      await store.cancelTask(w, `${w}_b`, T0 + 2);
      assert.deepEqual(
        await store.completeTasks([{ taskId: `${w}_c`, owner: 'node-a', status: 'COMPLETED', output: '{}', finishedAt: T0 + 3 }]),
        [`${w}_c`],
      );
      assert.deepEqual(await store.requeueTasks('node-b', [`${w}_a`]), [], "another owner's task is not touched");
      const back = await store.requeueTasks('node-a', [`${w}_a`, `${w}_b`, `${w}_c`, `${w}_d`, 'unknown']);
      assert.deepEqual(back, [`${w}_a`], 'canceled, finished, queued and unknown tasks are not touched');
      const a = await store.getTask(w, `${w}_a`);
      assert.equal(a?.status, 'QUEUED');
      assert.equal(a?.attempt, 1);
      assert.equal(a?.owner, undefined);
      assert.equal(a?.startedAt, undefined);
      assert.deepEqual(await store.countTasks(w), { QUEUED: 2, RUNNING: 0, COMPLETED: 1, ERROR: 0, CANCELED: 1 });
      const again = await store.claimTasks(w, 'node-b', 10, T0 + 4, 60_000, DEAD);
      assert.deepEqual(
        again.map((t) => [t.taskId, t.status, t.attempt]),
        [
          [`${w}_a`, 'RUNNING', 2],
          [`${w}_d`, 'RUNNING', 1],
        ],
        'first in, first out: the retried task keeps its place',
      );
      assert.deepEqual(await store.requeueTasks('node-b', [`${w}_a`]), [`${w}_a`]);
      const [dead] = await store.claimTasks(w, 'node-c', 10, T0 + 5, 60_000, DEAD);
      assert.deepEqual([dead?.taskId, dead?.status, dead?.attempt], [`${w}_a`, 'ERROR', 2]);
    });
  });

  void describe('provisioning runs', () => {
    void it('each claim of an orphaned run counts an attempt, durably (reopened store), before anything resumes', () =>
      withOwnStore(async (s, own) => {
        const w = wf();
        assert.equal(
          await s.createWorkflow({ id: w, template: { name: w, description: '', use_case: 'TEST', workflows: {} }, maxWorkflows: 100 }),
          'ok',
        );
        const begun = await s.beginRun({
          workflowId: w,
          runId: `${w}_r`,
          kind: 'provision',
          plan: {},
          params: '',
          owner: 'node-a',
          leaseMs: LEASE,
          startTime: T0,
          allowedStates: ['NOT_STARTED'],
          keepResources: false,
        });
        assert.deepEqual(begun, { ok: true });
        assert.equal((await s.getRun(`${w}_r`))?.attempt, 1, 'a new run is on its first attempt');
        assert.equal(await s.recordStepStarted(`${w}_r`, w, 'slow', 'noop', 1, T0), true);
        const first = await s.claimOrphanedRuns('node-b', T0 + 10 * LEASE, LEASE);
        assert.deepEqual(
          first.map((r) => [r.runId, r.attempt]),
          [[`${w}_r`, 2]],
        );
        // The step re-sent by the resume is recorded as its next attempt.
        assert.equal(await s.recordStepStarted(`${w}_r`, w, 'slow', 'noop', 2, T0 + 10 * LEASE), true);
        assert.equal((await s.getState(w))?.steps.find((st) => st.nodeId === 'slow')?.attempt, 2);
        let reopened = s;
        if (kind === 'sqlite') {
          await s.close();
          reopened = await own.reopen();
        }
        try {
          assert.equal((await reopened.getRun(`${w}_r`))?.attempt, 2, 'the count survives a restart');
          const second = await reopened.claimOrphanedRuns('node-c', T0 + 100 * LEASE, LEASE);
          assert.deepEqual(
            second.map((r) => r.attempt),
            [3],
          );
          assert.equal((await reopened.getRun(`${w}_r`))?.attempt, 3);
          await reopened.finishRun({ runId: `${w}_r`, workflowId: w, state: 'FAILED', error: 'dead-lettered', endTime: T0 + 100 * LEASE });
          assert.deepEqual(
            await reopened.claimOrphanedRuns('node-d', T0 + 1000 * LEASE, LEASE),
            [],
            'a finished run is never claimed again',
          );
        } finally {
          if (reopened !== s) await reopened.close();
        }
      }));
  });
}

const matrix = await storeMatrix();
for (const { kind, skip } of matrix) {
  void describe(`no poison work: the store [${kind}]`, { skip }, () => poisonSuite(kind));
}
