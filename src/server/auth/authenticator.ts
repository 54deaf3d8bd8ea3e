/**
 * HTTP basic authentication against the users in the store. Verified credentials are cached
 * briefly (keyed by the header itself, which never leaves this process) because scrypt is
 * deliberately slow and the status endpoints are hot; any user change clears the cache.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { authError } from '../../errors.js';
import type { Store, StoredUser } from '../../store/store.js';
import { hashPassword, verifyPassword } from './password.js';
import type { AuthenticatedUser } from './roles.js';
import { ADMIN_ROLE } from './roles.js';

const CACHE_TTL_MS = 60_000;
const CACHE_MAX = 10_000;
export const ADMIN_USER = 'admin';

export const unauthenticated = (): Error =>
  authError('Authentication required: send HTTP basic credentials (Authorization: Basic base64(user:password)).', {
    code: 'auth.required',
    headers: { 'www-authenticate': 'Basic realm="flowd"' },
  });

const toAuthenticated = (u: StoredUser): AuthenticatedUser => ({
  name: u.name,
  backendRoles: u.backendRoles,
  roles: u.roles,
  attributes: u.attributes,
});

export class Authenticator {
  readonly #cache = new Map<string, { user: AuthenticatedUser; expires: number }>();

  constructor(private readonly store: Store) {}

  /** The user for a recently verified header, without touching the store (the hot path). */
  cached(header: string | undefined): AuthenticatedUser | undefined {
    if (header === undefined) return undefined;
    const hit = this.#cache.get(header);
    return hit && hit.expires > Date.now() ? hit.user : undefined;
  }

  /** Resolves the user for an Authorization header; throws 401 when absent or wrong. */
  async authenticate(header: string | undefined): Promise<AuthenticatedUser> {
    if (!header || !header.startsWith('Basic ')) throw unauthenticated();
    const key = header;
    const hit = this.#cache.get(key);
    const now = Date.now();
    if (hit && hit.expires > now) return hit.user;
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 1) throw unauthenticated();
    const name = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const stored = await this.store.getUser(name);
    if (!stored || !(await verifyPassword(password, stored.passwordHash))) {
      throw authError('Unauthorized: wrong user name or password.', { code: 'auth.invalid', headers: { 'www-authenticate': 'Basic realm="flowd"' } });
    }
    const user = toAuthenticated(stored);
    if (this.#cache.size >= CACHE_MAX) this.#cache.clear();
    this.#cache.set(key, { user, expires: now + CACHE_TTL_MS });
    return user;
  }

  invalidate(): void {
    this.#cache.clear();
  }

  async putUser(name: string, password: string | undefined, backendRoles: string[], roles: string[], attributes: Record<string, string>): Promise<'created' | 'updated'> {
    const existing = await this.store.getUser(name);
    if (!existing && password === undefined) throw new Error('password is required for a new user');
    const passwordHash = password === undefined ? (existing as StoredUser).passwordHash : await hashPassword(password);
    await this.store.putUser({ name, passwordHash, backendRoles, roles, attributes });
    this.invalidate();
    return existing ? 'updated' : 'created';
  }

  async deleteUser(name: string): Promise<boolean> {
    const ok = await this.store.deleteUser(name);
    this.invalidate();
    return ok;
  }

  /**
   * First start: create `admin` with FLOWD_ADMIN_PASSWORD, or a generated password written
   * once to `<dataDir>/admin-password` (mode 0600) and printed.
   */
  async bootstrapAdmin(dataDir: string, configured: string | undefined, logger: Logger): Promise<void> {
    const existing = await this.store.getUser(ADMIN_USER);
    if (configured !== undefined) {
      if (!existing || !(await verifyPassword(configured, existing.passwordHash))) {
        await this.putUser(ADMIN_USER, configured, ['admin'], [ADMIN_ROLE], {});
      }
      return;
    }
    if (existing) return;
    const file = join(dataDir, 'admin-password');
    const password = existsSync(file) ? readFileSync(file, 'utf8').trim() : randomBytes(12).toString('base64url');
    if (!existsSync(file)) writeFileSync(file, password + '\n', { mode: 0o600 });
    await this.putUser(ADMIN_USER, password, ['admin'], [ADMIN_ROLE], {});
    logger.warn(`Created user "admin" with a generated password (also in ${file}): ${password}`);
  }
}
