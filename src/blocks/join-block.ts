/**
 * `join`: NL Flow's Join operator. The executor gathers the upstream outputs into
 * `{ "<upstream block id>": output, … }` (failed branches left out) and enforces
 * `max_failed_branches` (default 0: any failed branch fails the join); the block itself
 * passes that object on.
 */
import type { JsonObject } from '../util/json.js';
import type { BlockScope } from './block-config.js';
import { onlyKeys, optionalInteger } from './block-config.js';
import type { BlockType } from './block.js';

const TYPE = 'join';

function normalize(config: JsonObject, scope: BlockScope): JsonObject {
  onlyKeys(config, ['max_failed_branches'], scope);
  return { max_failed_branches: optionalInteger(config, 'max_failed_branches', 0, scope) ?? 0 };
}

export const joinBlock: BlockType = {
  name: TYPE,
  description:
    'Join: waits for its upstream branches and outputs { "<upstream block id>": output, … }; ' +
    'config.max_failed_branches (default 0) is how many branches may fail without failing the join.',
  role: 'join',
  validateConfig(config, blockId) {
    return normalize(config, { type: TYPE, blockId });
  },
  async load(config) {
    normalize(config, { type: TYPE });
    return { run: async (input) => input };
  },
};
