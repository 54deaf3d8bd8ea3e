/**
 * Puts the caller on every request (`request.flowdUser`) and checks actions. Routes opt out of
 * basic auth with `config: { auth: 'none' }` (the runtime API uses API keys instead). With
 * security disabled `flowdUser` is undefined and everything is allowed.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authError } from '../../errors.js';
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

export function registerAuth(app: FastifyInstance, authenticator: Authenticator | undefined): void {
  app.decorateRequest('flowdUser', undefined);
  if (!authenticator) return;
  // Callback style so a cached credential costs no promise on the hot path.
  app.addHook('onRequest', (req, _reply, done) => {
    if (req.routeOptions.config.auth === 'none') return done();
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
  });
}

export function requireAction(req: FastifyRequest, action: Action): AuthenticatedUser | undefined {
  const u = req.flowdUser;
  if (u === undefined || allows(u, action)) return u;
  throw authError(
    `no permissions for [${ACTION_NAMES[action]}] and User [name=${u.name}, backend_roles=[${u.backendRoles.join(', ')}], requestedTenant=null]`,
    { status: 403, code: 'auth.forbidden' },
  );
}
