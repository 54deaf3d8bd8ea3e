/**
 * The web dashboard: its page (web/, bundled by Vite into dist/web), the page's assets, and the
 * few data routes the management API lacks. The page and its assets carry no data and are
 * served without auth, so a browser can load them and then meet the basic-auth prompt on its
 * first data call; every data route below takes basic auth like the rest of the management API.
 *
 * - `GET /_flowd/workflows` (`?watch=true`: Server-Sent Events): one page of the workflows the
 *   caller may see (newest first; size, after, state, query) with state, step progress and last
 *   change; the stream sends the page, then only the rows that changed in it;
 * - `GET /_flowd/workflows/{id}/runtime` (`?watch=true`): the published flow's runtime status,
 *   as the runtime API's `action/status` gives it, but with basic auth instead of X-API-KEY;
 * - `POST /_flowd/workflows/{id}/analyze`: runs the flow on a document (runtime API semantics).
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound, workflowForbidden } from '../../errors.js';
import type { StateEvents } from '../../engine/state-events.js';
import type { RuntimeEvents } from '../../runtime/runtime-events.js';
import type { RuntimeManager } from '../../runtime/runtime-manager.js';
import type { Store } from '../../store/store.js';
import type { JsonObject } from '../../util/json.js';
import { requireAction } from '../auth/request-auth.js';
import { isAdmin, mayAccess } from '../auth/roles.js';
import { inTenant } from '../tenancy.js';
import { boolParam, queryOf, rejectUnknownParams } from './request-params.js';
import { EventStreams } from './event-stream.js';
import type { OpenStream, StreamEvent } from './event-stream.js';
import { connectionSignal } from '../connection-signal.js';
import { errorHandlerFor } from '../error-renderer.js';
import { typed } from '../contract/route-schema.js';
import { DashboardContract } from '../contract/dashboard-contract.js';
import { OverviewReader, parseOverviewQuery } from '../views/workflow-overview.js';
import { OverviewWindow } from '../views/overview-window.js';
import { decodeWorkflowInput } from '../contract/runtime-contract.js';

export interface DashboardRoutesOptions {
  /** The built page: index.html and assets/ (dist/web, see defaultWebRoot). */
  webRoot: string;
  runtime: RuntimeManager;
  /** Workflow and state changes; without them the list stream re-reads its page every LIST_POLL_MS. */
  events?: StateEvents;
  runtimeEvents: RuntimeEvents;
  store: Store;
  /** As the workflow routes: callers only see workflows sharing a backend role. */
  filterByBackendRoles?: boolean;
  /** Longest analyze may run (default 60 s). */
  analyzeTimeoutMs?: number;
}

/**
 * Template writes and state changes notify the list streams; a change nobody announced (made
 * where no event reaches this node) shows after this long, when a stream re-reads its page.
 */
const LIST_RESYNC_MS = 30_000;
/** Without state events, streams re-read their page this often. */
const LIST_POLL_MS = 1_000;
/** Bursts of step changes across workflows become one list event. */
const LIST_COALESCE_MS = 200;
const LIST_PARAMS = ['watch', 'size', 'after', 'state', 'query', 'order'];
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;
const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};
/** The page loads only its own scripts and styles and talks only to this server. */
const CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/** dist/web of the package this module runs from (src/ under tsx, dist/ when built or bundled). */
export function defaultWebRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'web');
    const up = dirname(dir);
    if (up === dir) return join(process.cwd(), 'dist', 'web');
    dir = up;
  }
}

