/**
 * The HTTP server: Fastify with every body read as a raw string (so JSON and YAML parse with
 * Flow Framework's error messages, and size limits apply before parsing), one error renderer,
 * basic auth on management routes, and the route plugins.
 */
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { errorHandler } from './error-renderer.js';
import { registerAuth } from './auth/request-auth.js';
import { registerTenancy } from './tenancy.js';
import { StreamGuard } from './auth/stream-guard.js';
import { DEFAULT_STREAM_MAX_LIFETIME_MS, registerStreamPolicy } from './routes/event-stream.js';
import type { Authenticator } from './auth/authenticator.js';
import type { WorkflowRoutesOptions } from './routes/workflow-routes.js';
import { workflowRoutes } from './routes/workflow-routes.js';
import { securityRoutes } from './routes/security-routes.js';
import { mlRoutes } from './routes/ml-routes.js';
import { mlConnectorRoutes } from './routes/ml-connector-routes.js';
import { mlAgentRoutes } from './routes/ml-agent-routes.js';
import { mlModelRoutes } from './routes/ml-model-routes.js';
import { apiKeyRoutes } from './routes/api-key-routes.js';
import { runtimeRoutes } from './routes/runtime-routes.js';
import fastifySwagger from '@fastify/swagger';
import { API_DOCS_PAGE } from './docs/api-docs-page.js';
import { installRouteContract, typed } from './contract/route-schema.js';
import { RootContract } from './contract/root-contract.js';
import { rootInfo } from './views/root-info.js';
import { dashboardRoutes, defaultWebRoot, serveIndex, wantsHtml } from './routes/dashboard-routes.js';
import type { RuntimeManager } from '../runtime/runtime-manager.js';
import type { RuntimeEvents } from '../runtime/runtime-events.js';
import type { ApiKeyService } from '../runtime/api-keys.js';
import type { MlService } from '../ml/ml-service.js';
import type { Store } from '../store/store.js';
import type { FlowdMetrics } from './metrics/flowd-metrics.js';
import { METRICS_CONTENT_TYPE } from './metrics/flowd-metrics.js';
import { installHttpMetrics } from './metrics/http-metrics.js';
import type { RouteSeries } from './metrics/http-metrics.js';
import { genRequestId } from './request-ids.js';
import { installRequestBoundary } from './request-boundary.js';
import { installBodyLimits } from './bounded-body.js';
import { DEFAULT_BODY_LIMITS } from '../template/body-limits.js';
import { nodeRoutes } from './routes/node-routes.js';
import type { NodesSource } from './routes/node-routes.js';

