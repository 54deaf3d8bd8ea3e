/**
 * `${{ … }}` substitution (Flow Framework's template placeholders), one syntax for two sources:
 * - `${{ node.key }}`: the output `key` of node `node` (any ancestor, not only direct
 *   predecessors as in Flow Framework; references also add a dependency, see graph.ts);
 * - `${{ param }}`: a provision/substitution parameter (any key, dots allowed).
 * Unresolved placeholders stay verbatim. A string that is exactly one placeholder takes the
 * referenced value with its type (object, number…); inside a longer string values are
 * inserted as text, without Flow Framework's blanket JSON-escaping.
 */
import type { JsonObject, JsonValue } from '../util/json.js';

const PLACEHOLDER = /\$\{\{\s*([^\s{}]+?)\s*\}\}/g;
const WHOLE = /^\$\{\{\s*([^\s{}]+?)\s*\}\}$/;

export interface SubstitutionSources {
  params: Readonly<Record<string, string>>;
  /** Output `key` of node `nodeId`, or undefined when unknown. */
  output: (nodeId: string, key: string) => JsonValue | undefined;
}

function resolve(expr: string, src: SubstitutionSources): JsonValue | undefined {
  const dot = expr.indexOf('.');
  if (dot > 0) {
    const v = src.output(expr.slice(0, dot), expr.slice(dot + 1));
    if (v !== undefined) return v;
  }
  return Object.prototype.hasOwnProperty.call(src.params, expr) ? src.params[expr] : undefined;
}

const asText = (v: JsonValue): string => (typeof v === 'string' ? v : JSON.stringify(v));

export function substituteString(s: string, src: SubstitutionSources): JsonValue {
  if (!s.includes('${{')) return s;
  const whole = WHOLE.exec(s);
  if (whole) {
    const v = resolve(whole[1] as string, src);
    return v === undefined ? s : v;
  }
  return s.replace(PLACEHOLDER, (m, expr: string) => {
    const v = resolve(expr, src);
    return v === undefined ? m : asText(v);
  });
}

/** Substitute in strings, array elements, object values and object keys, recursively. */
export function substitute(value: JsonValue, src: SubstitutionSources): JsonValue {
  if (typeof value === 'string') return substituteString(value, src);
  if (Array.isArray(value)) return value.map((v) => substitute(v, src));
  if (value !== null && typeof value === 'object') {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      const key = k.includes('${{') ? asText(substituteString(k, src)) : k;
      out[key] = substitute(v, src);
    }
    return out;
  }
  return value;
}

/** Node ids (from `known`) referenced as `${{ node.key }}` anywhere in a value. */
export function referencedNodeIds(value: JsonValue, known: ReadonlySet<string>): string[] {
  const found = new Set<string>();
  const scan = (s: string): void => {
    for (const m of s.matchAll(PLACEHOLDER)) {
      const expr = m[1] as string;
      const dot = expr.indexOf('.');
      if (dot > 0 && known.has(expr.slice(0, dot))) found.add(expr.slice(0, dot));
    }
  };
  const walk = (v: JsonValue): void => {
    if (typeof v === 'string') scan(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      for (const [k, c] of Object.entries(v)) {
        scan(k);
        walk(c);
      }
    }
  };
  walk(value);
  return [...found];
}

/** Placeholders that are neither node outputs nor given params (for clear errors). */
export function unresolvedPlaceholders(value: JsonValue, src: SubstitutionSources): string[] {
  const out = new Set<string>();
  const walk = (v: JsonValue): void => {
    if (typeof v === 'string') {
      for (const m of v.matchAll(PLACEHOLDER)) if (resolve(m[1] as string, src) === undefined) out.add(m[1] as string);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(value);
  return [...out];
}
