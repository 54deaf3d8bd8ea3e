/**
 * The one place errors become HTTP responses. Flow Framework routes answer with its flat
 * `{"error": "..."}` body; the runtime API (under /api/v1/runtime) with NL Flow's
 * `{"errors": [{"message", "node", "code", "retryable"}]}`. Unknown errors are logged and
 * answered with a generic 500 that leaks nothing.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isFlowdError } from '../errors.js';
import { SearchRequestError } from '../search/errors.js';
import { requestLogFields } from './request-ids.js';

export interface RenderedError {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

const isRuntimeRoute = (url: string): boolean => url.startsWith('/api/v1/runtime');

function fastifyError(e: FastifyError, bodyLimit: number | undefined): { status: number; message: string } | undefined {
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, message: `Request body is too large: the limit is ${bodyLimit === undefined ? 'set by' : `${bodyLimit} bytes`} (FLOWD_BODY_LIMIT_BYTES).` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, message: 'Unsupported Content-Type: send application/json or application/yaml.' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, message: e.message };
    default:
      if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return { status: e.statusCode, message: e.message };
      return undefined;
  }
}

/** `bodyLimit`: the route's body limit in bytes, named in a 413. */
export function renderError(err: unknown, url: string, bodyLimit?: number): RenderedError & { internal: boolean } {
  const runtime = isRuntimeRoute(url);
  if (err instanceof SearchRequestError) {
    const body = { error: { root_cause: [{ type: err.type, reason: err.reason }], type: err.type, reason: err.reason }, status: err.status };
    return { status: err.status, body, internal: false };
  }
  if (isFlowdError(err)) {
    const body = runtime
      ? { errors: [{ message: err.message, ...(err.node ? { node: err.node } : {}), code: err.code, retryable: err.retryable }] }
      : { error: err.message };
    return { status: err.status, body, ...(err.headers ? { headers: err.headers } : {}), internal: err.kind === 'internal' };
  }
  const fe = err as FastifyError;
  const known = typeof fe?.code === 'string' ? fastifyError(fe, bodyLimit) : undefined;
  if (known) {
    const body = runtime ? { errors: [{ message: known.message, code: 'request.invalid', retryable: false }] } : { error: known.message };
    return { status: known.status, body, internal: false };
  }
  const message = 'Internal server error; the details are in the flowd log.';
  return { status: 500, body: runtime ? { errors: [{ message, code: 'internal', retryable: true }] } : { error: message }, internal: true };
}

export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const r = renderError(err, req.url, req.routeOptions.bodyLimit);
  if (r.internal) req.log.error({ err, ...requestLogFields(req), url: req.url }, 'internal error');
  else req.log.debug({ ...requestLogFields(req), status: r.status, err: (err as Error).message }, 'request failed');
  if (r.headers) void reply.headers(r.headers);
  return reply.code(r.status).send(r.body);
}
