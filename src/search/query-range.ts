/**
 * The `range` query. Without a mapping, the document value decides how to compare: numbers
 * numerically (epoch-millis dates included), strings that look like ISO dates against date bounds
 * (ISO strings, date math such as `now-1d/d`, or epoch millis), other strings lexicographically.
 */
import { searchError, multipleFields, parsingError } from './errors.js';
import { type Matcher, fieldRef, numericString, scalarsAt } from './fields.js';
import { type JsonObject, type Scalar, entries, isObject, isScalar, readBool, readBoost, readText } from './values.js';

export interface Bound {
  readonly value: Scalar;
  /** The bound as a number: a number, a numeric string, or a date in epoch millis. */
  readonly num: number | undefined;
  /** The bound was written as a date (ISO string or date math). */
  readonly date: boolean;
  readonly inclusive: boolean;
}

export function parseRange(body: JsonObject, now: number): Matcher {
  let field: string | undefined;
  let spec: JsonObject | undefined;
  for (const [k, v] of entries(body)) {
    if (v === null) continue;
    if (isObject(v)) {
      if (field !== undefined) throw multipleFields('range', field, k);
      field = k;
      spec = v;
    } else if (isScalar(v) && (k === 'boost' || k === '_name')) {
      if (k === 'boost') readBoost(v, 'range');
    } else {
      throw parsingError(`[range] query does not support [${k}]`);
    }
  }
  if (field === undefined || field === '' || spec === undefined) {
    throw searchError('illegal_argument_exception', 'field name is null or empty');
  }

  let from: Scalar | null = null;
  let to: Scalar | null = null;
  let includeLower = true;
  let includeUpper = true;
  let epochSeconds = false;
  for (const [k, v] of entries(spec)) {
    if (v !== null && !isScalar(v)) throw parsingError(`[range] query does not support [${k}]`);
    switch (k) {
      case 'gt':
      case 'gte':
      case 'from':
        from = v;
        if (k !== 'from') includeLower = k === 'gte';
        break;
      case 'lt':
      case 'lte':
      case 'to':
        to = v;
        if (k !== 'to') includeUpper = k === 'lte';
        break;
      case 'include_lower':
        includeLower = readBool(v, k);
        break;
      case 'include_upper':
        includeUpper = readBool(v, k);
        break;
      case 'format':
        epochSeconds = v !== null && readText(v, k).split('||').includes('epoch_second');
        break;
      case 'relation': {
        const r = v === null ? 'intersects' : readText(v, k).toLowerCase();
        if (!['intersects', 'contains', 'within'].includes(r)) {
          throw parsingError(`[range] query does not support relation [${String(v)}]`);
        }
        break;
      }
      case 'time_zone':
      case '_name':
        break; // dates are UTC; names only label matches
      case 'boost':
        readBoost(v, 'range');
        break;
      default:
        throw parsingError(`[range] query does not support [${k}]`);
    }
  }
  // Date math rounds the lower bound down when inclusive and up when exclusive, and the reverse above.
  const lower = from === null ? undefined : toBound(from, includeLower, !includeLower, now, epochSeconds);
  const upper = to === null ? undefined : toBound(to, includeUpper, includeUpper, now, epochSeconds);
  const { path } = fieldRef(field);
  return (ctx) => scalarsAt(ctx, path).some((v) => within(v, lower, upper));
}

function within(v: Scalar, lower: Bound | undefined, upper: Bound | undefined): boolean {
  if (lower !== undefined) {
    const c = compare(v, lower);
    if (c === undefined || c < 0 || (c === 0 && !lower.inclusive)) return false;
  }
  if (upper !== undefined) {
    const c = compare(v, upper);
    if (c === undefined || c > 0 || (c === 0 && !upper.inclusive)) return false;
  }
  return true;
}

/** Sign of (doc value - bound), or undefined when the two cannot be compared. */
function compare(v: Scalar, b: Bound): number | undefined {
  if (typeof v === 'number') return b.num === undefined ? undefined : Math.sign(v - b.num);
  if (typeof v === 'boolean') return typeof b.value === 'boolean' ? Number(v) - Number(b.value) : undefined;
  if (b.date || typeof b.value === 'number') {
    const n = parseIsoDate(v) ?? numericString(v);
    if (n !== undefined && b.num !== undefined) return Math.sign(n - b.num);
    if (b.date) return undefined;
  }
  if (typeof b.value === 'boolean') return undefined;
  const s = String(b.value);
  return v < s ? -1 : v > s ? 1 : 0;
}

