/**
 * What the runtime needs from a cluster. Every node has one: a lone node (SQLite store) is a
 * one-node cluster (runtime/local-cluster.ts); nodes sharing a PostgreSQL store form one over
 * the store's node table and the message bus (cluster/cluster-node.ts).
 */
import type { NodeRecord } from '../store/store.js';
import type { JsonValue } from '../util/json.js';
import type { ReplicaDetailBody, RolloutStatus, RuntimeStatusBody } from './runtime-status.js';
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
  /** This node's status of a workflow as the cluster sees it (the other nodes' instances added in). */
  clusterStatus(local: RuntimeStatusBody): RuntimeStatusBody;
}

/** A node's membership, as the composition root starts, lists and stops it. */
export interface NodeMembership extends RuntimeCluster {
  /** Joins (first heartbeat, subscriptions). */
  start(): Promise<void>;
  /** Leaves, so the others re-place this node's instances at once. */
  stop(): Promise<void>;
  /** Every live node with its record (GET /_flowd/nodes). */
  nodes(): NodeRecord[];
  /** Provisioning state changes, both ways: this node's go out, the others' come in. */
  bridgeStateEvents(events: { setForwarder(fn: (workflowId: string) => void): void; deliverRemote(workflowId: string): void }): void;
}
