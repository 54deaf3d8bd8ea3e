/**
 * Graph analysis of a `flow`, shared by the create-time parser (flow-spec.ts)
 * and the executor plan (runtime/flow-plan.ts) so that what is validated is exactly what runs.
 *
 * Split contexts ("regions"): the blocks downstream of a `split` run once per item, up to the
 * `reduce` that closes the split. A region is the set of blocks that run per item of one
 * split; regions nest (a split inside a split's context). Region 0 is the top level. A block's
 * region is the deepest region among its incoming edges (an edge from a split enters the
 * split's region); blocks of enclosing regions are visible from inside (same value for every
 * item). A `reduce` leaves the region of its upstreams. A sink inside a region (no reduce after
 * it) is collected as an array of its per-item outputs, in item order.
 */
import { validationError } from '../errors.js';
import type { BlockRole } from './block.js';
import { topologicalOrder } from '../util/topo-sort.js';

export const FLOW_INPUT_REF = '$input';

export interface FlowGraphInput {
  ids: readonly string[];
  roles: readonly BlockRole[];
  edges: ReadonlyArray<{ source: string; dest: string }>;
  /** Per block: the dests a switch may route to (undefined: any of its downstream blocks). */
  switchDests: ReadonlyArray<readonly string[] | undefined>;
  /** Per block: its `input` mapping, if any. */
  inputs: ReadonlyArray<Readonly<Record<string, string>> | undefined>;
}

export interface FlowRegion {
  index: number;
  /** The split block opening it; -1 for the top level. */
  split: number;
  /** Enclosing region; -1 for the top level. */
  parent: number;
  depth: number;
  /** Blocks directly in the region, in topological order. */
  members: number[];
  /** Regions opened by splits that are direct members. */
  children: number[];
  /** Sinks in the region or in nested ones (collected per item when the region ends). */
  sinks: number[];
  /** Blocks of enclosing regions that members (nested included) take input from, split excluded. */
  external: number[];
}

export interface FlowGraph {
  ids: readonly string[];
  index: ReadonlyMap<string, number>;
  /** Topological order (Kahn, ties in template order). */
  order: number[];
  /** Upstream blocks in edge order, duplicates removed. */
  preds: number[][];
  succs: number[][];
  region: number[];
  regions: FlowRegion[];
  /** Per block: the region a split opens, else -1. */
  splitRegion: number[];
  sinks: number[];
}

export interface InputRef {
  /** A block index, or -1 for the workflow input. */
  source: number;
  path: string[];
}

const graphError = (message: string, code: string) => validationError(message, { code });

/** Parse a mapping value: "$input", "$input.a.b", "<blockId>", "<blockId>.a.b". */
export function parseInputRef(ref: string): { source: string; path: string[] } {
  const parts = ref.split('.');
  return { source: parts[0] as string, path: parts.slice(1) };
}

/** Where the value of block `ref` lives as seen from block `b`: inside its split's region it is the item. */
export function valueRegion(g: FlowGraph, ref: number, b: number): number {
  const child = g.splitRegion[ref] as number;
  if (child >= 0 && isRegionWithin(g, g.region[b] as number, child)) return child;
  return g.region[ref] as number;
}

/** True when region `inner` is `outer` or nested in it. */
export function isRegionWithin(g: FlowGraph, inner: number, outer: number): boolean {
  for (let r = inner; r >= 0; r = (g.regions[r] as FlowRegion).parent) if (r === outer) return true;
  return false;
}

export function analyzeFlowGraph(input: FlowGraphInput): FlowGraph {
  const { ids, roles } = input;
  const n = ids.length;
  const index = new Map<string, number>(ids.map((id, i) => [id, i]));
  const preds: number[][] = ids.map(() => []);
  const succs: number[][] = ids.map(() => []);
  const seen = new Set<string>();
  for (const e of input.edges) {
    const s = index.get(e.source);
    const d = index.get(e.dest);
    for (const [end, id] of [
      [s, e.source],
      [d, e.dest],
    ] as const) {
      if (end === undefined) {
        throw graphError(
          `Edge [${e.source} -> ${e.dest}] refers to block [${id}], which does not exist. Known blocks: [${ids.join(', ')}]. Fix the edge or add the block.`,
          'flow.unknown_block',
        );
      }
    }
    if (s === d) throw graphError(`Edge [${e.source} -> ${e.dest}] connects block [${e.source}] to itself; remove it.`, 'flow.self_loop');
    const key = `${s}>${d}`;
    if (seen.has(key)) continue;
    seen.add(key);
    succs[s as number]?.push(d as number);
    preds[d as number]?.push(s as number);
  }
  const order = flowOrder(ids, succs);
  checkSwitches(input, index, succs);
  checkReachable(input, index, order, preds, succs);
  const ancestors = ancestorSets(order, preds, n);
  const g: FlowGraph = {
    ids,
    index,
    order,
    preds,
    succs,
    region: new Array<number>(n).fill(0),
    regions: [],
    splitRegion: new Array<number>(n).fill(-1),
    sinks: [],
  };
  assignRegions(g, roles);
  checkRegionsConvex(g, ancestors);
  for (let b = 0; b < n; b++) {
    const mapping = input.inputs[b];
    if (mapping !== undefined) checkMapping(g, b, mapping, roles, ancestors);
  }
  return g;
}

