/**
 * The template format (Flow Framework use-case templates) plus flowd's
 * extensions. `user_inputs` values are kept exactly as submitted (nested JSON and arrays
 * included): flowd does not stringify `configurations` the way Flow Framework does.
 */
import type { JsonObject } from '../util/json.js';

export interface WorkflowNode {
  id: string;
  type: string;
  /** predecessor node id -> output key it provides; each entry implies an edge. */
  previous_node_inputs: Record<string, string>;
  user_inputs: JsonObject;
}

export interface WorkflowEdge {
  source: string;
  dest: string;
}

export interface Workflow {
  user_params: Record<string, string>;
  nodes: WorkflowNode[];
  /** Explicit edges plus the ones inferred from previous_node_inputs (materialized). */
  edges: WorkflowEdge[];
}

export interface TemplateVersion {
  template?: string;
  compatibility?: string[];
}

/** The user object as Flow Framework serializes it (common-utils User.toXContent). */
export interface OsUser {
  name: string;
  backend_roles: string[];
  roles: string[];
  custom_attribute_names: string[];
  user_requested_tenant: string | null;
  user_requested_tenant_access?: string | null;
}

/** The `flow` section (flowd extension): kept opaque by the core layers. */
export type FlowSection = JsonObject;

export interface Template {
  name: string;
  description: string;
  use_case: string;
  version?: TemplateVersion;
  workflows: Record<string, Workflow>;
  ui_metadata?: JsonObject;
  flow?: FlowSection;
  user?: OsUser;
  created_time?: number;
  last_updated_time?: number;
  last_provisioned_time?: number;
  tenant_id?: string;
  all_shared_principals?: string[];
}

/** The fields `update_fields=true` may change. */
export const UPDATABLE_FIELDS = ['name', 'description', 'use_case', 'version', 'ui_metadata'] as const;

export const PROVISION_WORKFLOW = 'provision';
