/**
 * OpenSearch TimeValue strings ("20s", "1m", "-1"), used by `node_timeout` (a step's timeout),
 * `wait_for_completion_timeout` and `delay`. Parsing follows `TimeValue.parseTimeValue`:
 * case-insensitive, surrounding whitespace ignored, integral amounts only, and a unit required
 * except for the plain values "0" and "-1".
 */
import { validationError } from '../errors.js';

/** Unit suffixes, longest first so that "ms" is not read as "s" and "nanos" not as "s". */
const UNITS: ReadonlyArray<readonly [suffix: string, nanos: number]> = [
  ['nanos', 1],
  ['micros', 1_000],
  ['ms', 1_000_000],
  ['s', 1_000_000_000],
  ['m', 60_000_000_000],
  ['h', 3_600_000_000_000],
  ['d', 86_400_000_000_000],
];

const NANOS_PER_MS = 1_000_000;

export interface ParseTimeValueOptions {
  /** Accept the plain "-1" (meaning "no limit"); true by default. `node_timeout` says false. */
  allowMinusOne?: boolean;
  /** Largest value accepted, in ms; default MAX_TIMER_MS. */
  maxMs?: number;
}

/** The longest delay a Node.js timer takes (2^31-1 ms, about 24.8 days): longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const timeError = (message: string) => validationError(message, { code: 'time_value.invalid' });

/** Milliseconds for `value`; -1 for "-1". Sub-millisecond amounts round down, as TimeValue.millis() does. */
export function parseTimeValue(value: string, field: string, opts: ParseTimeValueOptions = {}): number {
  const allowMinusOne = opts.allowMinusOne ?? true;
  const negative = () => timeError(`Failed to parse timeout value [${value}] for field [${field}]. Must be positive`);
  const garbage = (why: string) => timeError(`Failed to parse timeout value [${value}] for field [${field}]: ${why}`);

  const normalized = value.trim().toLowerCase();
  if (normalized === '-1') {
    if (!allowMinusOne) throw negative();
    return -1;
  }
  if (normalized === '0') return 0;
  const unit = UNITS.find(([suffix]) => normalized.endsWith(suffix) && /\d\s*$/.test(normalized.slice(0, -suffix.length)));
  if (unit === undefined) {
    throw garbage('the unit is missing or unrecognized (use nanos, micros, ms, s, m, h or d, e.g. "30s").');
  }
  const amount = normalized.slice(0, -unit[0].length).trim();
  if (!/^[+-]?\d+(?:\.\d+)?$/.test(amount)) throw garbage('the amount is not a number.');
  const n = Number(amount);
  if (n < 0) throw negative();
  if (!Number.isInteger(n)) throw garbage('fractional time values are not supported.');
  const nanos = n * unit[1];
  if (!Number.isSafeInteger(nanos)) throw garbage('the value is too large.');
  const ms = Math.floor(nanos / NANOS_PER_MS);
  const maxMs = opts.maxMs ?? MAX_TIMER_MS;
  if (ms > maxMs) {
    const why = maxMs === MAX_TIMER_MS ? ' (about 24.8 days, the longest timer Node.js supports)' : '';
    throw garbage(`the value is too large: at most ${formatTimeValue(maxMs)}${why}.`);
  }
  return ms;
}

/** The shortest exact TimeValue string for `ms`: 60000 → "1m", 15000 → "15s", 250 → "250ms". */
export function formatTimeValue(ms: number): string {
  if (ms === -1) return '-1';
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`not a time value: ${ms}`);
  const nanos = Math.round(ms * NANOS_PER_MS);
  if (nanos === 0) return '0ms';
  for (let i = UNITS.length - 1; i >= 0; i--) {
    const [suffix, size] = UNITS[i] as readonly [string, number];
    if (nanos % size === 0) return `${nanos / size}${suffix}`;
  }
  return `${nanos}nanos`;
}
