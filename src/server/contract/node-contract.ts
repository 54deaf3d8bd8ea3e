/** GET /_flowd/nodes (route-schema.ts explains the contract). */
import { Type } from 'typebox';
import { routeSchema } from './route-schema.js';
import { AnyJson, FLOW_FRAMEWORK_ERRORS } from './common-schemas.js';

export const ServiceInstance = Type.Object(
  {
    service_id: Type.String(),
    workflow_id: Type.String(),
    block_id: Type.String(),
    desired: Type.Integer(),
    ready: Type.Integer(),
    replicas: Type.Array(Type.String()),
  },
  { title: 'ServiceInstance' },
);
export const ClusterNode = Type.Object(
  {
    node_id: Type.String(),
    url: Type.String(),
    self: Type.Boolean(),
    alive: Type.Boolean(),
    started_at: Type.Number({ description: 'epoch ms' }),
    last_heartbeat: Type.Number({ description: 'epoch ms' }),
    capacity: AnyJson('what the node reports, or null'),
    instances: Type.Array(ServiceInstance),
  },
  { title: 'ClusterNode' },
);
export const ClusterNodes = Type.Object({ nodes: Type.Array(ClusterNode) }, { title: 'ClusterNodes' });

export const NodeContract = {
  nodes: routeSchema({
    summary: 'Cluster nodes',
    tags: ['node'],
    description: 'Every node (one on the embedded store): heartbeat, alive, capacity, and which service instances run on it.',
    response: { 200: ClusterNodes, ...FLOW_FRAMEWORK_ERRORS },
  }),
};

export const NODE_WIRE = { ServiceInstance, ClusterNode, ClusterNodes };
