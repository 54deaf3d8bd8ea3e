/**
 * The `user` object of templates, workflow states and their search hits, as OpenSearch's
 * common-utils `User.toXContent` writes it for the OpenSearch version flowd behaves as.
 */
import type { OsUser } from './types.js';
import { versionAtLeast } from '../util/opensearch-version.js';

/** common-utils writes `user_requested_tenant_access` from 3.2.0.0 on (always, null when unset). */
export const TENANT_ACCESS_SINCE = '3.2.0';

export function serializeUser(u: OsUser, opensearchVersion: string): OsUser {
  const out: OsUser = {
    name: u.name,
    backend_roles: [...u.backend_roles],
    roles: [...u.roles],
    custom_attribute_names: [...u.custom_attribute_names],
    user_requested_tenant: u.user_requested_tenant,
  };
  if (versionAtLeast(opensearchVersion, TENANT_ACCESS_SINCE)) out.user_requested_tenant_access = u.user_requested_tenant_access ?? null;
  return out;
}
