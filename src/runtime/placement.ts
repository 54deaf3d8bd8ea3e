/**
 * Where a cluster runs the instances of every service: a pure function of the publications and
 * the live nodes, so every node computes the same answer on its own and no coordinator is
 * needed. Replicas spread over nodes (fewest of that service first, then least loaded), start
 * from a per-service offset so one-replica services do not all land on the first node, and
 * never exceed a node's capacity; what fits nowhere is reported as unplaced.
 */
import { createHash } from 'node:crypto';

export interface PlacementNode {
  nodeId: string;
  maxInstances: number;
}

export interface PlacementService {
  /** The service id (stable per workflow and block). */
  key: string;
  replicas: number;
}

export interface Placement {
  /** node id → service id → instances that node runs. */
  shares: Map<string, Map<string, number>>;
  /** service id → replicas no node had room for. */
  unplaced: Map<string, number>;
}

const offsetOf = (key: string, n: number): number => createHash('sha256').update(key).digest().readUInt32BE(0) % n;

export function place(services: readonly PlacementService[], nodes: readonly PlacementNode[]): Placement {
  const sorted = [...nodes].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  const shares = new Map<string, Map<string, number>>(sorted.map((n) => [n.nodeId, new Map()]));
  const used = new Map<string, number>(sorted.map((n) => [n.nodeId, 0]));
  const unplaced = new Map<string, number>();
  const ordered = [...services].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const svc of ordered) {
    if (sorted.length === 0) {
      if (svc.replicas > 0) unplaced.set(svc.key, svc.replicas);
      continue;
    }
    const offset = offsetOf(svc.key, sorted.length);
    for (let i = 0; i < svc.replicas; i++) {
      let best: PlacementNode | undefined;
      let bestRank: [number, number, number] = [Infinity, Infinity, Infinity];
      sorted.forEach((n, idx) => {
        const u = used.get(n.nodeId) ?? 0;
        if (u >= n.maxInstances) return;
        const rank: [number, number, number] = [shares.get(n.nodeId)?.get(svc.key) ?? 0, u, (idx - offset + sorted.length) % sorted.length];
        if (
          rank[0] < bestRank[0] ||
          (rank[0] === bestRank[0] && (rank[1] < bestRank[1] || (rank[1] === bestRank[1] && rank[2] < bestRank[2])))
        ) {
          best = n;
          bestRank = rank;
        }
      });
      if (!best) {
        unplaced.set(svc.key, (unplaced.get(svc.key) ?? 0) + 1);
        continue;
      }
      const mine = shares.get(best.nodeId) as Map<string, number>;
      mine.set(svc.key, (mine.get(svc.key) ?? 0) + 1);
      used.set(best.nodeId, (used.get(best.nodeId) ?? 0) + 1);
    }
  }
  return { shares, unplaced };
}
