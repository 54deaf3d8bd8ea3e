/**
 * The cluster-wide runtime status of a workflow: this node's status with every other live
 * node's instances added in. `desired` stays the block's configured replicas (cluster-wide),
 * `actual` counts ready instances on all nodes, `replicasDetail` names the node of each.
 */
import type { ServiceReport } from './runtime-cluster.js';
import type { RolloutStatus, RuntimeStatusBody, ServiceStatusBody } from './runtime-status.js';
import { rollUp, serviceHealth } from './runtime-status.js';

export type RemoteReports = (serviceId: string) => Array<{ nodeId: string; report: ServiceReport }>;

function mergeService(s: ServiceStatusBody, sync: boolean, localNode: string, remote: RemoteReports): ServiceStatusBody {
  if (s.blockId === undefined) return s; // the executor: every node runs one
  const others = remote(s.id);
  const replicas = [
    ...(s.replicasDetail ?? []).map((r) => ({ ...r, node: localNode })),
    ...others.flatMap(({ nodeId, report }) => report.replicas.map((r) => ({ ...r, node: nodeId }))),
  ];
  const ready = replicas.filter((r) => r.ready).length;
  const actual = Math.min(s.desired, ready);
  const rollouts: Array<{ status: RolloutStatus; reason?: string }> = [
    { status: s.rolloutStatus, ...(s.rolloutStatusReason !== undefined ? { reason: s.rolloutStatusReason } : {}) },
    ...others.map(({ nodeId, report }) => ({
      status: report.rolloutStatus,
      ...(report.rolloutStatusReason !== undefined ? { reason: `${nodeId}: ${report.rolloutStatusReason}` } : {}),
    })),
  ];
  const worst = rollouts.find((r) => r.status === 'Failed') ?? rollouts.find((r) => r.status === 'InProgress') ?? rollouts[0];
  // SYNC: instances missing because a node died are not "rolled out" until re-placed and ready
  // (ASYNC services below their replicas are the autoscaler's doing).
  const replacing = sync && worst?.status === 'Complete' && ready < s.desired;
  const status: RolloutStatus = replacing ? 'InProgress' : (worst?.status ?? 'Complete');
  const reason = replacing ? 'ReplacingInstancesOfLostNode' : worst?.reason;
  return {
    ...s,
    actual,
    status: serviceHealth(s.desired, actual),
    rolloutStatus: status,
    ...(reason !== undefined ? { rolloutStatusReason: reason } : {}),
    replicasDetail: replicas,
  };
}

export function mergeClusterStatus(body: RuntimeStatusBody, localNode: string, remote: RemoteReports): RuntimeStatusBody {
  const services = body.details.services.map((s) => mergeService(s, body.publishingMode === 'SYNC', localNode, remote));
  const roll = rollUp(
    body.publishingMode,
    services.filter((s) => s.blockId !== undefined),
  );
  const { message: _old, ...rest } = body;
  return {
    ...rest,
    actualStatus: roll.actualStatus,
    usable: roll.usable,
    reason: roll.reason,
    ...(roll.message !== undefined ? { message: roll.message } : {}),
    details: { ...body.details, services },
  };
}
