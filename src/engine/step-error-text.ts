/**
 * The error a provisioning step failed with, as the state stores it: the FlowdError itself
 * (serialized: its status is read back from here) and the `error` text in the format Flow
 * Framework's workflow state uses, `<ExceptionName> during step <nodeId>, <message>,
 * restStatus: <STATUS>`, so clients that parse the text keep working. Steps build their
 * messages from the unresolved template; as a defence in depth, every value known to be a
 * secret (opened step secrets, connector credentials) is scrubbed from the message before it
 * is stored, logged or returned.
 */
import { FlowdError, isFlowdError, stepFailure, timeoutError } from '../errors.js';
import type { SerializedError } from '../errors.js';
import { scrubSecrets } from '../util/secret.js';

const STATUS_NAMES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_SERVER_ERROR',
  501: 'NOT_IMPLEMENTED',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

export const statusName = (status: number): string => STATUS_NAMES[status] ?? 'INTERNAL_SERVER_ERROR';

/** A step (or the removal of its resource) ran past its timeout: Flow Framework's TimeoutException. */
export const stepTimeout = (nodeId: string, timeoutMs: number): FlowdError =>
  timeoutError(`step ${nodeId} timed out after ${timeoutMs}ms`, {
    code: 'step.timeout',
    node: nodeId,
    details: { exceptionName: 'TimeoutException' },
  });

export interface StepError {
  /** Flow Framework's text, secrets scrubbed. */
  text: string;
  /** The same error, its message scrubbed likewise. */
  error: SerializedError;
}

/** Flow Framework's text of `e` (already a FlowdError) during `where` (`step <id>` or `provisioning`). */
export function flowFrameworkText(where: string, e: FlowdError): string {
  const name = e.details?.exceptionName ?? (e.kind === 'step_failure' ? 'WorkflowStepException' : 'FlowFrameworkException');
  return `${name} during ${where}, ${e.message}, restStatus: ${statusName(e.status)}`;
}

export function stepError(nodeId: string, thrown: unknown): StepError {
  // An unknown error is the step's failure, as Flow Framework reports it.
  const e = isFlowdError(thrown) ? thrown : stepFailure(thrown instanceof Error ? thrown.message : String(thrown));
  const scrubbed = FlowdError.fromSerialized({ ...e.toJSON(), message: scrubSecrets(e.message) }) ?? e;
  return { text: scrubSecrets(flowFrameworkText(`step ${nodeId}`, e)), error: scrubbed.toJSON() };
}

export function stepErrorText(nodeId: string, e: unknown): string {
  return stepError(nodeId, e).text;
}
