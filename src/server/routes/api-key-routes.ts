/**
 * API key management, admin only, behind basic auth:
 *   POST   /_flowd/api_keys                {"name", "workflow_ids": [...]} → 201 with the key (shown once)
 *   GET    /_flowd/api_keys                → {"api_keys": [...]} (never a key or a hash)
 *   DELETE /_flowd/api_keys/{id}           → {"id", "deleted": true}
 *   POST   /_flowd/api_keys/{id}/_rotate   [{"grace_period": "1h"}] → 200 with the new key (shown once)
 * Without a grace period a rotated key's old value stops working at once.
 */
import { inTenant, noPermission, tenantOption } from '../tenancy.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import { isFlowdError, notFound, validationError } from '../../errors.js';
import type { ApiKeyService } from '../../runtime/api-keys.js';
import type { ApiKeyRecord, Store } from '../../store/store.js';
import { parseRequestBody } from '../bounded-body.js';
import { isBodyLimitError } from '../../template/body-limits.js';
import { parseTimeValue } from '../../template/time-value.js';
import { requireAction } from '../auth/request-auth.js';
import { rawBody } from './request-params.js';
import { errorHandlerFor } from '../error-renderer.js';
import { typed } from '../contract/route-schema.js';
import { ApiKeyContract } from '../contract/api-key-contract.js';
import type { ApiKeyInfo } from '../contract/api-key-contract.js';

const BASE = '/_flowd/api_keys';
const MAX_NAME = 100;
const MAX_WORKFLOWS = 1000;
const MAX_GRACE_MS = 7 * 24 * 3600 * 1000;

export interface ApiKeyRoutesOptions {
  apiKeys: ApiKeyService;
  store: Store;
}

/** The body as an object ({} when empty and `optional`), with a message naming the fields. */
function bodyObject(req: FastifyRequest, fields: readonly string[], optional: boolean): Record<string, unknown> {
  const raw = rawBody(req);
  if (optional && raw.trim() === '') return {};
  let body: unknown;
  try {
    body = parseRequestBody(req, raw);
  } catch (e) {
    if (!isFlowdError(e) || isBodyLimitError(e)) throw e;
    throw validationError(`The body is not valid JSON (or YAML with a YAML Content-Type); send an object with [${fields.join(', ')}].`, {
      code: 'apikey.bad_body',
    });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw validationError(`The body must be a JSON object with [${fields.join(', ')}].`, { code: 'apikey.bad_body' });
  }
  const unknown = Object.keys(body).filter((k) => !fields.includes(k));
  if (unknown.length > 0) {
    throw validationError(`Unknown field${unknown.length > 1 ? 's' : ''} [${unknown.join(', ')}]; the body takes [${fields.join(', ')}].`, {
      code: 'apikey.bad_body',
    });
  }
  return body as Record<string, unknown>;
}

function parseName(v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '' || v.length > MAX_NAME) {
    throw validationError(`[name] must be a non-empty string of at most ${MAX_NAME} characters, e.g. "billing-service".`, {
      code: 'apikey.bad_name',
    });
  }
  return v.trim();
}

function parseWorkflowIds(v: unknown): string[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x): x is string => typeof x === 'string' && x !== '')) {
    throw validationError('[workflow_ids] must be a non-empty array of workflow ids, e.g. ["04b57400_d73b_4c99_1545_d9fdf3fe7ac7"].', {
      code: 'apikey.bad_workflow_ids',
    });
  }
  if (v.length > MAX_WORKFLOWS)
    throw validationError(`[workflow_ids] may list at most ${MAX_WORKFLOWS} workflows.`, { code: 'apikey.bad_workflow_ids' });
  return [...new Set(v)];
}

function parseGrace(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string')
    throw validationError('[grace_period] must be a time value string such as "10m" or "1h".', { code: 'apikey.bad_grace' });
  const ms = parseTimeValue(v, 'grace_period', { allowMinusOne: false, maxMs: MAX_GRACE_MS });
  if (ms > MAX_GRACE_MS) throw validationError(`[grace_period] may be at most 7d, got [${v}].`, { code: 'apikey.bad_grace' });
  return ms;
}

const render = (k: ApiKeyRecord): Static<typeof ApiKeyInfo> => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  workflow_ids: k.workflowIds,
  created_at: k.createdAt,
  last_used_at: k.lastUsedAt ?? null,
  ...(k.createdBy !== undefined ? { created_by: k.createdBy } : {}),
  ...(k.rotatedAt !== undefined ? { rotated_at: k.rotatedAt } : {}),
  ...(k.previousKeyValidUntil !== undefined ? { previous_key_valid_until: k.previousKeyValidUntil } : {}),
});

export async function apiKeyRoutes(app: FastifyInstance, opts: ApiKeyRoutesOptions): Promise<void> {
  app.setErrorHandler(errorHandlerFor('flow_framework'));
  const r = typed(app);
  r.post(BASE, { schema: ApiKeyContract.create }, async (req, reply) => {
    const user = requireAction(req, 'security:admin');
    const body = bodyObject(req, ['name', 'workflow_ids'], false);
    const name = parseName(body['name']);
    const workflowIds = parseWorkflowIds(body['workflow_ids']);
    const found = await Promise.all(workflowIds.map(async (id) => opts.store.getWorkflow(id)));
    const unknown = workflowIds.filter((_, i) => !found[i]);
    if (unknown.length > 0) {
      throw notFound(
        `Workflow${unknown.length > 1 ? 's' : ''} [${unknown.join(', ')}] not found; an API key can only be linked to existing workflows.`,
        {
          code: 'apikey.workflow_not_found',
        },
      );
    }
    // Multi-tenancy: a key belongs to the caller's tenant and may only reach that tenant's workflows.
    if (found.some((w) => w !== undefined && !inTenant(req, w.template.tenant_id))) throw noPermission();
    const { record, key } = await opts.apiKeys.create({
      name,
      workflowIds,
      ...(user ? { createdBy: user.name } : {}),
      ...tenantOption(req),
    });
    return reply.code(201).send({ ...render(record), key });
  });

  r.get(BASE, { schema: ApiKeyContract.list }, async (req) => {
    requireAction(req, 'security:admin');
    return { api_keys: (await opts.apiKeys.list()).filter((k) => inTenant(req, k.tenantId)).map(render) };
  });

  r.delete(`${BASE}/:id`, { schema: ApiKeyContract.revoke }, async (req) => {
    requireAction(req, 'security:admin');
    if (!(await opts.apiKeys.delete(req.params.id))) {
      throw notFound(`API key [${req.params.id}] not found; list keys with GET ${BASE}.`, { code: 'apikey.not_found' });
    }
    return { id: req.params.id, deleted: true };
  });

  r.post(`${BASE}/:id/_rotate`, { schema: ApiKeyContract.rotate }, async (req) => {
    requireAction(req, 'security:admin');
    const graceMs = parseGrace(bodyObject(req, ['grace_period'], true)['grace_period']);
    const { record, key } = await opts.apiKeys.rotate(req.params.id, graceMs !== undefined ? { graceMs } : {});
    return { ...render(record), key };
  });
}
