/**
 * The bounds every decoded request body must respect (README "Security"): nesting depth, number
 * of values, size once YAML aliases are expanded, and YAML tokens. A breach is a 400 that names
 * the limit and its setting, distinct from Flow Framework's "template content invalid" message,
 * so a client knows what to change. All checks here are linear and iterative: a hostile body
 * can neither overflow the stack nor make them slow.
 */
import { validationError } from '../errors.js';
import type { FlowdError } from '../errors.js';

export interface BodyLimits {
  /** Deepest nesting of arrays and objects (the top-level container is level 1). */
  maxDepth: number;
  /** Most values (objects, arrays, scalars; keys not counted), YAML aliases expanded. */
  maxValues: number;
  /** Largest body in bytes; also bounds a YAML document's size once its aliases are expanded. */
  maxBytes: number;
  /** Most YAML tokens, a line of a multi-line string counted as one (YAML decodes far slower than JSON). */
  maxYamlTokens: number;
}

export const DEFAULT_BODY_LIMITS: Readonly<BodyLimits> = Object.freeze({
  maxDepth: 128,
  maxValues: 1_000_000,
  maxBytes: 10 * 1024 * 1024,
  maxYamlTokens: 100_000,
});

const LIMIT_CODES = new Set([
  'request.body_too_deep',
  'request.body_too_many_values',
  'request.body_too_large',
  'request.body_too_many_yaml_tokens',
  'request.body_non_finite_number',
  'request.body_nul_character',
]);

/** True for the errors below: routes that reword parse failures must let these through. */
export function isBodyLimitError(e: unknown): e is FlowdError {
  return typeof e === 'object' && e !== null && LIMIT_CODES.has((e as { code?: unknown }).code as string);
}

export const tooDeep = (limits: BodyLimits): FlowdError =>
  validationError(`Request body is nested deeper than ${limits.maxDepth} levels (FLOWD_BODY_MAX_DEPTH).`, {
    code: 'request.body_too_deep',
  });

export const tooManyValues = (limits: BodyLimits): FlowdError =>
  validationError(`Request body has more than ${limits.maxValues} values (FLOWD_BODY_MAX_VALUES).`, {
    code: 'request.body_too_many_values',
  });

export const expandsTooMuch = (limits: BodyLimits): FlowdError =>
  validationError(
    `Request body expands to more than ${limits.maxBytes} bytes once its YAML aliases are resolved (FLOWD_BODY_LIMIT_BYTES).`,
    {
      code: 'request.body_too_large',
    },
  );

export const tooManyYamlTokens = (limits: BodyLimits): FlowdError =>
  validationError(
    `Request body has more than ${limits.maxYamlTokens} YAML tokens, each line of a multi-line string counted as one (FLOWD_BODY_MAX_YAML_TOKENS): send large bodies as JSON.`,
    {
      code: 'request.body_too_many_yaml_tokens',
    },
  );

export const nonFinite = (token: string): FlowdError =>
  validationError(
    `Request body holds a number that is not finite: ${token.length > 40 ? `${token.slice(0, 40)}…` : token} (numbers must lie within ±1.7976931348623157e308).`,
    { code: 'request.body_non_finite_number' },
  );

export const nulCharacter = (): FlowdError =>
  validationError(
    'Request body holds a string with the NUL character (\\u0000), which flowd cannot store (PostgreSQL text cannot hold it): remove it or encode the data, e.g. as base64.',
    { code: 'request.body_nul_character' },
  );

const hasNul = (s: string): boolean => s.includes('\0');

/**
 * Refuse a decoded JSON body holding NUL in a string or key. Only a `\u0000` escape can put one
 * there (JSON forbids it raw), so the walk runs only when the text has one.
 */
export function refuseNul(text: string, value: unknown): void {
  if (!text.includes('\\u0000')) return;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (hasNul(v)) throw nulCharacter();
    } else if (Array.isArray(v)) stack.push(...(v as unknown[]));
    else if (typeof v === 'object' && v !== null) {
      for (const [k, item] of Object.entries(v)) {
        if (hasNul(k)) throw nulCharacter();
        stack.push(item);
      }
    }
  }
}

// Character codes the JSON scan looks at.
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const COLON = 0x3a;
const OPEN_ARR = 0x5b;
const BACKSLASH = 0x5c;
const CLOSE_ARR = 0x5d;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;

