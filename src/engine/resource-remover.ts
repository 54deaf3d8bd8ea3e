/**
 * Removes recorded resources — for `_deprovision`, rollback and reprovision's removed nodes —
 * in reverse topological order of the graph that created them (reverse creation order among
 * the resources of one node, so `deploy_model` is undone before the model is deleted).
 * "Already gone" counts as success for every type (the deleters resolve on 404). A pass that
 * made progress is followed by another for what failed, since one deletion can unblock another.
 */
import { coerceError } from '../errors.js';
import type { ResourceCreated, Store } from '../store/store.js';
import type { StepRegistry } from '../steps/step-registry.js';
import type { StepServices } from '../steps/services.js';
import type { JsonObject } from '../util/json.js';
import { stepTimeout } from './step-error-text.js';
import type { StateEvents } from './state-events.js';

export interface RemovalRequest {
  workflowId: string;
  resources: ResourceCreated[];
  /** node id -> topological index in the graph that created it (missing: removed first). */
  nodeIndex: ReadonlyMap<string, number>;
  nodeInputs: (nodeId: string) => JsonObject | undefined;
  /** Resource ids or resource types the caller allows to delete; 'all' for rollback. */
  allowDelete: ReadonlySet<string> | 'all';
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface RemovalOutcome {
  removed: ResourceCreated[];
  failed: Array<{ resource: ResourceCreated; error: string }>;
  /** Need `allow_delete` and were not allowed. */
  blocked: ResourceCreated[];
}

export interface RemoverDeps {
  store: Store;
  registry: StepRegistry;
  services: StepServices;
  events: StateEvents;
}

const MAX_PASSES = 3;

export function removalOrder(resources: ResourceCreated[], nodeIndex: ReadonlyMap<string, number>): ResourceCreated[] {
  return resources
    .map((r, i) => ({ r, i, n: nodeIndex.get(r.workflow_step_id) ?? Number.POSITIVE_INFINITY }))
    .sort((a, b) => b.n - a.n || b.i - a.i)
    .map((x) => x.r);
}

async function removeOne(deps: RemoverDeps, req: RemovalRequest, r: ResourceCreated): Promise<void> {
  const deleter = deps.registry.deleterFor(r.workflow_step_name);
  if (!deleter) return; // nothing to undo (e.g. model groups, which ML Commons removes itself)
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(stepTimeout(r.workflow_step_id, req.timeoutMs)), req.timeoutMs);
  const onOuter = (): void => ac.abort(req.signal?.reason);
  req.signal?.addEventListener('abort', onOuter, { once: true });
  try {
    await deleter.remove({
      workflowId: req.workflowId,
      nodeId: r.workflow_step_id,
      resourceId: r.resource_id,
      resourceType: r.resource_type,
      nodeInputs: req.nodeInputs(r.workflow_step_id),
      signal: ac.signal,
      services: deps.services,
    });
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onOuter);
  }
}

export async function removeResources(deps: RemoverDeps, req: RemovalRequest): Promise<RemovalOutcome> {
  const outcome: RemovalOutcome = { removed: [], failed: [], blocked: [] };
  let pending: ResourceCreated[] = [];
  for (const r of removalOrder(req.resources, req.nodeIndex)) {
    const needsPermission = deps.registry.deleterFor(r.workflow_step_name)?.requiresAllowDelete ?? false;
    const allowed = req.allowDelete === 'all' || req.allowDelete.has(r.resource_id) || req.allowDelete.has(r.resource_type);
    if (needsPermission && !allowed) outcome.blocked.push(r);
    else pending.push(r);
  }
  for (let pass = 0; pass < MAX_PASSES && pending.length > 0; pass++) {
    const failed: RemovalOutcome['failed'] = [];
    for (const r of pending) {
      if (req.signal?.aborted) {
        failed.push({ resource: r, error: 'aborted' });
        continue;
      }
      try {
        await removeOne(deps, req, r);
        await deps.store.removeResource(req.workflowId, r);
        outcome.removed.push(r);
        deps.events.notify(req.workflowId);
      } catch (e) {
        failed.push({ resource: r, error: coerceError(e).message });
      }
    }
    const progressed = failed.length < pending.length;
    pending = failed.map((f) => f.resource);
    outcome.failed = failed;
    if (!progressed) break;
  }
  return outcome;
}