export function toBound(v: Scalar, inclusive: boolean, roundUp: boolean, now: number, epochSeconds: boolean): Bound {
  const scale = epochSeconds ? 1000 : 1;
  if (typeof v === 'number') return { value: v, num: v * scale, date: false, inclusive };
  if (typeof v === 'boolean') return { value: v, num: undefined, date: false, inclusive };
  const n = numericString(v);
  if (n !== undefined) return { value: v, num: n * scale, date: false, inclusive };
  const d = dateMath(v, roundUp, now);
  return { value: v, num: d, date: d !== undefined, inclusive };
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

/** strict_date_optional_time, read as UTC when no offset is given (as OpenSearch does). */
export function parseIsoDate(s: string): number | undefined {
  const m = ISO_DATE.exec(s.trim());
  if (m === null) return undefined;
  const [y, mo, d, h, mi, sec] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number];
  const frac = m[7] ?? '';
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59) return undefined;
  let ms = utc(y, mo - 1, d) + ((h * 60 + mi) * 60 + sec) * 1000 + Number(frac.padEnd(3, '0').slice(0, 3));
  const zone = m[8];
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0')) * 60000;
  }
  return ms;
}

/** Date.UTC without its two-digit-year quirk. */
function utc(y: number, month: number, day: number): number {
  const d = new Date(0);
  d.setUTCFullYear(y, month, day);
  return d.getTime();
}

const UNIT_MS: Record<string, number> = { w: 604800000, d: 86400000, h: 3600000, H: 3600000, m: 60000, s: 1000 };

/**
 * Date math (`now`, `now-1d/d`, `2024-01-01||+1M`) or a plain ISO date, in epoch millis; undefined
 * when the string is not a date at all (it is then compared as a plain string).
 */
export function dateMath(s: string, roundUp: boolean, now: number): number | undefined {
  let t: number | undefined;
  let rest: string;
  if (s.startsWith('now')) {
    t = now;
    rest = s.slice(3);
  } else {
    const i = s.indexOf('||');
    if (i < 0) return parseIsoDate(s);
    const anchor = s.slice(0, i);
    t = parseIsoDate(anchor) ?? numericString(anchor);
    rest = s.slice(i + 2);
  }
  const op = /^(?:([+-])(\d{1,9})([yMwdhHms])|\/([yMwdhHms]))/;
  while (t !== undefined && rest !== '') {
    const m = op.exec(rest);
    if (m === null) return undefined;
    rest = rest.slice(m[0].length);
    t = m[4] !== undefined ? round(t, m[4], roundUp) : add(t, m[3] ?? 'd', (m[1] === '-' ? -1 : 1) * Number(m[2]));
  }
  return t !== undefined && Number.isFinite(t) ? t : undefined;
}

function add(t: number, unit: string, n: number): number {
  if (unit === 'y' || unit === 'M') {
    const d = new Date(t);
    if (unit === 'y') d.setUTCFullYear(d.getUTCFullYear() + n);
    else d.setUTCMonth(d.getUTCMonth() + n);
    return d.getTime();
  }
  return t + n * (UNIT_MS[unit] ?? 0);
}

/** Round down to the start of the unit, or (roundUp) to its last millisecond. */
function round(t: number, unit: string, roundUp: boolean): number {
  const d = new Date(t);
  let start: number;
  let next: number;
  if (unit === 'y') {
    start = utc(d.getUTCFullYear(), 0, 1);
    next = utc(d.getUTCFullYear() + 1, 0, 1);
  } else if (unit === 'M') {
    start = utc(d.getUTCFullYear(), d.getUTCMonth(), 1);
    next = utc(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  } else if (unit === 'w') {
    const day = utc(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    start = day - ((d.getUTCDay() + 6) % 7) * 86400000; // ISO weeks start on Monday
    next = start + 604800000;
  } else {
    const size = UNIT_MS[unit] ?? 1;
    start = t - (((t % size) + size) % size);
    next = start + size;
  }
  return roundUp ? next - 1 : start;
}
