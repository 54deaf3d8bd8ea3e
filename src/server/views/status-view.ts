/**
 * The `_status` body of Flow Framework's Get workflow status API: `workflow_id`, `error` when there is one,
 * `state`, `resources_created` in creation order (omitted when empty); with `all=true` also
 * provisioning_progress, times (epoch ms), user, user_outputs, and flowd's `steps`.
 */
import type { StateRecord, StepRecord } from '../../store/store.js';
import type { WorkflowStatus } from '../contract/workflow-contract.js';
import { serializeUser } from '../../template/user-serializer.js';

export interface StepView {
  id: string;
  type: string;
  state: StepRecord['state'];
  attempt: number;
  start_time?: number;
  end_time?: number;
  duration_ms?: number;
  error?: string;
}

export function renderStep(s: StepRecord): StepView {
  const v: StepView = { id: s.nodeId, type: s.type, state: s.state, attempt: s.attempt };
  if (s.startTime !== undefined) v.start_time = s.startTime;
  if (s.endTime !== undefined) v.end_time = s.endTime;
  if (s.startTime !== undefined && s.endTime !== undefined) v.duration_ms = s.endTime - s.startTime;
  if (s.error !== undefined) v.error = s.error;
  return v;
}

/**
 * Keys in the wire order (the event stream writes it with JSON.stringify, in insertion order);
 * `user` in the wire form of `opensearchVersion` (user-serializer.ts).
 */
export function renderStatus(s: StateRecord, all: boolean, includeUser: boolean, opensearchVersion: string): WorkflowStatus {
  const out: WorkflowStatus = { workflow_id: s.workflowId, ...(s.error !== undefined ? { error: s.error } : {}), state: s.state };
  if (all) {
    out.provisioning_progress = s.progress;
    if (s.provisionStartTime !== undefined) out.provision_start_time = s.provisionStartTime;
    if (s.provisionEndTime !== undefined) out.provision_end_time = s.provisionEndTime;
    if (includeUser && s.user) out.user = serializeUser(s.user, opensearchVersion);
  }
  if (s.resources.length > 0) out.resources_created = s.resources;
  if (all) {
    if (Object.keys(s.userOutputs).length > 0) out.user_outputs = s.userOutputs;
    if (s.steps.length > 0) out.steps = s.steps.map(renderStep);
  }
  return out;
}

/** The state document as `state/_search` indexes it, `user` as OpenSearch `opensearchVersion` writes it. */
export function stateDocument(s: StateRecord, opensearchVersion: string): Record<string, unknown> {
  const doc: Record<string, unknown> = { workflow_id: s.workflowId, state: s.state, provisioning_progress: s.progress };
  if (s.provisionStartTime !== undefined) doc['provision_start_time'] = s.provisionStartTime;
  if (s.provisionEndTime !== undefined) doc['provision_end_time'] = s.provisionEndTime;
  if (s.error !== undefined) doc['error'] = s.error;
  if (s.user) doc['user'] = serializeUser(s.user, opensearchVersion);
  if (s.resources.length > 0) doc['resources_created'] = s.resources;
  if (s.tenantId !== undefined) doc['tenant_id'] = s.tenantId;
  return doc;
}
