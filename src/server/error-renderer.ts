/**
 * The one place errors become HTTP responses. The body's shape belongs to the API family of
 * the route: Flow Framework's (and the OpenSearch-style plugins' beside it) flat
 * `{"error": "..."}`, the runtime API's NL Flow `{"errors": [{"message", "node", "code",
 * "retryable"}]}`. Each route plugin installs `errorHandlerFor(itsFamily)` in its own scope;
 * the app-level handler (errors before any route matched: 404s, hooks of unknown URLs) falls
 * back to the URL's prefix. ML Commons (`ml`) answers OpenSearch's nested error body
 * (`{"error":{"root_cause","type","reason"},"status"}`) for every error. An error carrying an OpenSearch error type (the search DSL's)
 * answers OpenSearch's nested error body in any family: only the _search routes raise one.
 * Unknown errors are logged and answered with a generic 500 that leaks nothing.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_KINDS, FlowdError, KINDS, internalError, isFlowdError, tooLarge, validationError } from '../errors.js';
import type { ErrorKind } from '../errors.js';
import { requestLogFields } from './request-ids.js';

export type ApiFamily = 'flow_framework' | 'runtime' | 'ml';

/** The OpenSearch exception type ML Commons answers for each kind (its errors are OpenSearch's nested body). */
const ML_TYPES: Partial<Record<ErrorKind, string>> = {
  validation: 'illegal_argument_exception',
  unauthenticated: 'security_exception',
  forbidden: 'security_exception',
  too_large: 'illegal_argument_exception',
};

interface RenderedError {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
  internal: boolean;
}

const GENERIC_INTERNAL = 'Internal server error; the details are in the flowd log.';

/** Only for requests no route matched: the family their URL would belong to (OpenSearch answers "no handler found" flat). */
export const familyOfUrl = (url: string): ApiFamily => (url.startsWith('/api/v1/runtime') ? 'runtime' : 'flow_framework');

/** The kind whose status a 4xx of Fastify's is, if one is. */
const kindOfClientStatus = (status: number): ErrorKind | undefined =>
  ERROR_KINDS.find((k) => k !== 'step_failure' && KINDS[k].status === status);

/** Fastify's own request errors (body parsing, limits, schemas) as the FlowdError they mean; undefined for anything else. */
function fromFastify(e: FastifyError, bodyLimit: number | undefined): FlowdError | undefined {
  const opts = { code: 'request.invalid' };
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return tooLarge(
        `Request body is too large: the limit is ${bodyLimit === undefined ? 'set by' : `${bodyLimit} bytes`} (FLOWD_BODY_LIMIT_BYTES).`,
        opts,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new FlowdError('unsupported_media_type', 'Unsupported Content-Type: send application/json or application/yaml.', opts);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return validationError(e.message, opts);
    default: {
      const kind = typeof e.statusCode === 'number' ? kindOfClientStatus(e.statusCode) : undefined;
      return kind === undefined || KINDS[kind].status >= 500 ? undefined : new FlowdError(kind, e.message, opts);
    }
  }
}

function body(e: FlowdError, family: ApiFamily, message = e.message): Record<string, unknown> {
  const type = e.details?.opensearchType ?? (family === 'ml' ? (ML_TYPES[e.kind] ?? 'status_exception') : undefined);
  if (type !== undefined) return { error: { root_cause: [{ type, reason: message }], type, reason: message }, status: e.status };
  if (family === 'runtime') return { errors: [{ message, ...(e.node ? { node: e.node } : {}), code: e.code, retryable: e.retryable }] };
  return { error: message };
}

/** `bodyLimit`: the route's body limit in bytes, named in a 413. */
export function renderError(err: unknown, family: ApiFamily, bodyLimit?: number): RenderedError {
  if (isFlowdError(err)) {
    return {
      status: err.status,
      body: body(err, family),
      ...(err.headers ? { headers: err.headers } : {}),
      internal: err.kind === 'internal',
    };
  }
  const fe = err as FastifyError | undefined;
  const known = typeof fe?.code === 'string' ? fromFastify(fe, bodyLimit) : undefined;
  if (known) return { status: known.status, body: body(known, family), internal: false };
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // A 4xx no kind names (Fastify's 405, 406…): its own status, the validation body.
    return { status: fe.statusCode, body: body(validationError(fe.message, { code: 'request.invalid' }), family), internal: false };
  }
  // An unknown error is a bug somewhere: nothing of it leaves the node, and a retry may well work.
  const generic = internalError(GENERIC_INTERNAL, { retryable: true });
  return { status: generic.status, body: body(generic, family), internal: true };
}

function send(family: ApiFamily, err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const r = renderError(err, family, req.routeOptions.bodyLimit);
  if (r.internal) req.log.error({ err, ...requestLogFields(req), url: req.url }, 'internal error');
  else req.log.debug({ ...requestLogFields(req), status: r.status, err: (err as Error).message }, 'request failed');
  if (r.headers) void reply.headers(r.headers);
  void reply.code(r.status).send(r.body);
}

/** The error handler a route plugin (or one route) of `family` installs. */
export const errorHandlerFor =
  (family: ApiFamily) =>
  (err: unknown, req: FastifyRequest, reply: FastifyReply): void =>
    send(family, err, req, reply);

/** The app-level handler: errors outside every route plugin, by the URL's family. */
export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  send(familyOfUrl(req.url), err, req, reply);
}
