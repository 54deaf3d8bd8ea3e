/**
 * Roles and what they allow. Names follow the OpenSearch security plugin so existing role
 * mappings read the same: `all_access` is admin; `flow_framework_full_access` /
 * `flow_framework_read_access` for workflows; `ml_full_access` / `ml_read_access` for models.
 */
import type { OsUser } from '../../template/types.js';

export type Action =
  | 'workflow:read' // get, status, search, steps
  | 'workflow:write' // create, update, provision, deprovision, delete
  | 'ml:read'
  | 'ml:write' // predict, deploy, register
  | 'security:admin'; // users, api keys

export const ADMIN_ROLE = 'all_access';

const GRANTS: Record<string, Action[]> = {
  all_access: ['workflow:read', 'workflow:write', 'ml:read', 'ml:write', 'security:admin'],
  flow_framework_full_access: ['workflow:read', 'workflow:write', 'ml:read', 'ml:write'],
  flow_framework_read_access: ['workflow:read', 'ml:read'],
  ml_full_access: ['ml:read', 'ml:write'],
  ml_read_access: ['ml:read'],
};

export const KNOWN_ROLES = Object.keys(GRANTS);

/** The transport action names OpenSearch prints in its "no permissions" message. */
export const ACTION_NAMES: Record<Action, string> = {
  'workflow:read': 'cluster:admin/opensearch/flow_framework/workflow/get',
  'workflow:write': 'cluster:admin/opensearch/flow_framework/workflow/create',
  'ml:read': 'cluster:admin/opensearch/ml/models/get',
  'ml:write': 'cluster:admin/opensearch/ml/predict',
  'security:admin': 'restapi:admin/internalusers',
};

export interface AuthenticatedUser {
  name: string;
  backendRoles: string[];
  roles: string[];
  attributes: Record<string, string>;
}

export const isAdmin = (u: AuthenticatedUser | undefined): boolean => u === undefined || u.roles.includes(ADMIN_ROLE);

export function allows(u: AuthenticatedUser, action: Action): boolean {
  return u.roles.some((r) => GRANTS[r]?.includes(action) ?? false);
}

/** The user object as Flow Framework stores and shows it. */
export function toOsUser(u: AuthenticatedUser): OsUser {
  const attrs = Object.entries(u.attributes).map(([k, v]) => `${k}=${v}`);
  return {
    name: u.name,
    backend_roles: [...u.backendRoles],
    roles: [...u.roles],
    custom_attribute_names: attrs,
    user_requested_tenant: null,
    user_requested_tenant_access: null,
  };
}

/** Backend-role filtering: may `caller` see a workflow owned by `owner`? */
export function mayAccess(caller: AuthenticatedUser | undefined, owner: OsUser | undefined, filterByBackendRoles: boolean): boolean {
  if (!filterByBackendRoles || caller === undefined || isAdmin(caller)) return true;
  if (!owner) return true;
  return owner.backend_roles.some((r) => caller.backendRoles.includes(r));
}
