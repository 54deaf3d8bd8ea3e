/**
 * The closed set of error kinds flowd raises. Every layer throws a FlowdError (or lets an
 * unknown error escape, which becomes `internal`); the server renders them in one place
 * (server/error-renderer.ts), so status codes and bodies cannot drift between routes.
 */
export type ErrorKind =
  | 'validation' // the request or template is wrong: 400 (or 403/413/501 where the wire contract says so)
  | 'auth' // who you are or what you may do: 401 / 403
  | 'not_found' // 404
  | 'conflict' // the current state forbids it: 409 (or 400 where Flow Framework says so), 429
  | 'step_failure' // a provisioning step or a block failed
  | 'internal'; // a bug or an unreachable dependency: 500

const DEFAULT_STATUS: Record<ErrorKind, number> = {
  validation: 400,
  auth: 401,
  not_found: 404,
  conflict: 409,
  step_failure: 500,
  internal: 500,
};

export interface FlowdErrorOptions {
  status?: number;
  /** Stable machine-readable code, e.g. `template.cycle`, `workflow.not_found`. */
  code?: string;
  /** Node or block the error belongs to. */
  node?: string;
  retryable?: boolean;
  cause?: unknown;
  headers?: Record<string, string>;
}

export class FlowdError extends Error {
  readonly kind: ErrorKind;
  readonly status: number;
  readonly code: string;
  readonly node: string | undefined;
  readonly retryable: boolean;
  readonly headers: Record<string, string> | undefined;

  constructor(kind: ErrorKind, message: string, opts: FlowdErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'FlowdError';
    this.kind = kind;
    this.status = opts.status ?? DEFAULT_STATUS[kind];
    this.code = opts.code ?? kind;
    this.node = opts.node;
    this.retryable = opts.retryable ?? false;
    this.headers = opts.headers;
  }
}

export const validationError = (message: string, opts?: FlowdErrorOptions): FlowdError =>
  new FlowdError('validation', message, opts);
export const notFound = (message: string, opts?: FlowdErrorOptions): FlowdError =>
  new FlowdError('not_found', message, opts);
export const conflict = (message: string, opts?: FlowdErrorOptions): FlowdError =>
  new FlowdError('conflict', message, opts);
export const authError = (message: string, opts?: FlowdErrorOptions): FlowdError =>
  new FlowdError('auth', message, opts);
export const stepFailure = (message: string, opts?: FlowdErrorOptions): FlowdError =>
  new FlowdError('step_failure', message, opts);
export const internalError = (message: string, opts?: FlowdErrorOptions): FlowdError =>
  new FlowdError('internal', message, opts);

/** Normalise anything thrown into an Error (every `catch (e)` goes through this). */
export function coerceError(e: unknown): Error {
  if (e instanceof Error) return e;
  if (typeof e === 'string') return new Error(e);
  try {
    return new Error(JSON.stringify(e));
  } catch {
    return new Error(String(e));
  }
}

export function isFlowdError(e: unknown): e is FlowdError {
  return e instanceof FlowdError;
}