function flowOrder(ids: readonly string[], succs: number[][]): number[] {
  const order = topologicalOrder(succs);
  if (order.length < ids.length) {
    const cycle = findCycle(ids.length, succs, new Set(order));
    throw graphError(
      `The flow's edges form a cycle: [${cycle.map((i) => ids[i]).join(' -> ')}]. A flow must be acyclic: remove one of these edges.`,
      'flow.cycle',
    );
  }
  return order;
}

/** One concrete cycle among the blocks Kahn's algorithm could not order. */
function findCycle(n: number, succs: number[][], ordered: ReadonlySet<number>): number[] {
  const state = new Uint8Array(n); // 0 new, 1 on the stack, 2 done
  const stack: number[] = [];
  const visit = (v: number): number[] | undefined => {
    state[v] = 1;
    stack.push(v);
    for (const s of succs[v] as number[]) {
      if (ordered.has(s)) continue;
      if (state[s] === 1) return [...stack.slice(stack.indexOf(s)), s];
      if (state[s] === 0) {
        const found = visit(s);
        if (found) return found;
      }
    }
    stack.pop();
    state[v] = 2;
    return undefined;
  };
  for (let v = 0; v < n; v++) {
    if (ordered.has(v) || state[v] !== 0) continue;
    const found = visit(v);
    if (found) return found;
  }
  return [];
}

function checkSwitches(input: FlowGraphInput, index: ReadonlyMap<string, number>, succs: number[][]): void {
  input.roles.forEach((role, b) => {
    if (role !== 'switch') return;
    const id = input.ids[b] as string;
    if ((succs[b] as number[]).length === 0) {
      throw graphError(
        `Block [${id}] is a switch with no downstream blocks: add an edge from [${id}] to each block it routes to.`,
        'flow.switch_route',
      );
    }
    for (const dest of input.switchDests[b] ?? []) {
      const d = index.get(dest);
      if (d === undefined || !(succs[b] as number[]).includes(d)) {
        throw graphError(
          `Block [${id}] (switch) routes to [${dest}], but there is no edge [${id} -> ${dest}]. Add the edge or route to one of its downstream blocks: [${(succs[b] as number[]).map((s) => input.ids[s]).join(', ')}].`,
          'flow.switch_route',
        );
      }
    }
  });
}

/** Every block must be reachable from a start block along edges a switch can take. */
function checkReachable(
  input: FlowGraphInput,
  index: ReadonlyMap<string, number>,
  order: number[],
  preds: number[][],
  succs: number[][],
): void {
  const live = (s: number, d: number): boolean => {
    const dests = input.roles[s] === 'switch' ? input.switchDests[s] : undefined;
    return dests === undefined || dests.some((x) => index.get(x) === d);
  };
  const reached = new Uint8Array(input.ids.length);
  const queue: number[] = [];
  preds.forEach((p, b) => {
    if (p.length === 0) {
      reached[b] = 1;
      queue.push(b);
    }
  });
  for (let q = 0; q < queue.length; q++) {
    const s = queue[q] as number;
    for (const d of succs[s] as number[]) {
      if (reached[d] === 0 && live(s, d)) {
        reached[d] = 1;
        queue.push(d);
      }
    }
  }
  // Report the first block cut off by a switch (the cause), not one further down.
  const b = order.find((i) => reached[i] === 0 && (preds[i] as number[]).some((p) => reached[p] === 1));
  if (b === undefined) return;
  const id = input.ids[b] as string;
  const switches = (preds[b] as number[]).filter((p) => reached[p] === 1).map((p) => input.ids[p]);
  throw graphError(
    `Block [${id}] can never run: switch [${switches.join(', ')}] never routes to it. Add [${id}] to the switch's routes or remove the block.`,
    'flow.unreachable',
  );
}

function ancestorSets(order: number[], preds: number[][], n: number): Array<Set<number>> {
  const anc: Array<Set<number>> = Array.from({ length: n }, () => new Set<number>());
  for (const b of order) {
    const set = anc[b] as Set<number>;
    for (const p of preds[b] as number[]) {
      set.add(p);
      for (const a of anc[p] as Set<number>) set.add(a);
    }
  }
  return anc;
}

