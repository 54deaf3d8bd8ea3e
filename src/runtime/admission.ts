/**
 * Admission: a publish that would take this node past its configured capacity (worker-thread
 * instances, heap budget) is refused before anything starts, saying what is missing, instead
 * of half-starting and failing later (NL Flow only notices when a publish fails).
 */
import { conflict } from '../errors.js';
import type { FlowSpec } from '../blocks/flow-spec.js';

export interface Capacity {
  maxInstances: number;
  maxInstanceMemoryMb: number;
  /** Budgeted for a block without `memory`. */
  instanceMemoryMb: number;
}

export interface Footprint {
  instances: number;
  memoryMb: number;
}

export function footprintOf(spec: FlowSpec, cap: Capacity): Footprint {
  let instances = 0;
  let memoryMb = 0;
  for (const b of spec.blocks) {
    // Autoscaled services can grow to their max; budget for it.
    const n =
      spec.mode === 'ASYNC' && spec.autoscaling.preset !== 'disabled' ? Math.max(b.replicas, spec.autoscaling.maxReplicas) : b.replicas;
    instances += n;
    memoryMb += n * (b.memoryMb ?? cap.instanceMemoryMb);
  }
  return { instances, memoryMb };
}

/** Throws 409 `runtime.capacity` when `next` does not fit beside `others`. */
export function admit(workflowId: string, next: Footprint, others: Footprint, cap: Capacity): void {
  const freeInstances = cap.maxInstances - others.instances;
  const freeMemory = cap.maxInstanceMemoryMb - others.memoryMb;
  const missing: string[] = [];
  if (next.instances > freeInstances) {
    missing.push(`${next.instances} instances needed, ${Math.max(0, freeInstances)} free of ${cap.maxInstances} (FLOWD_MAX_INSTANCES)`);
  }
  if (next.memoryMb > freeMemory) {
    missing.push(
      `${next.memoryMb} MB of instance memory needed, ${Math.max(0, freeMemory)} MB free of ${cap.maxInstanceMemoryMb} MB (FLOWD_MAX_INSTANCE_MEMORY_MB)`,
    );
  }
  if (missing.length > 0) {
    throw conflict(
      `Not enough capacity on this node to publish workflow ${workflowId}: ${missing.join('; ')}. Lower the blocks' replicas or memory, unpublish another workflow, or raise the limit.`,
      { code: 'runtime.capacity' },
    );
  }
}
