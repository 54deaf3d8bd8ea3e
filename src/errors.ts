/**
 * flowd's one error type. Every layer throws a FlowdError (an unknown error escaping becomes
 * `internal`); its kind is one of a closed set, and the kind decides the HTTP status, the
 * default code and whether the same request may succeed when sent again (KINDS below). The
 * error crosses every boundary as its SerializedError (worker threads, the cluster bus, the
 * stored provisioning state) and is rebuilt as the same FlowdError; the server renders it in
 * one place (server/error-renderer.ts).
 */

export type ErrorKind =
  | 'validation'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'step_failure'
  | 'not_implemented'
  | 'unavailable'
  | 'timeout'
  | 'internal';

export interface KindRule {
  /** The HTTP status every error of the kind answers with (see `step_failure` for the one exception). */
  readonly status: number;
  /** The code when the thrower names none. */
  readonly code: string;
  /** Whether sending the same request again may succeed, when the thrower does not say. */
  readonly retryable: boolean;
}

/**
 * The kind table. Only `step_failure` lets the thrower set the status: a failed step or block
 * answers with the status of what failed (an upstream's 5xx, the remote's 4xx, a step's
 * BAD_REQUEST in Flow Framework's contract), which no fixed status can give.
 */
export const KINDS: Readonly<Record<ErrorKind, KindRule>> = {
  validation: { status: 400, code: 'validation', retryable: false },
  unauthenticated: { status: 401, code: 'auth', retryable: false },
  forbidden: { status: 403, code: 'auth', retryable: false },
  not_found: { status: 404, code: 'not_found', retryable: false },
  conflict: { status: 409, code: 'conflict', retryable: false },
  too_large: { status: 413, code: 'too_large', retryable: false },
  unsupported_media_type: { status: 415, code: 'unsupported_media_type', retryable: false },
  rate_limited: { status: 429, code: 'rate_limited', retryable: true },
  step_failure: { status: 500, code: 'step_failure', retryable: false },
  not_implemented: { status: 501, code: 'not_implemented', retryable: false },
  unavailable: { status: 503, code: 'unavailable', retryable: true },
  timeout: { status: 504, code: 'timeout', retryable: true },
  internal: { status: 500, code: 'internal', retryable: false },
};

export const ERROR_KINDS = Object.keys(KINDS) as readonly ErrorKind[];

export const isErrorKind = (v: unknown): v is ErrorKind => typeof v === 'string' && Object.hasOwn(KINDS, v);

/** What an error carries besides its kind; each field is read by one renderer. */
export interface ErrorDetails {
  /** OpenSearch's error `type` (`parsing_exception`…), for the _search routes' OpenSearch-style body. */
  readonly opensearchType?: string;
  /** The Flow Framework exception name the provisioning state's text uses (`TimeoutException`). */
  readonly exceptionName?: string;
}

export interface FlowdErrorOptions {
  /** Stable machine-readable code, e.g. `template.cycle`, `workflow.not_found`. */
  code?: string;
  /** Node or block the error belongs to. */
  node?: string;
  /** Overrides the kind's default: a source that knows better (a timeout that would recur) says so. */
  retryable?: boolean;
  cause?: unknown;
  headers?: Record<string, string>;
  details?: ErrorDetails;
}

/** `step_failure` only: the status of what failed (see KINDS). */
export interface StepFailureOptions extends FlowdErrorOptions {
  status?: number;
}

/** A FlowdError as plain JSON: what crosses threads, the bus and the store, and is rebuilt by `fromSerialized`. */
export interface SerializedError {
  kind: ErrorKind;
  message: string;
  status: number;
  code: string;
  retryable: boolean;
  node?: string;
  headers?: Record<string, string>;
  details?: ErrorDetails;
}

export class FlowdError extends Error {
  readonly kind: ErrorKind;
  readonly status: number;
  readonly code: string;
  readonly node: string | undefined;
  readonly retryable: boolean;
  readonly headers: Record<string, string> | undefined;
  readonly details: ErrorDetails | undefined;

  constructor(kind: 'step_failure', message: string, opts?: StepFailureOptions);
  constructor(kind: ErrorKind, message: string, opts?: FlowdErrorOptions);
  constructor(kind: ErrorKind, message: string, opts: StepFailureOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    const rule = KINDS[kind];
    this.name = 'FlowdError';
    this.kind = kind;
    this.status = kind === 'step_failure' && opts.status !== undefined ? opts.status : rule.status;
    this.code = opts.code ?? rule.code;
    this.node = opts.node;
    this.retryable = opts.retryable ?? rule.retryable;
    this.headers = opts.headers;
    this.details = opts.details;
  }

  toJSON(): SerializedError {
    return {
      kind: this.kind,
      message: this.message,
      status: this.status,
      code: this.code,
      retryable: this.retryable,
      ...(this.node !== undefined ? { node: this.node } : {}),
      ...(this.headers !== undefined ? { headers: this.headers } : {}),
      ...(this.details !== undefined ? { details: this.details } : {}),
    };
  }

