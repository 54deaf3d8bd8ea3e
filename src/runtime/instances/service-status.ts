/**
 * The status a service reports (one entry of NL Flow's `details.services[]`, plus flowd's
 * fields: per-replica phase, restarts and termination reason, in-flight and queued work,
 * observed version) and the pure rules that derive it, kept apart from the
 * controller so they read as the specification they are.
 */
import type { InstanceFailure, InstanceState } from './instance.js';

export type ServiceHealth = 'GREEN' | 'YELLOW' | 'RED';
export type RolloutStatus = 'InProgress' | 'Complete' | 'Failed';

export interface ReplicaDetailView {
  name: string;
  ready: boolean;
  available: boolean;
  restarts: number;
  /** When the slot's current (or last) thread started, ISO 8601. */
  started_at: string;
  version: number;
  /** Pending: loading; Running: serving; Terminating: draining; Failed: waiting to be restarted. */
  phase: 'Pending' | 'Running' | 'Terminating' | 'Failed';
  /** Why the last thread of this slot ended badly, if one did (LoadFailed, Crashed, OOMKilled, Hung). */
  lastTerminationReason?: string;
  /** What went wrong, while the slot waits to be restarted. */
  message?: string;
}

export interface ServiceStatusView {
  id: string;
  blockId: string;
  desired: number;
  /** Ready instances of the current version. */
  actual: number;
  status: ServiceHealth;
  rolloutStatus: RolloutStatus;
  rolloutStatusReason?: string;
  replicasDetail: ReplicaDetailView[];
  inFlight: number;
  queued: number;
  observedVersion: number;
}

export interface RolloutView {
  status: RolloutStatus;
  reason?: string;
}

/** NL Flow component colour: scaled to zero on purpose is not an error. */
export function serviceHealth(desired: number, actual: number): ServiceHealth {
  if (desired === 0 || actual >= desired) return 'GREEN';
  return actual > 0 ? 'YELLOW' : 'RED';
}

export interface RolloutFacts {
  desired: number;
  /** Ready instances of the current version. */
  readyCurrent: number;
  /** Instances of an older version still exist (serving or draining). */
  oldRemaining: boolean;
  /** Message of the load failure that keeps repeating, when one does. */
  loadFailure: string | undefined;
  deadlineExceeded: boolean;
}

/** Kubernetes Deployment `Progressing` condition, in NL Flow's `rolloutStatus` words. */
export function computeRollout(f: RolloutFacts): RolloutView {
  if (f.readyCurrent >= f.desired && !f.oldRemaining) return { status: 'Complete', reason: 'NewReplicaSetAvailable' };
  if (f.loadFailure !== undefined) return { status: 'Failed', reason: `BlockLoadFailed: ${f.loadFailure}` };
  if (f.deadlineExceeded) return { status: 'Failed', reason: 'ProgressDeadlineExceeded' };
  return { status: 'InProgress', reason: 'RollingOutReplicaSet' };
}

export interface ReplicaFacts {
  name: string;
  /** State of the slot's current thread; undefined while the slot waits to be restarted. */
  state: InstanceState | undefined;
  /** Being scaled away or replaced by a newer version. */
  removed: boolean;
  restarts: number;
  startedAt: Date;
  version: number;
  lastFailure: InstanceFailure | undefined;
}

export function replicaDetail(r: ReplicaFacts): ReplicaDetailView {
  const ready = r.state === 'Ready' && !r.removed;
  const phase =
    r.state === undefined || r.state === 'Failed'
      ? 'Failed'
      : r.state === 'Starting'
        ? 'Pending'
        : r.state === 'Ready' && !r.removed
          ? 'Running'
          : 'Terminating';
  return {
    name: r.name,
    ready,
    available: ready,
    restarts: r.restarts,
    started_at: r.startedAt.toISOString(),
    version: r.version,
    phase,
    ...(r.lastFailure ? { lastTerminationReason: r.lastFailure.reason } : {}),
    ...(r.lastFailure && phase === 'Failed' ? { message: r.lastFailure.message } : {}),
  };
}
