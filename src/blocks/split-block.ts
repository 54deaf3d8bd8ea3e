/**
 * `split`: a splitter (ASYNC flows only). It outputs an array and the executor runs the
 * blocks downstream once per item, up to the next `reduce`. The array is the input itself or
 * the value at `path`; with `by` a text is split into `{ text, index, start, end }` items
 * (`sentence`, `line` or `paragraph`). `max_items` bounds the fan-out.
 */
import type { JsonObject, JsonValue } from '../util/json.js';
import type { BlockScope } from './block-config.js';
import { onlyKeys, optionalEnum, optionalInteger, optionalPointer, optionalString, runError } from './block-config.js';
import type { BlockType } from './block.js';
import { compilePointer, jsonTypeOf, readPointer } from './json-pointer.js';
import type { TextUnit } from './text-segments.js';
import { TEXT_UNITS, segmentText } from './text-segments.js';

const TYPE = 'split';

interface SplitConfig {
  path: string;
  maxItems?: number;
  by?: TextUnit;
  locale?: string;
}

function parseConfig(config: JsonObject, scope: BlockScope): SplitConfig {
  onlyKeys(config, ['path', 'max_items', 'by', 'locale'], scope);
  const c: SplitConfig = { path: optionalPointer(config, 'path', scope) ?? '' };
  const max = optionalInteger(config, 'max_items', 1, scope);
  if (max !== undefined) c.maxItems = max;
  const by = optionalEnum(config, 'by', TEXT_UNITS, scope);
  if (by !== undefined) c.by = by;
  const locale = optionalString(config, 'locale', scope);
  if (locale !== undefined) c.locale = locale;
  return c;
}

function toJson(c: SplitConfig): JsonObject {
  const out: JsonObject = { path: c.path };
  if (c.maxItems !== undefined) out['max_items'] = c.maxItems;
  if (c.by !== undefined) out['by'] = c.by;
  if (c.locale !== undefined) out['locale'] = c.locale;
  return out;
}

export const splitBlock: BlockType = {
  name: TYPE,
  description:
    'Splitter (ASYNC only): outputs the array at config.path (default: the input itself) so the blocks downstream run once per item; ' +
    'with config.by = sentence | line | paragraph a text is split into { text, index, start, end } items; config.max_items bounds the count.',
  role: 'split',
  asyncOnly: true,
  validateConfig(config, blockId) {
    return toJson(parseConfig(config, { type: TYPE, blockId }));
  },
  async load(config) {
    const c = parseConfig(config, { type: TYPE });
    const tokens = compilePointer(c.path);
    const where = c.path === '' ? 'the input' : `the value at ${c.path}`;
    return {
      async run(input, ctx) {
        const value = readPointer(input, tokens);
        let items: JsonValue[];
        if (c.by !== undefined) {
          if (typeof value !== 'string') {
            throw runError(
              ctx.blockId,
              `cannot split ${where} by ${c.by}: it is ${jsonTypeOf(value)}, not a string`,
              'block.invalid_input',
              400,
            );
          }
          items = segmentText(value, c.by, c.locale);
        } else if (Array.isArray(value)) {
          items = value;
        } else {
          const hint = typeof value === 'string' ? ' (to split a text, set config.by to sentence, line or paragraph)' : '';
          throw runError(ctx.blockId, `cannot split ${where}: it is ${jsonTypeOf(value)}, not an array${hint}`, 'block.invalid_input', 400);
        }
        if (c.maxItems !== undefined && items.length > c.maxItems) {
          throw runError(
            ctx.blockId,
            `${where} has ${items.length} items, more than max_items (${c.maxItems}); raise max_items or send fewer items`,
            'block.too_many_items',
            400,
          );
        }
        return items;
      },
    };
  },
};
