/**
 * The PublicationController without HTTP, on a real store (both kinds), a LocalCluster and
 * real worker-thread instances: publishing writes the publication and brings the flow up,
 * a republish bumps the version in place, a mode switch restarts it, a block that cannot start
 * fails the publish and leaves nothing behind, unpublish stops it, and a new controller on the
 * same store (a restarted node) brings the stored flows back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowdError } from '../src/errors.js';
import type { JsonValue } from '../src/util/json.js';
import type { Store } from '../src/store/store.js';
import type { TestStore } from './support/store-matrix.js';
import { openTestStore, storeMatrix } from './support/store-matrix.js';
import { asyncFlow, blockDir, publishSignal, runtimeParts, syncFlow } from './support/runtime-parts.js';
import type { RuntimeParts } from './support/runtime-parts.js';

const LOWER = 'function process(input) { return { text: String(input.text).toLowerCase() }; }';

async function run(parts: RuntimeParts, workflowId: string, input: JsonValue): Promise<JsonValue> {
  const flow = parts.publications.flow(workflowId);
  assert.ok(flow, `${workflowId} runs here`);
  const r = await flow.execute(input, {});
  assert.ok(r.ok, JSON.stringify(r));
  return r.output;
}

for (const { kind, skip } of await storeMatrix()) {
  void describe(`publication controller (${kind})`, { skip }, () => {
    let shared: TestStore;
    let store: Store;
    let parts: RuntimeParts;
    const blocks = blockDir();
    let seq = 0;
    const wf = (): string => `wf_pub_${kind}_${++seq}`;

    before(async () => {
      shared = await openTestStore(kind);
      store = shared.store;
      parts = runtimeParts(store, { customBlockDirs: [blocks.dir] });
      assert.equal(await parts.publications.restore(), 0);
    });
    after(async () => {
      await parts.close();
      await shared.cleanup();
      blocks.cleanup();
    });

    void it('publishes: stores the publication and answers once the services are up', async () => {
      const id = wf();
      const res = await parts.publications.publish(id, syncFlow(), publishSignal());
      assert.equal(res.mode, 'SYNC');
      assert.equal(res.version, 1);
      assert.equal(res.serviceIds.length, 1);
      assert.deepEqual(parts.publications.publishedIds().includes(id), true);
      const stored = await store.getPublication(id);
      assert.equal(stored?.version, 1);
      assert.equal(stored?.mode, 'SYNC');
      // Ready when publish answers: no wait before the first request.
      assert.deepEqual(await run(parts, id, { text: 'hello' }), { text: 'HELLO' });
      const reports = parts.publications.localReports();
      assert.ok(res.serviceIds[0] !== undefined && reports[res.serviceIds[0]]?.replicas.some((r) => r.ready));
    });

    void it('republishes in place: the version goes up, the service id stays, the new code answers', async () => {
      const id = wf();
      const first = await parts.publications.publish(id, syncFlow(), publishSignal());
      const second = await parts.publications.publish(id, syncFlow(LOWER), publishSignal());
      assert.equal(second.version, 2);
      assert.deepEqual(second.serviceIds, first.serviceIds);
      assert.deepEqual(await run(parts, id, { text: 'HeLLo' }), { text: 'hello' });
      assert.equal((await store.getPublication(id))?.version, 2);
    });

    void it('switches SYNC to ASYNC by starting the flow afresh, with a task lane', async () => {
      const id = wf();
      await parts.publications.publish(id, syncFlow(), publishSignal());
      assert.equal(parts.tasks.asyncStatus(id), undefined);
      const res = await parts.publications.publish(id, asyncFlow(blocks.sleepy), publishSignal());
      assert.equal(res.mode, 'ASYNC');
      assert.equal(res.version, 2);
      assert.equal(res.serviceIds.length, 2, 'the block and the executor');
      assert.equal(parts.publications.flow(id)?.mode, 'ASYNC');
      assert.ok(parts.tasks.asyncStatus(id));
    });

    void it('fails a publish whose block cannot start, and withdraws it', async () => {
      const id = wf();
      const flow = { mode: 'SYNC', blocks: [{ id: 'bad', type: 'custom', config: { module: blocks.broken } }], edges: [] };
      await assert.rejects(parts.publications.publish(id, flow, publishSignal()), (e: FlowdError) => {
        assert.equal(e.code, 'runtime.publish_failed');
        assert.match(
          e.message,
          new RegExp(`^Publishing the flow of workflow ${id} failed: block \\[bad\\] failed to start: .*model file corrupt`),
        );
        return true;
      });
      assert.equal(parts.publications.flow(id), undefined);
      assert.equal(await store.getPublication(id), undefined);
    });

    void it('refuses a flow past the capacity before starting anything', async () => {
      const id = wf();
      await assert.rejects(
        parts.publications.publish(id, syncFlow(undefined, 64), publishSignal()),
        (e: FlowdError) => e.code === 'runtime.capacity',
      );
      assert.equal(parts.publications.flow(id), undefined);
      assert.equal(await store.getPublication(id), undefined);
    });

    void it('unpublishes: the flow stops and the publication is gone', async () => {
      const id = wf();
      await parts.publications.publish(id, syncFlow(), publishSignal());
      assert.equal(await parts.publications.unpublish(id), true);
      assert.equal(parts.publications.flow(id), undefined);
      assert.equal(await store.getPublication(id), undefined);
      assert.equal(await parts.publications.unpublish(id), false);
    });

    void it('brings the stored flows back up in a new controller on the same store', async () => {
      const id = wf();
      await parts.publications.publish(id, syncFlow(LOWER), publishSignal());
      await parts.publications.publish(id, syncFlow(LOWER, 2), publishSignal());
      const expected = new Set(parts.publications.publishedIds());
      await parts.close();
      parts = runtimeParts(store, { customBlockDirs: [blocks.dir] });
      assert.equal(await parts.publications.restore(), expected.size);
      assert.deepEqual(new Set(parts.publications.publishedIds()), expected);
      const flow = parts.publications.flow(id);
      assert.ok(flow);
      assert.equal(flow.version, 2);
      // Up means usable: wait for the instances the restore started.
      const deadline = Date.now() + 15_000;
      while (!flow.canServe() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(await run(parts, id, { text: 'AbC' }), { text: 'abc' });
      // The next publish continues from the stored version.
      assert.equal((await parts.publications.publish(id, syncFlow(), publishSignal())).version, 3);
    });
  });
}
