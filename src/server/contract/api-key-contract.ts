/**
 * API key management under /_flowd/api_keys (api-key-routes.ts): admin only, basic auth,
 * Flow Framework's error body. Bodies stay raw: the routes decode JSON or YAML like the rest of
 * the management API and name the fields in their messages. route-schema.ts explains the contract.
 */
import { Type } from 'typebox';
import { FLOW_FRAMEWORK_ERRORS, pathParams } from './common-schemas.js';
import { routeSchema } from './route-schema.js';

const TAGS = ['api keys'] as const;

/** A key as listed (never the key itself, nor its hash). Times are epoch ms. */
export const ApiKeyInfo = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    prefix: Type.String({ description: 'The first characters of the key, to recognise it' }),
    workflow_ids: Type.Array(Type.String()),
    created_at: Type.Number(),
    last_used_at: Type.Unsafe<number | null>({ type: ['number', 'null'] }),
    created_by: Type.Optional(Type.String()),
    rotated_at: Type.Optional(Type.Number()),
    previous_key_valid_until: Type.Optional(
      Type.Number({ description: 'After a rotation with a grace period: the old value works until then' }),
    ),
  },
  { title: 'ApiKeyInfo' },
);

/** A new (or rotated) key: `key` is shown this once. */
export const CreatedApiKey = Type.Object(
  { ...ApiKeyInfo.properties, key: Type.String({ description: 'The key, shown this once' }) },
  { title: 'CreatedApiKey' },
);

export const ApiKeyList = Type.Object({ api_keys: Type.Array(ApiKeyInfo) }, { title: 'ApiKeyList' });

export const ApiKeyDeleted = Type.Object({ id: Type.String(), deleted: Type.Boolean() }, { title: 'ApiKeyDeleted' });

export const CreateApiKeyRequest = Type.Object(
  {
    name: Type.String({ description: 'At most 100 characters, e.g. "billing-service"' }),
    workflow_ids: Type.Array(Type.String(), { description: '1 to 1000 existing workflows the key may call' }),
  },
  { title: 'CreateApiKeyRequest' },
);

export const RotateApiKeyRequest = Type.Object(
  { grace_period: Type.Optional(Type.String({ description: 'A time value up to 7d ("1h"): the old key keeps working meanwhile' })) },
  { title: 'RotateApiKeyRequest' },
);

const KeyParams = pathParams('id');

export const ApiKeyContract = {
  create: routeSchema({
    summary: 'Create an API key bound to workflows (the key is shown once)',
    tags: TAGS,
    body: CreateApiKeyRequest,
    response: { 201: CreatedApiKey, ...FLOW_FRAMEWORK_ERRORS },
  }),
  list: routeSchema({
    summary: 'List API keys (never the key)',
    tags: TAGS,
    response: { 200: ApiKeyList, ...FLOW_FRAMEWORK_ERRORS },
  }),
  revoke: routeSchema({
    summary: 'Revoke an API key',
    tags: TAGS,
    params: KeyParams,
    response: { 200: ApiKeyDeleted, ...FLOW_FRAMEWORK_ERRORS },
  }),
  rotate: routeSchema({
    summary: 'Rotate an API key',
    tags: TAGS,
    description: 'Body: optional {"grace_period": "1h"}. Without a grace period the old value stops working at once.',
    params: KeyParams,
    body: RotateApiKeyRequest,
    response: { 200: CreatedApiKey, ...FLOW_FRAMEWORK_ERRORS },
  }),
};

/** The API-key routes' named schemas (wire-schemas.ts). */
export const API_KEY_WIRE = { ApiKeyInfo, CreatedApiKey, ApiKeyList, ApiKeyDeleted, CreateApiKeyRequest, RotateApiKeyRequest };
