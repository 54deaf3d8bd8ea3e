/**
 * `_deprovision`: remove what a workflow created, in reverse topological order, and reset it to
 * NOT_STARTED when everything is gone. Refused (409) while the workflow is provisioning; a
 * workflow lock keeps a provision from starting while it runs. `allow_delete` takes resource
 * ids or resource types.
 */
import { conflict, workflowStateNotFound } from '../errors.js';
import type { ResourceCreated, Store } from '../store/store.js';
import type { StepRegistry } from '../steps/step-registry.js';
import type { StepServices } from '../steps/services.js';
import { PROVISION_WORKFLOW } from '../template/types.js';
import type { Workflow, WorkflowNode } from '../template/types.js';
import type { JsonObject } from '../util/json.js';
import { topologicalOrderOf } from '../util/topo-sort.js';
import { provisionWorkflowOf } from './flow-section.js';
import { removeResources } from './resource-remover.js';
import { resolveForDelete } from './input-resolver.js';
import { openNodeSecrets } from './secret-fields.js';
import type { StateEvents } from './state-events.js';

export interface DeprovisionResult {
  status: 200 | 202 | 403;
  error?: string;
  removed: ResourceCreated[];
  remaining: ResourceCreated[];
}

export interface DeprovisionerDeps {
  store: Store;
  registry: StepRegistry;
  services: StepServices;
  events: StateEvents;
  nodeId: string;
  stepTimeoutMs: number;
}

const describe = (rs: ResourceCreated[]): string => rs.map((r) => `${r.resource_type} ${r.resource_id}`).join(', ');

export class Deprovisioner {
  constructor(readonly deps: DeprovisionerDeps) {}

  async deprovision(workflowId: string, allowDelete: ReadonlySet<string>): Promise<DeprovisionResult> {
    const { store } = this.deps;
    const state = await store.getState(workflowId, { steps: false });
    if (!state) throw workflowStateNotFound(workflowId);
    if (state.state === 'PROVISIONING') {
      throw conflict(`The workflow ${workflowId} is being provisioned and can not be deprovisioned until provisioning ends.`, {
        code: 'workflow.provisioning',
      });
    }
    if (!(await store.tryLockWorkflow(workflowId, 'op', this.deps.nodeId, Date.now() + 10 * 60_000))) {
      throw conflict(`Workflow ${workflowId} is already being deprovisioned or provisioned.`, { code: 'workflow.busy' });
    }
    try {
      // Re-read under the lock: a provision may have started in between.
      const locked = await store.getState(workflowId, { steps: false });
      if (!locked) throw workflowStateNotFound(workflowId);
      if (locked.state === 'PROVISIONING')
        throw conflict(`The workflow ${workflowId} is being provisioned and can not be deprovisioned until provisioning ends.`);
      const rec = await store.getWorkflow(workflowId);
      let wf: Workflow | undefined;
      try {
        wf = rec ? provisionWorkflowOf(rec.template) : undefined;
      } catch {
        wf = rec?.template.workflows[PROVISION_WORKFLOW];
      }
      const nodes: WorkflowNode[] = wf?.nodes ?? [];
      const byId = new Map(nodes.map((n) => [n.id, n]));
      const nodeIndex = new Map<string, number>();
      if (rec) {
        try {
          if (wf)
            for (const c of topologicalOrderOf(
              wf.nodes.map((n) => n.id),
              wf.edges,
            ))
              nodeIndex.set(c, nodeIndex.size);
        } catch {
          // an invalid stored graph: fall back to reverse creation order
        }
      }
      // Deleters see the inputs as the creating run resolved them (its params and outputs).
      const withSteps = await store.getState(workflowId, { steps: true });
      const outputs = new Map<string, JsonObject>(
        (withSteps?.steps ?? []).filter((s) => s.outputs !== undefined).map((s) => [s.nodeId, s.outputs as JsonObject]),
      );
      const lastRun = locked.runId !== undefined ? await store.getRun(locked.runId) : undefined;
      let params: Record<string, string> = {};
      try {
        if (lastRun) params = this.deps.services.secrets.openJson<Record<string, string>>(lastRun.params);
      } catch {
        params = {};
      }
      const out = await removeResources(this.deps, {
        workflowId,
        resources: locked.resources,
        nodeIndex,
        nodeInputs: (id): JsonObject | undefined => {
          const n = byId.get(id);
          if (!n || !wf) return undefined;
          return resolveForDelete(openNodeSecrets(n.user_inputs, this.deps.services.secrets), wf, outputs, params);
        },
        allowDelete,
        timeoutMs: this.deps.stepTimeoutMs,
      });
      const remaining = [...out.failed.map((f) => f.resource), ...out.blocked];
      if (remaining.length === 0) {
        await store.resetState(workflowId);
        this.deps.events.notify(workflowId);
        return { status: 200, removed: out.removed, remaining };
      }
      await store.markDeprovisionPartial(workflowId, Date.now());
      this.deps.events.notify(workflowId);
      const parts: string[] = [];
      if (out.failed.length > 0) parts.push(`Failed to deprovision some resources: [${describe(out.failed.map((f) => f.resource))}].`);
      if (out.blocked.length > 0)
        parts.push(`These resources require the allow_delete parameter to deprovision: [${describe(out.blocked)}].`);
      return { status: out.failed.length > 0 ? 202 : 403, error: parts.join(' '), removed: out.removed, remaining };
    } finally {
      await store.unlockWorkflow(workflowId, 'op');
    }
  }
}
