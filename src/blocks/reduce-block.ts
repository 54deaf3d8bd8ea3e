/**
 * `reduce`: closes a split's context (ASYNC flows only). It receives the per-item outputs
 * in item order and returns one value:
 * - `array` (default): the outputs as they are (or the value at `path` in each, null when absent);
 * - `merge`: the object outputs (at `path`) shallow-merged, later items winning;
 * - `concat`: the arrays at `path` in each output concatenated (items without one add nothing).
 */
import type { JsonObject, JsonValue } from '../util/json.js';
import type { BlockScope } from './block-config.js';
import { isObject, onlyKeys, optionalEnum, optionalPointer, runError } from './block-config.js';
import type { BlockType } from './block.js';
import type { CompiledPointer } from './json-pointer.js';
import { compilePointer, jsonTypeOf, readPointer } from './json-pointer.js';

const TYPE = 'reduce';
const MODES = ['array', 'merge', 'concat'] as const;
type Mode = (typeof MODES)[number];

function parseConfig(config: JsonObject, scope: BlockScope): { mode: Mode; path: string } {
  onlyKeys(config, ['mode', 'path'], scope);
  return { mode: optionalEnum(config, 'mode', MODES, scope) ?? 'array', path: optionalPointer(config, 'path', scope) ?? '' };
}

function reduce(mode: Mode, items: JsonValue[], tokens: CompiledPointer, at: string, blockId: string): JsonValue {
  const values = items.map((item) => readPointer(item, tokens));
  if (mode === 'array') return values.map((v) => v ?? null);
  if (mode === 'merge') {
    const out: JsonObject = {};
    values.forEach((v, i) => {
      if (v === undefined) return;
      if (!isObject(v)) throw runError(blockId, `merge: item ${i}${at} is ${jsonTypeOf(v)}, not an object`, 'block.invalid_input', 400);
      Object.assign(out, v);
    });
    return out;
  }
  const out: JsonValue[] = [];
  values.forEach((v, i) => {
    if (v === undefined) return;
    if (!Array.isArray(v)) throw runError(blockId, `concat: item ${i}${at} is ${jsonTypeOf(v)}, not an array`, 'block.invalid_input', 400);
    for (const x of v) out.push(x);
  });
  return out;
}

export const reduceBlock: BlockType = {
  name: TYPE,
  description:
    'Reducer (ASYNC only): receives the per-item outputs of a split and returns config.mode = array (default: the list), ' +
    'merge (objects shallow-merged) or concat (arrays concatenated), each taken at config.path in every item (default: the item).',
  role: 'reduce',
  asyncOnly: true,
  validateConfig(config, blockId) {
    return parseConfig(config, { type: TYPE, blockId });
  },
  async load(config) {
    const { mode, path } = parseConfig(config, { type: TYPE });
    const tokens = compilePointer(path);
    const at = path === '' ? '' : ` at ${path}`;
    return {
      async run(input, ctx) {
        if (!Array.isArray(input)) {
          throw runError(
            ctx.blockId,
            `expects the array of per-item outputs of a split, got ${jsonTypeOf(input)}`,
            'block.invalid_input',
            400,
          );
        }
        return reduce(mode, input, tokens, at, ctx.blockId);
      },
    };
  },
};
