/**
 * A block failure as the runtime API reports it (NL Flow `{"errors":[{message, node}]}`, plus
 * flowd's stable `code` and `retryable`), with the HTTP status the whole run answers with.
 */
import { FlowdError, coerceError } from '../errors.js';

export interface FlowError {
  message: string;
  node: string;
  code: string;
  retryable: boolean;
}

export interface Failure {
  error: FlowError;
  status: number;
}

/** What a block failure answers: the block's own 4xx (its input was at fault), 502/503/504, else 422. */
function statusOf(e: Error, code: string): number {
  if (e instanceof FlowdError) {
    const s = e.status;
    if ((s >= 400 && s < 500) || s === 502 || s === 503 || s === 504) return s;
  }
  if (e.name === 'TimeoutError' || code.endsWith('timeout')) return 504;
  if (code.endsWith('unavailable')) return 503;
  return 422;
}

export function failureOf(thrown: unknown, node: string): Failure {
  const e = coerceError(thrown);
  if (e instanceof FlowdError) {
    return { error: { message: e.message, node, code: e.code, retryable: e.retryable }, status: statusOf(e, e.code) };
  }
  const timeout = e.name === 'TimeoutError';
  const code = timeout ? 'block.timeout' : 'block.failed';
  return { error: { message: e.message, node, code, retryable: timeout }, status: statusOf(e, code) };
}

export function flowFailure(message: string, node: string, code: string, status: number, retryable = false): Failure {
  return { error: { message, node, code, retryable }, status };
}
