/**
 * The `flow` section of a template: what gets published as services. Parsed and
 * validated at create time, so a flow that is stored can be published and run. Every failure
 * is a 400 that names the block and field and says how to fix it.
 */
import { FlowdError, coerceError } from '../errors.js';
import { formatTimeValue } from '../template/time-value.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import { cloneJson, isJsonObject } from '../template/template-parser.js';
import type { BlockRole, BlockType } from './block.js';
import { autoscalingToJson, parseAutoscaling } from './flow-autoscaling.js';
import type { AutoscalingSpec } from './flow-autoscaling.js';
import { flowError, readInt, readTimeMs, rejectUnknownKeys } from './flow-fields.js';
import { UnsupportedPatternError, compileInputSchema } from './input-schema.js';
import { FLOW_INPUT_REF, analyzeFlowGraph, parseInputRef } from './flow-graph.js';
import { switchDestinations } from './flow-roles.js';

export type { AutoscalingSpec } from './flow-autoscaling.js';
export { blockReplicaRange } from './flow-autoscaling.js';

export interface FlowBlockSpec {
  id: string;
  type: string;
  /** As written (placeholders unresolved); the block type normalizes it when it loads. */
  config: JsonObject;
  replicas: number;
  timeoutMs: number;
  consumers: number;
  memoryMb?: number;
  input?: Record<string, string>;
}

export interface FlowSpec {
  mode: 'SYNC' | 'ASYNC';
  blocks: FlowBlockSpec[];
  edges: Array<{ source: string; dest: string }>;
  inputSchema?: JsonObject;
  autoscaling: AutoscalingSpec;
}

export interface ParseFlowSpecOptions {
  blockType: (name: string) => BlockType | undefined;
  /** Ids of the template's provisioning nodes (`${{ node.output }}` placeholders must name one). */
  provisionNodeIds: ReadonlySet<string>;
  /** Listed when a type is unknown; defaults to the standard names the lookup knows. */
  knownBlockTypes?: readonly string[];
}

export const MAX_FLOW_BLOCKS = 500;
const DEFAULT_TIMEOUT_MS = 30_000;
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const FLOW_KEYS = ['mode', 'input_schema', 'autoscaling', 'blocks', 'edges'];
/**
 * Tasks one ASYNC instance runs at once. Light blocks (a no-op, a remote call that mostly waits)
 * need hundreds in flight for a node's claim and result round trips to overlap its work.
 */
const MAX_CONSUMERS = 1024;

const BLOCK_KEYS = ['id', 'type', 'replicas', 'timeout', 'consumers', 'memory', 'input', 'config'];
const STANDARD_TYPES = ['js', 'map', 'switch', 'join', 'split', 'reduce', 'model', 'http', 'custom'];
const PLACEHOLDER = /\$\{\{\s*([^\s{}]+?)\s*\}\}/g;

export function parseFlowSpec(raw: unknown, opts: ParseFlowSpecOptions): FlowSpec {
  if (!isJsonObject(raw)) {
    throw flowError('The [flow] section must be an object with [mode] (SYNC or ASYNC), [blocks] and [edges].');
  }
  rejectUnknownKeys(raw, FLOW_KEYS, 'flow');
  const mode = parseMode(raw.mode);
  if (!Array.isArray(raw.blocks) || raw.blocks.length === 0) {
    throw flowError('[flow.blocks] must be a non-empty list of blocks, each with an [id] and a [type].');
  }
  if (raw.blocks.length > MAX_FLOW_BLOCKS) {
    throw flowError(
      `[flow.blocks] has ${raw.blocks.length} blocks, more than the maximum of ${MAX_FLOW_BLOCKS}: split the flow into several workflows.`,
    );
  }
  const blocks = raw.blocks.map((b: unknown, i) => parseBlock(b, i, mode));
  const ids = new Set<string>();
  for (const b of blocks) {
    if (ids.has(b.id))
      throw flowError(`Duplicate block id [${b.id}] in [flow.blocks]: give each block a unique id.`, 'flow.duplicate_block');
    ids.add(b.id);
  }
  const types = blocks.map((b) => checkBlockType(b, mode, opts));
  const edges = parseEdges(raw.edges);
  const roles: BlockRole[] = types.map((t) => t.role ?? 'transform');
  analyzeFlowGraph({
    ids: blocks.map((b) => b.id),
    roles,
    edges,
    switchDests: blocks.map((b, i) => (roles[i] === 'switch' ? switchDestinations(b.config) : undefined)),
    inputs: blocks.map((b) => b.input),
  });
  if (mode === 'SYNC' && raw.autoscaling !== undefined && raw.autoscaling !== null) {
    throw flowError('[flow.autoscaling] applies to ASYNC flows only: remove it or use `mode: ASYNC`.', 'flow.async_only');
  }
  const autoscaling = parseAutoscaling(mode === 'ASYNC' ? raw.autoscaling : undefined);
  if (autoscaling.preset === 'disabled') {
    const idle = blocks.find((b) => b.replicas === 0);
    if (idle) {
      throw flowError(
        `Block [${idle.id}] has replicas 0 and autoscaling is disabled, so it would never run: give it replicas ≥ 1 or enable autoscaling (e.g. \`autoscaling: { preset: eco }\`).`,
      );
    }
  }
  const spec: FlowSpec = { mode, blocks, edges, autoscaling };
  if (raw.input_schema !== undefined && raw.input_schema !== null) spec.inputSchema = parseInputSchema(raw.input_schema);
  return spec;
}

