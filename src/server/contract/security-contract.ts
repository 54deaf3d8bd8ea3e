/**
 * Users in the OpenSearch security plugin's internalusers shape (route-schema.ts explains the
 * contract). The PUT body is decoded and checked by the route, whose messages name the field.
 */
import { Type } from 'typebox';
import { routeSchema } from './route-schema.js';
import { FLOW_FRAMEWORK_ERRORS, pathParams } from './common-schemas.js';

const TAGS = ['security'] as const;
const UserName = pathParams('name');

export const InternalUser = Type.Object(
  {
    hash: Type.String({ description: 'always empty' }),
    reserved: Type.Boolean(),
    hidden: Type.Boolean(),
    backend_roles: Type.Array(Type.String()),
    opendistro_security_roles: Type.Array(Type.String()),
    attributes: Type.Record(Type.String(), Type.String()),
  },
  { title: 'InternalUser' },
);
export const InternalUsers = Type.Record(Type.String(), InternalUser, { title: 'InternalUsers', description: 'user name -> user' });
export const SecurityStatus = Type.Object({ status: Type.String(), message: Type.String() }, { title: 'SecurityStatus' });
export const InternalUserInput = Type.Object(
  {
    password: Type.Optional(Type.String({ minLength: 8, description: 'required to create a user' })),
    backend_roles: Type.Optional(Type.Array(Type.String())),
    opendistro_security_roles: Type.Optional(Type.Array(Type.String())),
    roles: Type.Optional(Type.Array(Type.String(), { description: 'alias of opendistro_security_roles' })),
    attributes: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { title: 'InternalUserInput' },
);

export const SecurityContract = {
  list: routeSchema({ summary: 'List users (admin)', tags: TAGS, response: { 200: InternalUsers, ...FLOW_FRAMEWORK_ERRORS } }),
  get: routeSchema({ summary: 'Get a user', tags: TAGS, params: UserName, response: { 200: InternalUsers, ...FLOW_FRAMEWORK_ERRORS } }),
  put: routeSchema({
    summary: 'Create or update a user (admin)',
    tags: TAGS,
    params: UserName,
    body: InternalUserInput,
    response: { 200: SecurityStatus, 201: SecurityStatus, ...FLOW_FRAMEWORK_ERRORS },
  }),
  delete: routeSchema({
    summary: 'Delete a user (admin)',
    tags: TAGS,
    params: UserName,
    response: { 200: SecurityStatus, ...FLOW_FRAMEWORK_ERRORS },
  }),
};

export const SECURITY_WIRE = { InternalUser, InternalUsers, InternalUserInput, SecurityStatus };
