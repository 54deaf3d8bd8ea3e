/**
 * Request and correlation ids. A request keeps the `X-Request-Id` its caller sent (a proxy's
 * or a client's, so one id follows it across systems) when the id is plausible, and gets a
 * fresh one otherwise; every response echoes it. `X-Correlation-Id` (NL Flow's per-call id)
 * is bounded (correlationIdMaxLength: longer is a 400, never echoed or logged) and then copied
 * into request-scoped log lines; the runtime API echoes it and stores it with tasks.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { validationError } from '../errors.js';
import type { FlowdError } from '../errors.js';

export const REQUEST_ID_HEADER = 'x-request-id';
export const CORRELATION_ID_HEADER = 'x-correlation-id';

/** UUIDs, hex, base64, ULIDs, `host:seq`…: no spaces or quotes, short enough to log. */
const CALLER_ID = /^[\w.:+/=@-]{1,128}$/;

/**
 * Fresh ids are this process's random prefix and a counter (base 36): unique across nodes and
 * restarts without a random draw and a float-to-string conversion on every request.
 */
const ID_PREFIX = randomBytes(5).readUIntBE(0, 5).toString(36).padStart(8, '0');
let idSeq = 0;

export function genRequestId(req: IncomingMessage): string {
  const h = req.headers[REQUEST_ID_HEADER];
  if (typeof h === 'string' && CALLER_ID.test(h)) return h;
  idSeq = idSeq === Number.MAX_SAFE_INTEGER ? 0 : idSeq + 1;
  return ID_PREFIX + idSeq.toString(36);
}

export interface RequestLogFields {
  reqId: string;
  correlationId?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's `X-Correlation-Id`, once checked against the length limit (checkCorrelationId). */
    correlationId: string | undefined;
  }
}

/**
 * Checks a request's `X-Correlation-Id` before anything else reads it (request-boundary.ts calls
 * it first thing): longer than `maxLength` is a 400 that says so, and the value is then neither
 * echoed nor logged; a fitting one is kept as `req.correlationId`.
 */
export function checkCorrelationId(req: FastifyRequest, maxLength: number): FlowdError | undefined {
  const h = req.headers[CORRELATION_ID_HEADER];
  const id = Array.isArray(h) ? h[0] : h;
  if (id === undefined) return undefined;
  if (id.length > maxLength) {
    return validationError(
      `X-Correlation-Id is ${id.length} characters long; send at most ${maxLength} (FLOWD_CORRELATION_ID_MAX_LENGTH).`,
      {
        code: 'request.bad_correlation_id',
      },
    );
  }
  req.correlationId = id;
  return undefined;
}

/** The ids every request-scoped log line carries (spread into the line's object). */
export function requestLogFields(req: FastifyRequest): RequestLogFields {
  const correlationId = req.correlationId;
  return correlationId === undefined ? { reqId: req.id } : { reqId: req.id, correlationId };
}
