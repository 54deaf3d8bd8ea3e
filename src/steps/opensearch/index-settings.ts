/**
 * Index settings as flat `index.*` keys with string values, the form OpenSearch compares and
 * stores them in. `update_index` flattens the wanted settings and the current ones this way
 * and sends only the keys whose value differs (Flow Framework's behaviour).
 */
import type { JsonObject, JsonValue } from '../../util/json.js';

/** A flat setting value: text, a list of texts, or null (reset to the default). */
export type SettingValue = string | string[] | null;

const isObject = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const toText = (v: JsonValue): string => (typeof v === 'string' ? v : JSON.stringify(v));

/**
 * `{"index":{"number_of_replicas":2}}`, `{"index.number_of_replicas":"2"}` and
 * `{"number_of_replicas":2}` all flatten to `{"index.number_of_replicas":"2"}`: OpenSearch
 * normalizes setting keys to the `index.` prefix the same way.
 */
export function flattenSettings(settings: JsonObject): Record<string, SettingValue> {
  const flat: Record<string, SettingValue> = {};
  const walk = (prefix: string, obj: JsonObject): void => {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix === '' ? k : `${prefix}.${k}`;
      if (isObject(v)) walk(key, v);
      else flat[normalizeKey(key)] = v === null ? null : Array.isArray(v) ? v.map(toText) : toText(v);
    }
  };
  walk('', settings);
  return flat;
}

function normalizeKey(key: string): string {
  return key.startsWith('index.') ? key : `index.${key}`;
}

const sameValue = (a: SettingValue | undefined, b: SettingValue | undefined): boolean =>
  JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * The wanted settings whose value differs from the current one. `current` is the index's
 * explicit settings, `defaults` what OpenSearch reports as defaults (used when a key is not
 * set explicitly, so asking for a default value is "no change").
 */
export function changedSettings(
  wanted: Record<string, SettingValue>,
  current: Record<string, SettingValue>,
  defaults: Record<string, SettingValue>,
): Record<string, SettingValue> {
  const changed: Record<string, SettingValue> = {};
  for (const [key, value] of Object.entries(wanted)) {
    if (value === null) {
      // Resetting only changes something when the key is explicitly set.
      if (key in current) changed[key] = null;
      continue;
    }
    const now = key in current ? current[key] : defaults[key];
    if (!sameValue(value, now)) changed[key] = value;
  }
  return changed;
}
