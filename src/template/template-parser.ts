/**
 * Template parsing, with Flow Framework's parsing rules and exact messages, and one deliberate
 * difference: `user_inputs` values are kept exactly as submitted (no stringified
 * `configurations`, no coercion of nested maps, arrays of anything).
 */
import { validationError } from '../errors.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import type { OsUser, Template, TemplateVersion, Workflow, WorkflowEdge, WorkflowNode } from './types.js';
import { UPDATABLE_FIELDS } from './types.js';
import { INVALID_CONTENT_MESSAGE } from './body-parser.js';

export interface TemplateLimits {
  /** Nodes per workflow. */
  maxNodes: number;
  /** Nesting depth of the whole document (the top-level object is depth 1). */
  maxDepth: number;
  /** Characters in any string, keys included. */
  maxStringLength: number;
}

export const DEFAULT_TEMPLATE_LIMITS: Readonly<TemplateLimits> = Object.freeze({
  maxNodes: 1000,
  maxDepth: 64,
  maxStringLength: 1_000_000,
});

export interface ParseTemplateOptions {
  /** `update_fields=true`: only name, description, use_case, version, ui_metadata allowed. */
  updateFields?: boolean;
  limits?: Partial<TemplateLimits>;
}

const TEMPLATE_KEYS = new Set([
  'name',
  'description',
  'use_case',
  'version',
  'workflows',
  'ui_metadata',
  'flow',
  // Server-managed: accepted (stored documents are parsed with this same function), then
  // overwritten by the server on create/update.
  'user',
  'created_time',
  'last_updated_time',
  'last_provisioned_time',
  'tenant_id',
  'all_shared_principals',
]);
const UPDATABLE = new Set<string>(UPDATABLE_FIELDS);
const NODE_KEYS = new Set(['id', 'type', 'previous_node_inputs', 'user_inputs']);
const EDGE_KEYS = new Set(['source', 'dest']);
/** OpenSearch `Version.fromString`: X.Y.Z with an optional qualifier (-SNAPSHOT, -alpha1…). */
const VERSION_RE = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?$/;

const parseError = (message: string) => validationError(message, { code: 'template.parse' });
const limitError = (message: string) => validationError(message, { code: 'template.limit' });
const fieldError = (field: string, object: string) => parseError(`Unable to parse field [${field}] in ${object} object.`);

export function isJsonObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Assign without triggering the `__proto__` setter (JSON can carry such a key). */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Deep copy of JSON data; the caller has already checked it is JSON (see checkLimits). */
export function cloneJson(v: unknown): JsonValue {
  if (Array.isArray(v)) return v.map(cloneJson);
  if (isJsonObject(v)) {
    const out: JsonObject = {};
    for (const [k, item] of Object.entries(v)) setOwn(out, k, cloneJson(item));
    return out;
  }
  // JSON has no negative zero (YAML does): normalize so a stored template equals its re-parse.
  if (Object.is(v, -0)) return 0;
  return v as JsonValue;
}

/** Scalars become their text, as Flow Framework's `parser.text()` does; anything else fails. */
function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function stringMap(v: unknown, field: string, object: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isJsonObject(v)) throw fieldError(field, object);
  const out: Record<string, string> = {};
  for (const [k, item] of Object.entries(v)) {
    const text = scalarText(item);
    if (text === undefined) throw fieldError(field, object);
    setOwn(out, k, text);
  }
  return out;
}

function pathKey(path: string, key: string): string {
  const shown = key.length > 64 ? `${key.slice(0, 64)}…` : key;
  return path === '' ? shown : `${path}.${shown}`;
}

/**
 * One pass over the raw document before any interpretation: rejects what is not JSON and
 * anything over the limits, so the structural parse below only ever sees bounded input.
 */
function checkLimits(doc: unknown, limits: TemplateLimits): void {
  const stack: Array<{ v: unknown; depth: number; path: string }> = [{ v: doc, depth: 0, path: '' }];
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop() as { v: unknown; depth: number; path: string };
    const where = path === '' ? 'the template' : `field [${path}]`;
    if (typeof v === 'string') {
      if (v.length > limits.maxStringLength) {
        throw limitError(`The string in ${where} has ${v.length} characters, which exceeds the maximum of ${limits.maxStringLength}.`);
      }
      continue;
    }
    if (v === null || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw parseError(INVALID_CONTENT_MESSAGE);
      continue;
    }
    const isArray = Array.isArray(v);
    if (!isArray && !isJsonObject(v)) throw parseError(INVALID_CONTENT_MESSAGE);
    if (depth + 1 > limits.maxDepth) {
      throw limitError(`The template nesting depth exceeds the maximum of ${limits.maxDepth} at ${where}.`);
    }
    if (isArray) {
      (v as unknown[]).forEach((item, i) => stack.push({ v: item, depth: depth + 1, path: `${path}[${i}]` }));
      continue;
    }
    for (const [k, item] of Object.entries(v)) {
      if (k.length > limits.maxStringLength) {
        throw limitError(`A key in ${where} has ${k.length} characters, which exceeds the maximum of ${limits.maxStringLength}.`);
      }
      stack.push({ v: item, depth: depth + 1, path: pathKey(path, k) });
    }
  }
}

