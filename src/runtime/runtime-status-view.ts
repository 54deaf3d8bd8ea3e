/**
 * The runtime status a workflow's watchers see: its flow's status on this node, with the task
 * queue's numbers (ASYNC) and the other nodes' instances (the cluster's view) added in. The
 * transition time is the flow's, taken on the health shown here.
 */
import type { AsyncStatusInput, PublishedFlow } from './published-flow.js';
import type { RuntimeCluster } from './runtime-cluster.js';
import type { RuntimeStatusBody } from './runtime-status.js';

export interface RuntimeStatusViewDeps {
  flows: { flow(workflowId: string): PublishedFlow | undefined };
  tasks: { asyncStatus(workflowId: string): AsyncStatusInput | undefined };
  cluster: Pick<RuntimeCluster, 'clusterStatus'>;
}

export class RuntimeStatusView {
  readonly #deps: RuntimeStatusViewDeps;

  constructor(deps: RuntimeStatusViewDeps) {
    this.#deps = deps;
  }

  /** Undefined when the workflow's flow does not run on this node. */
  status(workflowId: string): RuntimeStatusBody | undefined {
    const flow = this.#deps.flows.flow(workflowId);
    if (!flow) return undefined;
    return flow.status(this.#deps.tasks.asyncStatus(workflowId), (local) => this.#deps.cluster.clusterStatus(local));
  }
}
