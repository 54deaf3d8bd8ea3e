/**
 * The one topological sort (Kahn's algorithm) behind every graph flowd orders: templates,
 * flows and the reverse order of deprovisioning. Nodes are the indices 0..n-1; ties are broken
 * FIFO, seeded in index order, so the order is stable and follows the order the nodes were
 * written in. Callers keep their own messages: a node missing from the result lies on a cycle
 * or downstream of one.
 */

/**
 * The nodes in topological order. `succs[i]` lists the nodes that depend on node i; a
 * repeated edge counts once per listing on both sides, so duplicates are harmless.
 * Returns fewer than `succs.length` nodes when the graph has a cycle.
 */
export function topologicalOrder(succs: ReadonlyArray<readonly number[]>): number[] {
  const n = succs.length;
  const indegree = new Uint32Array(n);
  for (const out of succs) for (const s of out) indegree[s] = (indegree[s] as number) + 1;
  const queue: number[] = [];
  for (let i = 0; i < n; i++) if (indegree[i] === 0) queue.push(i);
  for (let q = 0; q < queue.length; q++) {
    for (const s of succs[queue[q] as number] as readonly number[]) {
      const d = (indegree[s] as number) - 1;
      indegree[s] = d;
      if (d === 0) queue.push(s);
    }
  }
  return queue;
}

/**
 * The same over keyed nodes: `keys` in their written order, `edges` between them. Edges with
 * an end that is not among `keys` are ignored (a partially invalid graph still gets an order).
 */
export function topologicalOrderOf<K>(keys: readonly K[], edges: Iterable<{ source: K; dest: K }>): K[] {
  const index = new Map<K, number>();
  keys.forEach((k, i) => {
    if (!index.has(k)) index.set(k, i);
  });
  const succs: number[][] = keys.map(() => []);
  for (const e of edges) {
    const s = index.get(e.source);
    const d = index.get(e.dest);
    if (s !== undefined && d !== undefined) succs[s]?.push(d);
  }
  return topologicalOrder(succs).map((i) => keys[i] as K);
}
