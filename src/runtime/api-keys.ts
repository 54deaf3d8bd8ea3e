/**
 * API keys for the runtime API: created and rotated here (the value is shown once, only its
 * SHA-256 is stored) and verified on every runtime call. Verification is hot (status and
 * analyze), so verified hashes are cached briefly and last-used times are written in batches.
 *
 * Rotation: without a grace period the old value stops working at once, as NL Flow's
 * "regenerate" does; with one (`rotate(id, { graceMs })`) the old value keeps working until the
 * grace period ends, so clients can switch over without downtime.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { forbidden, notFound, unauthenticated } from '../errors.js';
import type { ApiKeyRecord, Store } from '../store/store.js';
import { newId } from '../util/ids.js';

export const API_KEY_HEADER = 'X-API-KEY';
const KEY_PREFIX = 'flowd_';
/** Characters of the random part shown in listings: enough to tell keys apart, useless to guess with. */
const SHOWN_RANDOM_CHARS = 6;
const CACHE_MAX = 10_000;

export interface ApiKeyServiceOptions {
  store: Store;
  logger?: Logger;
  /** How long a verified key is trusted without asking the store (other nodes may revoke it). */
  cacheTtlMs?: number;
  /** How often last-used times are written. */
  flushIntervalMs?: number;
  now?: () => number;
  /** False when security is disabled (`--insecure`): the runtime API then asks for no key. */
  required?: boolean;
}

export interface NewApiKey {
  name: string;
  workflowIds: string[];
  createdBy?: string;
  /** The tenant it belongs to (multi-tenancy). */
  tenantId?: string;
}

/** A key record with its value: returned by create and rotate, the only time the value exists. */
export interface IssuedApiKey {
  record: ApiKeyRecord;
  key: string;
}

interface CacheEntry {
  record: ApiKeyRecord;
  until: number;
}

export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex');

function generateKey(): { key: string; prefix: string; hash: string } {
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  return { key, prefix: key.slice(0, KEY_PREFIX.length + SHOWN_RANDOM_CHARS), hash: hashApiKey(key) };
}

const CHALLENGE = { 'www-authenticate': `ApiKey header="${API_KEY_HEADER}"` };
const missing = () =>
  unauthenticated(`An API key is required: send it in the ${API_KEY_HEADER} header.`, { code: 'apikey.missing', headers: CHALLENGE });
const invalid = () =>
  unauthenticated(`The API key is not valid (unknown, deleted or rotated): send a current key in the ${API_KEY_HEADER} header.`, {
    code: 'apikey.invalid',
    headers: CHALLENGE,
  });

export class ApiKeyService {
  /** Whether runtime calls must carry a key (see requireApiKey). */
  readonly required: boolean;
  readonly #store: Store;
  readonly #logger: Logger | undefined;
  readonly #ttl: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, CacheEntry>();
  /** key id -> newest last-used time not yet written. */
  #pending = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #listeners = new Set<(id: string) => void>();

  constructor(opts: ApiKeyServiceOptions) {
    this.required = opts.required ?? true;
    this.#store = opts.store;
    this.#logger = opts.logger;
    this.#ttl = opts.cacheTtlMs ?? 5_000;
    this.#now = opts.now ?? Date.now;
    this.#timer = setInterval(() => void this.flush(), opts.flushIntervalMs ?? 1_000);
    this.#timer.unref();
  }

  async create(input: NewApiKey): Promise<IssuedApiKey> {
    const { key, prefix, hash } = generateKey();
    const record: ApiKeyRecord = {
      id: newId(),
      name: input.name,
      prefix,
      workflowIds: [...new Set(input.workflowIds)],
      createdAt: this.#now(),
    };
    if (input.createdBy !== undefined) record.createdBy = input.createdBy;
    if (input.tenantId !== undefined) record.tenantId = input.tenantId;
    await this.#store.createApiKey({ ...record, hash });
    return { record, key };
  }

  /** Writes pending last-used times first, so the listing is current. */
  async list(): Promise<ApiKeyRecord[]> {
    await this.flush();
    return this.#store.listApiKeys();
  }

  async delete(id: string): Promise<boolean> {
    this.#forget(id);
    this.#pending.delete(id);
    const ok = await this.#store.deleteApiKey(id);
    this.#revoked(id);
    return ok;
  }

