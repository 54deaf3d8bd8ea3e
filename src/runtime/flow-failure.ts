/**
 * A block failure inside a flow run: the FlowdError (named after the block it belongs to) and
 * the HTTP status the whole run answers with, which is not always the error's own (a block's
 * 5xx is the run's 422: the flow, not the node, failed). The runtime API reports the errors
 * as NL Flow's `{"errors":[{message, node}]}` plus flowd's stable `code` and `retryable`:
 * `FlowError`, made from a FlowdError by `flowErrorOf` only.
 */
import { FlowdError, coerceError, internalError, stepFailure, timeoutError } from '../errors.js';

/** The runtime API's rendering of a FlowdError (what a task's stored output and `errors[]` hold). */
export interface FlowError {
  message: string;
  node: string;
  code: string;
  retryable: boolean;
}

export interface Failure {
  error: FlowdError;
  status: number;
}

export const flowErrorOf = (e: FlowdError): FlowError => ({
  message: e.message,
  node: e.node ?? '$flow',
  code: e.code,
  retryable: e.retryable,
});

/** What a block failure answers: the block's own 4xx (its input was at fault), 502/503/504, else 422. */
function statusOf(e: FlowdError): number {
  const s = e.status;
  if ((s >= 400 && s < 500) || s === 502 || s === 503 || s === 504) return s;
  if (e.code.endsWith('timeout')) return 504;
  if (e.code.endsWith('unavailable')) return 503;
  return 422;
}

/** `e` as the error of block `node` (the same error when it already names it). */
function ofNode(e: FlowdError, node: string): FlowdError {
  if (e.node === node) return e;
  return FlowdError.fromSerialized({ ...e.toJSON(), node }) ?? e;
}

export function failureOf(thrown: unknown, node: string): Failure {
  const e = coerceError(thrown);
  if (e instanceof FlowdError) {
    const error = ofNode(e, node);
    return { error, status: statusOf(error) };
  }
  // An error of unknown origin: a timeout (AbortSignal.timeout's) is worth a retry, anything else is the block's failure.
  const error =
    e.name === 'TimeoutError'
      ? timeoutError(e.message, { code: 'block.timeout', node })
      : stepFailure(e.message, { code: 'block.failed', node });
  return { error, status: statusOf(error) };
}

/**
 * A failure of the flow itself (a bad switch output, a timeout, a cancel) answering `status`:
 * 504 is a `timeout`, 500 `internal`, any other status a `step_failure` carrying it.
 */
export function flowFailure(message: string, node: string, code: string, status: number, retryable = false): Failure {
  const opts = { code, node, retryable };
  const error =
    status === 504
      ? timeoutError(message, opts)
      : status === 500
        ? internalError(message, opts)
        : stepFailure(message, { ...opts, status });
  return { error, status };
}
