/**
 * Keeps long-lived responses (event streams) honest about who may still read them: each stream
 * watches the credential its request was let in with (the basic-auth user, or the runtime API's
 * X-API-KEY) and is ended when that credential stops being valid: a key deleted or rotated
 * (after its grace period), a user deleted, re-passworded or given other roles.
 *
 * Changes made on this node re-check at once (the key and user services announce them). Every
 * CHECK_MS the store is asked again, which also catches changes made on other nodes of a
 * cluster and grace periods running out: one store read per distinct credential per second,
 * whatever the number of streams sharing it, and nothing while no stream is open.
 */
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { ApiKeyService } from '../../runtime/api-keys.js';
import { hashApiKey } from '../../runtime/api-keys.js';
import type { Authenticator } from './authenticator.js';
import type { AuthenticatedUser } from './roles.js';

export const STREAM_CHECK_MS = 1_000;

export interface StreamGuardDeps {
  authenticator: Authenticator | undefined;
  apiKeys: ApiKeyService;
  logger?: Logger;
  checkMs?: number;
}

interface Credential {
  /** Streams sharing a credential share its check. */
  id: string;
  stillValid: () => Promise<boolean>;
}

interface Watched {
  stillValid: () => Promise<boolean>;
  revokes: Set<() => void>;
}

export class StreamGuard {
  readonly #deps: StreamGuardDeps;
  readonly #watched = new Map<string, Watched>();
  readonly #userIds = new WeakMap<AuthenticatedUser, number>();
  readonly #unsubscribe: Array<() => void> = [];
  #nextUserId = 0;
  #timer: NodeJS.Timeout | undefined;
  #checking = false;
  #again = false;

  constructor(deps: StreamGuardDeps) {
    this.#deps = deps;
    const now = (): void => this.checkNow();
    if (deps.authenticator) this.#unsubscribe.push(deps.authenticator.onUserChange(now));
    this.#unsubscribe.push(deps.apiKeys.onRevoke(now));
  }

  /**
   * Watches the credential `req` was admitted with; `revoke` runs once it is no longer valid.
   * Returns the function that stops watching. A request without one (security disabled) is
   * not watched.
   */
  watch(req: FastifyRequest, revoke: () => void): () => void {
    const cred = this.#credentialOf(req);
    if (!cred) return () => undefined;
    let w = this.#watched.get(cred.id);
    if (!w) {
      w = { stillValid: cred.stillValid, revokes: new Set() };
      this.#watched.set(cred.id, w);
    }
    w.revokes.add(revoke);
    this.#start();
    const watched = w;
    return () => {
      watched.revokes.delete(revoke);
      if (watched.revokes.size === 0 && this.#watched.get(cred.id) === watched) this.#watched.delete(cred.id);
      if (this.#watched.size === 0) this.#stop();
    };
  }

  /** Re-checks every watched credential now (coalesced while a check runs). */
  checkNow(): void {
    if (this.#checking) {
      this.#again = true;
      return;
    }
    this.#checking = true;
    void this.#checkAll().finally(() => {
      this.#checking = false;
      if (this.#again) {
        this.#again = false;
        this.checkNow();
      }
    });
  }

  close(): void {
    this.#stop();
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe.length = 0;
  }

  #credentialOf(req: FastifyRequest): Credential | undefined {
    const user = req.flowdUser;
    const auth = this.#deps.authenticator;
    if (user !== undefined && auth !== undefined) {
      // One id per authenticated user object: requests with the same cached credential share it.
      let n = this.#userIds.get(user);
      if (n === undefined) {
        n = ++this.#nextUserId;
        this.#userIds.set(user, n);
      }
      return { id: `u:${n}`, stillValid: () => auth.stillCurrent(user) };
    }
    const h = req.headers['x-api-key'];
    const key = Array.isArray(h) ? h[0] : h;
    const keys = this.#deps.apiKeys;
    if (key !== undefined && key.trim() !== '' && keys.required)
      return { id: `k:${hashApiKey(key.trim())}`, stillValid: () => keys.stillValid(key) };
    return undefined;
  }

  async #checkAll(): Promise<void> {
    await Promise.all(
      [...this.#watched].map(async ([id, w]) => {
        let ok: boolean;
        try {
          ok = await w.stillValid();
        } catch (e) {
          // The store did not answer: keep the stream, ask again on the next tick.
          this.#deps.logger?.warn({ err: e }, 'event stream: could not re-check a credential; will retry');
          return;
        }
        if (ok) return;
        if (this.#watched.get(id) === w) this.#watched.delete(id);
        for (const revoke of [...w.revokes]) revoke();
      }),
    );
    if (this.#watched.size === 0) this.#stop();
  }

  #start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.checkNow(), this.#deps.checkMs ?? STREAM_CHECK_MS);
    this.#timer.unref();
  }

  #stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