/** Browsers ask for HTML; OpenSearch clients probing `/` (JSON, `*` / `*`) keep the JSON root. */
export function wantsHtml(req: FastifyRequest): boolean {
  const accept = req.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

/** The dashboard page (no auth: it holds no data); 503 saying how to build it when missing. */
export async function serveIndex(reply: FastifyReply, webRoot: string = defaultWebRoot()): Promise<FastifyReply> {
  let html: Buffer;
  try {
    html = await readFile(join(webRoot, 'index.html'));
  } catch {
    return reply
      .code(503)
      .type('text/plain; charset=utf-8')
      .send('The flowd dashboard is not built: run `npm run build` (it bundles web/ into dist/web) and reload.\n');
  }
  return reply
    .code(200)
    .headers({
      'cache-control': 'no-cache',
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    })
    .type('text/html; charset=utf-8')
    .send(html);
}

export async function dashboardRoutes(app: FastifyInstance, opts: DashboardRoutesOptions): Promise<void> {
  app.setErrorHandler(errorHandlerFor('flow_framework'));
  const { runtime, store } = opts;
  const analyzeTimeoutMs = opts.analyzeTimeoutMs ?? 60_000;
  const noAuth = { auth: 'none' as const };
  const r = typed(app);

  // The app ignores trailing slashes: this is also /_dashboard.
  r.get('/_dashboard/', { schema: DashboardContract.page, config: noAuth }, async (_req, reply) => serveIndex(reply, opts.webRoot));

  r.get('/_dashboard/assets/:file', { schema: DashboardContract.asset, config: noAuth }, async (req, reply) => {
    const file = req.params.file;
    // One plain file name: nothing that could climb out of assets/.
    if (!ASSET_NAME.test(file) || file.includes('..'))
      throw notFound(`No dashboard asset [${file}]`, { code: 'dashboard.asset_not_found' });
    let body: Buffer;
    try {
      body = await readFile(join(opts.webRoot, 'assets', file));
    } catch {
      throw notFound(`No dashboard asset [${file}]: rebuild the dashboard (npm run build) and reload the page`, {
        code: 'dashboard.asset_not_found',
      });
    }
    // Vite puts a content hash in every asset name, so a name never changes meaning.
    return reply
      .headers({ 'cache-control': 'public, max-age=31536000, immutable', 'x-content-type-options': 'nosniff' })
      .type(CONTENT_TYPES[extname(file)] ?? 'application/octet-stream')
      .send(body);
  });

  const streams = new EventStreams(app);
  const openStream = (req: FastifyRequest, reply: FastifyReply, refresh: () => Promise<StreamEvent | undefined>): OpenStream =>
    streams.open(req, reply, refresh);

  const visible = (req: FastifyRequest, owner: Parameters<typeof mayAccess>[1]): boolean =>
    mayAccess(req.flowdUser, owner, opts.filterByBackendRoles ?? false);

  /** The workflow, checked for the caller: 404 when missing, 403 when not theirs. */
  const checkWorkflow = async (req: FastifyRequest, id: string): Promise<void> => {
    const rec = await store.getWorkflow(id);
    if (!rec) throw notFound(`Workflow ${id} not found: check the id in the workflow list`, { code: 'workflow.not_found' });
    if (!visible(req, rec.template.user)) {
      throw workflowForbidden(id);
    }
  };

  /** The caller's reader: with backend roles (a caller who is no admin) or a tenant to check, rows are checked one by one. */
  const readerFor = (req: FastifyRequest): OverviewReader => {
    const byRoles = (opts.filterByBackendRoles ?? false) && !isAdmin(req.flowdUser);
    const byTenant = req.flowdTenant !== undefined;
    if (!byRoles && !byTenant) return new OverviewReader(store, runtime, undefined);
    return new OverviewReader(store, runtime, (t) => visible(req, t.user) && inTenant(req, t.tenant_id));
  };

  r.get('/_flowd/workflows', { schema: DashboardContract.workflows }, async (req, reply) => {
    requireAction(req, 'workflow:read');
    const params = queryOf(req);
    rejectUnknownParams(req, params, LIST_PARAMS);
    const query = parseOverviewQuery(params);
    const reader = readerFor(req);
    if (!boolParam(params, 'watch')) return reader.page(query);
    // The page first, then only what changed in it: events name the workflows to re-read.
    const page = new OverviewWindow(reader, query);
    let started = false;
    const stream = openStream(req, reply, async () => {
      if (!started) {
        started = true;
        return { event: 'workflows', data: JSON.stringify(await page.load()) };
      }
      const changes = await page.update();
      return changes ? { event: 'changes', data: JSON.stringify(changes) } : undefined;
    });
    let pending: NodeJS.Timeout | undefined;
    const changed = (id: string): void => {
      page.markDirty(id);
      pending ??= setTimeout(() => {
        pending = undefined;
        stream.trigger();
      }, LIST_COALESCE_MS);
    };
    const unsubscribe = [opts.events?.subscribeAll(changed), opts.runtimeEvents.subscribeAll(changed)];
    const resync = setInterval(
      () => {
        page.markResync();
        stream.trigger();
      },
      opts.events ? LIST_RESYNC_MS : LIST_POLL_MS,
    );
    stream.onEnd(() => {
      for (const u of unsubscribe) u?.();
      clearInterval(resync);
      if (pending) clearTimeout(pending);
    });
    stream.trigger();
    return reply;
  });

  r.get('/_flowd/workflows/:workflowId/runtime', { schema: DashboardContract.runtime }, async (req, reply) => {
    requireAction(req, 'workflow:read');
    const id = req.params.workflowId;
    await checkWorkflow(req, id);
    if (!boolParam(queryOf(req), 'watch')) {
      const status = runtime.status(id);
      if (!status)
        throw notFound(`Workflow ${id} has no published flow: provision it (its template needs a [flow]) to publish one`, {
          code: 'runtime.not_published',
        });
      return status;
    }
    // Unlike the runtime API's stream, this one stays open while the flow is not published,
    // so the page sees it appear when provisioning reaches publish_flow.
    const stream = openStream(req, reply, async () => {
      const status = runtime.status(id);
      return status
        ? { event: 'status', data: JSON.stringify(status) }
        : { event: 'unpublished', data: JSON.stringify({ workflow_id: id }) };
    });
    stream.onEnd(opts.runtimeEvents.subscribe(id, stream.trigger));
    stream.trigger();
    return reply;
  });

  // Analyze runs the flow, as _predict runs a model: the same permission. Permission and
  // workflow are checked when the request arrives, before its body is decoded (decodeBody).
  // The runtime API's error shape, so the page shows one kind of error body for analyze.
  r.post(
    '/_flowd/workflows/:workflowId/analyze',
    {
      schema: DashboardContract.analyze,
      config: { decodeBody: decodeWorkflowInput },
      errorHandler: errorHandlerFor('runtime'),
      onRequest: (req, _reply, done) => {
        requireAction(req, 'ml:write');
        checkWorkflow(req, req.params.workflowId).then(() => done(), done);
      },
    },
    async (req, reply) => {
      const result = await runtime.analyze(req.params.workflowId, req.body as JsonObject, {
        signal: connectionSignal(req.raw.socket),
        timeoutMs: analyzeTimeoutMs,
      });
      if (result.ok) return reply.code(200).send(result.output);
      return reply.code(result.status).send({ errors: result.errors });
    },
  );
}