export interface AppOptions extends WorkflowRoutesOptions {
  logger: Logger;
  bodyLimitBytes: number;
  /** Body bounds beyond its size (README "Security"); defaults as in config.ts. */
  bodyMaxDepth?: number;
  bodyMaxValues?: number;
  bodyMaxYamlTokens?: number;
  /** Longest `X-Correlation-Id` accepted (default 200). */
  correlationIdMaxLength?: number;
  authenticator: Authenticator | undefined;
  ml: MlService;
  store: Store;
  apiKeys: ApiKeyService;
  runtime: RuntimeManager;
  runtimeEvents: RuntimeEvents;
  /** flowd's own version (`GET /` reports it as version.build_flavor; version.number is opensearchVersion). */
  version: string;
  nodeId: string;
  /** The built dashboard (index.html, assets/); default dist/web of this package. */
  webRoot?: string;
  /** Serves `/metrics` and times every route; without it neither exists. */
  metrics?: FlowdMetrics;
  /** The cluster's nodes (GET /_flowd/nodes). */
  nodes: NodesSource;
  /** Longest an event stream stays open (default 1 h); revoked credentials end theirs sooner. */
  streamMaxLifetimeMs?: number;
  /** Flow Framework's multi-tenancy (`x-tenant-id`, tenancy.ts); default off. */
  multiTenancyEnabled?: boolean;
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  // Widened on purpose: routes are typed against Fastify's base logger, not pino's.
  const logger: FastifyBaseLogger = opts.logger;
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: opts.bodyLimitBytes,
    logController: new LogController({ disableRequestLogging: true }),
    // The caller's X-Request-Id is kept only when it is a plausible id (request-ids.ts).
    requestIdHeader: false,
    genReqId: genRequestId,
    // No per-request child logger (a measurable cost on hot reads): the few request-scoped log
    // lines (error-renderer.ts, runtime-routes.ts) add the ids themselves (request-ids.ts).
    childLoggerFactory: (parent) => parent,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  });
  // Before any route: each route gets its duration hook when it is registered.
  let unmatched: RouteSeries | undefined;
  if (opts.metrics) unmatched = installHttpMetrics(app, opts.metrics.http);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: `no handler found for uri [${req.url.split('?')[0] ?? ''}] and method [${req.method}]` }),
  );
  // Before the routes: every route decodes its body within these limits (bounded-body.ts).
  installBodyLimits(app, {
    maxBytes: opts.bodyLimitBytes,
    maxDepth: opts.bodyMaxDepth ?? DEFAULT_BODY_LIMITS.maxDepth,
    maxValues: opts.bodyMaxValues ?? DEFAULT_BODY_LIMITS.maxValues,
    maxYamlTokens: opts.bodyMaxYamlTokens ?? DEFAULT_BODY_LIMITS.maxYamlTokens,
  });
  const authenticate = registerAuth(app, opts.authenticator);
  // Before any route hook: a bad URL or correlation id is refused before anything logs it.
  installRequestBoundary(app, {
    correlationIdMaxLength: opts.correlationIdMaxLength ?? 200,
    ...(authenticate ? { authenticate } : {}),
    ...(unmatched ? { unmatched } : {}),
  });
  // After auth (a caller without credentials gets its 401 first), before every route.
  registerTenancy(app, { enabled: opts.multiTenancyEnabled ?? false, store: opts.store });
  // Before the route plugins: their event streams end when the caller's credential is revoked.
  const streamGuard = new StreamGuard({ authenticator: opts.authenticator, apiKeys: opts.apiKeys, logger: opts.logger });
  registerStreamPolicy(app, {
    maxLifetimeMs: opts.streamMaxLifetimeMs ?? DEFAULT_STREAM_MAX_LIFETIME_MS,
    watchCaller: (req, revoke) => streamGuard.watch(req, revoke),
  });
  app.addHook('onClose', async () => streamGuard.close());
  // Before any route: it refuses routes that declare no schema, and @fastify/swagger's hook
  // (registered next) builds the OpenAPI document from the same declarations.
  installRouteContract(app);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'flowd',
        version: opts.version,
        description: 'Flow Framework-compatible management API and NL Flow-compatible runtime API.',
      },
      components: {
        securitySchemes: {
          basic: { type: 'http', scheme: 'basic', description: 'Management, ML, security, API-key and dashboard routes.' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-KEY', description: 'Runtime API.' },
        },
      },
    },
  });
  const r = typed(app);
  r.get(
    '/_flowd/openapi.json',
    { schema: RootContract.openapi, config: { auth: 'none' } },
    async () => app.swagger() as unknown as Record<string, unknown>,
  );
  r.get('/_flowd/docs', { schema: RootContract.docs, config: { auth: 'none' } }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').send(API_DOCS_PAGE),
  );

  const webRoot = opts.webRoot ?? defaultWebRoot();
  const root = rootInfo({ nodeId: opts.nodeId, flowdVersion: opts.version, opensearchVersion: opts.opensearchVersion });
  // Browsers get the dashboard; OpenSearch clients probing / keep getting the JSON root.
  r.get('/', { schema: RootContract.root, config: { auth: 'none' } }, async (req, reply) =>
    wantsHtml(req) ? serveIndex(reply, webRoot) : root,
  );
  // Red (503, so load balancers and probes notice) once the store's data is known damaged.
  r.get('/_flowd/health', { schema: RootContract.health, config: { auth: 'none' } }, async (_req, reply) => {
    const integrity = opts.store.integrity?.();
    if (integrity && !integrity.ok) return reply.code(503).send({ status: 'red', store: opts.store.kind, reason: integrity.reason });
    return { status: 'green' as const, store: opts.store.kind };
  });
  const metrics = opts.metrics;
  if (metrics) {
    // Unauthenticated, like node exporters: scrapers rarely hold credentials. It reveals
    // workflow ids and counts, nothing else; keep the port private if that matters.
    r.get('/metrics', { schema: RootContract.metrics, config: { auth: 'none' } }, async (_req, reply) =>
      reply.type(METRICS_CONTENT_TYPE).send(await metrics.render()),
    );
  }

  await app.register(workflowRoutes, opts);
  await app.register(mlRoutes, { ml: opts.ml });
  await app.register(mlConnectorRoutes, { ml: opts.ml, store: opts.store });
  await app.register(mlAgentRoutes, { ml: opts.ml, store: opts.store });
  await app.register(mlModelRoutes, { ml: opts.ml, store: opts.store, nodeId: opts.nodeId });
  if (opts.authenticator) await app.register(securityRoutes, { store: opts.store, authenticator: opts.authenticator });
  await app.register(nodeRoutes, {
    source: opts.nodes,
    self: opts.nodeId,
    store: opts.store,
    filterByBackendRoles: opts.filterByBackendRoles,
  });
  await app.register(apiKeyRoutes, { apiKeys: opts.apiKeys, store: opts.store });
  await app.register(runtimeRoutes, { runtime: opts.runtime, apiKeys: opts.apiKeys, events: opts.runtimeEvents, maxWaitMs: 120_000 });
  await app.register(dashboardRoutes, {
    webRoot,
    runtime: opts.runtime,
    ...(opts.events ? { events: opts.events } : {}),
    runtimeEvents: opts.runtimeEvents,
    store: opts.store,
    filterByBackendRoles: opts.filterByBackendRoles,
  });
  return app;
}
