/**
 * Small helpers shared by the local models: reading `parameters` (untrusted JSON from a
 * `_predict` body or a block config) into typed values, honouring cancellation, and mapping
 * a library's token back to character offsets in the caller's text.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { JsonObject } from '../../util/json.js';

/** How long a batch may hold the event loop before letting timers, I/O and aborts in. */
const SLICE_MS = 20;

/**
 * `fn` over every text, in order. Checks `signal` before each text (throwing its reason, an
 * AbortError by default), and yields to the event loop every ~20 ms so that a large batch
 * neither starves the instance's other work nor ignores an abort that arrives meanwhile.
 */
export async function mapTexts(
  texts: readonly string[],
  signal: AbortSignal | undefined,
  fn: (text: string) => JsonObject,
): Promise<JsonObject[]> {
  const out: JsonObject[] = [];
  let sliceStart = performance.now();
  for (const text of texts) {
    if (performance.now() - sliceStart > SLICE_MS) {
      await yieldToEventLoop();
      sliceStart = performance.now();
    }
    signal?.throwIfAborted();
    out.push(fn(text));
  }
  return out;
}

/** `parameters[key]` as a list of strings; anything else (absent, wrong type) → undefined. */
export function stringListParam(parameters: JsonObject, key: string): string[] | undefined {
  const v = parameters[key];
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v)) return undefined;
  const out = v.filter((x): x is string => typeof x === 'string');
  return out.length > 0 ? out : undefined;
}

export function numberParam(parameters: JsonObject, key: string): number | undefined {
  const v = parameters[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function booleanParam(parameters: JsonObject, key: string): boolean | undefined {
  const v = parameters[key];
  return typeof v === 'boolean' ? v : undefined;
}

/** `parameters[key]` as a word → number map (e.g. sentiment `extras`). */
export function numberMapParam(parameters: JsonObject, key: string): Record<string, number> | undefined {
  const v = parameters[key];
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'number' && Number.isFinite(x)) out[k] = x;
  return out;
}

/**
 * Where `value` starts in `text`, given where the library says it should (`expected`) and
 * where the previous token ended (`cursor`). Libraries report offsets that are right almost
 * always; this guards against the rare normalization (dropped trailing spaces, unusual
 * whitespace) so that `text.slice(start, end)` always gives back the token text.
 */
export function locate(text: string, value: string, expected: number, cursor: number): number {
  if (value === '') return Math.max(expected, cursor);
  if (expected >= 0 && text.startsWith(value, expected)) return expected;
  const found = text.indexOf(value, cursor);
  return found >= 0 ? found : Math.max(expected, cursor);
}

/** Rounds scores so that JSON output stays readable and stable across runs. */
export function round(n: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