const ends = (c: number): boolean =>
  c === SPACE ||
  c === TAB ||
  c === LF ||
  c === CR ||
  c === COMMA ||
  c === COLON ||
  c === CLOSE_ARR ||
  c === CLOSE_OBJ ||
  c === OPEN_ARR ||
  c === OPEN_OBJ ||
  c === QUOTE;

/** Only long numbers or ones with an exponent can overflow to ±Infinity. */
function mayOverflow(text: string, from: number, to: number): boolean {
  if (to - from > 15) return true;
  for (let k = from; k < to; k++) {
    const c = text.charCodeAt(k);
    if (c === LOWER_E || c === UPPER_E) return true;
  }
  return false;
}

/**
 * One pass over JSON text before JSON.parse: depth, value count and non-finite numbers (`1e999`
 * parses to Infinity, which JSON.stringify would silently turn into null). Syntax is left to
 * JSON.parse; on malformed text the counts are still bounded, and a breach reported first.
 */
export function scanJson(text: string, limits: BodyLimits): void {
  const { maxDepth, maxValues } = limits;
  // 1 where the container at that depth is an object (its next string may be a key).
  const isObject = new Uint8Array(maxDepth + 2);
  let depth = 0;
  let values = 0;
  let expectKey = false;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === SPACE || c === TAB || c === LF || c === CR) {
      i++;
      continue;
    }
    if (c === QUOTE) {
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q === -1) {
          j = n;
          break;
        }
        let b = q - 1;
        while (b > i && text.charCodeAt(b) === BACKSLASH) b--;
        j = q + 1;
        if ((q - 1 - b) % 2 === 0) break; // an even run of backslashes: the quote closes
      }
      if (expectKey) expectKey = false;
      else if (++values > maxValues) throw tooManyValues(limits);
      i = j;
      continue;
    }
    if (c === OPEN_OBJ || c === OPEN_ARR) {
      if (++values > maxValues) throw tooManyValues(limits);
      if (++depth > maxDepth) throw tooDeep(limits);
      isObject[depth] = c === OPEN_OBJ ? 1 : 0;
      expectKey = c === OPEN_OBJ;
      i++;
      continue;
    }
    if (c === CLOSE_OBJ || c === CLOSE_ARR) {
      if (depth > 0) depth--;
      expectKey = false;
      i++;
      continue;
    }
    if (c === COMMA) {
      expectKey = depth > 0 && isObject[depth] === 1;
      i++;
      continue;
    }
    if (c === COLON) {
      expectKey = false;
      i++;
      continue;
    }
    // A number or literal: up to the next structural character.
    let j = i + 1;
    while (j < n && !ends(text.charCodeAt(j))) j++;
    if (++values > maxValues) throw tooManyValues(limits);
    if ((c === MINUS || (c >= DIGIT_0 && c <= DIGIT_9)) && mayOverflow(text, i, j)) {
      const token = text.slice(i, j);
      const v = Number(token);
      if (v === Infinity || v === -Infinity) throw nonFinite(token);
    }
    expectKey = false;
    i = j;
  }
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * One iterative pass over a decoded YAML document: plain JSON data only (`invalid` otherwise),
 * within the depth, value and expanded-size limits. Aliases share objects, so a subtree is
 * counted each time it is referenced: the walk stops at the first limit it crosses.
 */
export function checkDecoded(root: unknown, limits: BodyLimits, invalid: () => Error): void {
  const { maxDepth, maxValues, maxBytes } = limits;
  const stack: Array<{ v: unknown; depth: number }> = [{ v: root, depth: 0 }];
  let values = 0;
  // Roughly the JSON text it would serialize to.
  let size = 0;
  while (stack.length > 0) {
    const { v, depth } = stack.pop() as { v: unknown; depth: number };
    if (++values > maxValues) throw tooManyValues(limits);
    if (v === null || typeof v === 'boolean') size += 5;
    else if (typeof v === 'string') {
      if (hasNul(v)) throw nulCharacter();
      size += v.length + 3;
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw invalid();
      size += 8;
    } else if (typeof v === 'object') {
      if (depth + 1 > maxDepth) throw tooDeep(limits);
      size += 2;
      if (Array.isArray(v)) {
        for (const item of v as unknown[]) stack.push({ v: item, depth: depth + 1 });
      } else if (isPlainObject(v)) {
        for (const [k, item] of Object.entries(v)) {
          if (hasNul(k)) throw nulCharacter();
          size += k.length + 4;
          stack.push({ v: item, depth: depth + 1 });
        }
      } else throw invalid();
    } else throw invalid();
    if (size > maxBytes) throw expandsTooMuch(limits);
  }
}
