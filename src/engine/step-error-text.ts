/**
 * The state's `error` text in the format Flow Framework's workflow state uses:
 * `<ExceptionName> during step <nodeId>, <message>, restStatus: <STATUS>`, so clients that
 * parse it keep working. Steps build their messages from the unresolved template; as a
 * defence in depth, every value known to be a secret (opened step secrets, connector
 * credentials) is scrubbed from the text before it is stored, logged or returned.
 */
import { isFlowdError } from '../errors.js';
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

export class StepTimeoutError extends Error {
  constructor(
    readonly nodeId: string,
    readonly timeoutMs: number,
  ) {
    super(`step ${nodeId} timed out after ${timeoutMs}ms`);
    this.name = 'TimeoutException';
  }
}

function rawText(nodeId: string, e: unknown): string {
  if (e instanceof StepTimeoutError) return `TimeoutException during step ${nodeId}, ${e.message}, restStatus: GATEWAY_TIMEOUT`;
  if (isFlowdError(e)) {
    const name = e.kind === 'step_failure' ? 'WorkflowStepException' : 'FlowFrameworkException';
    return `${name} during step ${nodeId}, ${e.message}, restStatus: ${statusName(e.status)}`;
  }
  const msg = e instanceof Error ? e.message : String(e);
  return `WorkflowStepException during step ${nodeId}, ${msg}, restStatus: INTERNAL_SERVER_ERROR`;
}

export function stepErrorText(nodeId: string, e: unknown): string {
  return scrubSecrets(rawText(nodeId, e));
}
