/**
 * The composition root: builds one flowd node from a resolved configuration (store, secrets,
 * step registry, engine, HTTP server), starts it, and stops it gracefully.
 */
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { ResolvedConfig } from '../config.js';
import { lockDataDir } from '../store/data-dir-lock.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { withDamageAdvice } from '../store/store-integrity.js';
import { MessageBus } from '../cluster/message-bus.js';
import { ClusterNode } from '../cluster/cluster-node.js';
import { SecretBox } from '../util/secret-box.js';
import { OutboundClient } from '../util/outbound-client.js';
import { outboundPolicyFromConfig } from '../util/outbound-policy.js';
import { randomName } from '../util/ids.js';
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
import { LocalCluster } from '../runtime/local-cluster.js';
import type { NodeMembership, ServiceReport } from '../runtime/runtime-cluster.js';
import { builtinBlockRegistry } from '../blocks/block-registry.js';
import { buildApp } from './app.js';
import { FlowdMetrics } from './metrics/flowd-metrics.js';
import { createDemoWorkflow } from './demo-workflow.js';
import { FLOWD_VERSION } from '../version.js';

export { FLOWD_VERSION };

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
  readonly nodeId: string;
  /** This node's cluster: itself alone (SQLite store), or the nodes of its PostgreSQL store over the bus. */
  readonly cluster: NodeMembership;
  close(): Promise<void>;
}

const DEFAULT_BUS_URL = 'nats://127.0.0.1:4222';

/** Nodes of one store form one cluster: its bus subjects are named after the store (host, database, schema). */
function clusterKeyOf(storeUrl: string): string {
  let ident = storeUrl;
  try {
    const u = new URL(storeUrl);
    ident = `${u.hostname}:${u.port}${u.pathname}?schema=${u.searchParams.get('schema') ?? 'public'}`;
  } catch {
    // unparseable URLs were refused when the store opened
  }
  return createHash('sha256').update(ident).digest('hex').slice(0, 12);
}