  /** A new value for key `id`; the old one stops at once, or after `graceMs`. Throws 404 when unknown. */
  async rotate(id: string, opts: { graceMs?: number } = {}): Promise<IssuedApiKey> {
    const { key, prefix, hash } = generateKey();
    const graceUntil = opts.graceMs !== undefined && opts.graceMs > 0 ? this.#now() + opts.graceMs : undefined;
    this.#forget(id);
    const record = await this.#store.rotateApiKey(id, hash, prefix, graceUntil);
    if (!record) throw notFound(`API key [${id}] not found; list keys with GET /_flowd/api_keys.`, { code: 'apikey.not_found' });
    this.#revoked(id);
    return { record, key };
  }

  /**
   * Whether `key` still opens anything, asked of the store (never the cache): false once it was
   * deleted or rotated (after its grace period), here or on another node. Open streams poll it.
   */
  async stillValid(key: string): Promise<boolean> {
    return (await this.#store.getApiKeyByHash(hashApiKey(key.trim()))) !== undefined;
  }

  /** Calls `fn` with a key's id when it is deleted or rotated here; returns the unsubscribe. */
  onRevoke(fn: (id: string) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #revoked(id: string): void {
    for (const fn of this.#listeners) fn(id);
  }

  /** The key's record when `key` is valid and bound to `workflowId`; 401 / 403 otherwise. */
  async verify(key: string | undefined, workflowId: string): Promise<ApiKeyRecord> {
    if (key === undefined || key.trim() === '') throw missing();
    const now = this.#now();
    // The hot path looks the key up as sent (this process's memory only), without hashing.
    let record = this.#cachedRaw(key, now);
    if (!record) {
      const hash = hashApiKey(key.trim());
      record = this.#cached(hash, now) ?? (await this.#store.getApiKeyByHash(hash));
      if (!record) throw invalid();
      this.#remember(hash, record, now);
      this.#rememberRaw(key, hash);
    }
    if (!record.workflowIds.includes(workflowId)) {
      throw forbidden(
        `The API key [${record.prefix}…] (${record.name}) is not linked to workflow [${workflowId}]; use a key linked to it (an admin creates one with POST /_flowd/api_keys).`,
        { code: 'apikey.forbidden' },
      );
    }
    const prev = this.#pending.get(record.id);
    if (prev === undefined || prev < now) this.#pending.set(record.id, now);
    return record;
  }

  /** Writes the batched last-used times. */
  async flush(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    try {
      await this.#store.touchApiKeys([...batch].map(([id, at]) => ({ id, at })));
    } catch (e) {
      // Last-used times are informational: keep them for the next flush rather than fail a request.
      if (!this.#closed) for (const [id, at] of batch) if (!this.#pending.has(id)) this.#pending.set(id, at);
      this.#logger?.warn({ err: e }, 'could not record API key last-used times; will retry');
    }
  }

  /** Stops the timer and writes what is pending. Call before closing the store. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
    this.#closed = true;
  }

  /** Raw key → its hash, for keys verified recently; entries die with the hash's cache entry. */
  readonly #rawToHash = new Map<string, string>();

  #cachedRaw(key: string, now: number): ApiKeyRecord | undefined {
    const hash = this.#rawToHash.get(key);
    if (hash === undefined) return undefined;
    const rec = this.#cached(hash, now);
    if (!rec) this.#rawToHash.delete(key);
    return rec;
  }

  #rememberRaw(key: string, hash: string): void {
    if (this.#rawToHash.size >= CACHE_MAX) this.#rawToHash.clear();
    this.#rawToHash.set(key, hash);
  }

  #cached(hash: string, now: number): ApiKeyRecord | undefined {
    const hit = this.#cache.get(hash);
    if (!hit) return undefined;
    if (hit.until > now) return hit.record;
    this.#cache.delete(hash);
    return undefined;
  }

  #remember(hash: string, record: ApiKeyRecord, now: number): void {
    if (this.#cache.size >= CACHE_MAX) this.#cache.clear();
    // During a rotation grace period the entry must not outlive the old value's validity.
    const until = Math.min(now + this.#ttl, record.previousKeyValidUntil ?? Infinity);
    this.#cache.set(hash, { record, until });
  }

  /** Changes made here take effect at once in this process; the TTL only bounds other nodes' changes. */
  #forget(id: string): void {
    for (const [hash, entry] of this.#cache) if (entry.record.id === id) this.#cache.delete(hash);
  }
}
