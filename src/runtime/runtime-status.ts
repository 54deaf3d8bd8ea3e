/**
 * The NL Flow runtime status body (its *Workflow status* API) and its roll-up, plus flowd's
 * extensions: `usable` and `reason` (an ASYNC workflow scaled to zero on purpose is usable and
 * says `ScaledToZero`, where NL Flow only shows ORANGE), versions, `lastTransitionTime`, and
 * per-service queue depth, in-flight work and autoscaling target.
 */
import type { FlowMode } from '../blocks/block.js';

export type Health = 'GREEN' | 'YELLOW' | 'ORANGE' | 'RED';
export type RolloutStatus = 'InProgress' | 'Complete' | 'Failed';

export interface ReplicaDetailBody {
  name: string;
  ready: boolean;
  available: boolean;
  restarts: number;
  started_at: string;
  version?: number;
  /** flowd (cluster): the node this instance runs on. */
  node?: string;
}

export interface ServiceStatusBody {
  id: string;
  desired: number;
  actual: number;
  status: Health;
  rolloutStatus: RolloutStatus;
  rolloutStatusReason?: string;
  replicasDetail?: ReplicaDetailBody[];
  /** flowd: the block this service runs (absent for the executor). */
  blockId?: string;
  /** flowd: instances the autoscaler currently wants (ASYNC). */
  targetReplicas?: number;
  minReplicas?: number;
  maxReplicas?: number;
  /** flowd: inputs waiting for an instance of this service / being processed by it. */
  queueDepth?: number;
  inFlight?: number;
}

export interface StreamStatusBody {
  id: string;
  desired: number;
  actual: number;
  status: Health;
}

export interface RuntimeStatusBody {
  desiredStatus: 'PUBLISHED';
  actualStatus: Health;
  publishingMode: FlowMode;
  usable: boolean;
  reason: string;
  message?: string;
  observedVersion: number;
  desiredVersion: number;
  lastTransitionTime: string;
  /** flowd (ASYNC): tasks by status. */
  tasks?: { queued: number; running: number };
  details: { stream: StreamStatusBody; services: ServiceStatusBody[] };
}

/** One service: GREEN all desired ready, YELLOW some, RED none (NL Flow's service colours). */
export function serviceHealth(desired: number, actual: number): Health {
  if (actual >= desired) return 'GREEN';
  return actual > 0 ? 'YELLOW' : 'RED';
}

export interface RollUp {
  actualStatus: Health;
  usable: boolean;
  reason: string;
  message?: string;
}

/**
 * GREEN: every instance ready. YELLOW: every service has one. ORANGE: some service has none
 * (SYNC: not usable; ASYNC: usable, tasks wait and wake it). RED: a rollout failed.
 */
export function rollUp(mode: FlowMode, services: ServiceStatusBody[]): RollUp {
  const failed = services.find((s) => s.rolloutStatus === 'Failed');
  if (failed) {
    return {
      actualStatus: 'RED',
      usable: false,
      reason: 'RolloutFailed',
      message: `service ${failed.id}: ${failed.rolloutStatusReason ?? 'failed'}`,
    };
  }
  if (services.every((s) => s.status === 'GREEN')) return { actualStatus: 'GREEN', usable: true, reason: 'AllInstancesReady' };
  const empty = services.filter((s) => s.actual === 0);
  if (empty.length === 0)
    return { actualStatus: 'YELLOW', usable: true, reason: 'PartiallyReady', message: 'every block has at least one ready instance' };
  const names = empty.map((s) => s.blockId ?? s.id).join(', ');
  if (mode === 'ASYNC') {
    const idle = empty.every((s) => s.targetReplicas === 0);
    if (idle)
      return {
        actualStatus: 'ORANGE',
        usable: true,
        reason: 'ScaledToZero',
        message: `no work: ${names} scaled to zero; a new task wakes them`,
      };
    return {
      actualStatus: 'ORANGE',
      usable: true,
      reason: 'Activating',
      message: `no ready instance yet for ${names}; tasks are queued until one is`,
    };
  }
  const rolling = empty.some((s) => s.rolloutStatus === 'InProgress');
  return {
    actualStatus: 'ORANGE',
    usable: false,
    reason: rolling ? 'Publishing' : 'NoReadyInstances',
    message: `no ready instance for ${names}`,
  };
}
