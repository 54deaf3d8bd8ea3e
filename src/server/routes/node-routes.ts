/**
 * GET /_flowd/nodes: the nodes of the cluster (one on the embedded store), their heartbeat,
 * capacity, and which service instances run on each. Read access to workflows is enough;
 * with backend-role filtering a non-admin sees only the instances of workflows it may access
 * (as `_status` decides it), so workflow ids of other teams do not leak through here.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { NodeRecord, Store } from '../../store/store.js';
import type { ServiceReport } from '../../runtime/runtime-cluster.js';
import { requireAction } from '../auth/request-auth.js';
import { isAdmin, mayAccess } from '../auth/roles.js';
import { inTenant } from '../tenancy.js';
import { errorHandlerFor } from '../error-renderer.js';
import { typed } from '../contract/route-schema.js';
import { NodeContract } from '../contract/node-contract.js';

export interface NodesSource {
  nodes(): NodeRecord[];
  readonly nodeTtlMs: number;
}

interface InstanceRow {
  service_id: string;
  workflow_id: string;
  block_id: string;
  desired: number;
  ready: number;
  replicas: string[];
}

function instancesOf(info: NodeRecord['info']): InstanceRow[] {
  const services = info['services'];
  if (!services || typeof services !== 'object' || Array.isArray(services)) return [];
  return Object.entries(services as unknown as Record<string, ServiceReport>)
    .map(([id, r]) => ({
      service_id: id,
      workflow_id: r.workflowId,
      block_id: r.blockId,
      desired: r.desired,
      ready: r.replicas.filter((x) => x.ready).length,
      replicas: r.replicas.map((x) => x.name),
    }))
    .filter((r) => r.desired > 0 || r.replicas.length > 0);
}

export interface NodeRoutesOptions {
  source: NodesSource;
  self: string;
  store: Store;
  filterByBackendRoles: boolean;
}

export async function nodeRoutes(app: FastifyInstance, opts: NodeRoutesOptions): Promise<void> {
  app.setErrorHandler(errorHandlerFor('flow_framework'));
  /** Which of `ids` the caller may see; undefined when it may see everything. */
  const visibleIds = async (req: FastifyRequest, ids: Set<string>): Promise<Set<string> | undefined> => {
    const u = req.flowdUser;
    const byRoles = opts.filterByBackendRoles && u !== undefined && !isAdmin(u);
    // Multi-tenancy: only the caller's tenant's instances (tenancy.ts).
    if (!byRoles && req.flowdTenant === undefined) return undefined;
    const out = new Set<string>();
    for (const id of ids) {
      // The template's owner, or the state's when the template is gone; a workflow with
      // neither (an orphaned publication) is for admins only.
      const rec = await opts.store.getWorkflow(id);
      const state = rec ? undefined : await opts.store.getState(id, { steps: false });
      if (!rec && !state) continue;
      if (byRoles && !mayAccess(u, rec ? rec.template.user : state?.user, true)) continue;
      if (inTenant(req, rec ? rec.template.tenant_id : state?.tenantId)) out.add(id);
    }
    return out;
  };

  typed(app).get('/_flowd/nodes', { schema: NodeContract.nodes }, async (req) => {
    requireAction(req, 'workflow:read');
    const now = Date.now();
    const nodes = opts.source.nodes().map((n) => ({ n, instances: instancesOf(n.info) }));
    const visible = await visibleIds(req, new Set(nodes.flatMap(({ instances }) => instances.map((i) => i.workflow_id))));
    return {
      nodes: nodes.map(({ n, instances }) => ({
        node_id: n.nodeId,
        url: n.url,
        self: n.nodeId === opts.self,
        alive: now - n.heartbeatAt <= opts.source.nodeTtlMs,
        started_at: n.startedAt,
        last_heartbeat: n.heartbeatAt,
        capacity: n.info['capacity'] ?? null,
        instances: visible ? instances.filter((i) => visible.has(i.workflow_id)) : instances,
      })),
    };
  });
}