function parseVersionString(v: unknown, field: string): string {
  if (typeof v !== 'string' || !VERSION_RE.test(v)) {
    const shown = typeof v === 'string' ? v : JSON.stringify(v);
    throw parseError(`Unable to parse version [${shown}] in field [${field}]: a version must look like X.Y.Z.`);
  }
  return v;
}

function parseVersion(v: unknown): TemplateVersion | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isJsonObject(v)) throw fieldError('version', 'a template');
  const out: TemplateVersion = {};
  for (const [k, item] of Object.entries(v)) {
    if (k === 'template') {
      if (item !== null) out.template = parseVersionString(item, 'version.template');
    } else if (k === 'compatibility') {
      if (item === null) continue;
      if (!Array.isArray(item)) throw fieldError('version', 'a version');
      out.compatibility = item.map((c: unknown) => parseVersionString(c, 'version.compatibility'));
    } else {
      // (sic) Flow Framework names the parent field, not the offending key.
      throw fieldError('version', 'a version');
    }
  }
  return out;
}

function parseRequiredString(v: unknown): string | undefined {
  const text = scalarText(v);
  return text === undefined || text === '' ? undefined : text;
}

function parseNode(v: unknown): WorkflowNode {
  if (!isJsonObject(v)) throw parseError(INVALID_CONTENT_MESSAGE);
  for (const k of Object.keys(v)) if (!NODE_KEYS.has(k)) throw fieldError(k, 'a node');
  const id = parseRequiredString(v.id);
  const type = parseRequiredString(v.type);
  if (id === undefined || type === undefined) {
    throw parseError('An node object requires both an id and type field.');
  }
  const user_inputs: JsonObject = {};
  const rawInputs = v.user_inputs;
  if (rawInputs !== undefined && rawInputs !== null) {
    if (!isJsonObject(rawInputs)) throw fieldError('user_inputs', 'a node');
    for (const [k, item] of Object.entries(rawInputs)) {
      if (item === null) throw fieldError(k, 'a node');
      setOwn(user_inputs, k, cloneJson(item));
    }
  }
  return {
    id,
    type,
    previous_node_inputs: stringMap(v.previous_node_inputs, 'previous_node_inputs', 'a node'),
    user_inputs,
  };
}

function parseEdge(v: unknown): WorkflowEdge {
  if (!isJsonObject(v)) throw parseError(INVALID_CONTENT_MESSAGE);
  for (const k of Object.keys(v)) if (!EDGE_KEYS.has(k)) throw fieldError(k, 'an edge');
  const source = parseRequiredString(v.source);
  const dest = parseRequiredString(v.dest);
  if (source === undefined || dest === undefined) {
    throw parseError('An edge object requires both a source and dest field.');
  }
  return { source, dest };
}

/** Explicit edges in order, then one edge per previous_node_inputs entry; no duplicates. */
function materializeEdges(explicit: WorkflowEdge[], nodes: WorkflowNode[]): WorkflowEdge[] {
  const seen = new Set<string>();
  const out: WorkflowEdge[] = [];
  const add = (e: WorkflowEdge) => {
    const key = JSON.stringify([e.source, e.dest]);
    if (seen.has(key)) return;
    seen.add(key);
    out.push(e);
  };
  explicit.forEach(add);
  for (const node of nodes) {
    for (const pred of Object.keys(node.previous_node_inputs)) add({ source: pred, dest: node.id });
  }
  return out;
}

function parseWorkflow(name: string, v: unknown, limits: TemplateLimits): Workflow {
  if (!isJsonObject(v)) throw fieldError(name, 'a workflows');
  // Unknown workflow keys are ignored, as in Flow Framework.
  const rawNodes = v.nodes;
  if (rawNodes !== undefined && rawNodes !== null && !Array.isArray(rawNodes)) {
    throw fieldError('nodes', 'a workflow');
  }
  if (!Array.isArray(rawNodes) || rawNodes.length === 0) {
    throw parseError('A workflow must have at least one node.');
  }
  if (rawNodes.length > limits.maxNodes) {
    throw limitError(
      `Workflow [${name}] has ${rawNodes.length} nodes, which exceeds the maximum of ${limits.maxNodes} nodes per workflow.`,
    );
  }
  const rawEdges = v.edges;
  if (rawEdges !== undefined && rawEdges !== null && !Array.isArray(rawEdges)) {
    throw fieldError('edges', 'a workflow');
  }
  const nodes = rawNodes.map(parseNode);
  const edges = materializeEdges(Array.isArray(rawEdges) ? rawEdges.map(parseEdge) : [], nodes);
  return { user_params: stringMap(v.user_params, 'user_params', 'a workflow'), nodes, edges };
}

