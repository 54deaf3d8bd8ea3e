/**
 * The block types a flow can use, by the `type` templates give. Importing this is cheap: a
 * block type imports its heavy packages (a model, pino) inside `load`, where it is needed.
 */
import type { BlockType } from './block.js';
import { customBlock } from './custom-block.js';
import { httpBlock } from './http-block.js';
import { joinBlock } from './join-block.js';
import { jsBlock } from './js-block.js';
import { mapBlock } from './map-block.js';
import { modelBlock } from './model-block.js';
import { reduceBlock } from './reduce-block.js';
import { splitBlock } from './split-block.js';
import { switchBlock } from './switch-block.js';

const BLOCK_TYPES: readonly BlockType[] = [jsBlock, mapBlock, switchBlock, joinBlock, splitBlock, reduceBlock, modelBlock, httpBlock, customBlock];

const BY_NAME = new Map(BLOCK_TYPES.map((t) => [t.name, t]));

export const BLOCK_TYPE_NAMES: readonly string[] = Object.freeze(BLOCK_TYPES.map((t) => t.name));

export function getBlockType(name: string): BlockType | undefined {
  return BY_NAME.get(name);
}

export function listBlockTypes(): BlockType[] {
  return [...BLOCK_TYPES];
}
