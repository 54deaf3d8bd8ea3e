/**
 * Throttling of password logins, per user name and per client address (rate-limiter-flexible,
 * in memory: each node counts on its own). An attempt takes a point from both counters BEFORE
 * the password is hashed, so a throttled attempt costs no scrypt (the throttle also guards the
 * CPU) and parallel guesses cannot overshoot the limit while their hashes are in flight. A wrong
 * password keeps its point; a right one gives the address its point back and clears its own
 * user name's counter, never another name's or the address's (an attacker with an account of
 * its own could otherwise wipe the address counter between guesses).
 */
import { createHash } from 'node:crypto';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { rateLimited } from '../../errors.js';

export interface LoginThrottleOptions {
  /** Failed logins per user name within the window; the address gets 10 times as many. */
  maxFailures: number;
  windowMs: number;
}

/** An admitted attempt: report how it ended. */
export interface LoginAttempt {
  succeeded(): void;
}

/** Which counter refused an attempt, and for how long. */
export interface Throttled {
  scope: 'user' | 'address';
  retryAfterS: number;
  /** True for the first refusal of the window (log it once, not at the attacker's rate). */
  first: boolean;
}

/** Per address: enough for a busy NAT of honest users, far too few for guessing. */
export const ADDRESS_FACTOR = 10;
const MAX_NAME_KEY = 64;

/** User names longer than any valid one are hashed: the counter key stays small. */
const nameKey = (name: string): string =>
  name.length <= MAX_NAME_KEY ? `u:${name}` : `h:${createHash('sha256').update(name).digest('base64url')}`;

const retryAfter = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

export class LoginThrottle {
  readonly #users: RateLimiterMemory;
  readonly #addresses: RateLimiterMemory;

  constructor(opts: LoginThrottleOptions) {
    const duration = Math.max(1, Math.ceil(opts.windowMs / 1000));
    this.#users = new RateLimiterMemory({ points: opts.maxFailures, duration, keyPrefix: 'login-user' });
    this.#addresses = new RateLimiterMemory({ points: opts.maxFailures * ADDRESS_FACTOR, duration, keyPrefix: 'login-addr' });
  }

  /** Takes a point from both counters; a Throttled (instead of an attempt) when one is spent. */
  async admit(name: string, address: string): Promise<LoginAttempt | Throttled> {
    const user = nameKey(name);
    const addr = `a:${address}`;
    const byAddress = await this.#take(this.#addresses, addr);
    if (byAddress) return { scope: 'address', ...byAddress };
    const byUser = await this.#take(this.#users, user);
    if (byUser) {
      // Refused before any work: the address did not make an attempt.
      await this.#addresses.reward(addr, 1);
      return { scope: 'user', ...byUser };
    }
    return {
      succeeded: () => {
        void this.#users.delete(user);
        void this.#addresses.reward(addr, 1);
      },
    };
  }

  async #take(limiter: RateLimiterMemory, key: string): Promise<Omit<Throttled, 'scope'> | undefined> {
    try {
      await limiter.consume(key, 1);
      return undefined;
    } catch (e) {
      if (!(e instanceof RateLimiterRes)) throw e;
      return { retryAfterS: retryAfter(e.msBeforeNext), first: e.consumedPoints === limiter.points + 1 };
    }
  }
}

export const isThrottled = (a: LoginAttempt | Throttled): a is Throttled => 'retryAfterS' in a;

/** The 429 for a throttled login, with Retry-After in seconds. */
export const throttledError = (t: Throttled): Error =>
  rateLimited(
    `Too many failed logins ${t.scope === 'user' ? 'for this user name' : 'from this address'}: try again in ${t.retryAfterS} s. (Requests with credentials verified before keep working.)`,
    { code: 'auth.throttled', headers: { 'retry-after': String(t.retryAfterS) } },
  );