function parseStringArray(v: unknown, field: string, object: string): string[] {
  if (!Array.isArray(v)) throw fieldError(field, object);
  return v.map((item: unknown) => {
    if (typeof item !== 'string') throw fieldError(field, object);
    return item;
  });
}

function parseUser(v: unknown): OsUser {
  if (!isJsonObject(v)) throw fieldError('user', 'a template');
  const opt = (k: string) => (v[k] === undefined || v[k] === null ? [] : parseStringArray(v[k], 'user', 'a template'));
  const optString = (k: string): string | null => {
    const item = v[k];
    if (item === undefined || item === null) return null;
    if (typeof item !== 'string') throw fieldError('user', 'a template');
    return item;
  };
  if (typeof v.name !== 'string') throw fieldError('user', 'a template');
  const user: OsUser = {
    name: v.name,
    backend_roles: opt('backend_roles'),
    roles: opt('roles'),
    custom_attribute_names: opt('custom_attribute_names'),
    user_requested_tenant: optString('user_requested_tenant'),
  };
  if (v.user_requested_tenant_access !== undefined) {
    user.user_requested_tenant_access = optString('user_requested_tenant_access');
  }
  return user;
}

/** Epoch millis; numeric strings are accepted like OpenSearch's `parser.longValue()`. */
function parseEpochMillis(v: unknown, field: string): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw fieldError(field, 'a template');
  return n;
}

function parseOptionalText(v: unknown, field: string): string {
  if (v === undefined || v === null) return '';
  const text = scalarText(v);
  if (text === undefined) throw fieldError(field, 'a template');
  return text.trim();
}

export function parseTemplate(doc: unknown, opts: ParseTemplateOptions = {}): Template {
  const limits: TemplateLimits = { ...DEFAULT_TEMPLATE_LIMITS, ...opts.limits };
  if (!isJsonObject(doc)) throw parseError(INVALID_CONTENT_MESSAGE);
  checkLimits(doc, limits);
  const updateFields = opts.updateFields === true;

  for (const k of Object.keys(doc)) {
    if (updateFields) {
      if (!UPDATABLE.has(k)) {
        throw parseError(`You can not update the field [${k}] without updating the whole template.`);
      }
    } else if (!TEMPLATE_KEYS.has(k)) {
      throw fieldError(k, 'a template');
    }
  }

  // Names are trimmed as Flow Framework's serializer does, so parse∘serialize is stable.
  // With update_fields an absent name is "" (the server merges only a non-empty name).
  const rawName = doc.name;
  let name = '';
  if (rawName !== undefined && rawName !== null) {
    const text = scalarText(rawName);
    if (text === undefined) throw fieldError('name', 'a template');
    name = text.trim();
  }
  if (name === '' && (!updateFields || (rawName !== undefined && rawName !== null))) {
    throw parseError('A template object requires a name.');
  }

  const template: Template = {
    name,
    description: parseOptionalText(doc.description, 'description'),
    use_case: parseOptionalText(doc.use_case, 'use_case'),
    workflows: {},
  };
  const version = parseVersion(doc.version);
  if (version !== undefined) template.version = version;

  const rawWorkflows = doc.workflows;
  if (rawWorkflows !== undefined && rawWorkflows !== null) {
    if (!isJsonObject(rawWorkflows)) throw fieldError('workflows', 'a template');
    for (const [wfName, wf] of Object.entries(rawWorkflows)) {
      setOwn(template.workflows, wfName, parseWorkflow(wfName, wf, limits));
    }
  }

  for (const field of ['ui_metadata', 'flow'] as const) {
    const raw = doc[field];
    if (raw === undefined || raw === null) continue;
    if (!isJsonObject(raw)) throw fieldError(field, 'a template');
    // Flow Framework does not serialize an empty ui_metadata; normalising it keeps round-trips exact.
    // With update_fields an empty object is kept: it means "replace ui_metadata with {}".
    if (field === 'ui_metadata' && !updateFields && Object.keys(raw).length === 0) continue;
    template[field] = cloneJson(raw) as JsonObject;
  }

  if (doc.user !== undefined && doc.user !== null) template.user = parseUser(doc.user);
  for (const field of ['created_time', 'last_updated_time', 'last_provisioned_time'] as const) {
    const raw = doc[field];
    if (raw !== undefined && raw !== null) template[field] = parseEpochMillis(raw, field);
  }
  if (doc.tenant_id !== undefined && doc.tenant_id !== null) {
    if (typeof doc.tenant_id !== 'string') throw fieldError('tenant_id', 'a template');
    template.tenant_id = doc.tenant_id;
  }
  if (doc.all_shared_principals !== undefined && doc.all_shared_principals !== null) {
    const principals = parseStringArray(doc.all_shared_principals, 'all_shared_principals', 'a template');
    if (principals.length > 0) template.all_shared_principals = principals;
  }
  return template;
}
