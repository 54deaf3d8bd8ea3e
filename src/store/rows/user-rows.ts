/** The users row as both stores read it (same columns on SQLite and PostgreSQL), and its mapping to the Store port's record. */
import type { StoredUser } from '../store.js';

export interface UserRow {
  name: string;
  password_hash: string;
  backend_roles: string;
  roles: string;
  attributes: string;
}

export const USER_COLS = 'name, password_hash, backend_roles, roles, attributes';

export const toUser = (r: UserRow): StoredUser => ({
  name: r.name,
  passwordHash: r.password_hash,
  backendRoles: JSON.parse(r.backend_roles) as string[],
  roles: JSON.parse(r.roles) as string[],
  attributes: JSON.parse(r.attributes) as Record<string, string>,
});
