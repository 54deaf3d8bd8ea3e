/**
 * Multi-tenancy's vocabulary, shared by the HTTP boundary (server/tenancy.ts) and the layers
 * below it that stamp or compare a resource's tenant: Flow Framework's and ML Commons' header
 * and document field, and their refusals (TenantAwareHelper in both plugins).
 */
import { forbidden } from '../errors.js';
import type { FlowdError } from '../errors.js';

export const TENANT_ID_HEADER = 'x-tenant-id';
export const TENANT_ID_FIELD = 'tenant_id';

/** TenantAwareHelper.getTenantID's refusal, in both plugins. */
export const MISSING_TENANT_MESSAGE = 'Tenant ID header is missing or has no value';
/** Flow Framework's TenantAwareHelper.validateTenantResource (flowd's own routes answer it too). */
export const FF_NO_PERMISSION_MESSAGE = 'No permission to access this resource';
/** ML Commons' TenantAwareHelper.validateTenantResource. */
export const ML_NO_PERMISSION_MESSAGE = "You don't have permission to access this resource";

/** The `tenant_id` of a stored document (ML resources keep it in their JSON), if it has one. */
export function tenantOfDoc(doc: Readonly<Record<string, unknown>>): string | undefined {
  const t = doc[TENANT_ID_FIELD];
  return typeof t === 'string' ? t : undefined;
}

/** ML Commons' 403 for another tenant's resource (an OpenSearchStatusException: `status_exception`). */
export const mlNoPermission = (): FlowdError =>
  forbidden(ML_NO_PERMISSION_MESSAGE, { code: 'tenant.no_permission', details: { opensearchType: 'status_exception' } });

/** Flow Framework's 403 for another tenant's resource. */
export const ffNoPermission = (): FlowdError => forbidden(FF_NO_PERMISSION_MESSAGE, { code: 'tenant.no_permission' });
