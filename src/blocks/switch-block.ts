/**
 * `switch`: NL Flow's Switch operator (ASYNC flows only). The first case whose condition
 * holds on the input picks the route; the executor follows only that edge and the
 * destination receives the switch's input unchanged.
 *
 * ```json
 * { "cases": [ { "when": { "path": "/lang/language", "equals": "en" }, "dest": "english" },
 *              { "when": { "path": "/lang/language", "in": ["fr", "it"] }, "dest": "romance" },
 *              { "when": { "path": "/urgent", "exists": true }, "dest": "triage" } ],
 *   "default": "other" }
 * ```
 * A condition may combine `equals`, `in` and `exists`; all given ones must hold. Values are
 * compared as JSON (deep, key order ignored). No match and no default: no route.
 */
import type { JsonObject, JsonValue } from '../util/json.js';
import type { BlockScope } from './block-config.js';
import { checkPointer, configError, isObject, onlyKeys, optionalString } from './block-config.js';
import type { BlockType } from './block.js';
import type { CompiledPointer } from './json-pointer.js';
import { compilePointer, readPointer } from './json-pointer.js';

const TYPE = 'switch';

interface SwitchCase {
  path: string;
  equals?: JsonValue;
  in?: JsonValue[];
  exists?: boolean;
  dest: string;
}

interface SwitchConfig {
  cases: SwitchCase[];
  default?: string;
}

function parseCase(raw: JsonValue, i: number, scope: BlockScope): SwitchCase {
  const where = `[cases[${i}]]`;
  if (!isObject(raw))
    throw configError(scope, `${where} must be an object { "when": { "path": …, "equals" | "in" | "exists": … }, "dest": "<block id>" }`);
  const unknown = Object.keys(raw).filter((k) => k !== 'when' && k !== 'dest');
  if (unknown.length > 0) throw configError(scope, `${where} has unknown key(s) [${unknown.join(', ')}]; a case has "when" and "dest"`);
  const dest = raw['dest'];
  if (typeof dest !== 'string' || dest.trim() === '')
    throw configError(scope, `${where}.dest is required: the id of the block to route to`);
  const when = raw['when'];
  if (!isObject(when)) throw configError(scope, `${where}.when is required: an object with "path" and one of "equals", "in", "exists"`);
  const extra = Object.keys(when).filter((k) => !['path', 'equals', 'in', 'exists'].includes(k));
  if (extra.length > 0)
    throw configError(scope, `${where}.when has unknown key(s) [${extra.join(', ')}]; it accepts path, equals, in, exists`);
  const c: SwitchCase = { path: checkPointer(when['path'], `${where}.when.path`, scope), dest };
  if (Object.hasOwn(when, 'equals')) c.equals = when['equals'] ?? null;
  const list = when['in'];
  if (list !== undefined) {
    if (!Array.isArray(list)) throw configError(scope, `${where}.when.in must be an array of the values to accept`);
    c.in = list;
  }
  const exists = when['exists'];
  if (exists !== undefined) {
    if (typeof exists !== 'boolean') throw configError(scope, `${where}.when.exists must be true or false`);
    c.exists = exists;
  }
  if (c.equals === undefined && c.in === undefined && c.exists === undefined) {
    throw configError(scope, `${where}.when needs a condition: "equals": <value>, "in": [<values>] or "exists": true|false`);
  }
  return c;
}

function parseConfig(config: JsonObject, scope: BlockScope): SwitchConfig {
  onlyKeys(config, ['cases', 'default'], scope);
  const raw = config['cases'] ?? [];
  if (!Array.isArray(raw)) throw configError(scope, '[cases] must be an array of { "when": {…}, "dest": "<block id>" }');
  const cases = raw.map((c, i) => parseCase(c, i, scope));
  const def = optionalString(config, 'default', scope);
  if (def !== undefined && def.trim() === '') throw configError(scope, '[default] must be a block id');
  if (cases.length === 0 && def === undefined) throw configError(scope, 'needs at least one case in [cases] or a [default] destination');
  return def === undefined ? { cases } : { cases, default: def };
}

function toJson(c: SwitchConfig): JsonObject {
  const cases = c.cases.map((x): JsonObject => {
    const when: JsonObject = { path: x.path };
    if (x.equals !== undefined) when['equals'] = x.equals;
    if (x.in !== undefined) when['in'] = x.in;
    if (x.exists !== undefined) when['exists'] = x.exists;
    return { when, dest: x.dest };
  });
  return c.default === undefined ? { cases } : { cases, default: c.default };
}

/** Deep JSON equality; object key order does not matter. */
export function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i] as JsonValue));
  }
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k] as JsonValue, b[k] as JsonValue));
}

interface CompiledCase extends SwitchCase {
  tokens: CompiledPointer;
}

function matches(c: CompiledCase, input: JsonValue): boolean {
  const v = readPointer(input, c.tokens);
  if (c.exists !== undefined && (v !== undefined) !== c.exists) return false;
  if (c.equals !== undefined && (v === undefined || !jsonEqual(v, c.equals))) return false;
  if (c.in !== undefined && (v === undefined || !c.in.some((x) => jsonEqual(v, x)))) return false;
  return true;
}

export const switchBlock: BlockType = {
  name: TYPE,
  description:
    'Switch (ASYNC only): routes the input to the dest of the first case whose condition holds ' +
    '({ "when": { "path": "<JSON Pointer>", "equals" | "in" | "exists": … }, "dest": "<block id>" }), else to config.default, else nowhere.',
  role: 'switch',
  asyncOnly: true,
  validateConfig(config, blockId) {
    return toJson(parseConfig(config, { type: TYPE, blockId }));
  },
  async load(config) {
    const c = parseConfig(config, { type: TYPE });
    const cases: CompiledCase[] = c.cases.map((x) => ({ ...x, tokens: compilePointer(x.path) }));
    const fallback = c.default === undefined ? [] : [c.default];
    return {
      async run(input) {
        const hit = cases.find((x) => matches(x, input));
        return { routes: hit === undefined ? fallback : [hit.dest] };
      },
    };
  },
};
