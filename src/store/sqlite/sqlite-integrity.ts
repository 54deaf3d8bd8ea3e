/**
 * Noticing a damaged SQLite file: `PRAGMA quick_check` when flowd starts (it reads every page,
 * so it costs about one pass over the file), and, at run time, the first SQLITE_CORRUPT or
 * SQLITE_NOTADB error any store method meets (see store-integrity.ts).
 */
import type { Database as Db } from 'better-sqlite3';
import type { IntegrityLatch } from '../store-integrity.js';
import { isCorruptionError } from '../store-integrity.js';

/** Problems listed at most; one is enough to act on. */
const MAX_PROBLEMS = 5;

export const repairAdvice = (path: string): string =>
  `With flowd stopped, restore ${path} from a backup (the sqlite3 shell's .recover command can salvage what is still readable), or move the data directory away to start fresh.`;

export interface QuickCheckResult {
  /** Empty when the file is sound. */
  problems: string[];
  ms: number;
}

export function quickCheck(db: Db): QuickCheckResult {
  const t0 = performance.now();
  let problems: string[];
  try {
    const rows = db.pragma(`quick_check(${MAX_PROBLEMS})`) as Array<{ quick_check: string }>;
    problems = rows.map((r) => r.quick_check).filter((p) => p !== 'ok');
  } catch (e) {
    // Damage bad enough that the check itself cannot walk the file.
    if (!isCorruptionError(e)) throw e;
    problems = [(e as Error).message];
  }
  return { problems, ms: Math.round(performance.now() - t0) };
}

/**
 * Routes every method of `target` (an instance of `proto`'s class) through the latch: a
 * rejected or thrown corruption error marks the store damaged, then travels on unchanged.
 * One place for all the store's methods, and only a `then` per call on the way.
 */
export function latchCorruptionErrors(target: object, proto: object, latch: IntegrityLatch, advice: string): void {
  const self = target as Record<string, unknown>;
  const observe = (e: unknown): never => {
    latch.observe(e, advice);
    throw e;
  };
  // The store's own methods and those it inherits (the shared facade's), nearest first.
  const seen = new Set<string>(['constructor']);
  const methods: Array<[string, unknown]> = [];
  for (let p: object | null = proto; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (seen.has(name)) continue;
      seen.add(name);
      methods.push([name, Object.getOwnPropertyDescriptor(p, name)?.value]);
    }
  }
  for (const [name, fn] of methods) {
    if (typeof fn !== 'function') continue;
    const method = fn as (...args: unknown[]) => unknown;
    self[name] = (...args: unknown[]): unknown => {
      let result: unknown;
      try {
        result = method.apply(target, args);
      } catch (e) {
        observe(e);
      }
      return result instanceof Promise ? result.then(undefined, observe) : result;
    };
  }
}
