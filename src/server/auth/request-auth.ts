/**
 * Puts the caller on every request (`request.flowdUser`) and checks actions. Routes opt out of
 * basic auth with `config: { auth: 'none' }` (the runtime API uses API keys instead). With
 * security disabled `flowdUser` is undefined and everything is allowed.
 */
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import { forbidden } from '../../errors.js';
import type { Authenticator } from './authenticator.js';
import type { Action, AuthenticatedUser } from './roles.js';
import { ACTION_NAMES, allows } from './roles.js';

declare module 'fastify' {
  interface FastifyRequest {
    flowdUser: AuthenticatedUser | undefined;
  }
  interface FastifyContextConfig {
    auth?: 'basic' | 'none';
  }
}

/**
 * Basic auth on every route whose config does not say `auth: 'none'`. Returns the check, for the
 * requests no route matched (request-boundary.ts runs it for them), or undefined when security
 * is off.
 */
export function registerAuth(app: FastifyInstance, authenticator: Authenticator | undefined): onRequestHookHandler | undefined {
  app.decorateRequest('flowdUser', undefined);
  if (!authenticator) return undefined;
  // Callback style so a cached credential costs no promise on the hot path.
  const authenticate: onRequestHookHandler = (req, _reply, done) => {
    const header = req.headers.authorization;
    const hit = authenticator.cached(header);
    if (hit) {
      req.flowdUser = hit;
      return done();
    }
    authenticator.authenticate(header, req.ip).then(
      (u) => {
        req.flowdUser = u;
        done();
      },
      (e: unknown) => done(e instanceof Error ? e : new Error(String(e))),
    );
  };
  // Each route that takes basic auth gets the check as its own first onRequest hook when it is
  // registered, so no request reads `req.routeOptions` (a getter that builds an object per
  // call) to learn its route's config. Route hooks run after the app's and plugins' own.
  app.addHook('onRoute', (opts) => {
    if (opts.config?.auth === 'none') return;
    const own = opts.onRequest;
    opts.onRequest =
      own === undefined ? [authenticate] : Array.isArray(own) ? [authenticate, ...(own as onRequestHookHandler[])] : [authenticate, own];
  });
  return authenticate;
}

export function requireAction(req: FastifyRequest, action: Action): AuthenticatedUser | undefined {
  const u = req.flowdUser;
  if (u === undefined || allows(u, action)) return u;
  throw forbidden(
    `no permissions for [${ACTION_NAMES[action]}] and User [name=${u.name}, backend_roles=[${u.backendRoles.join(', ')}], requestedTenant=null]`,
    { code: 'auth.forbidden' },
  );
}
