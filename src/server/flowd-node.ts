/**
 * The composition root: builds one flowd node from a resolved configuration (store, secrets,
 * step registry, engine, HTTP server), starts it, and stops it gracefully.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { ResolvedConfig } from '../config.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { lockDataDir } from '../store/data-dir-lock.js';
import type { Store } from '../store/store.js';
import { SecretBox } from '../util/secret-box.js';
import { newId } from '../util/ids.js';
import { builtinRegistry } from '../steps/builtin-steps.js';
import type { StepRegistry } from '../steps/step-registry.js';
import type { StepServices } from '../steps/services.js';
import { createOpenSearchClient } from '../steps/opensearch/index.js';
import { NativeMlService } from '../ml/ml-service.js';
import { StateEvents } from '../engine/state-events.js';
import { Provisioner } from '../engine/provisioner.js';
import { Deprovisioner } from '../engine/deprovisioner.js';
import { WorkflowService } from '../engine/workflow-service.js';
import { Authenticator } from './auth/authenticator.js';
import { ApiKeyService } from '../runtime/api-keys.js';
import { RuntimeManager } from '../runtime/runtime-manager.js';
import { RuntimeEvents } from '../runtime/runtime-events.js';
import { buildApp } from './app.js';
import { FlowdMetrics } from './metrics/flowd-metrics.js';
import { createDemoWorkflow } from './demo-workflow.js';

export const FLOWD_VERSION = '0.1.0';

export interface FlowdNode {
  readonly url: string;
  readonly config: ResolvedConfig;
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly apiKeys: ApiKeyService;
  readonly runtime: RuntimeManager;
  readonly registry: StepRegistry;
  readonly provisioner: Provisioner;
  readonly events: StateEvents;
  readonly logger: Logger;
  close(): Promise<void>;
}

export async function startFlowd(config: ResolvedConfig, opts: { logger?: Logger } = {}): Promise<FlowdNode> {
  const t0 = performance.now();
  const logger = opts.logger ?? pino({ level: config.logLevel, base: { node: config.nodeId } });
  const release = lockDataDir(config.dataDir);
  const store = new SqliteStore({ path: join(config.dataDir, 'flowd.db') });
  const apiKeys = new ApiKeyService({ store, logger, required: config.securityEnabled });
  try {
    const nodeId = config.nodeId ?? `node-${newId().slice(0, 8)}`;
    const secrets = SecretBox.fromDataDir(config.dataDir, config.masterKey);
    const registry = builtinRegistry();
    const opensearch = config.opensearchUrl
      ? createOpenSearchClient({
          url: config.opensearchUrl,
          ...(config.opensearchUser ? { username: config.opensearchUser } : {}),
          ...(config.opensearchPassword ? { password: config.opensearchPassword } : {}),
        })
      : undefined;
    const ml = new NativeMlService({ store, secrets, fetch: globalThis.fetch, logger });
    const metrics = new FlowdMetrics({ version: FLOWD_VERSION, nodeId });
    const runtimeEvents = new RuntimeEvents();
    const runtime = new RuntimeManager({
      store,
      ml,
      logger,
      events: runtimeEvents,
      capacity: { maxInstances: config.maxInstances, maxInstanceMemoryMb: config.maxInstanceMemoryMb, instanceMemoryMb: config.instanceMemoryMb },
      nodeId,
      leaseMs: config.leaseMs,
      taskTtlMs: config.taskTtlMs,
      shutdownGraceMs: config.shutdownGraceMs,
      customBlockDirs: config.customBlockDirs,
      taskObserver: metrics.taskObserver,
    });
    const services: StepServices = { store, secrets, logger, opensearch, ml, fetch: globalThis.fetch, flows: runtime };
    const events = new StateEvents();
    const plugins = new Set(['opensearch-ml', ...(opensearch ? ['opensearch'] : [])]);
    const provisioner = new Provisioner(
      { store, registry, services, events, logger, onStepFinished: metrics.onStepFinished, onRunFinished: metrics.onRunFinished },
      {
        nodeId,
        maxWorkflowSteps: config.maxWorkflowSteps,
        concurrency: config.provisionConcurrency,
        leaseMs: config.leaseMs,
        deprovisionTimeoutMs: config.requestTimeoutMs,
        plugins,
        shutdownGraceMs: config.shutdownGraceMs,
      },
    );
    metrics.attach({ store, runtime, provisioner });
    const deprovisioner = new Deprovisioner({ store, registry, services, events, nodeId, stepTimeoutMs: config.requestTimeoutMs });
    const workflows = new WorkflowService({ store, registry, secrets, provisioner, maxWorkflows: config.maxWorkflows });
    let authenticator: Authenticator | undefined;
    // Hashing the first admin password (scrypt, on the thread pool) overlaps building the app.
    let bootstrapping: Promise<void> = Promise.resolve();
    if (config.securityEnabled) {
      authenticator = new Authenticator(store);
      bootstrapping = authenticator.bootstrapAdmin(config.dataDir, config.adminPassword, logger);
      bootstrapping.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    } else {
      logger.warn('SECURITY IS DISABLED (--insecure / FLOWD_SECURITY=disabled): anyone who can reach this port can do anything. Use it only for local experiments.');
    }
    const app = await buildApp({
      logger,
      bodyLimitBytes: config.bodyLimitBytes,
      authenticator,
      ml,
      store,
      apiKeys,
      runtime,
      runtimeEvents,
      events,
      registry,
      workflows,
      provisioner,
      deprovisioner,
      filterByBackendRoles: config.filterByBackendRoles,
      // The parser's node limit only guards memory; the graph check gives Flow Framework's message.
      templateLimits: { maxNodes: Math.max(1000, 2 * config.maxWorkflowSteps) },
      version: FLOWD_VERSION,
      nodeId,
      metrics,
    });
    await bootstrapping;
    // Published flows come back before provisioning runs resume (a resumed run may republish).
    const restored = await runtime.restore();
    const address = await app.listen({ host: config.host, port: config.port });
    const resumed = await provisioner.recover();
    provisioner.startBackgroundLoop();
    if (config.demo && (await store.countWorkflows()) === 0) await createDemoWorkflow(workflows, logger);
    logger.info({ url: address, dataDir: config.dataDir, resumedRuns: resumed, publishedFlows: restored, startupMs: Math.round(performance.now() - t0) }, 'flowd is ready');
    let closed = false;
    return {
      url: address,
      config,
      app,
      store,
      apiKeys,
      runtime,
      registry,
      provisioner,
      events,
      logger,
      async close() {
        if (closed) return;
        closed = true;
        await app.close();
        await provisioner.stop();
        await runtime.close();
        await ml.close();
        await apiKeys.close();
        await store.close();
        release();
      },
    };
  } catch (e) {
    await apiKeys.close();
    await store.close();
    release();
    throw e;
  }
}
