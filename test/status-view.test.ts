/**
 * The RuntimeStatusView without HTTP, on a real store (both kinds), a LocalCluster and real
 * worker-thread instances: a flow's status with the task queue's numbers, its transition time
 * (moves with the health shown, not with each read), and the cluster merge of other nodes'
 * instances (mergeClusterStatus, which a multi-node cluster applies to the same view).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowdError } from '../src/errors.js';
import { mergeClusterStatus } from '../src/runtime/cluster-status.js';
import type { ServiceReport } from '../src/runtime/runtime-cluster.js';
import type { TestStore } from './support/store-matrix.js';
import { openTestStore, storeMatrix } from './support/store-matrix.js';
import { asyncFlow, blockDir, publishSignal, runtimeParts, syncFlow } from './support/runtime-parts.js';
import type { RuntimeParts } from './support/runtime-parts.js';

for (const { kind, skip } of await storeMatrix()) {
  void describe(`runtime status view (${kind})`, { skip }, () => {
    let shared: TestStore;
    let parts: RuntimeParts;
    const blocks = blockDir();
    let seq = 0;
    const wf = (): string => `wf_sv_${kind}_${++seq}`;

    before(async () => {
      shared = await openTestStore(kind);
      parts = runtimeParts(shared.store, { customBlockDirs: [blocks.dir] });
      await parts.tasks.start();
      await parts.publications.restore();
    });
    after(async () => {
      await parts.close();
      await shared.cleanup();
      blocks.cleanup();
    });

    void it('shows a published SYNC flow, and nothing for one that is not', async () => {
      assert.equal(parts.view.status('wf_nowhere'), undefined);
      const id = wf();
      await parts.publications.publish(id, syncFlow(), publishSignal());
      const st = parts.view.status(id);
      assert.ok(st);
      assert.equal(st.actualStatus, 'GREEN');
      assert.equal(st.usable, true);
      assert.equal(st.publishingMode, 'SYNC');
      assert.equal(st.desiredVersion, 1);
      assert.equal(st.observedVersion, 1);
      assert.equal(st.tasks, undefined);
      const [svc] = st.details.services;
      assert.equal(st.details.services.length, 1);
      assert.equal(svc?.blockId, 'upper');
      assert.equal(svc?.actual, 1);
      // A lone node shows its instances as they are (no node names to tell apart).
      assert.equal(svc?.replicasDetail?.[0]?.node, undefined);
    });

    void it('adds the task queue to an ASYNC flow: the executor with queued and running tasks', async () => {
      const id = wf();
      await parts.publications.publish(id, asyncFlow(blocks.sleepy), publishSignal());
      await parts.tasks.submitMany(id, [{ input: { ms: 5_000 } }, { input: { ms: 1 } }, { input: { ms: 1 } }], {});
      const st = parts.view.status(id);
      assert.ok(st);
      assert.deepEqual(st.tasks, { queued: 2, running: 1 });
      const [executor, block] = st.details.services;
      assert.match(executor?.id ?? '', /^executor-/);
      assert.equal(executor?.queueDepth, 2);
      assert.equal(executor?.inFlight, 1);
      assert.equal(block?.blockId, 'sleepy');
      assert.equal(block?.targetReplicas, 1);
      await parts.tasks.deleteMany(id, undefined);
    });

    void it('moves the transition time when the health shown changes, not on every read', async () => {
      const id = wf();
      await parts.publications.publish(id, syncFlow(), publishSignal());
      const green = parts.view.status(id);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(parts.view.status(id)?.lastTransitionTime, green?.lastTransitionTime);
      // A republish whose block cannot start: the publish fails, the flow stays, its status says why.
      const broken = { mode: 'SYNC', blocks: [{ id: 'upper', type: 'custom', config: { module: blocks.broken } }], edges: [] };
      await assert.rejects(parts.publications.publish(id, broken, publishSignal()), (e: FlowdError) => e.code === 'runtime.publish_failed');
      const red = parts.view.status(id);
      assert.ok(red && green);
      assert.equal(red.actualStatus, 'RED');
      assert.equal(red.reason, 'RolloutFailed');
      assert.equal(red.desiredVersion, 2);
      assert.ok(red.lastTransitionTime > green.lastTransitionTime, `${red.lastTransitionTime} after ${green.lastTransitionTime}`);
      assert.equal(await parts.publications.unpublish(id), true);
    });

    void it("merges other nodes' instances into the status (cluster)", async () => {
      const id = wf();
      await parts.publications.publish(id, syncFlow(undefined, 1), publishSignal());
      const local = parts.view.status(id);
      assert.ok(local);
      const svc = local.details.services[0];
      assert.ok(svc?.blockId);
      // The block has 2 replicas cluster-wide; this node runs one, node-b the other.
      const withTwo = { ...local, details: { ...local.details, services: [{ ...svc, desired: 2 }] } };
      const report = (ready: boolean): ServiceReport => ({
        workflowId: id,
        blockId: svc.blockId ?? '',
        desired: 1,
        replicas: [{ name: 'b-1', ready, available: ready, restarts: 0, started_at: new Date().toISOString() }],
        rolloutStatus: 'Complete',
      });
      const both = mergeClusterStatus(withTwo, 'node-a', (sid) => (sid === svc.id ? [{ nodeId: 'node-b', report: report(true) }] : []));
      const merged = both.details.services[0];
      assert.equal(merged?.actual, 2);
      assert.equal(both.actualStatus, 'GREEN');
      assert.deepEqual(
        merged?.replicasDetail?.map((r) => r.node),
        ['node-a', 'node-b'],
      );
      // node-b's instance is gone and not yet re-placed: SYNC is not rolled out until it is.
      const lost = mergeClusterStatus(withTwo, 'node-a', () => []);
      assert.equal(lost.details.services[0]?.rolloutStatus, 'InProgress');
      assert.equal(lost.details.services[0]?.rolloutStatusReason, 'ReplacingInstancesOfLostNode');
      assert.equal(lost.actualStatus, 'YELLOW');
    });
  });
}