function parseMode(v: unknown): 'SYNC' | 'ASYNC' {
  if (v === undefined || v === null) return 'SYNC';
  const m = typeof v === 'string' ? v.trim().toUpperCase() : '';
  if (m !== 'SYNC' && m !== 'ASYNC') throw flowError(`Invalid [flow.mode]: ${JSON.stringify(v)}. Use SYNC or ASYNC.`);
  return m;
}

function parseBlock(v: unknown, i: number, mode: 'SYNC' | 'ASYNC'): FlowBlockSpec {
  if (!isJsonObject(v)) throw flowError(`[flow.blocks[${i}]] must be an object with an [id] and a [type].`);
  if (typeof v.id !== 'string' || !ID_RE.test(v.id)) {
    throw flowError(
      `[flow.blocks[${i}].id] ${JSON.stringify(v.id ?? null)} is invalid: a block id is 1 to 64 letters, digits, '_' or '-'.`,
      'flow.invalid_block_id',
    );
  }
  const id = v.id;
  const where = `flow.blocks[${id}]`;
  rejectUnknownKeys(v, BLOCK_KEYS, where);
  if (typeof v.type !== 'string' || v.type === '') throw flowError(`Block [${id}] has no [type]: set it to a block type such as js.`);
  const replicas =
    v.replicas === undefined
      ? 1
      : readInt(
          v.replicas,
          `${where}.replicas`,
          mode === 'ASYNC' ? 0 : 1,
          64,
          mode === 'SYNC' ? ' (0 is allowed only with `mode: ASYNC`)' : '',
        );
  if (mode === 'SYNC' && v.consumers !== undefined) {
    throw flowError(
      `Block [${id}] sets [consumers], which applies to ASYNC flows only: remove it or use \`mode: ASYNC\`.`,
      'flow.async_only',
    );
  }
  const block: FlowBlockSpec = {
    id,
    type: v.type,
    config: {},
    replicas,
    timeoutMs: v.timeout === undefined ? DEFAULT_TIMEOUT_MS : readTimeMs(v.timeout, `${where}.timeout`),
    consumers: v.consumers === undefined ? 1 : readInt(v.consumers, `${where}.consumers`, 1, MAX_CONSUMERS),
  };
  if (v.memory !== undefined) block.memoryMb = readInt(v.memory, `${where}.memory`, 16, 8192, ' (megabytes)');
  if (v.config !== undefined && v.config !== null) {
    if (!isJsonObject(v.config)) throw flowError(`[${where}.config] must be an object.`);
    block.config = cloneJson(v.config) as JsonObject;
  }
  if (v.input !== undefined && v.input !== null) block.input = parseInputMapping(v.input, id);
  return block;
}

