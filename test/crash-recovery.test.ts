/**
 * Durability: SIGKILL the flowd process in the middle of a provisioning run, restart it on the
 * same data directory, and check the run resumes and completes with every resource created
 * exactly once (the remote API honours Idempotency-Key like a real one).
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FF, httpRequest, template } from './support/flowd-harness.js';
import { spawnFlowd } from './support/flowd-process.js';
import { ResourceServer, thingNode } from './support/resource-server.js';

let api: ResourceServer;
let dataDir: string;

before(async () => {
  api = new ResourceServer();
  await api.start();
  dataDir = mkdtempSync(join(tmpdir(), 'flowd-crash-'));
});
after(async () => {
  await api.close();
  rmSync(dataDir, { recursive: true, force: true });
});

void it('resumes a provisioning run after kill -9 without duplicating or losing anything', async () => {
  api.respondDelayMs = 120; // the resource exists before flowd hears about it: a crash window
  const chain = Array.from({ length: 10 }, (_, i) => thingNode(api.url, `c${i}`));
  const edges = chain.slice(1).map((_, i) => ({ source: `c${i}`, dest: `c${i + 1}` }));
  const fan = ['f0', 'f1', 'f2'].map((n) => thingNode(api.url, n));
  const fanEdges = fan.map((f) => ({ source: 'c4', dest: f.id as string }));
  const nodes = [...chain, ...fan];

  const first = await spawnFlowd(dataDir);
  const created = await httpRequest(first.url, 'POST', `${FF}?provision=true`, { body: template(nodes, [...edges, ...fanEdges]) });
  assert.equal(created.status, 202, created.text);
  const id = created.body.workflow_id as string;

  // Kill once a few resources exist and the run is still going.
  for (;;) {
    const s = await httpRequest(first.url, 'GET', `${FF}/${id}/_status`);
    if ((s.body.resources_created?.length ?? 0) >= 4) {
      assert.equal(s.body.state, 'PROVISIONING');
      break;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  first.child.kill('SIGKILL');
  await first.exited;

  const second = await spawnFlowd(dataDir);
  try {
    let s: any;
    const deadline = Date.now() + 30_000;
    for (;;) {
      s = (await httpRequest(second.url, 'GET', `${FF}/${id}/_status?all=true`)).body;
      if (s.state !== 'PROVISIONING' || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(s.state, 'COMPLETED', JSON.stringify(s));
    assert.ok(
      second.logs.some((l) => l.includes('resuming provisioning run')),
      'the restarted node resumed the run',
    );
    const stepIds = s.resources_created.map((r: any) => r.workflow_step_id);
    assert.equal(stepIds.length, nodes.length);
    assert.equal(new Set(stepIds).size, nodes.length, 'one resource per node, none recorded twice');
    for (const n of nodes) {
      const made = api.creations.filter((c) => c.name === n.id);
      assert.equal(made.length, 1, `${String(n.id)} created exactly once on the remote API`);
      const rid = s.resources_created.find((r: any) => r.workflow_step_id === n.id).resource_id;
      assert.equal(rid, made[0]?.id, `${String(n.id)}'s recorded id is the one the API created`);
      const keys = new Set(api.requests.filter((q) => q.path === `/things/${String(n.id)}`).map((q) => q.key));
      assert.equal(keys.size, 1, `${String(n.id)} always sent the same Idempotency-Key`);
    }
    assert.ok(s.steps.every((st: any) => st.state === 'COMPLETED'));
  } finally {
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, 'SIGTERM shuts down gracefully with exit code 0');
  }
});
