/**
 * HTTP basic authentication against the users in the store. Verified credentials are cached
 * (keyed by the header itself, which never leaves this process) because scrypt is deliberately
 * slow and the status endpoints are hot. A cached credential is re-read from the store (no
 * scrypt) every RECHECK_MS, so a user deleted, re-passworded or given other roles on another
 * node stops working here within seconds; changes made here take effect at once. Each re-read
 * that finds the same password hash keeps the credential cached for another CACHE_TTL_MS (the
 * same header against the same hash verifies the same), so a credential in use never pays
 * scrypt again, and its concurrent requests never all pay it at once when it would expire;
 * one unused for CACHE_TTL_MS is verified with scrypt again.
 *
 * Uncached logins are throttled per user name and client address (login-throttle.ts) before
 * scrypt runs, and an unknown user name costs the same scrypt as a known one (against a dummy
 * hash of the same parameters), so timing does not tell which names exist.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { conflict, unauthenticated as unauthenticatedError } from '../../errors.js';
import type { Store, StoredUser } from '../../store/store.js';
import type { LoginThrottleOptions } from './login-throttle.js';
import { LoginThrottle, isThrottled, throttledError } from './login-throttle.js';
import { hashPassword, verifyPassword } from './password.js';
import type { AuthenticatedUser } from './roles.js';
import { ADMIN_ROLE } from './roles.js';
import { tightenFile, writePrivateFile } from '../../util/private-files.js';

const CACHE_TTL_MS = 60_000;
/** How stale a cached credential may get before the store is asked again (other nodes' changes). */
const RECHECK_MS = 5_000;
const CACHE_MAX = 10_000;
/** Logged user names are cut here: they are attacker-chosen. */
const LOGGED_NAME_MAX = 64;
export const ADMIN_USER = 'admin';
/** RFC 7617: the scheme name is case-insensitive. */
const BASIC = /^basic[ \t]+(\S*)\s*$/i;

export const unauthenticated = (): Error =>
  unauthenticatedError('Authentication required: send HTTP basic credentials (Authorization: Basic base64(user:password)).', {
    code: 'auth.required',
    headers: { 'www-authenticate': 'Basic realm="flowd"' },
  });

const wrongCredentials = (): Error =>
  unauthenticatedError('Unauthorized: wrong user name or password.', {
    code: 'auth.invalid',
    headers: { 'www-authenticate': 'Basic realm="flowd"' },
  });

const toAuthenticated = (u: StoredUser): AuthenticatedUser => ({
  name: u.name,
  backendRoles: u.backendRoles,
  roles: u.roles,
  attributes: u.attributes,
});

const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Same password and the same access: roles and backend roles. */
const sameAccess = (stored: StoredUser, user: AuthenticatedUser, hash: string | undefined): boolean =>
  (hash === undefined || stored.passwordHash === hash) &&
  sameList(stored.roles, user.roles) &&
  sameList(stored.backendRoles, user.backendRoles);

interface CacheEntry {
  user: AuthenticatedUser;
  hash: string;
  expires: number;
  checkedAt: number;
}

export interface AuthenticatorOptions {
  logger?: Logger;
  /** Login throttling (default: 10 failures per user name per minute, 10x per address). */
  throttle?: LoginThrottleOptions;
  now?: () => number;
}

export class Authenticator {
  readonly #cache = new Map<string, CacheEntry>();
  /** The password hash each authenticated user object was verified against (stillCurrent). */
  readonly #hashes = new WeakMap<AuthenticatedUser, string>();
  readonly #listeners = new Set<(name: string) => void>();
  readonly #throttle: LoginThrottle;
  readonly #logger: Logger | undefined;
  readonly #now: () => number;
  /** Hashed once, off the request path: what unknown user names are checked against. */
  readonly #dummyHash: Promise<string>;
  /** User changes run one at a time, so the last-admin check cannot race another change here. */
  #changes: Promise<unknown> = Promise.resolve();

  readonly #store: Store;

  constructor(store: Store, opts: AuthenticatorOptions = {}) {
    this.#store = store;
    this.#logger = opts.logger;
    this.#now = opts.now ?? Date.now;
    this.#throttle = new LoginThrottle(opts.throttle ?? { maxFailures: 10, windowMs: 60_000 });
    this.#dummyHash = hashPassword(randomBytes(18).toString('base64'));
    this.#dummyHash.catch(() => undefined); // awaited on use
  }

  /** The user for a recently verified header, without touching the store (the hot path). */
  cached(header: string | undefined): AuthenticatedUser | undefined {
    if (header === undefined) return undefined;
    const hit = this.#cache.get(header);
    const now = this.#now();
    return hit && hit.expires > now && hit.checkedAt + RECHECK_MS > now ? hit.user : undefined;
  }

