/**
 * `custom`: a block implemented by the operator in a JavaScript module on the flowd host
 * (`config.module`, absolute or relative to flowd's working directory). The module exports
 * either `createBlock(options)` returning `{ run(input, ctx), close?() }` (possibly async), or
 * `process(input, ctx)`; a default export holding either works too. It runs with the full
 * Node.js API of its instance, like NL Flow's custom components: it is trusted code, unlike
 * the `js` block's script. Its output must be JSON.
 *
 * Workflow authors are not the operator, so nothing they send may probe the host's files:
 * validating a config never touches the file system (it answers the same for any path); the
 * node's policy (checkCustomModule: disabled, then outside the allowed folders, both decided
 * before any file is looked at) runs at publish, and only then, for a module inside an allowed
 * folder, is its existence checked. No message shows the working directory.
 */
import { realpathSync, statSync } from 'node:fs';
import { basename, isAbsolute, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { coerceError, forbidden, isFlowdError, rephrase, validationError } from '../errors.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import type { BlockScope } from './block-config.js';
import { configError, onlyKeys, optionalObject, requiredString, runError } from './block-config.js';
import type { BlockRunContext, BlockRunner, BlockType } from './block.js';

const TYPE = 'custom';
const EXTENSIONS = /\.(?:m?js|cjs)$/;

interface CustomConfig {
  module: string;
  options: JsonObject;
}

const resolveModule = (module: string): string => (isAbsolute(module) ? module : resolve(process.cwd(), module));

function parseConfig(config: JsonObject, scope: BlockScope): CustomConfig {
  onlyKeys(config, ['module', 'options'], scope);
  const module = requiredString(config, 'module', scope);
  if (!EXTENSIONS.test(module)) throw configError(scope, `[module] must be a JavaScript file (.js, .mjs or .cjs), got "${module}"`);
  return { module, options: optionalObject(config, 'options', scope) ?? {} };
}

function checkFile(module: string, scope: BlockScope): string {
  const file = resolveModule(module);
  const stat = statSync(file, { throwIfNoEntry: false });
  if (stat === undefined || !stat.isFile()) {
    const from = isAbsolute(module) ? '' : " (relative paths are resolved from flowd's working directory)";
    throw configError(
      scope,
      `[module] ${module} ${stat === undefined ? 'does not exist' : 'is not a file'}${from}`,
      'block.module_not_found',
    );
  }
  return file;
}

const within = (file: string, root: string): boolean => file === root || file.startsWith(root.endsWith(sep) ? root : root + sep);

const realOr = (path: string): string => {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
};

/**
 * The node's policy for a custom block's module (`dirs`: FLOWD_CUSTOM_BLOCK_DIRS): 403 when
 * custom blocks are disabled or the module lies outside the allowed folders, both decided
 * before the file system is asked about the module (so they answer the same whether it exists);
 * then 400 when it does not exist, and 403 when a symlink leads out of the folders.
 */
export function checkCustomModule(blockId: string, config: JsonObject, dirs: readonly string[]): void {
  const mod = config['module'];
  if (typeof mod !== 'string') return; // the block's own validation reports it
  if (dirs.length === 0) {
    throw forbidden(
      `Block [${blockId}]: custom blocks are disabled on this node; list the folders their modules may come from in FLOWD_CUSTOM_BLOCK_DIRS.`,
      {
        code: 'block.custom_disabled',
        node: blockId,
      },
    );
  }
  const outside = (): Error =>
    forbidden(`Block [${blockId}]: custom module ${mod} is outside the folders allowed by FLOWD_CUSTOM_BLOCK_DIRS`, {
      code: 'block.custom_not_allowed',
      node: blockId,
    });
  const roots = dirs.map((d) => resolve(process.cwd(), d));
  const realRoots = roots.map(realOr);
  const lexical = resolveModule(mod);
  if (!roots.some((r) => within(lexical, r)) && !realRoots.some((r) => within(lexical, r))) throw outside();
  let file: string;
  try {
    file = realpathSync(lexical);
  } catch {
    throw validationError(`Block [${blockId}]: custom module ${mod} does not exist`, { code: 'block.module_not_found', node: blockId });
  }
  if (!realRoots.some((r) => within(file, r))) throw outside();
}

type AnyFn = (...args: unknown[]) => unknown;
const fnAt = (obj: unknown, key: string): AnyFn | undefined => {
  if ((typeof obj !== 'object' && typeof obj !== 'function') || obj === null) return undefined;
  const f = (obj as Record<string, unknown>)[key];
  return typeof f === 'function' ? (f as AnyFn) : undefined;
};

/** The module's output as JSON (a copy: nothing of the module's objects stays referenced). */
function jsonOutput(v: unknown, module: string, blockId: string): JsonValue {
  let text: string | undefined;
  try {
    text = JSON.stringify(v);
  } catch (e) {
    throw runError(blockId, `custom module ${module} returned output that is not JSON: ${coerceError(e).message}`, 'block.invalid_output');
  }
  if (text === undefined) throw runError(blockId, `custom module ${module} returned ${typeof v}, not a JSON value`, 'block.invalid_output');
  return JSON.parse(text) as JsonValue;
}

/** The module's `run` (bound to its block object) and `close`, from either export style. */
async function instantiate(ns: unknown, c: CustomConfig, file: string): Promise<{ run: AnyFn; close?: AnyFn }> {
  const def = (ns as Record<string, unknown>)['default'];
  for (const exports of [ns, def]) {
    const createBlock = fnAt(exports, 'createBlock');
    if (createBlock !== undefined) {
      let block: unknown;
      try {
        block = await createBlock.call(exports, structuredClone(c.options));
      } catch (e) {
        throw validationError(`custom module ${c.module}: createBlock(options) failed: ${coerceError(e).message}`, {
          code: 'block.custom_load_failed',
          cause: e,
        });
      }
      const run = fnAt(block, 'run');
      if (run === undefined)
        throw validationError(`custom module ${c.module}: createBlock(options) must return an object with a run(input) method`, {
          code: 'block.custom_load_failed',
        });
      const close = fnAt(block, 'close');
      const bound: { run: AnyFn; close?: AnyFn } = { run: run.bind(block) };
      if (close !== undefined) bound.close = close.bind(block);
      return bound;
    }
    const processFn = fnAt(exports, 'process');
    if (processFn !== undefined) return { run: processFn.bind(exports) };
  }
  throw validationError(`custom module ${c.module} (${basename(file)}) exports neither createBlock(options) nor process(input)`, {
    code: 'block.custom_load_failed',
  });
}

export const customBlock: BlockType = {
  name: TYPE,
  description:
    'Custom: an operator-provided JavaScript module (config.module, absolute or relative to the working directory) exporting ' +
    'createBlock(options) → { run(input, ctx), close?() } or process(input, ctx); config.options go to createBlock. Output must be JSON.',
  validateConfig(config, blockId) {
    // No file-system check here (see the header): the node's policy runs at publish.
    const c = parseConfig(config, { type: TYPE, blockId });
    return { module: c.module, options: c.options };
  },
  async load(config) {
    const scope = { type: TYPE };
    const c = parseConfig(config, scope);
    const file = checkFile(c.module, scope);
    let ns: unknown;
    try {
      ns = await import(pathToFileURL(file).href);
    } catch (e) {
      throw validationError(`custom module ${c.module} could not be imported: ${coerceError(e).message}`, {
        code: 'block.custom_load_failed',
        cause: e,
      });
    }
    const block = await instantiate(ns, c, file);
    const runner: BlockRunner = {
      async run(input: JsonValue, ctx: BlockRunContext) {
        let out: unknown;
        try {
          out = await block.run(input, ctx);
        } catch (e) {
          if (ctx.signal.aborted) throw e;
          const message = `Block [${ctx.blockId}]: custom module ${c.module} failed: ${coerceError(e).message}`;
          // A module that throws flowd's own error chose its kind (say `unavailable`: retry): it is kept.
          if (isFlowdError(e)) throw rephrase(e, message, { node: ctx.blockId });
          throw runError(ctx.blockId, `custom module ${c.module} failed: ${coerceError(e).message}`, 'block.custom_error');
        }
        return jsonOutput(out, c.module, ctx.blockId);
      },
    };
    const close = block.close;
    if (close !== undefined) {
      runner.close = async () => {
        await close();
      };
    }
    return runner;
  },
};
