/**
 * Why a service instance ended badly (Kubernetes-style termination reasons) and the errors its
 * requests get, worded once: what happened, to which instance of which block, and what to do.
 */
import { stepFailure, timeoutError, unavailable } from '../../errors.js';
import type { FlowdError } from '../../errors.js';

/** Why an instance ended badly (Kubernetes-style termination reasons). */
export type FailureReason = 'LoadFailed' | 'Crashed' | 'OOMKilled' | 'Hung';

export interface InstanceFailure {
  reason: FailureReason;
  code: string;
  message: string;
}

/** What the messages need to know about the instance. */
export interface FailingInstance {
  name: string;
  blockId: string;
  timeoutMs: number;
  memoryMb: number | undefined;
}

/** The worker thread ended by itself (`exit`), with the error it reported, if any. */
export function exitFailure(i: FailingInstance, loading: boolean, err: Error | undefined, exitCode: number): InstanceFailure {
  const oom = (err as { code?: unknown } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
  const cause = err ? err.message : `the thread exited with code ${exitCode}`;
  if (loading) {
    return {
      reason: oom ? 'OOMKilled' : 'LoadFailed',
      code: oom ? 'instance.out_of_memory' : 'block.load_failed',
      message: `Block "${i.blockId}" failed while loading: ${cause}${oom ? ` (memory limit ${i.memoryMb ?? '?'} MB)` : ''}.`,
    };
  }
  if (oom) {
    return {
      reason: 'OOMKilled',
      code: 'instance.out_of_memory',
      message:
        `Instance ${i.name} of block "${i.blockId}" exceeded its memory limit of ${i.memoryMb ?? '?'} MB and was stopped; ` +
        'it is being replaced. Raise the block memory or make it use less for this input.',
    };
  }
  return {
    reason: 'Crashed',
    code: 'instance.crashed',
    message: `Instance ${i.name} of block "${i.blockId}" crashed (${cause}); it is being replaced.`,
  };
}

/** The worker held more ArrayBuffer memory than the block's `memory` (measured in the worker). */
export function arrayBufferFailure(i: FailingInstance, usedMb: number): InstanceFailure {
  return {
    reason: 'OOMKilled',
    code: 'instance.out_of_memory',
    message:
      `Instance ${i.name} of block "${i.blockId}" held ${usedMb} MB of ArrayBuffer/typed-array memory, over its memory limit of ${i.memoryMb ?? '?'} MB, ` +
      'and was stopped; it is being replaced. Raise the block memory or make it hold less.',
  };
}

/** The load took longer than allowed: the block timeout for user code (`bounded`), else the instance's load timeout. */
export function loadTimeoutFailure(i: FailingInstance, bounded: boolean, loadTimeoutMs: number): InstanceFailure {
  return {
    reason: 'LoadFailed',
    code: 'block.load_timeout',
    message: bounded
      ? `Block "${i.blockId}" did not finish loading within its timeout of ${i.timeoutMs} ms: its top-level code, or a promise callback it scheduled, ` +
        'was still running (an endless loop?), so the instance was stopped. Make the top-level code finish, or raise the block timeout.'
      : `Block "${i.blockId}" did not finish loading within ${loadTimeoutMs} ms.`,
  };
}

/** The worker went silent: past the block timeout on a request (`running`), or missing heartbeats while idle. */
export function hungFailure(i: FailingInstance, silentMs: number, running: boolean): InstanceFailure {
  return {
    reason: 'Hung',
    code: 'instance.hung',
    message: running
      ? `Instance ${i.name} of block "${i.blockId}" ran a request past the block timeout of ${i.timeoutMs} ms (silent for ${silentMs} ms); it was stopped and is being replaced.`
      : `Instance ${i.name} of block "${i.blockId}" stopped answering heartbeats (silent for ${silentMs} ms); it was stopped and is being replaced. The block is probably stuck in a loop or a blocking wait.`,
  };
}

/** The request that was running when the worker went silent past the block timeout. */
export function blockTimeoutError(i: FailingInstance): FlowdError {
  // Not retryable: the same input would time out again.
  return timeoutError(
    `Block "${i.blockId}" did not finish within its timeout of ${i.timeoutMs} ms, so its instance was restarted; ` +
      'look for an endless loop or a blocking wait, or raise the block timeout.',
    { code: 'block.timeout', node: i.blockId, retryable: false },
  );
}

/** What the requests held by a failed instance get (retryable: another instance may answer). */
export function failureError(i: FailingInstance, f: InstanceFailure): FlowdError {
  const opts = { code: f.code, node: i.blockId, retryable: true };
  return f.reason === 'LoadFailed' ? stepFailure(f.message, opts) : unavailable(f.message, opts);
}

export function stoppedError(i: FailingInstance): FlowdError {
  return unavailable(`Instance ${i.name} of block "${i.blockId}" was stopped before it answered; retry the request.`, {
    code: 'instance.stopped',
    node: i.blockId,
  });
}

export function notReadyError(i: FailingInstance, state: string, failure: InstanceFailure | undefined): FlowdError {
  if (failure) return unavailable(failure.message, { code: failure.code, node: i.blockId });
  return unavailable(`Instance ${i.name} of block "${i.blockId}" is ${state}, not Ready; send the request to a ready instance.`, {
    code: 'instance.not_ready',
    node: i.blockId,
  });
}
