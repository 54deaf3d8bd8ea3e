/**
 * Services of worker-thread instances, with real threads and real blocks: readiness gated on
 * load, dispatch and load sharing, crash / hang / out-of-memory replacement, scaling without
 * restarts, rolling updates without failed requests, and a stop that leaves nothing running.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { Service } from '../src/runtime/instances/service.js';
import type { ServiceOptions, ServiceSpec, ServiceStatusView } from '../src/runtime/instances/service.js';
import type { FlowdError } from '../src/errors.js';
import type { JsonObject, JsonValue } from '../src/util/json.js';
import { waitFor } from './support/service-wait.js';

const logger = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'flowd-instances-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A `custom` block module in a temp file (the js sandbox cannot exit, loop the thread, or hold state we can see). */
function customModule(name: string, source: string): string {
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, source);
  return file;
}

// Each worker imports the module on its own, so `token` tells instances apart.
const behaviours = customModule(
  'behaviours',
  `
const token = Math.random().toString(36).slice(2);
export async function process(input) {
  if (input.crash) globalThis.process.exit(1);
  if (input.hang) { for (;;) {} }
  if (input.freezeSoon) setTimeout(() => { for (;;) {} }, 20);
  if (input.sleepMs) await new Promise((r) => setTimeout(r, input.sleepMs));
  if (input.hog) { const keep = []; for (;;) keep.push(new Array(100000).fill(input.hog)); }
  return { token, echo: input.value ?? null };
}
`,
);
const failsToLoad = customModule('fails-to-load', `throw new Error('model file corrupt');\nexport function process() { return 1; }\n`);

let seq = 0;
function spec(over: Partial<ServiceSpec> & { config: JsonObject }): ServiceSpec {
  return {
    serviceId: `svc-${++seq}`,
    blockId: `block_${seq}`,
    blockType: 'custom',
    prepared: {},
    limits: { timeoutMs: 5000 },
    version: 1,
    ...over,
  };
}

const services: Service[] = [];
after(async () => {
  await Promise.all(services.map((s) => s.stop()));
});

function service(s: ServiceSpec, opts: Partial<ServiceOptions> & { desired: number }): Service {
  const svc = new Service(s, { logger, restartBackoff: { initialMs: 20, maxMs: 200 }, waitReadyMs: 15_000, heartbeatMs: 100, ...opts });
  services.push(svc);
  return svc;
}

const complete = (v: ServiceStatusView): boolean => v.rolloutStatus === 'Complete';

async function rejection(p: Promise<unknown>): Promise<FlowdError> {
  try {
    await p;
  } catch (e) {
    return e as FlowdError;
  }
  assert.fail('expected the request to fail');
}

