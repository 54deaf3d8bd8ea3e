/** Field readers for the `flow` section: every failure names the field and the accepted form. */
import { FlowdError, validationError } from '../errors.js';
import { parseTimeValue } from '../template/time-value.js';

export const flowError = (message: string, code = 'flow.invalid') => validationError(message, { code });

/** Longest time value accepted (a day): beyond it timers overflow and a limit means nothing. */
const MAX_TIME_MS = 86_400_000;

/** A time value: a number of seconds (fractions allowed) or a string like "500ms", "10s", "2m". */
export function readTimeMs(v: unknown, field: string, allowZero = false): number {
  let ms: number;
  if (typeof v === 'number' && Number.isFinite(v)) ms = Math.round(v * 1000);
  else if (typeof v === 'string') {
    try {
      ms = parseTimeValue(v, field, { allowMinusOne: false });
    } catch (e) {
      throw e instanceof FlowdError ? flowError(`${e.message} Use a number of seconds or a time value such as "500ms", "10s" or "2m".`) : e;
    }
  } else {
    throw flowError(`Invalid [${field}]: ${JSON.stringify(v)}. Use a number of seconds or a time value such as "500ms", "10s" or "2m".`);
  }
  if (ms < 0 || (ms === 0 && !allowZero) || ms > MAX_TIME_MS) {
    throw flowError(
      `Invalid [${field}]: ${JSON.stringify(v)}. It must be ${allowZero ? 'at least 0' : 'greater than 0'} and at most 1 day (e.g. "30s").`,
    );
  }
  return ms;
}

export function readInt(v: unknown, field: string, min: number, max: number, hint = ''): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw flowError(`Invalid [${field}]: ${JSON.stringify(v)}. Use an integer from ${min} to ${max}${hint}.`);
  }
  return v;
}

export function rejectUnknownKeys(obj: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw flowError(`Unknown field [${where}.${k}]. Allowed fields: ${allowed.join(', ')}.`);
  }
}
