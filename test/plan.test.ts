/** A run's stored plan: written with its version, read back only when it is a plan this flowd can run. */
import { builtinBlockRegistry } from '../src/blocks/block-registry.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Plan } from '../src/engine/plan.js';
import { PLAN_VERSION, planFromJson, planToJson } from '../src/engine/plan.js';
import { Provisioner } from '../src/engine/provisioner.js';
import { StateEvents } from '../src/engine/state-events.js';
import { NativeMlService } from '../src/ml/ml-service.js';
import { builtinRegistry } from '../src/steps/builtin-steps.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { JsonObject } from '../src/util/json.js';
import { SecretBox } from '../src/util/secret-box.js';

const plan: Plan = {
  workflow: {
    user_params: {},
    nodes: [{ id: 'n1', type: 'noop', previous_node_inputs: {}, user_inputs: { a: 1 } }],
    edges: [],
  },
  actions: { n1: 'create' },
  replayOutputs: {},
  removed: [{ workflow_step_name: 'create_connector', workflow_step_id: 'old', resource_type: 'connector_id', resource_id: 'c1' }],
  onFailure: 'rollback',
};

/** As stored: through JSON text, like the runs table. */
const stored = (j: JsonObject): JsonObject => JSON.parse(JSON.stringify(j)) as JsonObject;

void describe('stored plans', () => {
  void it('are written with their version and read back as they were', () => {
    const j = planToJson(plan);
    assert.equal(j['version'], PLAN_VERSION);
    assert.deepEqual(planFromJson(stored(j)), plan);
  });

  void it('read a plan written before plans had a version as version 1', () => {
    const legacy = stored(planToJson(plan));
    delete legacy['version'];
    assert.deepEqual(planFromJson(legacy), plan);
  });

  void it('refuse a version this flowd does not know', () => {
    assert.throws(
      () => planFromJson({ ...stored(planToJson(plan)), version: 99 }),
      (e: Error & { code?: string; kind?: string }) => {
        assert.match(e.message, /version \[99\].*reads version 1/);
        assert.equal(e.code, 'run.plan_invalid');
        return true;
      },
    );
  });

  void it('refuse a malformed plan, naming where', () => {
    const bad = stored(planToJson(plan));
    bad['actions'] = { n1: 'explode' };
    assert.throws(() => planFromJson(bad), /stored plan is malformed \(\/actions\/n1/);
    const noWorkflow = stored(planToJson(plan));
    delete noWorkflow['workflow'];
    assert.throws(() => planFromJson(noWorkflow), { message: /stored plan is malformed/ });
  });
});

void describe('resuming a run whose stored plan cannot be read', () => {
  void it('ends that run FAILED, saying why, and resumes the others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowd-plan-'));
    const store = new SqliteStore({ path: join(dir, 'flowd.db') });
    const logger = pino({ level: 'silent' });
    const secrets = new SecretBox(randomBytes(32));
    const ml = new NativeMlService({ store, secrets, fetch: globalThis.fetch, logger });
    const provisioner = new Provisioner(
      {
        store,
        registry: builtinRegistry(),
        blocks: builtinBlockRegistry(),
        services: { store, secrets, logger, opensearch: undefined, ml, fetch: globalThis.fetch },
        events: new StateEvents(),
        logger,
      },
      {
        nodeId: 'me',
        maxWorkflowSteps: 50,
        concurrency: 4,
        leaseMs: 30_000,
        maxAttempts: 3,
        deprovisionTimeoutMs: 5000,
        plugins: new Set(),
        shutdownGraceMs: 100,
      },
    );
    try {
      const runs: Array<[string, JsonObject]> = [
        ['newer', { ...planToJson(plan), version: 2 }],
        ['damaged', { ...planToJson(plan), workflow: 'not a workflow' }],
        ['fine', planToJson({ ...plan, removed: [] })],
      ];
      for (const [id, stored] of runs) {
        assert.equal(
          await store.createWorkflow({ id, template: { name: id, description: '', use_case: '', workflows: {} }, maxWorkflows: 10 }),
          'ok',
        );
        const begun = await store.beginRun({
          workflowId: id,
          runId: `run_${id}`,
          kind: 'provision',
          plan: stored,
          params: secrets.sealJson({}),
          owner: 'a-node-that-died',
          leaseMs: 0,
          startTime: Date.now() - 1000,
          allowedStates: ['NOT_STARTED'],
          keepResources: false,
        });
        assert.deepEqual(begun, { ok: true });
      }
      assert.equal(await provisioner.recover(), 3);
      const newer = await store.getState('newer');
      assert.equal(newer?.state, 'FAILED');
      assert.match(newer?.error ?? '', /^Could not resume: The run's stored plan has version \[2\]/);
      const damaged = await store.getState('damaged');
      assert.equal(damaged?.state, 'FAILED');
      assert.match(damaged?.error ?? '', /^Could not resume: The run's stored plan is malformed \(\/workflow/);
      for (let i = 0; i < 100 && (await store.getState('fine'))?.state === 'PROVISIONING'; i++) await new Promise((r) => setTimeout(r, 20));
      const fine = await store.getState('fine');
      assert.equal(fine?.state, 'COMPLETED', fine?.error);
    } finally {
      await provisioner.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