function assignRegions(g: FlowGraph, roles: readonly BlockRole[]): void {
  const { ids, preds, regions, region } = g;
  regions.push({ index: 0, split: -1, parent: -1, depth: 0, members: [], children: [], sinks: [], external: [] });
  const edgeRegion = (u: number): number => ((g.splitRegion[u] as number) >= 0 ? (g.splitRegion[u] as number) : (region[u] as number));
  const contextName = (r: number): string => (r === 0 ? 'the top level' : `split [${ids[(regions[r] as FlowRegion).split]}]'s context`);
  for (const b of g.order) {
    const ps = preds[b] as number[];
    let r = 0;
    if (roles[b] === 'reduce') {
      const rs = new Set(ps.map(edgeRegion));
      if (ps.length === 0 || (rs.size === 1 && rs.has(0))) {
        throw graphError(
          `Block [${ids[b]}] is a reduce but no split comes before it: connect it downstream of a split's blocks, or use another block type.`,
          'flow.reduce_without_split',
        );
      }
      if (rs.size > 1) {
        const where = ps.map((p) => `[${ids[p]}] in ${contextName(edgeRegion(p))}`).join(', ');
        throw graphError(
          `Block [${ids[b]}] (reduce) collects the items of one split, but its upstream blocks are in different contexts: ${where}. Connect only blocks of one split's context to it.`,
          'flow.split_context',
        );
      }
      r = (regions[edgeRegion(ps[0] as number)] as FlowRegion).parent;
    } else {
      for (const p of ps) {
        const pr = edgeRegion(p);
        if (isRegionWithin(g, pr, r)) r = pr;
        else if (!isRegionWithin(g, r, pr)) {
          throw graphError(
            `Block [${ids[b]}] takes per-item values from both ${contextName(r)} and ${contextName(pr)}; close each split with a reduce before combining them.`,
            'flow.split_context',
          );
        }
      }
    }
    region[b] = r;
    const reg = regions[r] as FlowRegion;
    reg.members.push(b);
    if (roles[b] === 'split') {
      const child: FlowRegion = {
        index: regions.length,
        split: b,
        parent: r,
        depth: reg.depth + 1,
        members: [],
        children: [],
        sinks: [],
        external: [],
      };
      regions.push(child);
      reg.children.push(child.index);
      g.splitRegion[b] = child.index;
    }
  }
  for (const b of g.order) {
    if ((g.succs[b] as number[]).length > 0) continue;
    g.sinks.push(b);
    for (let r = region[b] as number; r > 0; r = (regions[r] as FlowRegion).parent) (regions[r] as FlowRegion).sinks.push(b);
  }
  for (const b of g.order) {
    for (const p of preds[b] as number[]) {
      // p is outside every region that contains b but not p (the split opening it excluded).
      for (let r = region[b] as number; r > 0 && !isRegionWithin(g, region[p] as number, r); r = (regions[r] as FlowRegion).parent) {
        const reg = regions[r] as FlowRegion;
        if (p !== reg.split && !reg.external.includes(p)) reg.external.push(p);
      }
    }
  }
}

/**
 * A region runs as one unit in its enclosing region, so nothing that depends on its result (a
 * reduce closing it, or anything after) may feed back into it.
 */
function checkRegionsConvex(g: FlowGraph, ancestors: Array<Set<number>>): void {
  for (const reg of g.regions) {
    if (reg.index === 0) continue;
    for (const x of reg.external) {
      for (const a of ancestors[x] as Set<number>) {
        if (a !== reg.split && isRegionWithin(g, g.region[a] as number, reg.index)) {
          const inside = reg.members.find((m) => (g.preds[m] as number[]).includes(x)) ?? reg.members[0] ?? reg.split;
          throw graphError(
            `Block [${g.ids[inside]}] runs once per item of split [${g.ids[reg.split]}] but also depends on [${g.ids[x]}], which needs that split's items to be finished first (through [${g.ids[a]}]). Move [${g.ids[x]}] before the split or after the reduce.`,
            'flow.split_context',
          );
        }
      }
    }
  }
}

function checkMapping(
  g: FlowGraph,
  b: number,
  mapping: Readonly<Record<string, string>>,
  roles: readonly BlockRole[],
  ancestors: Array<Set<number>>,
): void {
  const id = g.ids[b] as string;
  if (roles[b] === 'reduce') {
    throw graphError(
      `Block [${id}] is a reduce: it receives the per-item outputs of its upstream block, so it cannot have an [input] mapping. Remove [input] or map in a block before it.`,
      'flow.invalid_input_mapping',
    );
  }
  for (const [key, ref] of Object.entries(mapping)) {
    const { source } = parseInputRef(ref);
    if (source === FLOW_INPUT_REF) continue;
    const s = g.index.get(source);
    const where = `Block [${id}] input [${key}] maps from [${ref}]`;
    if (s === undefined) {
      throw graphError(
        `${where}, but there is no block [${source}]. Use "$input…" or the id of an upstream block: [${[...(ancestors[b] as Set<number>)].map((a) => g.ids[a]).join(', ')}].`,
        'flow.invalid_input_mapping',
      );
    }
    if (!(ancestors[b] as Set<number>).has(s)) {
      throw graphError(
        `${where}, but [${source}] is not upstream of [${id}]: a block can only map from blocks that run before it. Add an edge path from [${source}] to [${id}] or map from "$input".`,
        'flow.invalid_input_mapping',
      );
    }
    const vr = valueRegion(g, s, b);
    if (!isRegionWithin(g, g.region[b] as number, vr)) {
      const split = g.ids[(g.regions[vr] as FlowRegion).split];
      throw graphError(
        `${where}, but [${source}] runs once per item of split [${split}] and [${id}] runs after that split was reduced. Map from the reduce that collects those items instead.`,
        'flow.invalid_input_mapping',
      );
    }
  }
}
