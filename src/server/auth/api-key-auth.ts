/**
 * API-key authentication for the runtime API (`/api/v1/runtime/...`): those routes skip basic
 * auth (`config: { auth: 'none' }`) and call this with the workflow they serve instead.
 */
import type { FastifyRequest } from 'fastify';
import type { ApiKeyService } from '../../runtime/api-keys.js';
import type { ApiKeyRecord } from '../../store/store.js';
import { noPermission } from '../tenancy.js';

/**
 * The caller's key record when the `X-API-KEY` header holds a key linked to `workflowId`;
 * throws 401 (missing or unknown key) or 403 (key not linked to this workflow). Returns
 * undefined without checking anything when security is disabled.
 */
export async function requireApiKey(req: FastifyRequest, workflowId: string, apiKeys: ApiKeyService): Promise<ApiKeyRecord | undefined> {
  if (!apiKeys.required) return undefined;
  const h = req.headers['x-api-key'];
  const rec = await apiKeys.verify(Array.isArray(h) ? h[0] : h, workflowId);
  // Multi-tenancy: a key reaches its own tenant's workflows only (tenancy.ts).
  if (req.flowdTenant !== undefined && rec.tenantId !== req.flowdTenant) throw noPermission('runtime');
  return rec;
}
