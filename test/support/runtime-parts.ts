/**
 * Long-polls re-read only every minute here: a wait that answers sooner was woken.
 *
 * The runtime's parts wired as a node wires them, without HTTP: a real store, a LocalCluster
 * (a lone node is a one-node cluster), the TaskQueue, the PublicationController and the
 * RuntimeStatusView, with real worker-thread instances. `restart` builds new parts on the same
 * store, as a restarted process does.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { builtinBlockRegistry } from '../../src/blocks/block-registry.js';
import { NativeMlService } from '../../src/ml/ml-service.js';
import { LocalCluster } from '../../src/runtime/local-cluster.js';
import { PublicationController } from '../../src/runtime/publication-controller.js';
import { RuntimeEvents } from '../../src/runtime/runtime-events.js';
import { RuntimeStatusView } from '../../src/runtime/runtime-status-view.js';
import { TaskQueue } from '../../src/runtime/task-queue.js';
import type { Store } from '../../src/store/store.js';
import type { JsonObject } from '../../src/util/json.js';
import { SecretBox } from '../../src/util/secret-box.js';

export const UPPER = 'function process(input) { return { text: String(input.text).toUpperCase() }; }';

/** A folder `custom` blocks may come from, with a block that waits `input.ms` (honouring cancellation) then echoes. */
export function blockDir(): { dir: string; sleepy: string; broken: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'flowd-parts-'));
  const sleepy = join(dir, 'sleepy.mjs');
  writeFileSync(
    sleepy,
    `export async function process(input) { await new Promise((r) => setTimeout(r, input.ms ?? 0)); return { slept: input.ms ?? 0, tag: input.tag ?? null }; }\n`,
  );
  const broken = join(dir, 'broken.mjs');
  writeFileSync(broken, `throw new Error('model file corrupt');\nexport function process() { return 1; }\n`);
  return { dir, sleepy, broken, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const syncFlow = (source = UPPER, replicas = 1): JsonObject => ({
  mode: 'SYNC',
  blocks: [{ id: 'upper', type: 'js', replicas, config: { source } }],
  edges: [],
});

export const asyncFlow = (module: string, opts: { consumers?: number; replicas?: number } = {}): JsonObject => ({
  mode: 'ASYNC',
  autoscaling: { preset: 'disabled' },
  blocks: [{ id: 'sleepy', type: 'custom', replicas: opts.replicas ?? 1, consumers: opts.consumers ?? 1, config: { module } }],
  edges: [],
});

export interface RuntimeParts {
  cluster: LocalCluster;
  events: RuntimeEvents;
  tasks: TaskQueue;
  publications: PublicationController;
  view: RuntimeStatusView;
  /** Stops the flows and loops (the store stays open). */
  close(): Promise<void>;
}

export function runtimeParts(store: Store, opts: { customBlockDirs?: string[]; owner?: string; maxInstances?: number } = {}): RuntimeParts {
  const logger = pino({ level: 'silent' });
  const owner = opts.owner ?? 'node-a';
  const maxInstances = opts.maxInstances ?? 16;
  const events = new RuntimeEvents();
  let reports = (): ReturnType<PublicationController['localReports']> => ({});
  const cluster = new LocalCluster({
    nodeId: owner,
    maxInstances,
    version: 'test',
    url: () => 'http://127.0.0.1:0',
    reports: () => reports(),
  });
  const tasks = new TaskQueue({
    store,
    logger,
    events,
    cluster,
    owner,
    leaseMs: 30_000,
    maxAttempts: 3,
    ttlMs: 86_400_000,
    shutdownGraceMs: 1_000,
    requeueMs: 60_000,
    waitRecheckMs: 60_000,
  });
  const publications = new PublicationController({
    store,
    ml: new NativeMlService({ store, secrets: new SecretBox(randomBytes(32)), logger }),
    logger,
    events,
    cluster,
    blocks: builtinBlockRegistry(),
    tasks,
    capacity: { maxInstances, maxInstanceMemoryMb: 64 * maxInstances, instanceMemoryMb: 64 },
    customBlockDirs: opts.customBlockDirs ?? [],
    reconcileMs: 60_000,
  });
  reports = () => publications.localReports();
  const view = new RuntimeStatusView({ flows: publications, tasks, cluster });
  return {
    cluster,
    events,
    tasks,
    publications,
    view,
    async close() {
      tasks.close();
      await publications.close();
    },
  };
}

/** A fresh signal with a generous limit (a publish waits for readiness under it). */
export const publishSignal = (ms = 30_000): AbortSignal => AbortSignal.timeout(ms);
