/**
 * The Store port's contract, as a matrix: workflows, provisioning state and runs, workflow
 * locks, ML resources, users, API keys, nodes, schema version and meta, each case on SQLite (a
 * real file) and on PostgreSQL (a real server, a fresh schema per suite). What only PostgreSQL
 * has (several nodes on one schema, migrations, connections that die) is in
 * store-postgres.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { OsUser, Template } from '../src/template/types.js';
import type { BeginRunInput, ResourceCreated, Store } from '../src/store/store.js';
import type { StoreKind, TestStore } from './support/store-matrix.js';
import { openTestStore, storeMatrix, withOwnTestStore } from './support/store-matrix.js';
import { SQLITE_MIGRATIONS } from '../src/store/sqlite/sqlite-migrations.js';

/** Both dialects share the numbering (store-symmetry.test.ts checks it). */
const LATEST_SCHEMA = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1]?.version;

const T0 = 1_700_000_000_000;
const LEASE = 30_000;

const user: OsUser = { name: 'alice', backend_roles: ['ops'], roles: ['admin'], custom_attribute_names: [], user_requested_tenant: null };
const template = (name: string, extra: Partial<Template> = {}): Template => ({
  name,
  description: `${name} description`,
  use_case: 'TEST',
  workflows: {},
  ...extra,
});
const res = (node: string, id: string): ResourceCreated => ({
  workflow_step_name: 'create_connector',
  workflow_step_id: node,
  resource_type: 'connector_id',
  resource_id: id,
});

