/**
 * The one app-level onRequest hook: what every request passes before its route's own hooks. It
 * echoes the request id, refuses a NUL byte anywhere in the URL and an over-long
 * X-Correlation-Id, and, for a request no route matched, times it and checks its credentials as
 * routes do (their own check is a route hook, request-auth.ts). One hook rather than one per
 * concern: every hook is a step of Fastify's hook runner on every request.
 */
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { validationError } from '../errors.js';
import type { RouteSeries } from './metrics/http-metrics.js';
import { observeAtFinish } from './metrics/http-metrics.js';
import { REQUEST_ID_HEADER, checkCorrelationId } from './request-ids.js';

export interface RequestBoundaryOptions {
  correlationIdMaxLength: number;
  /** The credential check of routes, run here for unmatched requests (undefined: security off). */
  authenticate?: onRequestHookHandler;
  /** The metrics series of unmatched requests (undefined: no metrics). */
  unmatched?: RouteSeries;
}

const nulInUrl = (): Error =>
  validationError('The request URL contains a NUL byte (%00): no id, parameter or query value may hold one.', {
    code: 'request.nul_in_url',
  });

export function installRequestBoundary(app: FastifyInstance, opts: RequestBoundaryOptions): void {
  app.decorateRequest('correlationId', undefined);
  const { correlationIdMaxLength, authenticate, unmatched } = opts;
  app.addHook('onRequest', function (req, reply, done) {
    void reply.header(REQUEST_ID_HEADER, req.id);
    if (unmatched && req.is404) observeAtFinish(unmatched, req, reply);
    // No id or parameter holds a NUL (PostgreSQL can't even compare one): refused, path or query, before any store sees it.
    if (req.url.includes('%00')) return done(nulInUrl());
    const badCorrelation = checkCorrelationId(req, correlationIdMaxLength);
    if (badCorrelation) return done(badCorrelation);
    if (authenticate && req.is404) return authenticate.call(this, req, reply, done);
    done();
  });
}
