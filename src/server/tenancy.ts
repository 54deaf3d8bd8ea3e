/**
 * Multi-tenancy as Flow Framework and ML Commons do it (`plugins.flow_framework.multi_tenancy_enabled`,
 * `plugins.ml_commons.multi_tenancy_enabled`): every request names its tenant in the
 * `x-tenant-id` header, every template, state, ML resource and API key records the tenant it
 * was created for (`tenant_id`), and a request reaches only its own tenant's. Publications and
 * runtime tasks hang off a workflow: they are its tenant's.
 *
 * The tenant is resolved once per request, here, at the HTTP boundary: the header is put on
 * `req.flowdTenant` as the request arrives, and a route hook (after basic auth, so a caller
 * without credentials still gets its 401 first) refuses a request without it (403 "Tenant ID
 * header is missing or has no value", TenantAwareHelper.getTenantID) and compares it with the tenant of the resource the route's id parameter
 * names (403, TenantAwareHelper.validateTenantResource: Flow Framework's "No permission to access
 * this resource", ML Commons' "You don't have permission to access this resource"). A missing
 * resource is left to the route (its own 404). Lists and searches filter with `tenantFilter` /
 * `inTenant`; creation stamps `req.flowdTenant`. Disabled (the default), nothing is installed.
 */
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import { forbidden } from '../errors.js';
import type { FlowdError } from '../errors.js';
import { MISSING_TENANT_MESSAGE, TENANT_ID_FIELD, TENANT_ID_HEADER, ffNoPermission, mlNoPermission, tenantOfDoc } from '../util/tenant.js';
import type { Store } from '../store/store.js';
import { AGENT_KIND } from '../ml/agents.js';
import { CONNECTOR_KIND } from '../ml/connectors.js';
import { MODEL_GROUP_KIND, MODEL_KIND } from '../ml/models.js';
import { TASK_KIND } from '../ml/ml-search.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's tenant (`x-tenant-id`); undefined when multi-tenancy is disabled. */
    flowdTenant: string | undefined;
  }
}

type Family = 'flow_framework' | 'ml' | 'flowd' | 'runtime';

/** The tenant-scoped API families, by path prefix; any other route (root, health, docs, security users…) is not scoped. */
const FAMILIES: ReadonlyArray<readonly [string, Family]> = [
  ['/_plugins/_flow_framework/', 'flow_framework'],
  ['/_plugins/_ml/', 'ml'],
  ['/api/v1/runtime/', 'runtime'],
  ['/_flowd/', 'flowd'],
];

function familyOf(url: string, auth: string | undefined): Family | undefined {
  const f = FAMILIES.find(([prefix]) => url.startsWith(prefix))?.[1];
  // Routes open to anyone (health, the OpenAPI document, the docs page) belong to no tenant;
  // the runtime API skips basic auth for its API keys, but its workflows are a tenant's.
  if (auth === 'none' && f !== 'runtime') return undefined;
  return f;
}

/** The ML resource kind each ML Commons id parameter names. */
const ML_PARAMS: Readonly<Record<string, string>> = {
  connector_id: CONNECTOR_KIND,
  model_group_id: MODEL_GROUP_KIND,
  model_id: MODEL_KIND,
  agent_id: AGENT_KIND,
  task_id: TASK_KIND,
};

/** No resource to compare: the id names nothing (the route answers its 404) or the route has no id. */
const NONE = Symbol('none');
type Owner = string | undefined | typeof NONE;

/** The tenant of the workflow: its template's, or its state's when only the state is left. */
async function workflowOwner(store: Store, id: string): Promise<Owner> {
  const rec = await store.getWorkflow(id);
  if (rec) return rec.template.tenant_id;
  const state = await store.getState(id, { steps: false });
  return state ? state.tenantId : NONE;
}

/** The tenant of the resource the route's parameters name. */
async function ownerOf(store: Store, family: Family, url: string, params: Record<string, string>): Promise<Owner> {
  const wf = params['workflow_id'] ?? params['workflowId'];
  if (wf !== undefined) return workflowOwner(store, wf);
  if (family === 'ml') {
    for (const [param, kind] of Object.entries(ML_PARAMS)) {
      const id = params[param];
      if (id === undefined) continue;
      const rec = await store.getMlResource(kind, id);
      return rec ? tenantOfDoc(rec.doc) : NONE;
    }
  }
  if (url.startsWith('/_flowd/api_keys/') && params['id'] !== undefined) {
    const key = await store.getApiKey(params['id']);
    return key ? key.tenantId : NONE;
  }
  return NONE;
}

/** TenantAwareHelper.validateTenantResource's refusal, in the family's words. */
export const noPermission = (family: Family = 'flow_framework'): FlowdError => (family === 'ml' ? mlNoPermission() : ffNoPermission());

const missingTenant = (family: Family): FlowdError =>
  forbidden(MISSING_TENANT_MESSAGE, {
    code: 'tenant.missing',
    ...(family === 'ml' ? { details: { opensearchType: 'status_exception' } } : {}),
  });

export interface TenancyOptions {
  enabled: boolean;
  store: Store;
}

/**
 * Decorates every request with `flowdTenant` and, when enabled, gives each tenant-scoped route
 * its tenant check as the last of its onRequest hooks (register after `registerAuth`, before
 * the route plugins).
 */
export function registerTenancy(app: FastifyInstance, opts: TenancyOptions): void {
  app.decorateRequest('flowdTenant', undefined);
  if (!opts.enabled) return;
  const { store } = opts;
  // Read first, so hooks before the route's own (the runtime API's key check) see it too.
  app.addHook('onRequest', (req, _reply, done) => {
    const h = req.headers[TENANT_ID_HEADER];
    const v = Array.isArray(h) ? h[0] : h;
    if (v !== undefined && v !== '') req.flowdTenant = v;
    done();
  });
  app.addHook('onRoute', (route) => {
    const family = familyOf(route.url, route.config?.auth);
    if (family === undefined) return;
    const url = route.url;
    const check: onRequestHookHandler = (req, _reply, done) => {
      const tenant = req.flowdTenant;
      if (tenant === undefined) {
        done(missingTenant(family));
        return;
      }
      ownerOf(store, family, url, req.params as Record<string, string>).then(
        (owner) => done(owner === NONE || owner === tenant ? undefined : noPermission(family)),
        (e: unknown) => done(e instanceof Error ? e : new Error(String(e))),
      );
    };
    const own = route.onRequest;
    route.onRequest = own === undefined ? [check] : Array.isArray(own) ? [...(own as onRequestHookHandler[]), check] : [own, check];
  });
}

/** Whether a resource of tenant `owner` is the caller's (always, with multi-tenancy disabled). */
export const inTenant = (req: FastifyRequest, owner: string | undefined): boolean =>
  req.flowdTenant === undefined || req.flowdTenant === owner;

/** The query a search ANDs with the caller's: only the caller's tenant's documents; undefined when disabled. */
export const tenantFilter = (req: FastifyRequest): unknown =>
  req.flowdTenant === undefined ? undefined : { term: { [TENANT_ID_FIELD]: req.flowdTenant } };

/** `{ tenantId }` for a create call (ml-service, api keys), `{}` when multi-tenancy is disabled. */
export const tenantOption = (req: FastifyRequest): { tenantId?: string } =>
  req.flowdTenant === undefined ? {} : { tenantId: req.flowdTenant };

/** Both filters (either may be undefined), as one query. */
export function andFilters(a: unknown, b: unknown): unknown {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return { bool: { filter: [a, b] } };
}
