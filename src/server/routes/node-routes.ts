/**
 * GET /_flowd/nodes: the nodes of the cluster (one on the embedded store), their heartbeat,
 * capacity, and which service instances run on each. Read access to workflows is enough.
 */
import type { FastifyInstance } from 'fastify';
import type { NodeRecord } from '../../store/store.js';
import type { ServiceReport } from '../../runtime/runtime-cluster.js';
import { requireAction } from '../auth/request-auth.js';

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

export async function nodeRoutes(app: FastifyInstance, opts: { source: NodesSource; self: string }): Promise<void> {
  app.get('/_flowd/nodes', async (req) => {
    requireAction(req, 'workflow:read');
    const now = Date.now();
    return {
      nodes: opts.source.nodes().map((n) => ({
        node_id: n.nodeId,
        url: n.url,
        self: n.nodeId === opts.self,
        alive: now - n.heartbeatAt <= opts.source.nodeTtlMs,
        started_at: n.startedAt,
        last_heartbeat: n.heartbeatAt,
        capacity: n.info['capacity'] ?? null,
        instances: instancesOf(n.info),
      })),
    };
  });
}
