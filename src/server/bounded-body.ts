/**
 * Request bodies at the HTTP boundary. Every route decodes its body (or a `source` query
 * parameter) through these two functions, so every body is bounded by the node's configured
 * limits (depth, values, expanded size, YAML tokens: template/body-limits.ts) before any
 * route, worker or store sees it; a breach is a 400 naming the limit and its setting.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { BodyLimits } from '../template/body-limits.js';
import { DEFAULT_BODY_LIMITS } from '../template/body-limits.js';
import { decodeJson, parseBody } from '../template/body-parser.js';
import { contentType, rawBody } from './routes/request-params.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The limits every request body is decoded within (installBodyLimits). */
    bodyLimits: BodyLimits;
  }
}

/** Before the routes: they read the limits from their server instance. */
export function installBodyLimits(app: FastifyInstance, limits: BodyLimits): void {
  app.decorate('bodyLimits', Object.freeze({ ...limits }));
}

const limitsOf = (req: FastifyRequest): BodyLimits => req.server.bodyLimits ?? DEFAULT_BODY_LIMITS;

/**
 * The request body (or `raw`, e.g. a `source` query parameter) decoded as its content type
 * says (JSON, or YAML for the YAML types), within the limits. Syntax errors carry Flow
 * Framework's "template content invalid" message.
 */
export function parseRequestBody(req: FastifyRequest, raw: string = rawBody(req), ct: string | undefined = contentType(req)): unknown {
  return parseBody(raw, ct, limitsOf(req));
}

/**
 * The request body decoded as JSON whatever its content type (the runtime API speaks JSON
 * only), within the limits; `invalid(why)` builds the error for a syntax error.
 */
export function parseJsonBody(req: FastifyRequest, invalid: (why: string) => Error): unknown {
  return decodeJson(rawBody(req), limitsOf(req), (e) => invalid(e instanceof Error ? e.message : String(e)));
}
