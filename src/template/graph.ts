/**
 * Compile a workflow into a validated DAG, with Flow Framework's checks in its order and with
 * its exact messages: max steps, denylisted types (403), topological sort
 * (duplicate ids, dangling edges, self loops, no start node, cycles), unknown types (501),
 * node timeouts; then plugins and statically known required inputs.
 */
import { forbidden, notImplemented, validationError } from '../errors.js';
import type { Workflow, WorkflowNode } from './types.js';
import { parseTimeValue } from './time-value.js';
import { referencedNodeIds } from './substitute.js';
import { scalarText } from '../util/scalar-text.js';
import { topologicalOrder } from '../util/topo-sort.js';

export interface StepSpecLite {
  inputs: string[];
  outputs: string[];
  requiredPlugins: string[];
  denylisted?: boolean;
  defaultTimeoutMs?: number;
}

export interface RetryPolicy {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export interface CompiledNode {
  node: WorkflowNode;
  /** Position in topological order. */
  index: number;
  /** Direct predecessors from edges (explicit and inferred from previous_node_inputs). */
  predecessors: string[];
  /** Predecessors plus nodes referenced by `${{ node.output }}` (flowd infers those edges). */
  dependsOn: string[];
  successors: string[];
  timeoutMs: number;
  retry: RetryPolicy;
}

export interface CompiledWorkflow {
  order: CompiledNode[];
  byId: Map<string, CompiledNode>;
}

export interface CompileOptions {
  workflowId: string | null;
  maxSteps: number;
  lookup: (type: string) => StepSpecLite | undefined;
  /** Plugins available here (e.g. 'opensearch-ml' always; 'opensearch' when a cluster is configured). */
  plugins: ReadonlySet<string>;
  /** Check statically known required inputs (validation=all and provisioning). */
  checkInputs: boolean;
  defaultTimeoutMs?: number;
}

const NO_RETRY: RetryPolicy = { maxAttempts: 1, initialBackoffMs: 0, maxBackoffMs: 0 };

function readRetry(node: WorkflowNode): RetryPolicy {
  const r = node.user_inputs['retry'];
  if (r === undefined) return NO_RETRY;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) {
    throw validationError(`Invalid [retry] for node [${node.id}]: expected an object like {"max_attempts": 3, "backoff": "100ms"}`);
  }
  const max = r['max_attempts'] ?? 3;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 100) {
    throw validationError(`Invalid [retry.max_attempts] for node [${node.id}]: expected an integer between 1 and 100`);
  }
  const backoff = r['backoff'] ?? '100ms';
  const maxBackoff = r['max_backoff'] ?? '10s';
  if (typeof backoff !== 'string' || typeof maxBackoff !== 'string') {
    throw validationError(`Invalid [retry] for node [${node.id}]: backoff and max_backoff are time values like "200ms"`);
  }
  return {
    maxAttempts: max,
    initialBackoffMs: parseTimeValue(backoff, `${node.id}.user_inputs.retry.backoff`),
    maxBackoffMs: parseTimeValue(maxBackoff, `${node.id}.user_inputs.retry.max_backoff`),
  };
}

/** Kahn's algorithm (util/topo-sort.ts) with FIFO tie-breaking seeded by template order (as Flow Framework). */
function topologicalSort(wf: Workflow): { sorted: WorkflowNode[]; preds: Map<string, string[]>; succs: Map<string, string[]> } {
  const byId = new Map<string, WorkflowNode>();
  for (const n of wf.nodes) {
    if (byId.has(n.id)) throw validationError(`Duplicate node id ${n.id}.`, { code: 'template.duplicate_node' });
    byId.set(n.id, n);
  }
  const preds = new Map<string, string[]>(wf.nodes.map((n) => [n.id, []]));
  const succs = new Map<string, string[]>(wf.nodes.map((n) => [n.id, []]));
  const edgeKeys = new Set<string>();
  for (const e of wf.edges) {
    if (!byId.has(e.source))
      throw validationError(`Edge source ${e.source} does not correspond to a node.`, { code: 'template.dangling_edge' });
    if (!byId.has(e.dest))
      throw validationError(`Edge destination ${e.dest} does not correspond to a node.`, { code: 'template.dangling_edge' });
    if (e.source === e.dest) throw validationError(`Edge connects node ${e.source} to itself.`, { code: 'template.self_loop' });
    const key = `${e.source}->${e.dest}`;
    if (edgeKeys.has(key)) continue;
    edgeKeys.add(key);
    succs.get(e.source)?.push(e.dest);
    preds.get(e.dest)?.push(e.source);
  }
  if (wf.nodes.every((n) => (preds.get(n.id)?.length ?? 0) > 0)) {
    throw validationError('No start node detected: all nodes have a predecessor.', { code: 'template.no_start_node' });
  }
  const position = new Map(wf.nodes.map((n, i) => [n.id, i]));
  const sorted = topologicalOrder(wf.nodes.map((n) => (succs.get(n.id) ?? []).map((d) => position.get(d) as number))).map(
    (i) => wf.nodes[i] as WorkflowNode,
  );
  if (sorted.length < wf.nodes.length) {
    const done = new Set(sorted.map((n) => n.id));
    const left = [...edgeKeys].filter((k) => {
      const [s, d] = k.split('->') as [string, string];
      return !done.has(s) && !done.has(d);
    });
    throw validationError(`Cycle detected: [${left.join(', ')}]`, { code: 'template.cycle' });
  }
  return { sorted, preds, succs };
}

