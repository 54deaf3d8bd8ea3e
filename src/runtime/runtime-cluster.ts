/**
 * What the runtime needs from a cluster (implemented in src/cluster/ over the store's node
 * table and the message bus). Without one, a node runs every instance itself, as before.
 */
import type { JsonValue } from '../util/json.js';
import type { ReplicaDetailBody, RolloutStatus } from './runtime-status.js';
import type { PlacementNode } from './placement.js';

/** One node's view of one of its services, as other nodes see it. */
export interface ServiceReport {
  workflowId: string;
  blockId: string;
  /** Instances this node is asked to run. */
  desired: number;
  replicas: ReplicaDetailBody[];
  rolloutStatus: RolloutStatus;
  rolloutStatusReason?: string;
}

export interface RemoteRequestContext {
  correlationId?: string;
  timeoutMs: number;
}

export interface RuntimeCluster {
  readonly nodeId: string;
  /** Live nodes (this one included) with their capacity, for placement and admission. */
  liveNodes(): PlacementNode[];
  /** The latest report of every other live node that runs (or ran) this service. */
  remoteReports(serviceId: string): Array<{ nodeId: string; report: ServiceReport }>;
  /** Run one input on an instance of the service on some other node. */
  send(serviceId: string, input: JsonValue, ctx: RemoteRequestContext): Promise<JsonValue>;
  /** Take requests for the service from other nodes (one node of the queue group each). */
  serve(serviceId: string, handler: (input: JsonValue, ctx: { correlationId?: string }) => Promise<JsonValue>): () => void;
  /** Tell the other nodes a publication changed (they reconcile now, not at the next beat). */
  announcePublication(workflowId: string): void;
  /** Tell the other nodes this node's services of a workflow changed. */
  announceStatus(workflowId: string, services: Record<string, ServiceReport>): void;
  /** Tasks that reached a terminal state on this node: long-polls on other nodes answer now. */
  announceTasksDone(taskIds: string[]): void;
  /** Another node finished (or canceled) these tasks. */
  onTasksDone(fn: (taskIds: string[]) => void): () => void;
  /** Another node announced something about a workflow (or the live node set changed: undefined). */
  onChange(fn: (e: { kind: 'publication' | 'status' | 'membership'; workflowId?: string }) => void): () => void;
}
