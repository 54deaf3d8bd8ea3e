/**
 * Durable tasks and publications through the Store port, as a matrix: every case runs on SQLite
 * (a real file) and on PostgreSQL (a real server, a fresh schema per suite). Cases that hold
 * for one engine only say so in their name.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Store, TaskRecord, TaskStatus } from '../src/store/store.js';
import type { StoreKind, TestStore } from './support/store-matrix.js';
import { openTestStore, storeMatrix } from './support/store-matrix.js';
import { SQLITE_MIGRATIONS } from '../src/store/sqlite/sqlite-migrations.js';

/** Both dialects share the numbering (store-symmetry.test.ts checks it). */
const LATEST_SCHEMA = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1]?.version;

const T0 = 1_700_000_000_000;
const DAY = 86_400_000;

const ok = (taskId: string, owner = 'node-a', output = '{"ok":true}') => ({
  taskId,
  owner,
  status: 'COMPLETED' as const,
  output,
  finishedAt: T0 + 1000,
});

function taskStoreSuite(kind: StoreKind): void {
  let shared: TestStore;
  let store: Store;
  let wfSeq = 0;

  before(async () => {
    shared = await openTestStore(kind);
    store = shared.store;
  });
  after(() => shared.cleanup());

  /** A fresh workflow id per test keeps tests independent on one store. */
  const wf = (): string => `wf_${++wfSeq}`;
  /** Another store on the shared one's file / schema (a second node, on PostgreSQL). */
  const reopen = (): Promise<Store> => shared.reopen();

  /** Requeueing and the expiry sweep act on every workflow: tests of them get a store of their own. */
  async function withOwnStore(fn: () => Promise<void>): Promise<void> {
    const own = await openTestStore(kind);
    store = own.store;
    try {
      await fn();
    } finally {
      store = shared.store;
      await own.cleanup();
    }
  }

  async function create(workflowId: string, n: number, opts: { at?: number; prefix?: string } = {}): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const taskId = `${opts.prefix ?? workflowId}_t${i}`;
      const at = (opts.at ?? T0) + i;
      const r = await store.createTask({ taskId, workflowId, input: JSON.stringify({ i }), createdAt: at, expiresAt: at + DAY });
      assert.equal(r.created, true);
      ids.push(taskId);
    }
    return ids;
  }

  /** What countTasks must say, computed by listing every task. */
  async function countByListing(workflowId: string): Promise<Record<TaskStatus, number>> {
    const c: Record<TaskStatus, number> = { QUEUED: 0, RUNNING: 0, COMPLETED: 0, ERROR: 0, CANCELED: 0 };
    let after: string | undefined;
    do {
      const page = await store.listTasks(workflowId, { limit: 7, ...(after ? { after } : {}) });
      for (const t of page.tasks) c[t.status]++;
      after = page.next;
    } while (after);
    return c;
  }

  void describe('createTask', () => {
    void it('queues a task and returns it with its input only when asked', async () => {
      const w = wf();
      const r = await store.createTask({
        taskId: 't1',
        workflowId: w,
        input: '{"text":"hi"}',
        correlationId: 'corr-1',
        createdAt: T0,
        expiresAt: T0 + DAY,
      });
      assert.equal(r.created, true);
      assert.deepEqual(r.task, {
        taskId: 't1',
        workflowId: w,
        status: 'QUEUED',
        attempt: 0,
        correlationId: 'corr-1',
        createdAt: T0,
        expiresAt: T0 + DAY,
      });
      assert.deepEqual(await store.getTask(w, 't1'), r.task);
      assert.equal((await store.getTask(w, 't1', { input: true }))?.input, '{"text":"hi"}');
      assert.equal(await store.getTask('other-workflow', 't1'), undefined, 'a task belongs to its workflow');
    });

    void it('is idempotent per (workflow, Idempotency-Key)', async () => {
      const w = wf();
      const first = await store.createTask({
        taskId: 'a1',
        workflowId: w,
        input: '{}',
        idempotencyKey: 'k1',
        createdAt: T0,
        expiresAt: T0 + DAY,
      });
      const again = await store.createTask({
        taskId: 'a2',
        workflowId: w,
        input: '{"x":1}',
        idempotencyKey: 'k1',
        createdAt: T0 + 5,
        expiresAt: T0 + DAY,
      });
      assert.equal(again.created, false);
      assert.equal(again.task.taskId, 'a1');
      assert.equal(again.task.idempotencyKey, 'k1');
      assert.equal(await store.getTask(w, 'a2'), undefined);
      const otherWf = await store.createTask({
        taskId: 'a3',
        workflowId: wf(),
        input: '{}',
        idempotencyKey: 'k1',
        createdAt: T0,
        expiresAt: T0 + DAY,
      });
      assert.equal(otherWf.created, true, 'the same key on another workflow is another task');
      assert.equal(first.created, true);
      assert.equal((await store.countTasks(w)).QUEUED, 1);
    });
  });

  void describe('grouped writes', () => {
    void it('commits concurrent creates together; a failing one fails alone', async () => {
      const w = wf();
      const mk = (taskId: string, idempotencyKey?: string) =>
        store.createTask({
          taskId,
          workflowId: w,
          input: '{}',
          createdAt: T0,
          expiresAt: T0 + DAY,
          ...(idempotencyKey ? { idempotencyKey } : {}),
        });
      const results = await Promise.allSettled([mk('g1'), mk('g2', 'same'), mk('g1'), mk('g3', 'same'), mk('g4')]);
      assert.deepEqual(
        results.map((r) => (r.status === 'fulfilled' ? `${r.value.task.taskId}:${r.value.created}` : 'rejected')),
        ['g1:true', 'g2:true', 'rejected', 'g2:false', 'g4:true'],
        'a duplicate task id is refused; the same idempotency key in one group finds the first',
      );
      assert.deepEqual(
        (await store.listTasks(w, { limit: 10 })).tasks.map((t) => t.taskId),
        ['g1', 'g2', 'g4'],
      );
      assert.deepEqual(await store.countTasks(w), { QUEUED: 3, RUNNING: 0, COMPLETED: 0, ERROR: 0, CANCELED: 0 });
      const [del, cancel] = await Promise.all([store.deleteTask(w, 'g1'), store.cancelTask(w, 'g2', T0 + 1), store.deleteTask(w, 'nope')]);
      assert.equal(del, true);
      assert.equal(cancel?.status, 'CANCELED');
      assert.deepEqual(await store.countTasks(w), await countByListing(w));
    });
  });

  void describe('claimTasks / completeTasks', () => {
    void it('claims the oldest queued tasks first, in batches, under a lease', async () => {
      const w = wf();
      const ids = await create(w, 5);
      const first = await store.claimTasks(w, 'node-a', 2, T0 + 100, 30_000);
      assert.deepEqual(
        first.map((t) => t.taskId),
        ids.slice(0, 2),
      );
      for (const t of first) {
        assert.equal(t.status, 'RUNNING');
        assert.equal(t.attempt, 1);
        assert.equal(t.startedAt, T0 + 100);
        assert.equal(t.owner, 'node-a');
        assert.equal(t.leaseUntil, T0 + 100 + 30_000);
      }
      assert.deepEqual(JSON.parse(first[1]!.input), { i: 1 });
      const rest = await store.claimTasks(w, 'node-a', 10, T0 + 200, 30_000);
      assert.deepEqual(
        rest.map((t) => t.taskId),
        ids.slice(2),
      );
      assert.deepEqual(await store.claimTasks(w, 'node-a', 10, T0 + 300, 30_000), []);
      assert.deepEqual(await store.claimTasks(wf(), 'node-a', 10, T0 + 300, 30_000), [], 'only the asked workflow');
    });

    void it('completes each task exactly once, only by its owner, never after a cancel', async () => {
      const w = wf();
      const [a, b, c, d] = (await create(w, 4)) as [string, string, string, string];
      await store.claimTasks(w, 'node-a', 4, T0 + 10, 30_000);
      assert.ok(await store.cancelTask(w, c, T0 + 20));
      const done = await store.completeTasks([
        ok(a),
        { taskId: b, owner: 'node-a', status: 'ERROR', output: '{"errors":[{"message":"boom","node":"x"}]}', finishedAt: T0 + 30 },
        ok(c), // canceled meanwhile
        ok(d, 'node-b'), // not the owner
        ok(a), // twice in one batch
        ok('no-such-task'),
      ]);
      assert.deepEqual(done, [a, b]);
      assert.deepEqual(await store.completeTasks([ok(a), ok(b)]), [], 'a second completion changes nothing');

      const ta = await store.getTask(w, a, { output: true });
      assert.equal(ta?.status, 'COMPLETED');
      assert.equal(ta?.output, '{"ok":true}');
      assert.equal(ta?.finishedAt, T0 + 1000);
      assert.equal(ta?.leaseUntil, undefined);
      const tb = await store.getTask(w, b, { output: true });
      assert.equal(tb?.status, 'ERROR');
      assert.match(tb?.output ?? '', /boom/);
      const tc = await store.getTask(w, c, { output: true });
      assert.equal(tc?.status, 'CANCELED');
      assert.equal(tc?.output, undefined);
      assert.equal((await store.getTask(w, d))?.status, 'RUNNING');
      assert.deepEqual(await store.completeTasks([ok(d)]), [d]);
      assert.deepEqual(await store.countTasks(w), { QUEUED: 0, RUNNING: 0, COMPLETED: 2, ERROR: 1, CANCELED: 1 });
    });

    void it('never completes a deleted task', async () => {
      const w = wf();
      const [a] = (await create(w, 1)) as [string];
      await store.claimTasks(w, 'node-a', 1, T0, 30_000);
      assert.equal(await store.deleteTask(w, a), true);
      assert.deepEqual(await store.completeTasks([ok(a)]), []);
      assert.equal(await store.getTask(w, a), undefined);
    });
  });

  void describe('leases and orphans', () => {
    void it('requeues tasks whose lease expired, keeping their place in line', () =>
      withOwnStore(async () => {
        const w = wf();
        const [a, b, c] = (await create(w, 3)) as [string, string, string];
        await store.claimTasks(w, 'me', 3, T0, 10_000);
        await store.renewTaskLeases(w, 'me', T0 + 5_000, 10_000); // now until T0 + 15s
        assert.equal((await store.getTask(w, b))?.leaseUntil, T0 + 15_000);
        assert.equal(await store.requeueOrphanedTasks('me', T0 + 12_000), 0, 'leases still running');
        assert.equal(await store.requeueOrphanedTasks('me', T0 + 20_000), 3, 'our own leases lapsed');
        const ta = await store.getTask(w, a);
        assert.equal(ta?.status, 'QUEUED');
        assert.equal(ta?.owner, undefined);
        assert.equal(ta?.startedAt, undefined);
        assert.equal(ta?.leaseUntil, undefined);
        assert.deepEqual(await store.completeTasks([ok(b, 'me')]), [], 'a requeued task cannot be completed by its former claim');

        const again = await store.claimTasks(w, 'me', 5, T0 + 21_000, 10_000);
        assert.deepEqual(
          again.map((t) => t.taskId),
          [a, b, c],
          'requeued tasks keep their place in line',
        );
        assert.deepEqual(
          again.map((t) => t.attempt),
          [2, 2, 2],
        );
        assert.deepEqual(await store.completeTasks([ok(a, 'me'), ok(b, 'me'), ok(c, 'me')]), [a, b, c]);
        assert.equal(await store.requeueOrphanedTasks('me', T0 + 99_000), 0, 'finished tasks are never requeued');
      }));

    void it("renews only the given workflow's leases, and requeues lapsed ones in every workflow", () =>
      withOwnStore(async () => {
        const ws = [wf(), wf(), wf()];
        for (const w of ws) {
          await create(w, 2);
          await store.claimTasks(w, 'me', 2, T0, 10_000); // until T0 + 10s
        }
        await store.renewTaskLeases(ws[1] as string, 'me', T0 + 8_000, 10_000); // ws[1]: until T0 + 18s
        for (const [i, w] of ws.entries()) {
          const [t] = (await store.listTasks(w, { limit: 1 })).tasks;
          assert.equal(t?.leaseUntil, i === 1 ? T0 + 18_000 : T0 + 10_000, `workflow ${i}`);
        }
        assert.equal(await store.requeueOrphanedTasks('me', T0 + 12_000), 4, 'the lapsed leases of the other two workflows');
        assert.deepEqual(await Promise.all(ws.map(async (w) => (await store.countTasks(w)).QUEUED)), [2, 0, 2]);
      }));

    if (kind === 'sqlite') {
      void it('SQLite only: also requeues RUNNING tasks of another owner, a process that died (one process owns the file)', () =>
        withOwnStore(async () => {
          const w = wf();
          const [a, b] = (await create(w, 2)) as [string, string];
          await store.claimTasks(w, 'old-node', 1, T0, 10_000); // a: owned by a process that died
          await store.claimTasks(w, 'me', 1, T0, 10_000); // b: ours
          assert.equal(await store.requeueOrphanedTasks('me', T0 + 1_000), 1, "only the dead owner's task");
          assert.equal((await store.getTask(w, a))?.status, 'QUEUED');
          assert.equal((await store.getTask(w, b))?.status, 'RUNNING');
          assert.deepEqual(await store.completeTasks([ok(a, 'old-node')]), [], 'the dead owner cannot complete it any more');
        }));
    }

    if (kind === 'postgres') {
      void it("PostgreSQL only: leaves a live other node's tasks alone until their lease expires", () =>
        withOwnStore(async () => {
          const w = wf();
          const [a, b] = (await create(w, 2)) as [string, string];
          await store.claimTasks(w, 'other-node', 1, T0, 10_000); // a: another live node
          await store.claimTasks(w, 'me', 1, T0, 10_000); // b: ours
          assert.equal(await store.requeueOrphanedTasks('me', T0 + 1_000), 0, 'every lease is still running');
          assert.equal((await store.getTask(w, a))?.owner, 'other-node');
          await store.renewTaskLeases(w, 'other-node', T0 + 9_000, 10_000); // the other node is alive
          assert.equal(await store.requeueOrphanedTasks('me', T0 + 12_000), 1, 'only our lapsed lease');
          assert.equal((await store.getTask(w, a))?.status, 'RUNNING');
          assert.equal((await store.getTask(w, b))?.status, 'QUEUED');
          assert.deepEqual(await store.completeTasks([ok(a, 'other-node')]), [a], 'the live owner completes its task');
        }));

      void it('PostgreSQL only: two nodes claiming at once never get the same task', async () => {
        const w = wf();
        const N = 2000;
        await Promise.all(
          Array.from({ length: N }, (_, i) =>
            store.createTask({ taskId: `${w}_c${i}`, workflowId: w, input: '{}', createdAt: T0 + i, expiresAt: T0 + DAY }),
          ),
        );
        const other = await reopen();
        try {
          const drain = async (s: Store, owner: string): Promise<string[]> => {
            const got: string[] = [];
            for (;;) {
              const batch = await s.claimTasks(w, owner, 25, T0 + 10, 30_000);
              if (batch.length === 0) return got;
              for (const t of batch) assert.equal(t.owner, owner);
              got.push(...batch.map((t) => t.taskId));
            }
          };
          const [mine, theirs] = await Promise.all([drain(store, 'node-a'), drain(other, 'node-b')]);
          assert.ok(mine.length > 0 && theirs.length > 0, `both nodes claimed (${mine.length} / ${theirs.length})`);
          const both = new Set([...mine, ...theirs]);
          assert.equal(mine.length + theirs.length, N, 'no task claimed twice');
          assert.equal(both.size, N, 'every task claimed');
          assert.deepEqual((await store.countTasks(w)).RUNNING, N);
          // A node cannot complete the other's tasks; each completes its own exactly once.
          const wrong = theirs.slice(0, 50).map((id) => ok(id, 'node-a'));
          assert.deepEqual(await store.completeTasks(wrong), [], "completing another node's tasks changes nothing");
          assert.equal((await other.getTask(w, theirs[0]!))?.status, 'RUNNING');
          const [doneA, doneB] = await Promise.all([
            store.completeTasks(mine.map((id) => ok(id, 'node-a'))),
            other.completeTasks(theirs.map((id) => ok(id, 'node-b'))),
          ]);
          assert.equal(doneA.length + doneB.length, N);
          assert.deepEqual(doneA, mine, 'returned in the order given');
          assert.deepEqual(await other.countTasks(w), { QUEUED: 0, RUNNING: 0, COMPLETED: N, ERROR: 0, CANCELED: 0 });
        } finally {
          await other.close();
        }
      });

      void it('PostgreSQL only: the same Idempotency-Key sent to two nodes at once creates one task', async () => {
        const w = wf();
        const other = await reopen();
        try {
          const results = await Promise.all(
            Array.from({ length: 10 }, (_, i) =>
              (i % 2 ? other : store).createTask({
                taskId: `${w}_k${i}`,
                workflowId: w,
                input: '{}',
                idempotencyKey: 'same',
                createdAt: T0,
                expiresAt: T0 + DAY,
              }),
            ),
          );
          const created = results.filter((r) => r.created);
          assert.equal(created.length, 1);
          assert.ok(
            results.every((r) => r.task.taskId === created[0]!.task.taskId),
            'every caller gets the one task',
          );
          assert.equal((await store.countTasks(w)).QUEUED, 1);
        } finally {
          await other.close();
        }
      });
    }
  });

  void describe('listing, batch status, deletion and counts', () => {
    void it('pages with an opaque cursor, optionally filtered by status, oldest first', async () => {
      const w = wf();
      const ids = await create(w, 12);
      await store.claimTasks(w, 'node-a', 5, T0 + 50, 30_000); // t0..t4 RUNNING
      await store.completeTasks([ok(ids[1]!), ok(ids[3]!)]);
      await store.cancelTask(w, ids[7]!, T0 + 60);

      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      do {
        const page = await store.listTasks(w, { limit: 5, ...(after ? { after } : {}) });
        assert.ok(page.tasks.length <= 5);
        seen.push(...page.tasks.map((t) => t.taskId));
        after = page.next;
        pages++;
      } while (after);
      assert.deepEqual(seen, ids);
      assert.equal(pages, 3);

      const running = await store.listTasks(w, { statuses: ['RUNNING'], limit: 100 });
      assert.deepEqual(
        running.tasks.map((t) => t.taskId),
        [ids[0], ids[2], ids[4]],
      );
      assert.equal(running.next, undefined);
      const mixed = await store.listTasks(w, { statuses: ['COMPLETED', 'CANCELED'], limit: 2 });
      assert.deepEqual(
        mixed.tasks.map((t) => t.taskId),
        [ids[1], ids[3]],
      );
      assert.ok(mixed.next);
      const mixed2 = await store.listTasks(w, { statuses: ['COMPLETED', 'CANCELED'], limit: 2, after: mixed.next });
      assert.deepEqual(
        mixed2.tasks.map((t) => t.taskId),
        [ids[7]],
      );
      assert.equal(mixed2.next, undefined);
      assert.equal((await store.listTasks(w, { limit: 5 })).tasks[0]?.input, undefined, 'listings carry no payloads');
      await assert.rejects(store.listTasks(w, { limit: 5, after: 'not a cursor!' }), /Invalid cursor/);
    });

    void it('reads the status of several tasks at once, in the order asked', async () => {
      const w = wf();
      const [a, b, c] = (await create(w, 3)) as [string, string, string];
      const got = await store.getTasks(w, [c, 'unknown', a, c]);
      assert.deepEqual(
        got.map((t: TaskRecord) => t.taskId),
        [c, a],
      );
      assert.deepEqual(await store.getTasks('another', [a, b]), []);
      assert.deepEqual(await store.getTasks(w, []), []);
    });

    void it('cancels only unfinished tasks', async () => {
      const w = wf();
      const [a, b] = (await create(w, 2)) as [string, string];
      await store.claimTasks(w, 'node-a', 1, T0, 30_000);
      await store.completeTasks([ok(a)]);
      assert.equal((await store.cancelTask(w, a, T0 + 5))?.status, 'COMPLETED', 'a finished task is returned unchanged');
      const canceled = await store.cancelTask(w, b, T0 + 5);
      assert.equal(canceled?.status, 'CANCELED');
      assert.equal(canceled?.finishedAt, T0 + 5);
      assert.equal(await store.cancelTask(w, 'nope', T0), undefined);
    });

    void it('deletes by id, by status and all, and keeps counts exact throughout', async () => {
      const w = wf();
      const ids = await create(w, 10);
      assert.deepEqual(await store.countTasks(w), { QUEUED: 10, RUNNING: 0, COMPLETED: 0, ERROR: 0, CANCELED: 0 });
      await store.claimTasks(w, 'node-a', 6, T0, 30_000);
      await store.completeTasks([ok(ids[0]!), ok(ids[1]!), { ...ok(ids[2]!), status: 'ERROR' }]);
      await store.cancelTask(w, ids[3]!, T0);
      await store.cancelTask(w, ids[8]!, T0);
      assert.deepEqual(await store.countTasks(w), { QUEUED: 3, RUNNING: 2, COMPLETED: 2, ERROR: 1, CANCELED: 2 });
      assert.equal(await store.countQueuedTasks(w), 3);
      assert.deepEqual(await store.countTasks(w), await countByListing(w));

      assert.equal(await store.deleteTask(w, ids[9]!), true);
      assert.equal(await store.deleteTask(w, ids[9]!), false);
      assert.equal(await store.deleteTask('another', ids[0]!), false, 'not through another workflow');
      assert.equal(await store.deleteTasks(w, { statuses: ['COMPLETED', 'ERROR'] }), 3);
      assert.deepEqual(await store.countTasks(w), { QUEUED: 2, RUNNING: 2, COMPLETED: 0, ERROR: 0, CANCELED: 2 });
      assert.deepEqual(await store.countTasks(w), await countByListing(w));
      assert.equal(await store.deleteTasks(w, {}), 6);
      assert.deepEqual(await store.countTasks(w), { QUEUED: 0, RUNNING: 0, COMPLETED: 0, ERROR: 0, CANCELED: 0 });
      assert.deepEqual((await store.listTasks(w, { limit: 10 })).tasks, []);
    });

    void it('deletes tasks past their expiry, whatever their status', () =>
      withOwnStore(async () => {
        const w = wf();
        const w2 = wf();
        await Promise.all(
          Array.from({ length: 2500 }, (_, i) =>
            store.createTask({ taskId: `${w}_old${i}`, workflowId: w, input: '{}', createdAt: T0, expiresAt: T0 + 1000 + i }),
          ),
        );
        const fresh = await create(w, 2, { at: T0 + 5000, prefix: `${w}_new` });
        await create(w2, 1, { at: T0, prefix: `${w2}_x` });
        assert.equal((await store.countTasks(w)).QUEUED, 2502);
        assert.equal(await store.countQueuedTasks(w), 2502);
        await store.claimTasks(w, 'node-a', 3, T0, 30_000);
        assert.equal(await store.deleteExpiredTasks(T0 + 1000 + 2499), 2500, 'in several chunks');
        assert.deepEqual(
          (await store.listTasks(w, { limit: 10 })).tasks.map((t) => t.taskId),
          fresh,
        );
        assert.deepEqual(await store.countTasks(w), await countByListing(w));
        assert.deepEqual(await store.countTasks(w), { QUEUED: 2, RUNNING: 0, COMPLETED: 0, ERROR: 0, CANCELED: 0 });
        assert.equal((await store.countTasks(w2)).QUEUED, 1, 'other workflows keep theirs until they expire');
        assert.equal(await store.deleteExpiredTasks(T0 + 2 * DAY), 3);
      }));
  });

  void describe('publications', () => {
    void it('puts, replaces with a new version, lists and deletes', async () => {
      const w = wf();
      assert.equal(await store.getPublication(w), undefined);
      const p1 = await store.putPublication({
        workflowId: w,
        mode: 'SYNC',
        spec: { blocks: [{ id: 'a' }] },
        desiredStatus: 'PUBLISHED',
        at: T0,
      });
      assert.deepEqual(p1, {
        workflowId: w,
        mode: 'SYNC',
        spec: { blocks: [{ id: 'a' }] },
        version: 1,
        desiredStatus: 'PUBLISHED',
        publishedAt: T0,
        updatedAt: T0,
      });
      const p2 = await store.putPublication({
        workflowId: w,
        mode: 'ASYNC',
        spec: { blocks: [] },
        desiredStatus: 'PUBLISHED',
        at: T0 + 10,
      });
      assert.deepEqual(p2, {
        workflowId: w,
        mode: 'ASYNC',
        spec: { blocks: [] },
        version: 2,
        desiredStatus: 'PUBLISHED',
        publishedAt: T0,
        updatedAt: T0 + 10,
      });
      assert.deepEqual(await store.getPublication(w), p2);
      assert.ok((await store.listPublications()).some((p) => p.workflowId === w && p.version === 2));
      assert.equal(await store.deletePublication(w), true);
      assert.equal(await store.deletePublication(w), false);
      assert.equal(await store.getPublication(w), undefined);
      const p3 = await store.putPublication({ workflowId: w, mode: 'SYNC', spec: {}, desiredStatus: 'PUBLISHED', at: T0 + 20 });
      assert.equal(p3.version, 1, 'publishing again after a delete starts over');
    });
  });

  void describe('durability', () => {
    void it('keeps tasks, publications and API keys across closing and reopening the store', async () => {
      const own = await openTestStore(kind);
      try {
        const s1 = own.store;
        await s1.createTask({ taskId: 'r1', workflowId: 'w', input: '{"a":1}', idempotencyKey: 'ik', createdAt: T0, expiresAt: T0 + DAY });
        await s1.createTask({ taskId: 'r2', workflowId: 'w', input: '{"a":2}', createdAt: T0 + 1, expiresAt: T0 + DAY });
        await s1.claimTasks('w', 'node-a', 1, T0 + 2, 30_000);
        await s1.completeTasks([{ taskId: 'r1', owner: 'node-a', status: 'COMPLETED', output: '{"done":1}', finishedAt: T0 + 3 }]);
        await s1.putPublication({ workflowId: 'w', mode: 'ASYNC', spec: { x: 1 }, desiredStatus: 'PUBLISHED', at: T0 });
        await s1.createApiKey({ id: 'k1', name: 'n', prefix: 'flowd_abc', workflowIds: ['w'], createdAt: T0, hash: 'h1' });
        const pending = s1.createTask({ taskId: 'r4', workflowId: 'w', input: '{}', createdAt: T0 + 4, expiresAt: T0 + DAY });
        await s1.close(); // commits the pending grouped write
        assert.equal((await pending).created, true);

        const s2 = await own.reopen();
        try {
          const r1 = await s2.getTask('w', 'r1', { input: true, output: true });
          assert.equal(r1?.status, 'COMPLETED');
          assert.equal(r1?.input, '{"a":1}');
          assert.equal(r1?.output, '{"done":1}');
          assert.equal(
            (await s2.createTask({ taskId: 'r3', workflowId: 'w', input: '{}', idempotencyKey: 'ik', createdAt: T0, expiresAt: T0 + DAY }))
              .created,
            false,
          );
          assert.deepEqual(await s2.countTasks('w'), { QUEUED: 2, RUNNING: 0, COMPLETED: 1, ERROR: 0, CANCELED: 0 });
          assert.deepEqual(
            (await s2.claimTasks('w', 'node-b', 5, T0 + 10, 1000)).map((t) => t.taskId),
            ['r2', 'r4'],
          );
          assert.equal((await s2.getPublication('w'))?.spec['x'], 1);
          assert.equal((await s2.getApiKeyByHash('h1'))?.id, 'k1');
          assert.deepEqual(await s2.schemaVersion(), { current: LATEST_SCHEMA, latest: LATEST_SCHEMA });
        } finally {
          await s2.close();
        }
      } finally {
        await own.cleanup();
      }
    });
  });
}

for (const { kind, skip } of await storeMatrix()) {
  void describe(`task store [${kind}]`, { skip }, () => taskStoreSuite(kind));
}
