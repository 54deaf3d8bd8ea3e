/**
 * A resolved secret (a credential value, or a text a credential was substituted into) as a
 * type that never prints: `String()`, template literals, `JSON.stringify`, `util.inspect`
 * (and so pino and the store) all see `[secret]`. Only `reveal()` gives the value, which the
 * outbound client calls at the moment it builds the request.
 *
 * Every value that was ever a secret is also remembered (in memory, bounded) so that step
 * errors can be scrubbed of it before they are stored or logged: a defence in depth for texts
 * that are built from the unresolved template anyway.
 */
import { inspect } from 'node:util';

export const SECRET_TEXT = '[secret]';
/** What a secret value is replaced with when it is scrubbed out of a text. */
export const SCRUBBED = '***';

/** Shorter values are not scrubbed: replacing every "ab" in an error would garble it. */
const MIN_SCRUB_LENGTH = 6;
/** Distinct values remembered; the oldest are forgotten first. */
const MAX_REMEMBERED = 2048;

const remembered = new Set<string>();

/** Remembers `value` as a secret to scrub out of step errors (see `scrubSecrets`). */
export function rememberSecret(value: string): void {
  if (value.length < MIN_SCRUB_LENGTH) return;
  if (remembered.has(value)) {
    remembered.delete(value); // refresh: re-inserted last, forgotten last
  } else if (remembered.size >= MAX_REMEMBERED) {
    const oldest = remembered.values().next();
    if (oldest.done !== true) remembered.delete(oldest.value);
  }
  remembered.add(value);
}

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
    rememberSecret(value);
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return SECRET_TEXT;
  }

  toJSON(): string {
    return SECRET_TEXT;
  }

  [Symbol.toPrimitive](): string {
    return SECRET_TEXT;
  }

  [inspect.custom](): string {
    return SECRET_TEXT;
  }
}

/** A text that may or may not hold a secret. */
export type MaybeSecret = string | Secret;

export const reveal = (v: MaybeSecret): string => (typeof v === 'string' ? v : v.reveal());

/** The scrubbable values among `values` (long enough, longest first so overlaps go whole). */
function scrubList(values: Iterable<string>): string[] {
  return [...new Set([...values].filter((v) => v.length >= MIN_SCRUB_LENGTH))].sort((a, b) => b.length - a.length);
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/**
 * Replaces each value, in any letter case (a host name is lower-cased by URL parsing) and as
 * it appears inside a JSON string (an echoed body). The patterns are literals: linear time.
 */
function scrubWith(text: string, list: readonly string[]): string {
  let out = text;
  const lower = text.toLowerCase();
  for (const v of list) {
    const escaped = JSON.stringify(v).slice(1, -1);
    for (const form of escaped === v ? [v] : [v, escaped]) {
      if (!lower.includes(form.toLowerCase())) continue;
      out = out.replace(new RegExp(escapeRegExp(form), 'gi'), SCRUBBED);
    }
  }
  return out;
}

/**
 * `text` with every given secret value, and every value remembered as a secret, replaced by
 * `***`.
 */
export function scrubSecrets(text: string, extra: Iterable<string> = []): string {
  return scrubWith(text, scrubList([...remembered, ...extra]));
}

/**
 * A JSON value with the given secret values replaced by `***` in every string and key (for
 * answers of remote services that echo a credential back). Returns `value` itself when none
 * occurs.
 */
export function scrubJson<T>(value: T, secrets: Iterable<string>): T {
  const list = scrubList(secrets);
  if (list.length === 0) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return scrubWith(v, list);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[scrubWith(k, list)] = walk(x);
      return out;
    }
    return v;
  };
  const text = JSON.stringify(value)?.toLowerCase();
  if (
    text === undefined ||
    !list.some((s) => text.includes(s.toLowerCase()) || text.includes(JSON.stringify(s).slice(1, -1).toLowerCase()))
  )
    return value;
  return walk(value) as T;
}