export function compileWorkflow(wf: Workflow, opts: CompileOptions): CompiledWorkflow {
  if (wf.nodes.length > opts.maxSteps) {
    throw validationError(
      `Workflow ${opts.workflowId ?? 'null'} has ${wf.nodes.length} nodes, which exceeds the maximum of ${opts.maxSteps}. Change the setting [plugins.flow_framework.max_workflow_steps] to increase this.`,
      { code: 'template.too_many_steps' },
    );
  }
  for (const n of wf.nodes) {
    if (opts.lookup(n.type)?.denylisted) {
      throw forbidden(`The step type [${n.type}] for node [${n.id}] can not be used in a workflow.`, {
        code: 'template.denylisted_step',
      });
    }
  }
  const { sorted, preds, succs } = topologicalSort(wf);
  const ids = new Set(sorted.map((n) => n.id));
  const order: CompiledNode[] = [];
  const byId = new Map<string, CompiledNode>();
  for (const node of sorted) {
    const spec = opts.lookup(node.type);
    if (!spec) {
      throw notImplemented(`Workflow step type [${node.type}] is not implemented.`, { code: 'template.unknown_step_type' });
    }
    const rawTimeout = node.user_inputs['node_timeout'];
    let timeoutMs = spec.defaultTimeoutMs ?? opts.defaultTimeoutMs ?? 10_000;
    if (rawTimeout !== undefined) {
      timeoutMs = parseTimeValue(scalarText(rawTimeout), `${node.id}.user_inputs.node_timeout`);
      if (timeoutMs <= 0) {
        throw validationError(
          `Failed to parse timeout value [${scalarText(rawTimeout)}] for field [${node.id}.user_inputs.node_timeout]. Must be positive`,
        );
      }
    }
    const p = preds.get(node.id) ?? [];
    const refs = referencedNodeIds(node.user_inputs, ids).filter((r) => r !== node.id && !p.includes(r));
    const c: CompiledNode = {
      node,
      index: order.length,
      predecessors: p,
      dependsOn: [...p, ...refs],
      successors: succs.get(node.id) ?? [],
      timeoutMs,
      retry: readRetry(node),
    };
    order.push(c);
    byId.set(node.id, c);
  }
  assertReferencesAcyclic(order, byId);
  validatePluginsAndInputs(order, byId, opts);
  return { order, byId };
}

/** `${{ node.output }}` references add dependencies; they must not close a cycle. */
function assertReferencesAcyclic(order: CompiledNode[], byId: Map<string, CompiledNode>): void {
  const state = new Map<string, 1 | 2>();
  const visit = (id: string, path: string[]): void => {
    const s = state.get(id);
    if (s === 2) return;
    if (s === 1) {
      const cycle = path.slice(path.indexOf(id));
      throw validationError(`Cycle detected: [${[...cycle, id].join('->')}] (through \${{ node.output }} references)`, {
        code: 'template.cycle',
      });
    }
    state.set(id, 1);
    for (const d of byId.get(id)?.dependsOn ?? []) visit(d, [...path, id]);
    state.set(id, 2);
  };
  for (const c of order) visit(c.node.id, []);
}

function validatePluginsAndInputs(order: CompiledNode[], byId: Map<string, CompiledNode>, opts: CompileOptions): void {
  for (const c of order) {
    const spec = opts.lookup(c.node.type) as StepSpecLite;
    const missing = spec.requiredPlugins.filter((p) => !opts.plugins.has(p));
    if (missing.length > 0) {
      throw validationError(`The workflowStep ${c.node.type} requires the following plugins to be installed : [${missing.join(', ')}]`, {
        code: 'template.missing_plugin',
      });
    }
  }
  if (!opts.checkInputs) return;
  for (const c of order) {
    const spec = opts.lookup(c.node.type) as StepSpecLite;
    const available = new Set(Object.keys(c.node.user_inputs));
    for (const p of c.dependsOn) {
      const pred = byId.get(p);
      for (const o of pred ? (opts.lookup(pred.node.type)?.outputs ?? []) : []) available.add(o);
    }
    const missing = spec.inputs.filter((i) => !available.has(i));
    if (missing.length > 0) {
      throw validationError(`Invalid workflow, node [${c.node.id}] missing the following required inputs : [${missing.join(', ')}]`, {
        code: 'template.missing_inputs',
        node: c.node.id,
      });
    }
  }
}
