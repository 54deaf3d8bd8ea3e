/**
 * Users, in the OpenSearch security plugin's internalusers shape so its tooling reads the same:
 * PUT/GET/DELETE /_plugins/_security/api/internalusers/{name}. Admin only.
 */
import type { FastifyInstance } from 'fastify';
import { notFound, validationError } from '../../errors.js';
import type { Store } from '../../store/store.js';
import { parseRequestBody } from '../bounded-body.js';
import type { Authenticator } from '../auth/authenticator.js';
import { requireAction } from '../auth/request-auth.js';
import { KNOWN_ROLES } from '../auth/roles.js';
import { typed } from '../contract/route-schema.js';
import { SecurityContract as C } from '../contract/security-contract.js';
import type { InternalUser } from '../contract/security-contract.js';
import type { Static } from 'typebox';
import { errorHandlerFor } from '../error-renderer.js';

const BASE = '/_plugins/_security/api/internalusers';

const stringList = (v: unknown, field: string): string[] => {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw validationError(`[${field}] must be an array of strings`);
  return v;
};

export async function securityRoutes(app: FastifyInstance, opts: { store: Store; authenticator: Authenticator }): Promise<void> {
  app.setErrorHandler(errorHandlerFor('flow_framework'));
  const r = typed(app);
  const render = async (name?: string): Promise<Record<string, Static<typeof InternalUser>>> => {
    const users = name ? [await opts.store.getUser(name)] : await opts.store.listUsers();
    const out: Record<string, Static<typeof InternalUser>> = {};
    for (const u of users) {
      if (!u) continue;
      out[u.name] = {
        hash: '',
        reserved: false,
        hidden: false,
        backend_roles: u.backendRoles,
        opendistro_security_roles: u.roles,
        attributes: u.attributes,
      };
    }
    return out;
  };

  r.get(BASE, { schema: C.list }, async (req) => {
    requireAction(req, 'security:admin');
    return render();
  });

  r.get(`${BASE}/:name`, { schema: C.get }, async (req) => {
    requireAction(req, 'security:admin');
    const out = await render(req.params.name);
    if (Object.keys(out).length === 0) throw notFound(`User ${req.params.name} not found.`);
    return out;
  });

  r.put(`${BASE}/:name`, { schema: C.put }, async (req, reply) => {
    requireAction(req, 'security:admin');
    const name = req.params.name;
    if (!/^[\w.@-]{1,64}$/.test(name)) throw validationError('User names are 1-64 characters of letters, digits, _ . @ -');
    const body = parseRequestBody(req);
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw validationError('The body must be an object with password, backend_roles, opendistro_security_roles');
    const b = body as Record<string, unknown>;
    const password = b['password'];
    if (password !== undefined && (typeof password !== 'string' || password.length < 8))
      throw validationError('[password] must be a string of at least 8 characters');
    const roles = stringList(b['opendistro_security_roles'] ?? b['roles'], 'opendistro_security_roles');
    const unknownRoles = roles.filter((r) => !KNOWN_ROLES.includes(r));
    if (unknownRoles.length > 0)
      throw validationError(`Unknown roles [${unknownRoles.join(', ')}]; known roles: [${KNOWN_ROLES.join(', ')}]`);
    const attrsRaw = b['attributes'] ?? {};
    if (typeof attrsRaw !== 'object' || attrsRaw === null || Array.isArray(attrsRaw))
      throw validationError('[attributes] must be an object of strings');
    const attributes = Object.fromEntries(Object.entries(attrsRaw as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
    const existing = await opts.store.getUser(name);
    if (!existing && password === undefined) throw validationError('[password] is required to create a user');
    const res = await opts.authenticator.putUser(name, password, stringList(b['backend_roles'], 'backend_roles'), roles, attributes);
    return reply.code(res === 'created' ? 201 : 200).send({ status: res === 'created' ? 'CREATED' : 'OK', message: `'${name}' ${res}.` });
  });

  r.delete(`${BASE}/:name`, { schema: C.delete }, async (req) => {
    requireAction(req, 'security:admin');
    if (!(await opts.authenticator.deleteUser(req.params.name))) throw notFound(`User ${req.params.name} not found.`);
    return { status: 'OK', message: `'${req.params.name}' deleted.` };
  });
}
