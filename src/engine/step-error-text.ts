/**
 * The state's `error` text in Flow Framework's format (reference §3.2):
 * `<ExceptionName> during step <nodeId>, <message>, restStatus: <STATUS>`, so clients that
 * parse it keep working.
 */
import { isFlowdError } from '../errors.js';

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

export class StepTimeoutError extends Error {
  constructor(
    readonly nodeId: string,
    readonly timeoutMs: number,
  ) {
    super(`step ${nodeId} timed out after ${timeoutMs}ms`);
    this.name = 'TimeoutException';
  }
}

export function stepErrorText(nodeId: string, e: unknown): string {
  if (e instanceof StepTimeoutError) return `TimeoutException during step ${nodeId}, ${e.message}, restStatus: GATEWAY_TIMEOUT`;
  if (isFlowdError(e)) {
    const name = e.kind === 'step_failure' ? 'WorkflowStepException' : 'FlowFrameworkException';
    return `${name} during step ${nodeId}, ${e.message}, restStatus: ${statusName(e.status)}`;
  }
  const msg = e instanceof Error ? e.message : String(e);
  return `WorkflowStepException during step ${nodeId}, ${msg}, restStatus: INTERNAL_SERVER_ERROR`;
}