function parseInputMapping(v: unknown, id: string): Record<string, string> {
  const hint = 'Map each key to "$input", "$input.<path>", "<blockId>" or "<blockId>.<path>" (dot paths).';
  if (!isJsonObject(v)) throw flowError(`[flow.blocks[${id}].input] must be an object. ${hint}`, 'flow.invalid_input_mapping');
  const out: Record<string, string> = {};
  for (const [key, ref] of Object.entries(v)) {
    const parsed = typeof ref === 'string' ? parseInputRef(ref) : undefined;
    const ok =
      parsed !== undefined && (parsed.source === FLOW_INPUT_REF || ID_RE.test(parsed.source)) && parsed.path.every((p) => p !== '');
    if (!ok || key === '') {
      throw flowError(`Block [${id}] input [${key}] = ${JSON.stringify(ref)} is invalid. ${hint}`, 'flow.invalid_input_mapping');
    }
    Object.defineProperty(out, key, { value: ref, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function checkBlockType(b: FlowBlockSpec, mode: 'SYNC' | 'ASYNC', opts: ParseFlowSpecOptions): BlockType {
  const type = opts.blockType(b.type);
  if (type === undefined) {
    const known = opts.knownBlockTypes ?? STANDARD_TYPES.filter((t) => opts.blockType(t) !== undefined);
    throw flowError(`Block [${b.id}] has unknown type [${b.type}]. Known block types: ${known.join(', ')}.`, 'flow.unknown_block_type');
  }
  if (mode === 'SYNC' && type.asyncOnly) {
    throw flowError(
      `Block [${b.id}] has type [${b.type}], which runs in ASYNC flows only: use \`mode: ASYNC\` or another block type.`,
      'flow.async_only',
    );
  }
  checkPlaceholders(b.config, b.id, 'config', opts.provisionNodeIds);
  try {
    type.validateConfig(cloneJson(b.config) as JsonObject, b.id);
  } catch (e) {
    if (e instanceof FlowdError) throw e;
    throw flowError(`Block [${b.id}] has an invalid [config]: ${coerceError(e).message}`, 'flow.invalid_block_config');
  }
  return type;
}

/** `${{ node.key }}` must name a provisioning node; a plain `${{ name }}` is a parameter. */
function checkPlaceholders(v: JsonValue, id: string, path: string, nodes: ReadonlySet<string>): void {
  const scan = (s: string, at: string): void => {
    for (const m of s.matchAll(PLACEHOLDER)) {
      const expr = m[1] as string;
      const dot = expr.indexOf('.');
      if (dot < 0 || nodes.has(expr.slice(0, dot))) continue;
      const known = nodes.size > 0 ? `provisioning nodes: [${[...nodes].join(', ')}]` : 'the template has no provisioning nodes';
      throw flowError(
        `Block [${id}] ${at} uses ${m[0]}, but [${expr.slice(0, dot)}] is not a provisioning node (${known}). Use \${{ <node id>.<output> }} or a parameter name without a dot.`,
        'flow.invalid_placeholder',
      );
    }
  };
  if (typeof v === 'string') scan(v, `[${path}]`);
  else if (Array.isArray(v)) v.forEach((x, i) => checkPlaceholders(x, id, `${path}[${i}]`, nodes));
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      scan(k, `key [${path}.${k}]`);
      checkPlaceholders(x, id, `${path}.${k}`, nodes);
    }
  }
}

function parseEdges(v: unknown): Array<{ source: string; dest: string }> {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw flowError('[flow.edges] must be a list of { source: <block id>, dest: <block id> }.');
  return v.map((e: unknown, i) => {
    if (!isJsonObject(e) || typeof e.source !== 'string' || typeof e.dest !== 'string') {
      throw flowError(`[flow.edges[${i}]] must be { source: <block id>, dest: <block id> }.`);
    }
    rejectUnknownKeys(e, ['source', 'dest'], `flow.edges[${i}]`);
    return { source: e.source, dest: e.dest };
  });
}

function parseInputSchema(v: unknown): JsonObject {
  if (!isJsonObject(v)) {
    throw flowError(
      '[flow.input_schema] must be a JSON Schema object, e.g. { type: object, required: [text] }.',
      'flow.invalid_input_schema',
    );
  }
  const schema = cloneJson(v) as JsonObject;
  try {
    compileInputSchema(schema);
  } catch (e) {
    if (e instanceof UnsupportedPatternError) throw patternError(e);
    throw flowError(
      `[flow.input_schema] is not a valid JSON Schema: ${coerceError(e).message}. Fix the schema (JSON Schema draft-07 keywords).`,
      'flow.invalid_input_schema',
    );
  }
  return schema;
}

function patternError(e: UnsupportedPatternError): Error {
  const shown = e.pattern.length > 200 ? `${e.pattern.slice(0, 200)}…` : e.pattern;
  if (!e.validJs) {
    return flowError(
      `[flow.input_schema] pattern [${shown}] is not a valid regular expression (${e.message}). Fix the pattern.`,
      'flow.invalid_input_schema',
    );
  }
  return flowError(
    `[flow.input_schema] pattern [${shown}] is not supported: flowd runs input_schema patterns with a linear-time ` +
      `regular expression engine (RE2 syntax), which has no backreferences or lookaround (${e.message}). ` +
      'Rewrite the pattern without them.',
    'flow.invalid_input_schema',
  );
}

/** What the store keeps; `parseFlowSpec(flowSpecToJson(s))` gives `s` back. */
export function flowSpecToJson(spec: FlowSpec): JsonObject {
  const out: JsonObject = {
    mode: spec.mode,
    blocks: spec.blocks.map((b) => {
      const o: JsonObject = { id: b.id, type: b.type, replicas: b.replicas, timeout: formatTimeValue(b.timeoutMs) };
      if (spec.mode === 'ASYNC') o.consumers = b.consumers;
      if (b.memoryMb !== undefined) o.memory = b.memoryMb;
      if (b.input !== undefined) o.input = { ...b.input };
      o.config = cloneJson(b.config);
      return o;
    }),
    edges: spec.edges.map((e) => ({ source: e.source, dest: e.dest })),
  };
  if (spec.inputSchema !== undefined) out.input_schema = cloneJson(spec.inputSchema);
  if (spec.mode === 'ASYNC') out.autoscaling = autoscalingToJson(spec.autoscaling);
  return out;
}
