/**
 * Everything the flow executor needs, computed once per published flow so that running one
 * input costs a few array reads per block: roles, predecessor lists with the scope each value
 * is read from, dependency counts, input-mapping resolvers, which failures end the run.
 *
 * Nodes: blocks are 0..n-1; the split context (region) r is node n + r, a node of its
 * enclosing region that runs the region once per item (see blocks/flow-graph.ts).
 */
import type { BlockRole, BlockType } from '../blocks/block.js';
import type { FlowSpec } from '../blocks/flow-spec.js';
import { FLOW_INPUT_REF, analyzeFlowGraph, parseInputRef, valueRegion } from '../blocks/flow-graph.js';
import type { FlowGraph, FlowRegion } from '../blocks/flow-graph.js';
import { joinMaxFailedBranches, switchDestinations } from '../blocks/flow-roles.js';
import { internalError } from '../errors.js';

export interface MappingEntry {
  key: string;
  /** Block index, or -1 for the workflow input. */
  source: number;
  /** Scopes to go up from the block's own scope to the one holding the source's value. */
  hops: number;
  path: readonly string[];
}

export interface PlanBlock {
  index: number;
  id: string;
  role: BlockRole;
  region: number;
  preds: readonly number[];
  /** Per pred: scope hops to its value (for a reduce: 0, read in each item's scope). */
  predHops: readonly number[];
  /** Downstream block indices (a switch's routes must be among them). */
  succs: readonly number[];
  maxFailedBranches: number;
  /** For a reduce: the region (split context) whose items it collects; else -1. */
  closes: number;
  /** A failure here cannot be absorbed by a join downstream: it ends the run at once. */
  fatal: boolean;
  sink: boolean;
  mapping: readonly MappingEntry[] | undefined;
}

export interface PlanRegion extends FlowRegion {
  /** Node ids of the region: its member blocks and its child regions. */
  nodes: readonly number[];
}

export interface FlowPlan {
  n: number;
  blocks: readonly PlanBlock[];
  regions: readonly PlanRegion[];
  /** Per node: local dependencies still to resolve before it can run (copied per scope). */
  pendingInit: Int32Array;
  /** Per node: the nodes of the same region that wait for it. */
  dependents: ReadonlyArray<readonly number[]>;
  /** Every sink (nested ones are collected into the top scope as arrays). */
  sinks: readonly number[];
  index: ReadonlyMap<string, number>;
  /**
   * When the whole flow is a chain (two or more plain blocks, each the only upstream of the
   * next, no mappings past the first block): its first block and the block ids in order. Such
   * a flow can run instance to instance in one go (Stream.sendChain).
   */
  chain: { first: PlanBlock; ids: readonly string[] } | undefined;
}

export function buildFlowPlan(spec: FlowSpec, blockType: (name: string) => BlockType | undefined): FlowPlan {
  const roles = spec.blocks.map((b): BlockRole => {
    const t = blockType(b.type);
    if (t === undefined)
      throw internalError(`Block [${b.id}] has type [${b.type}], which is not registered on this node.`, {
        code: 'flow.unknown_block_type',
        node: b.id,
      });
    return t.role ?? 'transform';
  });
  const g = analyzeFlowGraph({
    ids: spec.blocks.map((b) => b.id),
    roles,
    edges: spec.edges,
    switchDests: spec.blocks.map((b, i) => (roles[i] === 'switch' ? switchDestinations(b.config) : undefined)),
    inputs: spec.blocks.map((b) => b.input),
  });
  const n = spec.blocks.length;
  const depth = (r: number): number => (g.regions[r] as FlowRegion).depth;
  const maxFailed = spec.blocks.map((b, i) => (roles[i] === 'join' ? joinMaxFailedBranches(b.config) : 0));
  const fatal = fatalFlags(g, roles, maxFailed);
  const blocks: PlanBlock[] = spec.blocks.map((b, i) => {
    const preds = g.preds[i] as number[];
    const own = depth(g.region[i] as number);
    return {
      index: i,
      id: b.id,
      role: roles[i] as BlockRole,
      region: g.region[i] as number,
      preds,
      predHops: preds.map((p) => (roles[i] === 'reduce' ? 0 : own - depth(valueRegion(g, p, i)))),
      succs: g.succs[i] as number[],
      maxFailedBranches: maxFailed[i] as number,
      closes: roles[i] === 'reduce' ? edgeRegion(g, preds[0] as number) : -1,
      fatal: fatal[i] as boolean,
      sink: (g.succs[i] as number[]).length === 0,
      mapping: b.input === undefined ? undefined : Object.entries(b.input).map(([key, ref]) => mappingEntry(g, i, key, ref, own)),
    };
  });
  const { pendingInit, dependents } = dependencies(g, roles, n);
  const regions: PlanRegion[] = g.regions.map((r) => ({ ...r, nodes: [...r.members, ...r.children.map((c) => n + c)] }));
  return { n, blocks, regions, pendingInit, dependents, sinks: g.sinks, index: g.index, chain: chainOf(blocks, regions.length) };
}