  /**
   * Resolves the user for an Authorization header; throws 401 when absent or wrong, 429 when
   * `address` or the user name has too many recent failures.
   */
  async authenticate(header: string | undefined, address = 'unknown'): Promise<AuthenticatedUser> {
    const m = header === undefined ? null : BASIC.exec(header);
    if (!header || !m) throw unauthenticated();
    const now = this.#now();
    const hit = this.#cache.get(header);
    if (hit && hit.expires > now) {
      if (hit.checkedAt + RECHECK_MS > now) return hit.user;
      const fresh = await this.#recheck(header, hit, now);
      if (fresh) return fresh;
    }
    const decoded = Buffer.from(m[1] ?? '', 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 1) throw unauthenticated();
    const name = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const attempt = await this.#throttle.admit(name, address);
    if (isThrottled(attempt)) {
      if (attempt.first) {
        this.#logger?.warn(
          { user: name.slice(0, LOGGED_NAME_MAX), address, scope: attempt.scope, retryAfterS: attempt.retryAfterS },
          'login throttled: too many failed logins',
        );
      }
      throw throttledError(attempt);
    }
    const stored = await this.#store.getUser(name);
    // Unknown names pay the same scrypt as known ones.
    const ok = await verifyPassword(password, stored?.passwordHash ?? (await this.#dummyHash));
    if (!stored || !ok) {
      this.#logger?.warn({ user: name.slice(0, LOGGED_NAME_MAX), address }, 'login failed: wrong user name or password');
      throw wrongCredentials();
    }
    attempt.succeeded();
    return this.#remember(header, stored, now);
  }

  /** Whether `user` (as authenticated by this node) is still the same user: not deleted, same password and access. */
  async stillCurrent(user: AuthenticatedUser): Promise<boolean> {
    const stored = await this.#store.getUser(user.name);
    return stored !== undefined && sameAccess(stored, user, this.#hashes.get(user));
  }

  /** Calls `fn` with the user's name whenever a user is changed or deleted here; returns the unsubscribe. */
  onUserChange(fn: (name: string) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  invalidate(): void {
    this.#cache.clear();
  }

  async putUser(
    name: string,
    password: string | undefined,
    backendRoles: string[],
    roles: string[],
    attributes: Record<string, string>,
  ): Promise<'created' | 'updated'> {
    return this.#serial(async () => {
      const existing = await this.#store.getUser(name);
      if (!existing && password === undefined) throw new Error('password is required for a new user');
      if (existing?.roles.includes(ADMIN_ROLE) && !roles.includes(ADMIN_ROLE)) await this.#keepAnAdmin(name, 'remove its all_access role');
      const passwordHash = password === undefined ? (existing as StoredUser).passwordHash : await hashPassword(password);
      await this.#store.putUser({ name, passwordHash, backendRoles, roles, attributes });
      this.#changed(name);
      return existing ? 'updated' : 'created';
    });
  }

  async deleteUser(name: string): Promise<boolean> {
    return this.#serial(async () => {
      const existing = await this.#store.getUser(name);
      if (existing?.roles.includes(ADMIN_ROLE)) await this.#keepAnAdmin(name, 'delete it');
      const ok = await this.#store.deleteUser(name);
      this.#changed(name);
      return ok;
    });
  }

  /**
   * First start: create `admin` with FLOWD_ADMIN_PASSWORD, or a generated password written
   * once to `<dataDir>/admin-password` (mode 0600) and printed.
   */
  async bootstrapAdmin(dataDir: string, configured: string | undefined, logger: Logger): Promise<void> {
    const file = join(dataDir, 'admin-password');
    tightenFile(file); // an older flowd, or a copy, may have left it readable by others
    const existing = await this.#store.getUser(ADMIN_USER);
    if (configured !== undefined) {
      if (!existing || !(await verifyPassword(configured, existing.passwordHash))) {
        await this.putUser(ADMIN_USER, configured, ['admin'], [ADMIN_ROLE], {});
      }
      return;
    }
    if (existing) return;
    const password = existsSync(file) ? readFileSync(file, 'utf8').trim() : randomBytes(12).toString('base64url');
    if (!existsSync(file)) writePrivateFile(file, password + '\n');
    await this.putUser(ADMIN_USER, password, ['admin'], [ADMIN_ROLE], {});
    logger.warn(`Created user "admin" with a generated password (also in ${file}): ${password}`);
  }

  /** 409 unless a user other than `name` keeps the all_access role. */
  async #keepAnAdmin(name: string, what: string): Promise<void> {
    const others = (await this.#store.listUsers()).filter((u) => u.name !== name && u.roles.includes(ADMIN_ROLE));
    if (others.length > 0) return;
    throw conflict(
      `User [${name}] is the last user with the ${ADMIN_ROLE} role: give another user ${ADMIN_ROLE} first, then ${what}. Without one nobody could manage users or API keys.`,
      { code: 'security.last_admin' },
    );
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#changes.then(fn);
    this.#changes = run.catch(() => undefined); // a failed change does not block the next
    return run;
  }

  /** A cached credential due for a re-read: refreshed when the stored user still matches, dropped otherwise. */
  async #recheck(header: string, hit: CacheEntry, now: number): Promise<AuthenticatedUser | undefined> {
    const stored = await this.#store.getUser(hit.user.name);
    if (!stored || stored.passwordHash !== hit.hash) {
      this.#cache.delete(header);
      return undefined;
    }
    if (sameAccess(stored, hit.user, hit.hash)) {
      hit.checkedAt = now;
      hit.expires = now + CACHE_TTL_MS;
      return hit.user;
    }
    // Same password, other roles (changed on another node): a new user object, so streams
    // opened with the old one see the change.
    return this.#remember(header, stored, now);
  }

  #remember(header: string, stored: StoredUser, verifiedAt: number): AuthenticatedUser {
    const user = toAuthenticated(stored);
    this.#hashes.set(user, stored.passwordHash);
    if (this.#cache.size >= CACHE_MAX) this.#cache.clear();
    this.#cache.set(header, { user, hash: stored.passwordHash, expires: verifiedAt + CACHE_TTL_MS, checkedAt: this.#now() });
    return user;
  }

  /** Only the changed user's credentials leave the cache; listeners (open streams) re-check it. */
  #changed(name: string): void {
    for (const [header, entry] of this.#cache) if (entry.user.name === name) this.#cache.delete(header);
    for (const fn of this.#listeners) fn(name);
  }
}