  /** The same error as `toJSON` gave it; undefined when `v` is not a SerializedError. */
  static fromSerialized(v: unknown): FlowdError | undefined {
    if (typeof v !== 'object' || v === null) return undefined;
    const s = v as Partial<Record<keyof SerializedError, unknown>>;
    if (!isErrorKind(s.kind) || typeof s.message !== 'string' || typeof s.code !== 'string' || typeof s.retryable !== 'boolean')
      return undefined;
    return new FlowdError(s.kind, s.message, {
      code: s.code,
      retryable: s.retryable,
      ...(typeof s.status === 'number' ? { status: s.status } : {}),
      ...(typeof s.node === 'string' ? { node: s.node } : {}),
      ...(isStringRecord(s.headers) ? { headers: s.headers } : {}),
      ...(isStringRecord(s.details) ? { details: s.details } : {}),
    });
  }
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

export const validationError = (message: string, opts?: FlowdErrorOptions): FlowdError => new FlowdError('validation', message, opts);
export const unauthenticated = (message: string, opts?: FlowdErrorOptions): FlowdError => new FlowdError('unauthenticated', message, opts);
export const forbidden = (message: string, opts?: FlowdErrorOptions): FlowdError => new FlowdError('forbidden', message, opts);
export const notFound = (message: string, opts?: FlowdErrorOptions): FlowdError => new FlowdError('not_found', message, opts);
export const conflict = (message: string, opts?: FlowdErrorOptions): FlowdError => new FlowdError('conflict', message, opts);
export const tooLarge = (message: string, opts?: FlowdErrorOptions): FlowdError => new FlowdError('too_large', message, opts);
export const rateLimited = (message: string, opts?: FlowdErrorOptions): FlowdError => new FlowdError('rate_limited', message, opts);
export const stepFailure = (message: string, opts?: StepFailureOptions): FlowdError => new FlowdError('step_failure', message, opts);
export const notImplemented = (message: string, opts?: FlowdErrorOptions): FlowdError => new FlowdError('not_implemented', message, opts);
export const unavailable = (message: string, opts?: FlowdErrorOptions): FlowdError => new FlowdError('unavailable', message, opts);
export const timeoutError = (message: string, opts?: FlowdErrorOptions): FlowdError => new FlowdError('timeout', message, opts);
export const internalError = (message: string, opts?: FlowdErrorOptions): FlowdError => new FlowdError('internal', message, opts);

/** `e` said again in the words of the layer that caught it: same kind, status and flag; `code` and `node` may be narrowed. */
export function rephrase(e: FlowdError, message: string, opts: Pick<FlowdErrorOptions, 'code' | 'node' | 'cause'> = {}): FlowdError {
  const node = opts.node ?? e.node;
  return new FlowdError(e.kind as 'step_failure', message, {
    status: e.status,
    code: opts.code ?? e.code,
    retryable: e.retryable,
    cause: opts.cause ?? e,
    ...(node !== undefined ? { node } : {}),
    ...(e.headers !== undefined ? { headers: e.headers } : {}),
    ...(e.details !== undefined ? { details: e.details } : {}),
  });
}

/** The one not-found error for a workflow id, in Flow Framework's words. */
export const workflowNotFound = (id: string): FlowdError =>
  notFound(`Failed to retrieve template (${id}) from global context.`, { code: 'workflow.not_found' });

/** The one not-found error for a workflow's provisioning state, in Flow Framework's words. */
export const workflowStateNotFound = (id: string): FlowdError =>
  notFound(`Failed to get workflow state for workflow ${id}`, { code: 'workflow.state_not_found' });

/** The caller may not see or change workflow `id` (its backend roles do not match the owner's). */
export const workflowForbidden = (id: string): FlowdError =>
  forbidden(`User does not have permissions to access workflow: ${id}`, { code: 'auth.workflow_forbidden' });

/** ML Commons' not-found errors (its messages name the id in some APIs, not in others). */
export const modelNotFound = (id?: string): FlowdError =>
  notFound(`Failed to find model${id === undefined ? '' : ` ${id}`}`, { code: 'ml.model_not_found' });
export const connectorNotFound = (id?: string): FlowdError =>
  notFound(`Failed to find connector${id === undefined ? '' : ` ${id}`}`, { code: 'ml.connector_not_found' });

/**
 * Whether trying again may succeed: the error's own flag; an unknown error (a thrown TypeError,
 * a dropped socket) is taken as transient, as the renderer answers it.
 */
export const isRetryable = (e: unknown): boolean => (e instanceof FlowdError ? e.retryable : true);

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

/**
 * Any thrown value as a SerializedError, for the boundaries where the thrower may be user code
 * (a custom block module with its own copy of FlowdError): fields are read duck-typed, and an
 * error without a kind is a `step_failure` with `fallbackCode`.
 */
export function serializeError(e: unknown, fallbackCode: string): SerializedError {
  if (e instanceof FlowdError) return e.toJSON();
  if (typeof e === 'object' && e !== null) {
    const r = e as { message?: unknown; code?: unknown; retryable?: unknown; status?: unknown; kind?: unknown; node?: unknown };
    const kind = isErrorKind(r.kind) ? r.kind : 'step_failure';
    const status = kind === 'step_failure' && typeof r.status === 'number' ? r.status : KINDS[kind].status;
    return {
      kind,
      message: typeof r.message === 'string' && r.message !== '' ? r.message : safeJson(e),
      status,
      code: typeof r.code === 'string' && r.code !== '' ? r.code : fallbackCode,
      retryable: r.retryable === true,
      ...(typeof r.node === 'string' ? { node: r.node } : {}),
    };
  }
  return { kind: 'step_failure', message: String(e), status: KINDS.step_failure.status, code: fallbackCode, retryable: false };
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? 'unknown error';
  } catch {
    return 'unknown error';
  }
}