function chainOf(blocks: readonly PlanBlock[], regions: number): FlowPlan['chain'] {
  if (blocks.length < 2 || regions !== 1) return undefined;
  const starts = blocks.filter((b) => b.preds.length === 0);
  if (starts.length !== 1) return undefined;
  const order: string[] = [];
  for (let b: PlanBlock | undefined = starts[0]; b !== undefined; b = b.succs.length === 1 ? blocks[b.succs[0] as number] : undefined) {
    if (b.role !== 'transform' || b.preds.length > 1 || b.succs.length > 1) return undefined;
    // The first block may map fields of the workflow input; later ones take their upstream's output whole.
    if (b.mapping !== undefined && (order.length > 0 || b.mapping.some((m) => m.source >= 0))) return undefined;
    order.push(b.id);
  }
  return order.length === blocks.length ? { first: starts[0] as PlanBlock, ids: order } : undefined;
}

const edgeRegion = (g: FlowGraph, p: number): number =>
  (g.splitRegion[p] as number) >= 0 ? (g.splitRegion[p] as number) : (g.region[p] as number);

function mappingEntry(g: FlowGraph, b: number, key: string, ref: string, ownDepth: number): MappingEntry {
  const { source, path } = parseInputRef(ref);
  if (source === FLOW_INPUT_REF) return { key, source: -1, hops: 0, path };
  const s = g.index.get(source) as number;
  return { key, source: s, hops: ownDepth - (g.regions[valueRegion(g, s, b)] as FlowRegion).depth, path };
}

/**
 * A failure at block b is absorbed only if every path from b to a sink goes through a join
 * that tolerates failed branches; otherwise nothing can save the run and it stops at once.
 */
function fatalFlags(g: FlowGraph, roles: readonly BlockRole[], maxFailed: readonly number[]): boolean[] {
  const fatal = new Array<boolean>(g.ids.length).fill(false);
  for (let k = g.order.length - 1; k >= 0; k--) {
    const b = g.order[k] as number;
    const succs = g.succs[b] as number[];
    fatal[b] = succs.length === 0 || succs.some((s) => !(roles[s] === 'join' && (maxFailed[s] as number) > 0) && fatal[s]);
  }
  return fatal;
}

function dependencies(g: FlowGraph, roles: readonly BlockRole[], n: number): { pendingInit: Int32Array; dependents: number[][] } {
  const total = n + g.regions.length;
  const deps: Array<Set<number>> = Array.from({ length: total }, () => new Set<number>());
  for (let b = 0; b < n; b++) {
    for (const p of g.preds[b] as number[]) {
      // A reduce's upstreams are in the region it closes: it waits for that whole region.
      if (roles[b] === 'reduce') deps[b]?.add(n + edgeRegion(g, p));
      else if (g.region[p] === g.region[b]) deps[b]?.add(p);
    }
  }
  for (const reg of g.regions) {
    if (reg.index === 0) continue;
    const node = deps[n + reg.index] as Set<number>;
    node.add(reg.split);
    for (const x of reg.external) if (g.region[x] === reg.parent) node.add(x);
  }
  const dependents: number[][] = Array.from({ length: total }, () => []);
  const pendingInit = new Int32Array(total);
  deps.forEach((set, node) => {
    pendingInit[node] = set.size;
    for (const d of set) dependents[d]?.push(node);
  });
  return { pendingInit, dependents };
}