export async function startFlowd(config: ResolvedConfig, opts: { logger?: Logger } = {}): Promise<FlowdNode> {
  const t0 = performance.now();
  const logger = opts.logger ?? pino({ level: config.logLevel, base: { node: config.nodeId } });
  const release = lockDataDir(config.dataDir, (warning) => logger.warn({ dataDir: config.dataDir }, warning));
  // A PostgreSQL store is shared: the nodes on it form one cluster over the bus.
  const sharedStore = config.storeUrl !== undefined && config.storeUrl !== '';
  if (sharedStore && !config.masterKey) {
    release();
    throw new Error(
      'FLOWD_MASTER_KEY is required with a PostgreSQL store: every node must decrypt the connector credentials the others stored. Generate one with `openssl rand -base64 32` and give the same value to every node.',
    );
  }
  let store: Store;
  try {
    store = await openStore({ storeUrl: config.storeUrl, dataDir: config.dataDir, logger });
  } catch (e) {
    release();
    throw e;
  }
  const apiKeys = new ApiKeyService({ store, logger, required: config.securityEnabled });
  let bus: MessageBus | undefined;
  /** Leaves the cluster once joined (a failed start leaves it too). */
  let leave = (): Promise<void> => Promise.resolve();
  try {
    const nodeId = config.nodeId ?? `node-${randomName(8)}`;
    // Leases name the process, not the node: a node restarted under the same id must not renew
    // (and so keep forever) the leases of runs and tasks its previous process left behind.
    // (One process owns an SQLite file: there the node id is enough.)
    const leaseOwner = sharedStore ? `${nodeId}~${randomName(6)}` : nodeId;
    let advertised = config.advertiseUrl ?? `http://${config.host}:${config.port}`;
    const secrets = SecretBox.fromDataDir(config.dataDir, config.masterKey);
    const registry = builtinRegistry();
    const blocks = builtinBlockRegistry();
    const opensearch = config.opensearchUrl
      ? createOpenSearchClient({
          url: config.opensearchUrl,
          ...(config.opensearchUser ? { username: config.opensearchUser } : {}),
          ...(config.opensearchPassword ? { password: config.opensearchPassword } : {}),
        })
      : undefined;
    // One policy for every outbound call: http_request steps, connectors, remote models, blocks.
    const outbound = new OutboundClient(outboundPolicyFromConfig(config));
    const ml = new NativeMlService({ store, secrets, logger, outbound });
    const metrics = new FlowdMetrics({ version: FLOWD_VERSION, nodeId });
    const runtimeEvents = new RuntimeEvents();
    // Late-bound: the cluster reads the runtime's reports, the runtime places over the cluster.
    let reports: () => Record<string, ServiceReport> = () => ({});
    const url = (): string => advertised;
    if (sharedStore) bus = await MessageBus.connect(config.busUrl ?? DEFAULT_BUS_URL, nodeId, logger);
    // The one choice between the two: every other part runs the same over either.
    const cluster: NodeMembership = bus
      ? new ClusterNode({
          store,
          bus,
          logger,
          nodeId,
          url,
          heartbeatMs: config.heartbeatMs,
          nodeTtlMs: config.nodeTtlMs,
          maxInstances: config.maxInstances,
          version: FLOWD_VERSION,
          clusterKey: clusterKeyOf(config.storeUrl ?? ''),
          reports: () => reports(),
        })
      : new LocalCluster({ nodeId, url, maxInstances: config.maxInstances, version: FLOWD_VERSION, reports: () => reports() });
    leave = () => cluster.stop();
    const runtime = new RuntimeManager({
      store,
      ml,
      logger,
      events: runtimeEvents,
      cluster,
      blocks,
      capacity: {
        maxInstances: config.maxInstances,
        maxInstanceMemoryMb: config.maxInstanceMemoryMb,
        instanceMemoryMb: config.instanceMemoryMb,
      },
      nodeId: leaseOwner,
      leaseMs: config.leaseMs,
      maxAttempts: config.maxAttempts,
      taskTtlMs: config.taskTtlMs,
      taskWaitRecheckMs: config.taskWaitRecheckMs,
      shutdownGraceMs: config.shutdownGraceMs,
      customBlockDirs: config.customBlockDirs,
      taskObserver: metrics.taskObserver,
      reconcileMs: config.heartbeatMs,
    });
    reports = () => runtime.localReports();
    const services: StepServices = { store, secrets, logger, opensearch, ml, fetch: globalThis.fetch, outbound, flows: runtime };
    const events = new StateEvents();
    cluster.bridgeStateEvents(events);
    const plugins = new Set(['opensearch-ml', ...(opensearch ? ['opensearch'] : [])]);
    const provisioner = new Provisioner(
      { store, registry, blocks, services, events, logger, onStepFinished: metrics.onStepFinished, onRunFinished: metrics.onRunFinished },
      {
        nodeId: leaseOwner,
        maxWorkflowSteps: config.maxWorkflowSteps,
        concurrency: config.provisionConcurrency,
        leaseMs: config.leaseMs,
        maxAttempts: config.maxAttempts,
        deprovisionTimeoutMs: config.requestTimeoutMs,
        plugins,
        shutdownGraceMs: config.shutdownGraceMs,
      },
    );
    metrics.attach({ store, runtime, provisioner });
    const deprovisioner = new Deprovisioner({
      store,
      registry,
      services,
      events,
      nodeId: leaseOwner,
      stepTimeoutMs: config.requestTimeoutMs,
    });
    const workflows = new WorkflowService({ store, registry, secrets, provisioner, maxWorkflows: config.maxWorkflows });
    let authenticator: Authenticator | undefined;
    // Hashing the first admin password (scrypt, on the thread pool) overlaps building the app.
    let bootstrapping: Promise<void> = Promise.resolve();
    if (config.securityEnabled) {
      authenticator = new Authenticator(store, {
        logger,
        throttle: { maxFailures: config.authMaxFailures, windowMs: config.authFailureWindowMs },
      });
      bootstrapping = authenticator.bootstrapAdmin(config.dataDir, config.adminPassword, logger);
      bootstrapping.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    } else {
      logger.warn(
        'SECURITY IS DISABLED (--insecure / FLOWD_SECURITY=disabled): anyone who can reach this port can do anything. Use it only for local experiments.',
      );
    }
    const app = await buildApp({
      logger,
      bodyLimitBytes: config.bodyLimitBytes,
      bodyMaxDepth: config.bodyMaxDepth,
      bodyMaxValues: config.bodyMaxValues,
      bodyMaxYamlTokens: config.bodyMaxYamlTokens,
      correlationIdMaxLength: config.correlationIdMaxLength,
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
      multiTenancyEnabled: config.multiTenancyEnabled,
      opensearchVersion: config.opensearchVersion,
      streamMaxLifetimeMs: config.streamMaxLifetimeMs,
      // The parser's node limit only guards memory; the graph check gives Flow Framework's message.
      templateLimits: { maxNodes: Math.max(1000, 2 * config.maxWorkflowSteps) },
      version: FLOWD_VERSION,
      nodeId,
      metrics,
      nodes: { nodeTtlMs: config.nodeTtlMs, nodes: () => cluster.nodes() },
    });
    await bootstrapping;
    // Published flows come back before provisioning runs resume (a resumed run may republish).
    await cluster.start();
    const restored = await runtime.restore();
    const address = await app.listen({ host: config.host, port: config.port });
    if (!config.advertiseUrl) advertised = address;
    const resumed = await provisioner.recover();
    provisioner.startBackgroundLoop();
    if (config.demo && (await store.countWorkflows()) === 0) await createDemoWorkflow(workflows, logger);
    logger.info(
      {
        url: address,
        dataDir: config.dataDir,
        resumedRuns: resumed,
        publishedFlows: restored,
        startupMs: Math.round(performance.now() - t0),
      },
      'flowd is ready',
    );
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
      nodeId,
      cluster,
      async close() {
        if (closed) return;
        closed = true;
        // Leave the cluster first: the other nodes re-place this node's instances at once.
        await cluster.stop();
        await app.close();
        await provisioner.stop();
        await runtime.close();
        await ml.close();
        await apiKeys.close();
        await bus?.close();
        await store.close();
        release();
      },
    };
  } catch (e) {
    const integrity = store.integrity?.();
    await leave();
    await bus?.close();
    await apiKeys.close();
    await store.close();
    release();
    throw withDamageAdvice(e, integrity);
  }
}
