/**
 * `map`: NL Flow's Map operator. The executor already builds a block's input from its input
 * mappings; `map` makes the output compact by picking fields into a new object:
 * `{ "keys": { "language": "/lang/language", "text": "/text" } }` → `{ language, text }`.
 * A key whose pointer finds nothing is `null`, so the output always has every key. Without
 * `keys` the input passes through unchanged.
 */
import type { JsonObject } from '../util/json.js';
import type { BlockScope } from './block-config.js';
import { checkPointer, configError, onlyKeys, optionalObject } from './block-config.js';
import type { BlockType } from './block.js';
import type { CompiledPointer } from './json-pointer.js';
import { compilePointer, readPointer } from './json-pointer.js';

const TYPE = 'map';

/** outKey → pointer, or undefined for the identity. */
function keysOf(config: JsonObject, scope: BlockScope): Record<string, string> | undefined {
  onlyKeys(config, ['keys'], scope);
  const keys = optionalObject(config, 'keys', scope);
  if (keys === undefined) return undefined;
  const entries = Object.entries(keys);
  if (entries.length === 0)
    throw configError(
      scope,
      '[keys] is empty: map at least one key ({"<output key>": "<JSON Pointer>"}), or leave [keys] out to pass the input through',
    );
  const out: Record<string, string> = {};
  for (const [k, v] of entries) out[k] = checkPointer(v, `[keys.${k}]`, scope);
  return out;
}

export const mapBlock: BlockType = {
  name: TYPE,
  description:
    'Map: builds a compact object from the input, config.keys = { "<output key>": "<JSON Pointer into the input>" } ' +
    '(a pointer that finds nothing gives null); without keys the input passes through.',
  validateConfig(config, blockId) {
    const keys = keysOf(config, { type: TYPE, blockId });
    const out: JsonObject = {};
    if (keys !== undefined) out['keys'] = keys;
    return out;
  },
  async load(config) {
    const keys = keysOf(config, { type: TYPE });
    if (keys === undefined) return { run: async (input) => input };
    const compiled: Array<[string, CompiledPointer]> = Object.entries(keys).map(([k, p]) => [k, compilePointer(p)]);
    return {
      async run(input) {
        const out: JsonObject = {};
        for (const [k, tokens] of compiled) out[k] = readPointer(input, tokens) ?? null;
        return out;
      },
    };
  },
};
