/**
 * Whether the store's data is intact, for `/_flowd/health` and `flowd doctor`: set by the
 * start-up check (SQLite `PRAGMA quick_check`) and latched by the first error at run time that
 * says the file is damaged. Once damaged it stays so until a restart: damage does not heal.
 */

export interface StoreIntegrity {
  ok: boolean;
  /** What is wrong and what to do; only when not ok. */
  reason?: string;
}

/** SQLite's "database disk image is malformed" (any extended code) and "file is not a database". */
export function isCorruptionError(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB'));
}

export class IntegrityLatch {
  #reason: string | undefined;

  /** Called once, when the store first turns damaged. */
  readonly #onDamaged: (reason: string) => void;

  constructor(onDamaged: (reason: string) => void = () => undefined) {
    this.#onDamaged = onDamaged;
  }

  get(): StoreIntegrity {
    return this.#reason === undefined ? { ok: true } : { ok: false, reason: this.#reason };
  }

  markDamaged(reason: string): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#onDamaged(reason);
  }

  /** Latches on a corruption error; any other error is none of its business. */
  observe(e: unknown, advice: string): void {
    if (this.#reason === undefined && isCorruptionError(e)) this.markDamaged(`${(e as Error).message}. ${advice}`);
  }
}

/** A start-up failure caused by damage, with what to do about it; any other error unchanged. */
export function withDamageAdvice(e: unknown, integrity: StoreIntegrity | undefined): unknown {
  if (!isCorruptionError(e) || integrity === undefined || integrity.ok) return e;
  return new Error(`Cannot start on a damaged database (${(e as Error).message}). ${integrity.reason ?? ''}`, { cause: e });
}
