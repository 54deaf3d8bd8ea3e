/**
 * The registry of block types a flow can use, by the `type` templates give: the same style as
 * steps/step-registry.ts, a class the node builds once and injects. Block types are data: a new
 * one is a file that exports a BlockType and a line in `builtinBlockRegistry`. Building one is
 * cheap: a block type imports its heavy packages (a model, pino) inside `load`, where needed,
 * so a worker thread builds its own rather than receiving one.
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

export class BlockRegistry {
  readonly #types = new Map<string, BlockType>();

  register(type: BlockType): this {
    if (this.#types.has(type.name)) throw new Error(`block type ${type.name} is registered twice`);
    this.#types.set(type.name, type);
    return this;
  }

  /** Bound, so it can be handed on as a lookup (`parseFlowSpec`'s `blockType`, the executor's). */
  readonly get = (name: string): BlockType | undefined => this.#types.get(name);

  /** Names in registration order. */
  names(): string[] {
    return [...this.#types.keys()];
  }

  /** Types in registration order. */
  list(): BlockType[] {
    return [...this.#types.values()];
  }
}

/** The block types every flowd node has. */
export function builtinBlockRegistry(): BlockRegistry {
  return new BlockRegistry()
    .register(jsBlock)
    .register(mapBlock)
    .register(switchBlock)
    .register(joinBlock)
    .register(splitBlock)
    .register(reduceBlock)
    .register(modelBlock)
    .register(httpBlock)
    .register(customBlock);
}
