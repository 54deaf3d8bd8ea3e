/**
 * Request and correlation ids. A request keeps the `X-Request-Id` its caller sent (a proxy's
 * or a client's, so one id follows it across systems) when the id is plausible, and gets a
 * fresh one otherwise; every response echoes it. `X-Correlation-Id` (NL Flow's per-call id)
 * is not validated or stored here, only copied into request-scoped log lines.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';

export const REQUEST_ID_HEADER = 'x-request-id';
export const CORRELATION_ID_HEADER = 'x-correlation-id';

/** UUIDs, hex, base64, ULIDs, `host:seq`…: no spaces or quotes, short enough to log. */
const CALLER_ID = /^[\w.:+/=@-]{1,128}$/;

export function genRequestId(req: IncomingMessage): string {
  const h = req.headers[REQUEST_ID_HEADER];
  if (typeof h === 'string' && CALLER_ID.test(h)) return h;
  return Math.random().toString(36).slice(2, 12);
}

export interface RequestLogFields {
  reqId: string;
  correlationId?: string;
}

/** The ids every request-scoped log line carries (spread into the line's object). */
export function requestLogFields(req: FastifyRequest): RequestLogFields {
  const h = req.headers[CORRELATION_ID_HEADER];
  const correlationId = Array.isArray(h) ? h[0] : h;
  return correlationId === undefined ? { reqId: req.id } : { reqId: req.id, correlationId };
}
