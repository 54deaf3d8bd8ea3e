/**
 * The `configurations` input of index and pipeline steps is the REST body of the underlying
 * OpenSearch call. flowd keeps it as nested JSON, but Flow Framework templates usually carry it
 * as a JSON string, so both are accepted; an empty string means "no body".
 */
import type { JsonObject, JsonValue } from '../../util/json.js';
import { invalidInput, type InputSite } from './step-support.js';

export interface ConfigurationsOptions {
  /**
   * Apply Flow Framework's `removingBackslashesAndQuotesInArrayInJsonString` rule: string
   * values that hold a JSON array (`"[\"a\", \"b\"]"`, `"[0.7, 0.3]"`) become real arrays.
   * Pipelines need it because use-case defaults can only supply arrays as strings.
   */
  expandArrayStrings: boolean;
}

const isObject = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The body as an object, or undefined for an empty string. */
export function parseConfigurations(value: JsonValue | undefined, site: InputSite, opts: ConfigurationsOptions): JsonObject | undefined {
  let parsed: JsonValue;
  if (typeof value === 'string') {
    if (value.trim() === '') return undefined;
    parsed = parseJsonString(value, site, opts);
  } else if (value === undefined) {
    return undefined;
  } else {
    parsed = value;
  }
  if (!isObject(parsed)) throw invalidInput('[configurations] must be a JSON object', site);
  // Applied to objects too: `${{ }}` substitution of use-case defaults leaves array strings
  // inside otherwise nested configurations, exactly where Flow Framework would expand them.
  return opts.expandArrayStrings ? (expandArrayStrings(parsed) as JsonObject) : parsed;
}

function parseJsonString(text: string, site: InputSite, opts: ConfigurationsOptions): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (first) {
    // Flow Framework rewrites the raw text before parsing, which also rescues strings such as
    // `"w": "["a", "b"]"` that are not valid JSON until the quotes around the array go.
    if (opts.expandArrayStrings) {
      try {
        return JSON.parse(removeQuotesAroundArrays(text)) as JsonValue;
      } catch {
        // fall through to the original error, which points at the text the user wrote
      }
    }
    const reason = first instanceof Error ? first.message : String(first);
    throw invalidInput(`[configurations] is not valid JSON: ${reason}`, site);
  }
}

/** Flow Framework's text rule: `"[...]"` → `[...]` with `\"` unescaped inside. */
export function removeQuotesAroundArrays(text: string): string {
  return text.replace(/"\[(.*?)]"/g, (_m, inner: string) => `[${inner.replace(/\\"/g, '"')}]`);
}

/** Structural form of the same rule, applied to parsed JSON (safe for non-array strings). */
export function expandArrayStrings(value: JsonValue): JsonValue {
  if (typeof value === 'string') {
    const t = value.trim();
    if (!t.startsWith('[') || !t.endsWith(']')) return value;
    try {
      const arr = JSON.parse(t) as JsonValue;
      return Array.isArray(arr) ? arr : value;
    } catch {
      return value;
    }
  }
  if (Array.isArray(value)) return value.map(expandArrayStrings);
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[k] = expandArrayStrings(v);
    return out;
  }
  return value;
}
