/** The shapes of the server's answers the page reads in more detail than @flowd/client types them (the template's flow, the runtime status). */

export type ProvisionState = 'NOT_STARTED' | 'PROVISIONING' | 'COMPLETED' | 'FAILED';
/** NOT_STARTED: a node the current run has not reached (it has no step record). */
export type StepState = 'NOT_STARTED' | 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELED';
export type Health = 'GREEN' | 'YELLOW' | 'ORANGE' | 'RED';

export interface Edge {
  source: string;
  dest: string;
}

export interface TemplateNode {
  id: string;
  type: string;
  previous_node_inputs?: Record<string, string>;
  user_inputs?: Record<string, unknown>;
}

export interface FlowBlock {
  id: string;
  type: string;
  replicas?: number;
}

export interface FlowSection {
  mode?: 'SYNC' | 'ASYNC';
  blocks?: FlowBlock[];
  edges?: Edge[];
  input_schema?: { properties?: Record<string, { type?: string }> };
}

export interface TemplateDoc {
  name: string;
  description?: string;
  use_case?: string;
  workflows?: Record<string, { nodes?: TemplateNode[]; edges?: Edge[] }>;
  flow?: FlowSection;
  created_time?: number;
  last_updated_time?: number;
  last_provisioned_time?: number;
}

export interface StepView {
  id: string;
  type: string;
  state: StepState;
  attempt: number;
  start_time?: number;
  end_time?: number;
  duration_ms?: number;
  error?: string;
}

export interface ResourceCreated {
  workflow_step_name: string;
  workflow_step_id: string;
  resource_type: string;
  resource_id: string;
}

/** `_status?all=true` (and each `event: status` of `?watch=true`). */
export interface StatusDoc {
  workflow_id: string;
  state: ProvisionState;
  error?: string;
  provisioning_progress?: string;
  provision_start_time?: number;
  provision_end_time?: number;
  resources_created?: ResourceCreated[];
  steps?: StepView[];
}

export interface ReplicaDetail {
  name: string;
  ready: boolean;
  available: boolean;
  restarts: number;
  started_at: string;
}

export interface ServiceStatus {
  id: string;
  blockId?: string;
  desired: number;
  actual: number;
  status: Health;
  rolloutStatus: 'InProgress' | 'Complete' | 'Failed';
  rolloutStatusReason?: string;
  replicasDetail?: ReplicaDetail[];
  targetReplicas?: number;
  queueDepth?: number;
  inFlight?: number;
}

/** The NL Flow runtime status of a published flow. */
export interface RuntimeStatus {
  actualStatus: Health;
  publishingMode: 'SYNC' | 'ASYNC';
  usable: boolean;
  reason: string;
  message?: string;
  observedVersion: number;
  desiredVersion: number;
  lastTransitionTime: string;
  tasks?: { queued: number; running: number };
  details: { stream: { id: string; desired: number; actual: number; status: Health }; services: ServiceStatus[] };
}