void describe('runtime instances (worker threads)', () => {
  void it('is ready only after the block loaded; a request sent before that waits and is answered', async () => {
    // The module's load blocks on a gate file, and says when it has begun: the thread is up
    // and loading, which must not count as ready.
    const loading = join(dir, 'gate-loading');
    const gate = join(dir, 'gate-open');
    const gated = customModule(
      'gated',
      `import { existsSync, writeFileSync } from 'node:fs';
writeFileSync(${JSON.stringify(loading)}, '');
while (!existsSync(${JSON.stringify(gate)})) await new Promise((r) => setTimeout(r, 10));
export function process(input) { return { doubled: input.n * 2 }; }
`,
    );
    const svc = service(spec({ config: { module: gated } }), { desired: 1 });
    svc.start();
    const early = svc.dispatch({ n: 21 });
    while (!existsSync(loading)) await new Promise((r) => setTimeout(r, 10));
    const v0 = svc.status();
    assert.equal(v0.actual, 0);
    assert.equal(v0.status, 'RED');
    assert.equal(v0.rolloutStatus, 'InProgress');
    assert.equal(v0.rolloutStatusReason, 'RollingOutReplicaSet');
    assert.equal(v0.replicasDetail.length, 1);
    assert.equal(v0.replicasDetail[0]!.ready, false);
    assert.equal(v0.replicasDetail[0]!.phase, 'Pending');
    assert.equal(v0.queued, 1, 'the early request waits for a ready instance');

    writeFileSync(gate, '');
    assert.deepEqual(await early, { doubled: 42 });
    const v = await waitFor(svc, 'rollout complete', complete);
    assert.equal(v.actual, 1);
    assert.equal(v.status, 'GREEN');
    assert.equal(v.rolloutStatusReason, 'NewReplicaSetAvailable');
    assert.match(v.replicasDetail[0]!.name, new RegExp(`^depl-${svc.id}-`));
    assert.equal(v.replicasDetail[0]!.ready, true);
    assert.equal(v.queued, 0);
  });

  void it('dispatch round trip through a js block', async () => {
    const svc = service(
      spec({ blockType: 'js', config: { source: 'function process(input) { return { words: input.text.split(" ").length }; }' } }),
      { desired: 1 },
    );
    svc.start();
    assert.deepEqual(await svc.dispatch({ text: 'one two three' }, { correlationId: 'c-1' }), { words: 3 });
    const err = await rejection(svc.dispatch({ text: 42 }));
    assert.equal(err.node, svc.spec.blockId);
    assert.match(err.message, /split/);
    assert.equal(err.retryable, false);
  });

  void it('a block that fails to load: rollout Failed with the reason, actual 0, RED, requests answered 503', async () => {
    const svc = service(spec({ config: { module: failsToLoad } }), { desired: 2, waitReadyMs: 50 });
    svc.start();
    const v = await waitFor(svc, 'rollout failed', (s) => s.rolloutStatus === 'Failed');
    assert.match(v.rolloutStatusReason ?? '', /^BlockLoadFailed: .*model file corrupt/);
    assert.equal(v.actual, 0);
    assert.equal(v.status, 'RED');
    assert.ok(v.replicasDetail.every((r) => !r.ready));
    const err = await rejection(svc.dispatch({}));
    assert.equal(err.code, 'service.unavailable');
    assert.equal(err.status, 503);
    assert.equal(err.retryable, true);
    assert.equal(err.node, svc.spec.blockId);
    assert.match(err.message, new RegExp(`Block "${svc.spec.blockId}"`));
    assert.match(err.message, /model file corrupt/);
  });

  void it('several instances share the load', async () => {
    const svc = service(spec({ config: { module: behaviours } }), { desired: 3 });
    svc.start();
    await waitFor(svc, 'three ready', complete);
    const outs = (await Promise.all(Array.from({ length: 60 }, (_, i) => svc.dispatch({ value: i })))) as Array<{
      token: string;
      echo: number;
    }>;
    assert.deepEqual(
      outs.map((o) => o.echo),
      Array.from({ length: 60 }, (_, i) => i),
    );
    assert.equal(new Set(outs.map((o) => o.token)).size, 3);
    // Sequential requests are spread too (idle instances take turns).
    const seqTokens = new Set<string>();
    for (let i = 0; i < 9; i++) seqTokens.add(((await svc.dispatch({})) as { token: string }).token);
    assert.ok(seqTokens.size > 1, 'sequential requests all went to one instance');
    assert.equal(svc.inFlight, 0);
  });

  void it('a crashed instance fails its requests with a retryable error and is replaced; the service stays usable', async () => {
    const svc = service(spec({ config: { module: behaviours } }), { desired: 1 });
    svc.start();
    const before = await waitFor(svc, 'ready', complete);
    const err = await rejection(svc.dispatch({ crash: true }));
    assert.equal(err.code, 'instance.crashed');
    assert.equal(err.retryable, true);
    assert.equal(err.node, svc.spec.blockId);
    const v = await waitFor(svc, 'replaced', (s) => complete(s) && s.replicasDetail[0]!.restarts === 1);
    assert.equal(v.replicasDetail[0]!.name, before.replicasDetail[0]!.name, 'the slot keeps its name across restarts');
    assert.equal(v.replicasDetail[0]!.lastTerminationReason, 'Crashed');
    assert.deepEqual(((await svc.dispatch({ value: 7 })) as { echo: number }).echo, 7);
  });

  void it('a run past the block timeout is cut off (block.timeout), the requests queued behind it go elsewhere, the instance is replaced', async () => {
    const svc = service(spec({ config: { module: behaviours }, limits: { timeoutMs: 200 } }), { desired: 1, hangGraceMs: 200 });
    svc.start();
    await waitFor(svc, 'ready', complete);
    const [stuck, queuedBehind] = await Promise.all([rejection(svc.dispatch({ hang: true })), rejection(svc.dispatch({ value: 1 }))]);
    assert.equal(stuck.code, 'block.timeout');
    assert.equal(stuck.status, 504);
    assert.equal(stuck.retryable, false, 'the same input would time out again');
    assert.match(stuck.message, /timeout of 200 ms/);
    assert.equal(queuedBehind.code, 'instance.hung');
    assert.equal(queuedBehind.retryable, true);
    const v = await waitFor(svc, 'replaced', (s) => complete(s) && s.replicasDetail[0]!.restarts === 1);
    assert.equal(v.replicasDetail[0]!.lastTerminationReason, 'Hung');
    assert.equal(((await svc.dispatch({ value: 1 })) as { echo: number }).echo, 1);

    // Stuck while idle (a timer that never returns): missed heartbeats give it away.
    assert.equal(((await svc.dispatch({ freezeSoon: true, value: 2 })) as { echo: number }).echo, 2);
    const v2 = await waitFor(svc, 'replaced again', (s) => complete(s) && s.replicasDetail[0]!.restarts === 2);
    assert.equal(v2.replicasDetail[0]!.lastTerminationReason, 'Hung');
  });

  void it('a js block in an endless loop is stopped at its timeout by the instance (the sandbox leaves it to the host)', async () => {
    const svc = service(
      spec({
        blockType: 'js',
        config: { source: 'function process(input) { while (input.loop) {} return { ok: true }; }' },
        limits: { timeoutMs: 150 },
      }),
      {
        desired: 1,
        hangGraceMs: 150,
      },
    );
    svc.start();
    await waitFor(svc, 'ready', complete);
    const err = await rejection(svc.dispatch({ loop: true }));
    assert.equal(err.code, 'block.timeout');
    assert.equal(err.node, svc.spec.blockId);
    assert.deepEqual(await svc.dispatch({ loop: false }), { ok: true });
  });

  void it('an instance that exceeds its memory limit is killed and reported, not the process', async () => {
    const svc = service(spec({ config: { module: behaviours }, limits: { timeoutMs: 10_000, memoryMb: 32 } }), { desired: 1 });
    svc.start();
    await waitFor(svc, 'ready', complete);
    const err = await rejection(svc.dispatch({ hog: 1 }));
    assert.equal(err.code, 'instance.out_of_memory');
    assert.match(err.message, /memory limit of 32 MB/);
    const v = await waitFor(svc, 'replaced', (s) => complete(s) && s.replicasDetail[0]!.restarts === 1);
    assert.equal(v.replicasDetail[0]!.lastTerminationReason, 'OOMKilled');
    assert.equal(((await svc.dispatch({ value: 2 })) as { echo: number }).echo, 2);
  });

  void it('scaling up and down keeps the surviving instances (same names, same start times) and drains in-flight work', async () => {
    const svc = service(spec({ config: { module: behaviours } }), { desired: 2 });
    svc.start();
    const v2 = await waitFor(svc, 'two ready', complete);
    const original = new Map(v2.replicasDetail.map((r) => [r.name, r.started_at]));

    svc.setDesired(4);
    assert.equal(svc.status().rolloutStatus, 'InProgress');
    const v4 = await waitFor(svc, 'four ready', (s) => complete(s) && s.actual === 4);
    for (const [name, startedAt] of original) {
      const r = v4.replicasDetail.find((x) => x.name === name);
      assert.ok(r, `instance ${name} was restarted by the scale-up`);
      assert.equal(r.started_at, startedAt);
      assert.equal(r.restarts, 0);
    }

    // Slow requests on every instance, then scale down under them: none may fail.
    const slow = Array.from({ length: 8 }, (_, i) => svc.dispatch({ sleepMs: 300, value: i }));
    svc.setDesired(1);
    assert.equal(svc.status().actual, 1, 'the draining instances no longer count');
    const outs = (await Promise.all(slow)) as Array<{ echo: number }>;
    assert.deepEqual(
      outs.map((o) => o.echo),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
    const v1 = await waitFor(svc, 'one left', (s) => s.replicasDetail.length === 1);
    const survivor = v1.replicasDetail[0]!;
    assert.equal(original.get(survivor.name), survivor.started_at, 'the survivor is one of the first instances, untouched');
    assert.equal(v1.actual, 1);
    assert.equal(v1.status, 'GREEN');

    // A replica-only update restarts nothing either; it only re-labels the version.
    await svc.update({ ...svc.spec, version: 2 }, 1);
    const vu = svc.status();
    assert.equal(vu.replicasDetail[0]!.name, survivor.name);
    assert.equal(vu.replicasDetail[0]!.started_at, survivor.started_at);
    assert.equal(vu.replicasDetail[0]!.version, 2);
    assert.equal(vu.observedVersion, 2);
  });

  void it('a rolling update keeps answering (no failed request) and ends with only new-version instances', async () => {
    const v1src = 'function process(input) { return { v: 1, i: input.i }; }';
    const v2src = 'function process(input) { return { v: 2, i: input.i }; }';
    const base = spec({ blockType: 'js', config: { source: v1src } });
    const statuses = new Set<string>();
    const svc = service(base, { desired: 2, onChange: () => statuses.add(svc.status().rolloutStatus) });
    svc.start();
    const before = await waitFor(svc, 'v1 ready', complete);

    let stop = false;
    let failures = 0;
    const seen = new Set<number>();
    const loop = async (): Promise<void> => {
      for (let i = 0; !stop; i++) {
        try {
          const out = (await svc.dispatch({ i })) as { v: number; i: number };
          assert.equal(out.i, i);
          seen.add(out.v);
        } catch {
          failures++;
        }
      }
    };
    const loops = [loop(), loop(), loop()];
    await svc.update({ ...base, config: { source: v2src }, version: 2 }, 2);
    // Keep going a little after the rollout so the last requests land on the new version.
    for (let i = 0; i < 20; i++) await svc.dispatch({ i });
    stop = true;
    await Promise.all(loops);

    assert.equal(failures, 0);
    assert.deepEqual([...seen].sort(), [1, 2]);
    assert.ok(statuses.has('InProgress'));
    const v = await waitFor(svc, 'old instances gone', (s) => complete(s) && s.replicasDetail.length === 2);
    assert.ok(v.replicasDetail.every((r) => r.version === 2 && r.ready));
    const oldNames = new Set(before.replicasDetail.map((r) => r.name));
    assert.ok(v.replicasDetail.every((r) => !oldNames.has(r.name)));
    assert.equal(v.observedVersion, 2);
    assert.deepEqual(await svc.dispatch({ i: 5 }), { v: 2, i: 5 });
  });

  void it('a rolling update whose new version cannot load fails, and the old instances keep serving', async () => {
    const base = spec({ blockType: 'js', config: { source: 'function process(input) { return { v: 1 }; }' } });
    const svc = service(base, { desired: 1 });
    svc.start();
    const before = await waitFor(svc, 'v1 ready', complete);
    await svc.update({ ...base, blockType: 'custom', config: { module: failsToLoad }, version: 2 }, 1);
    const v = svc.status();
    assert.equal(v.rolloutStatus, 'Failed');
    assert.match(v.rolloutStatusReason ?? '', /^BlockLoadFailed: .*model file corrupt/);
    assert.equal(v.actual, 0, 'only instances of the new version count');
    const old = v.replicasDetail.find((r) => r.version === 1);
    assert.equal(old?.name, before.replicasDetail[0]!.name);
    assert.equal(old?.ready, true);
    assert.deepEqual(await svc.dispatch({}), { v: 1 });
  });

  void it('stop() lets in-flight work finish, then refuses requests and leaves nothing running', async () => {
    const svc = service(spec({ config: { module: behaviours } }), { desired: 2 });
    svc.start();
    await waitFor(svc, 'ready', complete);
    const inFlight = svc.dispatch({ sleepMs: 200, value: 3 });
    await svc.stop();
    assert.equal(((await inFlight) as { echo: number }).echo, 3);
    assert.equal(svc.status().replicasDetail.length, 0);
    const err = await rejection(svc.dispatch({}));
    assert.equal(err.code, 'service.unavailable');

    // The real proof that no thread or timer is left: a process that only starts and stops a
    // service exits by itself.
    const serviceUrl = pathToFileURL(fileURLToPath(new URL('../src/runtime/instances/service.ts', import.meta.url))).href;
    const script = join(dir, 'stop-exits.mts');
    writeFileSync(
      script,
      `import { pino } from ${JSON.stringify(import.meta.resolve('pino'))};
import { Service } from ${JSON.stringify(serviceUrl)};
const spec = (id) => ({ serviceId: id, blockId: 'b', blockType: 'custom', config: { module: ${JSON.stringify(behaviours)} }, prepared: {}, limits: { timeoutMs: 1000 }, version: 1 });
const opts = { desired: 2, logger: pino({ level: 'silent' }), heartbeatMs: 50 };
const serving = new Service(spec('serving'), opts);
serving.start();
const out = await serving.dispatch({ value: 'x' });
await serving.stop();
// Stopped while its instances are still loading.
const starting = new Service(spec('starting'), opts);
starting.start();
await starting.stop();
console.log(JSON.stringify(out));
`,
    );
    const child = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = execFile(
        process.execPath,
        ['--import', 'tsx', script],
        { cwd: fileURLToPath(new URL('..', import.meta.url)), timeout: 10_000 },
        (e, stdout, stderr) => resolve({ code: e ? ((e as { code?: number }).code ?? null) : 0, stdout, stderr }),
      );
      p.stdin?.end();
    });
    assert.equal(child.code, 0, `the process did not exit cleanly after stop(): ${child.stderr}`);
    assert.equal((JSON.parse(child.stdout) as { echo: JsonValue }).echo, 'x');
  });
});
