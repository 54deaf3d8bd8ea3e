/**
 * A lone node as a one-node cluster: the runtime publishes, places and reconciles through the
 * same path as on a PostgreSQL store with the bus, and this implementation answers for a
 * cluster whose only live node is this one. Announcements are for the other nodes, so they
 * have no listener here (this node hears its own changes directly); no other node sends a
 * request, reports a service or joins.
 */
import { internalError } from '../errors.js';
import type { NodeRecord } from '../store/store.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import type { PlacementNode } from './placement.js';
import type { NodeMembership, ServiceReport } from './runtime-cluster.js';
import type { RuntimeStatusBody } from './runtime-status.js';

export interface LocalClusterOptions {
  nodeId: string;
  maxInstances: number;
  version: string;
  /** Read when listed: the listen address is known only once the server listens. */
  url: () => string;
  /** This node's services, read when listed. */
  reports: () => Record<string, ServiceReport>;
}

const none = (): void => undefined;

export class LocalCluster implements NodeMembership {
  readonly nodeId: string;
  readonly #o: LocalClusterOptions;
  /** The process's start: the node is as old as it. */
  readonly #startedAt = Date.now() - Math.round(process.uptime() * 1000);

  constructor(o: LocalClusterOptions) {
    this.#o = o;
    this.nodeId = o.nodeId;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  liveNodes(): PlacementNode[] {
    return [{ nodeId: this.nodeId, maxInstances: this.#o.maxInstances }];
  }

  nodes(): NodeRecord[] {
    const services = this.#o.reports() as unknown as JsonObject; // reports are plain JSON data
    return [
      {
        nodeId: this.nodeId,
        url: this.#o.url(),
        startedAt: this.#startedAt,
        heartbeatAt: Date.now(),
        info: { capacity: { maxInstances: this.#o.maxInstances }, version: this.#o.version, services },
      },
    ];
  }

  remoteReports(): Array<{ nodeId: string; report: ServiceReport }> {
    return [];
  }

  /** Never called: no other node reports a ready instance. */
  send(serviceId: string): Promise<JsonValue> {
    return Promise.reject(internalError(`service ${serviceId} has no instance on another node: this node is alone`));
  }

  serve(): () => void {
    return none;
  }

  announcePublication(): void {}

  announceStatus(): void {}

  announceTasksDone(): void {}

  onTasksDone(): () => void {
    return none;
  }

  onChange(): () => void {
    return none;
  }

  clusterStatus(local: RuntimeStatusBody): RuntimeStatusBody {
    return local;
  }

  /** Provisioning state changes stay on this node: the hub delivers them locally. */
  bridgeStateEvents(): void {}
}