function contractSuite(kind: StoreKind): void {
  let shared: TestStore;
  let store: Store;
  let seq = 0;

  before(async () => {
    shared = await openTestStore(kind);
    store = shared.store;
  });
  after(() => shared.cleanup());

  const id = (): string => `wf_${++seq}`;

  /** Counts and sweeps see every workflow: tests of them get a store of their own. */
  const withOwnStore = (fn: (s: Store, own: TestStore) => Promise<void>): Promise<void> => withOwnTestStore(kind, fn);

  async function newWorkflow(s: Store = store, extra: Partial<Template> = {}): Promise<string> {
    const w = id();
    assert.equal(await s.createWorkflow({ id: w, template: template(w, extra), user, maxWorkflows: 1_000_000 }), 'ok');
    return w;
  }

  const run = (workflowId: string, runId: string, over: Partial<BeginRunInput> = {}): BeginRunInput => ({
    workflowId,
    runId,
    kind: 'provision',
    plan: { nodes: ['a', 'b'] },
    params: 'enc:params',
    owner: 'node-a',
    leaseMs: LEASE,
    startTime: T0,
    allowedStates: ['NOT_STARTED', 'FAILED'],
    requireNoResources: ['FAILED'],
    keepResources: false,
    ...over,
  });

  /** A workflow with a started run `r1`. */
  async function provisioning(s: Store = store): Promise<string> {
    const w = await newWorkflow(s);
    assert.deepEqual(await s.beginRun(run(w, `${w}_r1`)), { ok: true });
    return w;
  }

  void describe('workflows', () => {
    void it('creates a workflow with its NOT_STARTED state', async () => {
      const w = await newWorkflow(store, { created_time: T0 });
      const rec = await store.getWorkflow(w);
      assert.deepEqual(rec, { id: w, template: template(w, { created_time: T0 }), version: 1 });
      const st = await store.getState(w);
      assert.deepEqual(st && { ...st, updatedAt: 0 }, {
        workflowId: w,
        state: 'NOT_STARTED',
        progress: 'NOT_STARTED',
        user,
        userOutputs: {},
        resources: [],
        steps: [],
        version: 1,
        updatedAt: 0,
      });
      assert.equal(st?.updatedAt, T0, 'the state starts at the template creation time');
      assert.equal(await store.getWorkflow('nope'), undefined);
      assert.equal(await store.getState('nope'), undefined);
      await assert.rejects(store.createWorkflow({ id: w, template: template(w), maxWorkflows: 1_000_000 }), 'an id is never reused');
    });

    void it('refuses a workflow over the limit', () =>
      withOwnStore(async (s) => {
        assert.equal(await s.createWorkflow({ id: 'a', template: template('a'), maxWorkflows: 2 }), 'ok');
        assert.equal(await s.createWorkflow({ id: 'b', template: template('b'), maxWorkflows: 2 }), 'ok');
        assert.equal(await s.createWorkflow({ id: 'c', template: template('c'), maxWorkflows: 2 }), 'limit');
        assert.equal(await s.countWorkflows(), 2);
        assert.equal(await s.getWorkflow('c'), undefined);
        assert.deepEqual(
          (await s.listWorkflows()).map((w) => w.id),
          ['a', 'b'],
        );
        assert.equal(await s.createWorkflow({ id: 'c', template: template('c'), maxWorkflows: 0 }), 'limit');
      }));

    void it('lists workflows by creation time', () =>
      withOwnStore(async (s) => {
        for (const [w, at] of [
          ['x', T0 + 2],
          ['y', T0 + 1],
          ['z', T0 + 1],
        ] as const) {
          await s.createWorkflow({ id: w, template: template(w, { created_time: at }), maxWorkflows: 10 });
        }
        assert.deepEqual(
          (await s.listWorkflows()).map((w) => w.id),
          ['y', 'z', 'x'],
        );
        assert.deepEqual(
          (await s.listStates()).map((st) => st.workflowId),
          ['x', 'y', 'z'],
        );
        assert.deepEqual(await s.countStates(), { NOT_STARTED: 3, PROVISIONING: 0, COMPLETED: 0, FAILED: 0 });
      }));

    void it('replaces a template only while provisioning has not started', async () => {
      const w = await newWorkflow();
      const before = await store.getState(w);
      const other: OsUser = { ...user, name: 'bob' };
      assert.equal(await store.replaceWorkflow(w, template(w, { description: 'v2', user: other })), 'ok');
      assert.equal((await store.getWorkflow(w))?.version, 2);
      assert.equal((await store.getWorkflow(w))?.template.description, 'v2');
      const after = await store.getState(w);
      assert.equal(after?.version, (before?.version ?? 0) + 1);
      assert.deepEqual(after?.user, other, 'the state takes the new template user');
      assert.equal(await store.replaceWorkflow('nope', template('nope')), 'not_found');
      assert.deepEqual(await store.beginRun(run(w, `${w}_r1`)), { ok: true });
      assert.equal(await store.replaceWorkflow(w, template(w)), 'not_editable');
      assert.equal((await store.getWorkflow(w))?.version, 2);
    });

    void it('saves a template in any state', async () => {
      const w = await provisioning();
      assert.equal(await store.saveTemplate(w, template(w, { description: 'saved' })), true);
      assert.deepEqual(await store.getWorkflow(w), { id: w, template: template(w, { description: 'saved' }), version: 2 });
      assert.equal(await store.saveTemplate('nope', template('nope')), false);
    });

    void it('deletes a workflow: its state goes too unless resources remain (or clearStatus) and it is not provisioning', async () => {
      // No resources: the state goes with the template.
      const plain = await newWorkflow();
      assert.equal(await store.deleteWorkflow(plain, false), true);
      assert.equal(await store.getWorkflow(plain), undefined);
      assert.equal(await store.getState(plain), undefined);
      assert.equal(await store.deleteWorkflow(plain, false), false, 'unknown now');

      // Resources left: the state stays (deprovision still possible) unless clearStatus.
      const kept = await provisioning();
      await store.recordStepCompleted({
        runId: `${kept}_r1`,
        workflowId: kept,
        nodeId: 'a',
        outputs: {},
        resources: [res('a', 'c1')],
        endTime: T0 + 1,
      });
      await store.finishRun({ runId: `${kept}_r1`, workflowId: kept, state: 'COMPLETED', endTime: T0 + 2 });
      assert.equal(await store.deleteWorkflow(kept, false), true);
      assert.equal(await store.getWorkflow(kept), undefined);
      assert.deepEqual((await store.getState(kept))?.resources, [res('a', 'c1')]);
      assert.equal(await store.deleteWorkflow(kept, true), false, 'the template is gone already…');
      assert.equal(await store.getState(kept), undefined, '…but clearStatus still clears the state');
      assert.equal(await store.getRun(`${kept}_r1`), undefined, 'and its runs');

      // Provisioning: the state survives even clearStatus.
      const busy = await provisioning();
      assert.equal(await store.deleteWorkflow(busy, true), true);
      assert.equal((await store.getState(busy))?.state, 'PROVISIONING');
      // Its run cannot write anything once the template is gone and the state is reset.
      await store.resetState(busy);
      assert.equal(await store.getState(busy), undefined, 'resetState deletes the state of a deleted template');
    });

    void it('starts over when a workflow is created again over a kept state', async () => {
      const w = await provisioning();
      await store.recordStepCompleted({
        runId: `${w}_r1`,
        workflowId: w,
        nodeId: 'a',
        outputs: {},
        resources: [res('a', 'c1')],
        endTime: T0 + 1,
      });
      await store.finishRun({ runId: `${w}_r1`, workflowId: w, state: 'FAILED', error: 'boom', endTime: T0 + 2 });
      await store.deleteWorkflow(w, false);
      const v = (await store.getState(w))?.version ?? 0;
      assert.equal(await store.createWorkflow({ id: w, template: template(w), maxWorkflows: 1_000_000 }), 'ok');
      const st = await store.getState(w);
      assert.equal(st?.state, 'NOT_STARTED');
      assert.equal(st?.error, undefined);
      assert.equal(st?.runId, undefined);
      assert.equal(st?.user, undefined);
      assert.equal(st?.version, v + 1);
    });
  });

  void describe('provisioning state and runs', () => {
    void it('begins a run as a compare-and-swap on the state', async () => {
      assert.deepEqual(await store.beginRun(run('nope', 'r0')), { ok: false, reason: 'not_found' });
      const w = await newWorkflow();
      assert.deepEqual(await store.beginRun(run(w, `${w}_r1`)), { ok: true });
      const st = await store.getState(w);
      assert.equal(st?.state, 'PROVISIONING');
      assert.equal(st?.progress, 'IN_PROGRESS');
      assert.equal(st?.provisionStartTime, T0);
      assert.equal(st?.runId, `${w}_r1`);
      assert.equal(st?.version, 2);
      assert.equal(st?.updatedAt, T0);
      assert.deepEqual(await store.getRun(`${w}_r1`), {
        runId: `${w}_r1`,
        workflowId: w,
        kind: 'provision',
        plan: { nodes: ['a', 'b'] },
        params: 'enc:params',
        owner: 'node-a',
        leaseUntil: T0 + LEASE,
        startTime: T0,
        attempt: 1,
      });
      const again = await store.beginRun(run(w, `${w}_r2`));
      assert.equal(again.ok, false);
      assert.ok(!again.ok && again.reason === 'state');
      assert.equal(again.state.state, 'PROVISIONING', 'the refusal carries the current state');
      assert.equal(again.state.runId, `${w}_r1`);
      assert.equal(await store.getRun(`${w}_r2`), undefined);
      assert.equal(await store.getRun('nope'), undefined);
    });

    void it('lets a FAILED workflow provision again only without resources', async () => {
      const w = await provisioning();
      await store.recordStepCompleted({
        runId: `${w}_r1`,
        workflowId: w,
        nodeId: 'a',
        outputs: {},
        resources: [res('a', 'c1')],
        endTime: T0 + 1,
      });
      await store.finishRun({ runId: `${w}_r1`, workflowId: w, state: 'FAILED', error: 'step b failed', endTime: T0 + 2 });
      const refused = await store.beginRun(run(w, `${w}_r2`));
      assert.ok(!refused.ok && refused.reason === 'state' && refused.state.state === 'FAILED');
      assert.deepEqual(refused.state.resources, [res('a', 'c1')]);
      // Reprovision (keeps resources) may start from FAILED.
      const re = await store.beginRun(
        run(w, `${w}_r2`, { kind: 'reprovision', allowedStates: ['COMPLETED', 'FAILED'], requireNoResources: [], keepResources: true }),
      );
      assert.deepEqual(re, { ok: true });
      const st = await store.getState(w);
      assert.deepEqual(st?.resources, [res('a', 'c1')], 'reprovision keeps the resources');
      assert.equal(st?.error, undefined);
      assert.equal(st?.provisionEndTime, undefined);
      assert.deepEqual(st?.steps, [], 'the new run has no steps yet');

      // Without resources a FAILED workflow starts over, with an empty resource list.
      const w2 = await provisioning();
      await store.finishRun({ runId: `${w2}_r1`, workflowId: w2, state: 'FAILED', error: 'x', endTime: T0 + 2 });
      assert.deepEqual(await store.beginRun(run(w2, `${w2}_r2`)), { ok: true });
      assert.deepEqual(
        await store.claimOrphanedRuns('sweeper', T0 + 10 * LEASE, LEASE).then((runs) => runs.filter((r) => r.runId === `${w2}_r1`)),
        [],
        'a superseded run is no longer active',
      );
    });

    void it('records steps, resources and user outputs; only for the current run', async () => {
      const w = await provisioning();
      const r1 = `${w}_r1`;
      assert.equal(await store.recordStepStarted(r1, w, 'a', 'create_connector', 1, T0 + 10), true);
      assert.equal(await store.recordStepStarted(r1, w, 'b', 'register_model', 1, T0 + 11), true);
      let st = await store.getState(w);
      assert.deepEqual(st?.steps, [
        { nodeId: 'a', type: 'create_connector', state: 'RUNNING', attempt: 1, startTime: T0 + 10 },
        { nodeId: 'b', type: 'register_model', state: 'RUNNING', attempt: 1, startTime: T0 + 11 },
      ]);
      const v = st?.version ?? 0;

      const done = {
        runId: r1,
        workflowId: w,
        nodeId: 'a',
        outputs: { connector_id: 'c1' },
        resources: [res('a', 'c1'), res('a', 'c2')],
        endTime: T0 + 20,
      };
      assert.equal(await store.recordStepCompleted(done), true);
      assert.equal(await store.recordStepCompleted(done), false, 'a completed step never records its resources twice');
      assert.equal(await store.recordStepFailed(r1, w, 'b', 'boom', T0 + 21), true);
      assert.equal(await store.recordStepFailed(r1, w, 'b', 'again', T0 + 22), false, 'only a RUNNING step fails');
      assert.equal(await store.recordStepStarted(r1, w, 'b', 'register_model', 2, T0 + 23), true, 'a retry restarts the step');
      assert.equal(await store.recordStepFailed(r1, w, 'b', 'stopped', T0 + 24, 'CANCELED'), true);
      // A replayed node (reprovision) completes without having started.
      assert.equal(
        await store.recordStepCompleted({ runId: r1, workflowId: w, nodeId: 'c', outputs: { x: 1 }, resources: [], endTime: T0 + 25 }),
        true,
      );

      st = await store.getState(w);
      assert.deepEqual(st?.steps, [
        {
          nodeId: 'a',
          type: 'create_connector',
          state: 'COMPLETED',
          attempt: 1,
          startTime: T0 + 10,
          endTime: T0 + 20,
          outputs: { connector_id: 'c1' },
        },
        { nodeId: 'b', type: 'register_model', state: 'CANCELED', attempt: 2, startTime: T0 + 23, endTime: T0 + 24, error: 'stopped' },
        { nodeId: 'c', type: '', state: 'COMPLETED', attempt: 0, startTime: T0 + 25, endTime: T0 + 25, outputs: { x: 1 } },
      ]);
      assert.deepEqual(st?.resources, [res('a', 'c1'), res('a', 'c2')], 'in creation order');
      assert.deepEqual(st?.userOutputs, { a: { connector_id: 'c1' }, c: { x: 1 } });
      assert.equal(st?.version, v + 5, 'every recorded change bumps the state version');
      assert.equal(st?.updatedAt, T0 + 25);

      const light = await store.getState(w, { steps: false });
      assert.deepEqual(light?.steps, [], 'steps: false skips steps and user outputs');
      assert.deepEqual(light?.userOutputs, {});
      assert.deepEqual(light?.resources, st?.resources);

      // A stale run (not the current one) writes nothing.
      assert.equal(await store.recordStepStarted('stale', w, 'd', 't', 1, T0 + 30), false);
      assert.equal(await store.recordStepCompleted({ ...done, runId: 'stale', nodeId: 'd' }), false);
      assert.equal(await store.finishRun({ runId: 'stale', workflowId: w, state: 'COMPLETED', endTime: T0 + 30 }), false);
      assert.equal((await store.getState(w))?.version, st?.version);
    });

    void it('removes resources that a step removed, one row each, after adding its own', async () => {
      const w = await provisioning();
      const r1 = `${w}_r1`;
      await store.recordStepCompleted({
        runId: r1,
        workflowId: w,
        nodeId: 'a',
        outputs: {},
        resources: [res('a', 'x'), res('a', 'y'), res('a', 'x')],
        endTime: T0 + 1,
      });
      await store.recordStepCompleted({
        runId: r1,
        workflowId: w,
        nodeId: 'b',
        outputs: {},
        resources: [res('b', 'z')],
        removedResources: [res('a', 'x'), res('a', 'nope')],
        endTime: T0 + 2,
      });
      assert.deepEqual((await store.getState(w))?.resources, [res('a', 'y'), res('a', 'x'), res('b', 'z')]);
      const v = (await store.getState(w))?.version ?? 0;
      await store.removeResource(w, res('a', 'x'));
      assert.deepEqual((await store.getState(w))?.resources, [res('a', 'y'), res('b', 'z')]);
      assert.equal((await store.getState(w))?.version, v + 1);
    });

    void it('finishes a run: terminal state, progress, end time; RUNNING steps are cancelled', async () => {
      const w = await provisioning();
      const r1 = `${w}_r1`;
      await store.recordStepStarted(r1, w, 'a', 't', 1, T0 + 1);
      assert.equal(await store.finishRun({ runId: r1, workflowId: w, state: 'COMPLETED', endTime: T0 + 50 }), true);
      const st = await store.getState(w);
      assert.equal(st?.state, 'COMPLETED');
      assert.equal(st?.progress, 'DONE');
      assert.equal(st?.provisionStartTime, T0);
      assert.equal(st?.provisionEndTime, T0 + 50);
      assert.deepEqual(st?.steps, [{ nodeId: 'a', type: 't', state: 'CANCELED', attempt: 1, startTime: T0 + 1, endTime: T0 + 50 }]);
      assert.equal(await store.finishRun({ runId: r1, workflowId: w, state: 'FAILED', endTime: T0 + 60 }), false, 'only once');
      assert.equal(await store.recordStepStarted(r1, w, 'b', 't', 1, T0 + 61), false, 'a finished run writes nothing');

      const f = await provisioning();
      assert.equal(
        await store.finishRun({ runId: `${f}_r1`, workflowId: f, state: 'FAILED', error: 'step a: boom', endTime: T0 + 5 }),
        true,
      );
      const fs = await store.getState(f);
      assert.deepEqual([fs?.state, fs?.progress, fs?.error, fs?.provisionEndTime], ['FAILED', 'FAILED', 'step a: boom', T0 + 5]);

      // Rolled back to NOT_STARTED: no start or end time.
      const n = await provisioning();
      assert.equal(
        await store.finishRun({ runId: `${n}_r1`, workflowId: n, state: 'NOT_STARTED', error: 'rolled back', endTime: T0 + 5 }),
        true,
      );
      const ns = await store.getState(n);
      assert.deepEqual(
        [ns?.state, ns?.progress, ns?.error, ns?.provisionStartTime, ns?.provisionEndTime],
        ['NOT_STARTED', 'NOT_STARTED', 'rolled back', undefined, undefined],
      );
      assert.equal(ns?.runId, `${n}_r1`, 'the last run stays readable');
    });

    void it('resets the state (keeping its user) and marks a partial deprovision', async () => {
      const w = await provisioning();
      await store.recordStepCompleted({
        runId: `${w}_r1`,
        workflowId: w,
        nodeId: 'a',
        outputs: {},
        resources: [res('a', 'c1'), res('a', 'c2')],
        endTime: T0 + 1,
      });
      await store.finishRun({ runId: `${w}_r1`, workflowId: w, state: 'COMPLETED', endTime: T0 + 2 });
      await store.removeResource(w, res('a', 'c1'));
      await store.markDeprovisionPartial(w, T0 + 9);
      let st = await store.getState(w);
      assert.deepEqual([st?.state, st?.progress, st?.provisionEndTime, st?.updatedAt], ['COMPLETED', 'DONE', T0 + 9, T0 + 9]);
      assert.deepEqual(st?.resources, [res('a', 'c2')]);

      await store.resetState(w, 'deprovisioned with errors');
      st = await store.getState(w);
      assert.deepEqual(st && { ...st, updatedAt: 0, version: 0 }, {
        workflowId: w,
        state: 'NOT_STARTED',
        progress: 'NOT_STARTED',
        error: 'deprovisioned with errors',
        user,
        userOutputs: {},
        resources: [],
        steps: [],
        version: 0,
        updatedAt: 0,
      });
      assert.deepEqual(
        await store.claimOrphanedRuns('sweeper', T0 + 10 * LEASE, LEASE).then((rs) => rs.filter((r) => r.workflowId === w)),
        [],
        'no active run left',
      );
      assert.deepEqual(await store.beginRun(run(w, `${w}_r2`)), { ok: true }, 'provisionable again');
    });

    void it('claims runs whose lease expired and renews the leases of its own', () =>
      withOwnStore(async (s) => {
        const w1 = await provisioning(s);
        const w2 = await newWorkflow(s);
        await s.beginRun(run(w2, `${w2}_r1`, { owner: 'node-a', startTime: T0 + 1 }));
        const w3 = await provisioning(s);
        await s.finishRun({ runId: `${w3}_r1`, workflowId: w3, state: 'COMPLETED', endTime: T0 + 2 });

        await s.renewLeases('node-a', T0 + 20_000, LEASE); // until T0 + 50s
        assert.equal((await s.getRun(`${w1}_r1`))?.leaseUntil, T0 + 50_000);
        assert.equal((await s.getRun(`${w3}_r1`))?.leaseUntil, T0 + LEASE, 'a finished run keeps its lease');
        assert.deepEqual(await s.countStuckWork(T0 + 40_000), { runs: 0, tasks: 0 });
        assert.deepEqual(await s.countStuckWork(T0 + 60_000), { runs: 2, tasks: 0 });

        const claimed = await s.claimOrphanedRuns('node-b', T0 + 60_000, LEASE);
        assert.deepEqual(
          claimed.map((r) => r.runId),
          [`${w1}_r1`, `${w2}_r1`],
          'finished runs are never claimed',
        );
        for (const r of claimed) {
          assert.equal(r.owner, 'node-b');
          assert.equal(r.leaseUntil, T0 + 60_000 + LEASE);
          assert.deepEqual(r.plan, { nodes: ['a', 'b'] });
          assert.equal(r.attempt, 2, 'a claim counts an attempt of the run');
          assert.deepEqual(await s.getRun(r.runId), r);
        }
        assert.deepEqual(await s.countStuckWork(T0 + 60_000), { runs: 0, tasks: 0 });
        await s.renewLeases('node-a', T0 + 70_000, LEASE);
        assert.equal((await s.getRun(`${w1}_r1`))?.leaseUntil, T0 + 60_000 + LEASE, 'the former owner renews nothing it lost');
        assert.deepEqual(await s.claimOrphanedRuns('node-b', T0 + 61_000, LEASE), [], 'its own live runs are not claimed again');
      }));

    if (kind === 'sqlite') {
      void it('SQLite only: takes over runs of any other owner id (one process owns the file)', () =>
        withOwnStore(async (s) => {
          const w = await provisioning(s);
          const claimed = await s.claimOrphanedRuns('restarted', T0 + 1, LEASE);
          assert.deepEqual(
            claimed.map((r) => r.runId),
            [`${w}_r1`],
            'a live lease of another owner id is taken too',
          );
        }));
    }

    if (kind === 'postgres') {
      void it("PostgreSQL only: leaves a live other node's runs alone; racing nodes never claim the same run", () =>
        withOwnStore(async (s, own) => {
          for (let i = 0; i < 20; i++) await provisioning(s);
          assert.deepEqual(await s.claimOrphanedRuns('node-b', T0 + 1, LEASE), [], "node-a's leases are live");
          assert.deepEqual(await s.countStuckWork(T0 + 1), { runs: 0, tasks: 0 });
          const other = await own.reopen();
          try {
            const [a, b] = await Promise.all([
              s.claimOrphanedRuns('node-b', T0 + LEASE + 1, LEASE),
              other.claimOrphanedRuns('node-c', T0 + LEASE + 1, LEASE),
            ]);
            assert.equal(a.length + b.length, 20, 'every expired run claimed once');
            assert.equal(new Set([...a, ...b].map((r) => r.runId)).size, 20);
          } finally {
            await other.close();
          }
        }));
    }

    void it('locks a workflow operation until unlocked or expired', async () => {
      const w = id();
      const later = Date.now() + 60_000;
      assert.equal(await store.tryLockWorkflow(w, 'deprovision', 'node-a', later), true);
      assert.equal(await store.tryLockWorkflow(w, 'deprovision', 'node-b', later), false);
      assert.equal(await store.tryLockWorkflow(w, 'provision', 'node-b', later), true, 'per operation');
      await store.unlockWorkflow(w, 'deprovision');
      assert.equal(await store.tryLockWorkflow(w, 'deprovision', 'node-b', Date.now() - 1), true);
      assert.equal(await store.tryLockWorkflow(w, 'deprovision', 'node-c', later), true, 'an expired lock is taken over');
      assert.equal(await store.tryLockWorkflow(w, 'deprovision', 'node-a', later), false);
    });
  });

  void describe('ML resources', () => {
    void it('creates, reads, updates, lists and deletes; an idempotency key returns the existing record', async () => {
      const kind1 = `model_${++seq}`;
      const first = await store.createMlResource(kind1, 'm1', { name: 'one' }, 'key-1');
      assert.equal(first.created, true);
      assert.deepEqual(first.record.doc, { name: 'one' });
      const again = await store.createMlResource(kind1, 'm2', { name: 'two' }, 'key-1');
      assert.equal(again.created, false);
      assert.deepEqual(again.record, first.record);
      assert.equal(await store.getMlResource(kind1, 'm2'), undefined);
      assert.equal((await store.createMlResource(`other_${kind1}`, 'm1', {}, 'key-1')).created, true, 'keys are per kind');
      assert.equal((await store.createMlResource(kind1, 'm3', { name: 'three' })).created, true);
      await assert.rejects(store.createMlResource(kind1, 'm3', {}), 'an id is unique per kind');

      assert.deepEqual(await store.getMlResource(kind1, 'm1'), first.record);
      assert.equal(await store.updateMlResource(kind1, 'm1', { name: 'uno' }), true);
      assert.deepEqual((await store.getMlResource(kind1, 'm1'))?.doc, { name: 'uno' });
      assert.equal(await store.updateMlResource(kind1, 'nope', {}), false);
      assert.deepEqual((await store.listMlResources(kind1)).map((r) => r.id).sort(), ['m1', 'm3']);
      assert.equal(await store.deleteMlResource(kind1, 'm1'), true);
      assert.equal(await store.deleteMlResource(kind1, 'm1'), false);
      assert.equal((await store.createMlResource(kind1, 'm4', {}, 'key-1')).created, true, 'the key is free again once its record is gone');
    });
  });

  void describe('users', () => {
    void it('puts, replaces, lists and deletes users', async () => {
      const u = { name: `u${++seq}`, passwordHash: 'h1', backendRoles: ['b'], roles: ['r'], attributes: { team: 'x' } };
      assert.equal(await store.getUser(u.name), undefined);
      await store.putUser(u);
      assert.deepEqual(await store.getUser(u.name), u);
      await store.putUser({ ...u, passwordHash: 'h2', roles: [] });
      assert.deepEqual(await store.getUser(u.name), { ...u, passwordHash: 'h2', roles: [] });
      assert.ok((await store.listUsers()).some((x) => x.name === u.name));
      assert.equal(await store.deleteUser(u.name), true);
      assert.equal(await store.deleteUser(u.name), false);
    });
  });

  void describe('API keys', () => {
    void it('finds a key by hash; rotates with and without a grace period', async () => {
      const k = `k${++seq}`;
      await store.createApiKey({
        id: k,
        name: 'ci',
        prefix: 'flowd_a',
        workflowIds: ['w1', 'w2'],
        createdAt: T0,
        createdBy: 'alice',
        hash: `${k}-h1`,
      });
      assert.deepEqual(await store.getApiKey(k), {
        id: k,
        name: 'ci',
        prefix: 'flowd_a',
        workflowIds: ['w1', 'w2'],
        createdAt: T0,
        createdBy: 'alice',
      });
      assert.equal((await store.getApiKeyByHash(`${k}-h1`))?.id, k);
      assert.equal(await store.getApiKeyByHash('nope'), undefined);

      const grace = Date.now() + 60_000;
      const rotated = await store.rotateApiKey(k, `${k}-h2`, 'flowd_b', grace);
      assert.equal(rotated?.prefix, 'flowd_b');
      assert.equal(rotated?.previousKeyValidUntil, grace);
      assert.ok(rotated?.rotatedAt !== undefined);
      assert.equal((await store.getApiKeyByHash(`${k}-h2`))?.id, k);
      assert.equal((await store.getApiKeyByHash(`${k}-h1`))?.id, k, 'the old value works during the grace period');

      await store.rotateApiKey(k, `${k}-h3`, 'flowd_c', grace);
      assert.equal(await store.getApiKeyByHash(`${k}-h1`), undefined, 'two live values at most');
      assert.equal((await store.getApiKeyByHash(`${k}-h2`))?.id, k);

      const now = await store.rotateApiKey(k, `${k}-h4`, 'flowd_d');
      assert.equal(now?.previousKeyValidUntil, undefined);
      assert.equal(await store.getApiKeyByHash(`${k}-h3`), undefined, 'without grace the old value stops at once');
      assert.equal((await store.getApiKeyByHash(`${k}-h4`))?.id, k);

      await store.rotateApiKey(k, `${k}-h5`, 'flowd_e', Date.now() - 1);
      assert.equal(await store.getApiKeyByHash(`${k}-h4`), undefined, 'a grace period already over keeps nothing');
      assert.equal(await store.rotateApiKey('nope', 'x', 'y'), undefined);
    });

    void it('records last use without ever moving it backwards; lists and deletes', async () => {
      const a = `k${++seq}`;
      const b = `k${++seq}`;
      await store.createApiKey({ id: a, name: 'a', prefix: 'p', workflowIds: [], createdAt: T0, hash: `${a}-h` });
      await store.createApiKey({ id: b, name: 'b', prefix: 'p', workflowIds: [], createdAt: T0 + 1, hash: `${b}-h`, lastUsedAt: T0 + 500 });
      await store.touchApiKeys([
        { id: a, at: T0 + 100 },
        { id: a, at: T0 + 300 },
        { id: a, at: T0 + 200 },
        { id: b, at: T0 + 400 },
        { id: 'nope', at: T0 },
      ]);
      assert.equal((await store.getApiKey(a))?.lastUsedAt, T0 + 300);
      assert.equal((await store.getApiKey(b))?.lastUsedAt, T0 + 500, 'never backwards');
      await store.touchApiKeys([]);
      const listed = (await store.listApiKeys()).filter((k) => k.id === a || k.id === b);
      assert.deepEqual(
        listed.map((k) => k.id),
        [a, b],
      );
      assert.equal(await store.deleteApiKey(a), true);
      assert.equal(await store.deleteApiKey(a), false);
      assert.equal(await store.getApiKeyByHash(`${a}-h`), undefined);
    });
  });

  void describe('nodes, health, schema and meta', () => {
    void it('registers nodes by heartbeat and counts stuck work', () =>
      withOwnStore(async (s) => {
        await s.heartbeatNode({ nodeId: 'n2', url: 'http://b:9200', startedAt: T0, heartbeatAt: T0, info: { capacity: 4 } });
        await s.heartbeatNode({ nodeId: 'n1', url: 'http://a:9200', startedAt: T0, heartbeatAt: T0, info: {} });
        await s.heartbeatNode({ nodeId: 'n2', url: 'http://b2:9200', startedAt: T0 + 99, heartbeatAt: T0 + 5, info: { capacity: 8 } });
        assert.deepEqual(await s.listNodes(), [
          { nodeId: 'n1', url: 'http://a:9200', startedAt: T0, heartbeatAt: T0, info: {} },
          { nodeId: 'n2', url: 'http://b2:9200', startedAt: T0, heartbeatAt: T0 + 5, info: { capacity: 8 } },
        ]);
        await s.removeNode('n1');
        await s.removeNode('nope');
        assert.deepEqual(
          (await s.listNodes()).map((n) => n.nodeId),
          ['n2'],
        );

        await provisioning(s);
        for (const t of ['t1', 't2', 't3'])
          await s.createTask({ taskId: t, workflowId: 'w', input: '{}', createdAt: T0, expiresAt: T0 + 1e9 });
        await s.claimTasks('w', 'node-a', 2, T0, 1000);
        assert.deepEqual(await s.countStuckWork(T0 + 999), { runs: 0, tasks: 0 });
        assert.deepEqual(await s.countStuckWork(T0 + 1001), { runs: 0, tasks: 2 });
        assert.deepEqual(await s.countStuckWork(T0 + LEASE + 1), { runs: 1, tasks: 2 });
      }));

    void it('reports its schema version and keeps meta values', async () => {
      assert.deepEqual(await store.schemaVersion(), { current: LATEST_SCHEMA, latest: LATEST_SCHEMA });
      const key = `key_${++seq}`;
      assert.equal(await store.getMeta(key), undefined);
      await store.setMeta(key, 'one');
      await store.setMeta(key, 'two');
      assert.equal(await store.getMeta(key), 'two');
    });
  });
}

const matrix = await storeMatrix();
for (const { kind, skip } of matrix) {
  void describe(`store contract [${kind}]`, { skip }, () => contractSuite(kind));
}
