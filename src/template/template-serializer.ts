/**
 * Template serialization in Flow Framework's serialized form: the shape GET returns and the store keeps. The
 * output is fresh JSON data (no aliasing of the Template), so callers may mutate it.
 */
import { stringify } from 'yaml';
import type { Template, Workflow, WorkflowNode } from './types.js';
import type { JsonObject } from '../util/json.js';
import { cloneJson, setOwn } from './template-parser.js';
import { SecretBox } from '../util/secret-box.js';
import { serializeUser } from './user-serializer.js';

export interface SerializeOptions {
  /** Emit `user` (GET shows it only to all_access callers; the store always keeps it). */
  includeUser: boolean;
  /**
   * True drops that `user_inputs` key, e.g. `credential` or a step-declared secret input; a
   * nested key comes as a dotted path (`model.credential`). Sealed values are always dropped.
   */
  redact: (nodeType: string, key: string) => boolean;
  /**
   * The OpenSearch version whose wire form `user` takes (user-serializer.ts); omitted, `user` is
   * written as stored (round trips, exports).
   */
  opensearchVersion?: string;
}

/** A copy of a `user_inputs` map without its redacted keys, at any depth of nested maps. */
function redactedInputs(inputs: JsonObject, type: string, prefix: string, redact: SerializeOptions['redact']): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(inputs)) {
    const key = prefix + k;
    if (SecretBox.isSealed(v) || redact(type, key)) continue;
    const nested = v !== null && typeof v === 'object' && !Array.isArray(v);
    setOwn(out, k, nested ? redactedInputs(v, type, `${key}.`, redact) : cloneJson(v));
  }
  return out;
}

function serializeNode(node: WorkflowNode, redact: SerializeOptions['redact']): Record<string, unknown> {
  const user_inputs = redactedInputs(node.user_inputs, node.type, '', redact);
  const previous_node_inputs: Record<string, string> = {};
  for (const [k, v] of Object.entries(node.previous_node_inputs)) setOwn(previous_node_inputs, k, v);
  return { id: node.id, type: node.type, previous_node_inputs, user_inputs };
}

function serializeWorkflow(wf: Workflow, redact: SerializeOptions['redact']): Record<string, unknown> {
  const user_params: Record<string, string> = {};
  for (const [k, v] of Object.entries(wf.user_params)) setOwn(user_params, k, v);
  return {
    user_params,
    nodes: wf.nodes.map((n) => serializeNode(n, redact)),
    edges: wf.edges.map((e) => ({ source: e.source, dest: e.dest })),
  };
}

export function serializeTemplate(t: Template, opts: SerializeOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: t.name.trim(),
    description: t.description.trim(),
    use_case: t.use_case.trim(),
  };
  if (t.version !== undefined) {
    const version: Record<string, unknown> = {};
    if (t.version.template !== undefined) version.template = t.version.template;
    if (t.version.compatibility !== undefined) version.compatibility = [...t.version.compatibility];
    out.version = version;
  }
  const workflows: Record<string, unknown> = {};
  for (const [name, wf] of Object.entries(t.workflows)) setOwn(workflows, name, serializeWorkflow(wf, opts.redact));
  out.workflows = workflows;
  if (t.ui_metadata !== undefined && Object.keys(t.ui_metadata).length > 0) out.ui_metadata = cloneJson(t.ui_metadata);
  if (t.flow !== undefined) out.flow = cloneJson(t.flow);
  if (opts.includeUser && t.user !== undefined) {
    const u = t.user;
    if (opts.opensearchVersion !== undefined) out.user = serializeUser(u, opts.opensearchVersion);
    else {
      const user: Record<string, unknown> = {
        name: u.name,
        backend_roles: [...u.backend_roles],
        roles: [...u.roles],
        custom_attribute_names: [...u.custom_attribute_names],
        user_requested_tenant: u.user_requested_tenant,
      };
      if (u.user_requested_tenant_access !== undefined) user.user_requested_tenant_access = u.user_requested_tenant_access;
      out.user = user;
    }
  }
  if (t.created_time !== undefined) out.created_time = t.created_time;
  if (t.last_updated_time !== undefined) out.last_updated_time = t.last_updated_time;
  if (t.last_provisioned_time !== undefined) out.last_provisioned_time = t.last_provisioned_time;
  if (t.tenant_id !== undefined) out.tenant_id = t.tenant_id;
  if (t.all_shared_principals !== undefined && t.all_shared_principals.length > 0) {
    out.all_shared_principals = [...t.all_shared_principals];
  }
  return out;
}

/** YAML rendering of any JSON document (a serialized template, a response body). */
export function templateToYaml(doc: unknown): string {
  // No anchors/aliases (clients need not resolve them) and no line folding (long prompts
  // stay one line, which diffs well).
  return stringify(doc, { aliasDuplicateObjects: false, lineWidth: 0, minContentWidth: 0 });
}
