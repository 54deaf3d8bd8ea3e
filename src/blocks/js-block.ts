/**
 * `js`: a script processor like NL Flow's JavaScript Interpreter. The config's `source`
 * defines `function process(input) { … return output; }` (synchronous ECMAScript); each
 * instance loads it into its own sandbox (js-sandbox.ts) and calls `process` once per input,
 * within the block's timeout. Top-level variables live as long as the instance.
 */
import { coerceError } from '../errors.js';
import type { JsonObject } from '../util/json.js';
import type { BlockScope } from './block-config.js';
import { configError, onlyKeys, runError } from './block-config.js';
import type { BlockType } from './block.js';
import { JsSandbox, SandboxError, checkSource } from './js-sandbox.js';

const TYPE = 'js';

function sourceOf(config: JsonObject, scope: BlockScope): string {
  onlyKeys(config, ['source'], scope);
  const source = config['source'];
  if (typeof source !== 'string' || source.trim() === '') {
    throw configError(scope, '[source] is required: a script that defines function process(input) { … return output; }');
  }
  return source;
}

const at = (e: SandboxError): string =>
  e.line === undefined ? '' : ` (line ${e.line}${e.lineText !== undefined && e.lineText !== '' ? `: ${e.lineText.slice(0, 120)}` : ''})`;

/** A compile/load problem: the config is wrong. */
function sourceError(e: unknown, scope: BlockScope): Error {
  if (!(e instanceof SandboxError)) return coerceError(e);
  switch (e.kind) {
    case 'syntax':
      return configError(
        scope,
        `syntax error in [source] at line ${e.line ?? '?'}: ${e.message}${e.lineText ? ` (${e.lineText.slice(0, 120)})` : ''}`,
        'block.js_syntax_error',
      );
    case 'forbidden':
      return configError(scope, `[source] line ${e.line ?? '?'}: ${e.message}`, 'block.js_forbidden');
    case 'no_process':
      return configError(scope, `[source]: ${e.message}`, 'block.js_no_process');
    case 'timeout':
      return configError(scope, `[source]: its top-level code ${e.message} (the block's timeout)`, 'block.timeout');
    default:
      return configError(scope, `[source]: ${e.message}${at(e)}`, 'block.js_error');
  }
}

/** A failure on one input. */
function inputError(e: unknown, blockId: string): Error {
  if (!(e instanceof SandboxError)) return coerceError(e);
  if (e.kind === 'timeout') {
    return runError(blockId, `process() ${e.message} (the block's timeout); is there an endless loop?`, 'block.timeout', 504);
  }
  if (e.kind === 'invalid_output') return runError(blockId, e.message, 'block.invalid_output');
  return runError(blockId, `${e.message}${at(e)}`, 'block.js_error');
}

export const jsBlock: BlockType = {
  name: TYPE,
  // Its top-level code runs on load: a spin there, or in a promise callback it scheduled, fails the load after the timeout.
  loadWithinTimeout: true,
  description:
    'JavaScript processor: config.source defines function process(input) { … return output; } (synchronous ECMAScript). ' +
    'It runs in a sandbox without require, process, import, eval or timers, once per input, within the block timeout; the output must be JSON.',
  validateConfig(config, blockId) {
    const scope = { type: TYPE, blockId };
    const source = sourceOf(config, scope);
    try {
      checkSource(source);
    } catch (e) {
      throw sourceError(e, scope);
    }
    return { source };
  },
  async load(config, _prepared, limits) {
    const scope = { type: TYPE };
    const source = sourceOf(config, scope);
    let sandbox: JsSandbox;
    try {
      sandbox = JsSandbox.create(source, limits.timeoutMs, limits.hostEnforcesTimeout !== true);
    } catch (e) {
      throw sourceError(e, scope);
    }
    return {
      // The run is synchronous, so the signal is never read: nothing could be interrupted by it
      // (the instance watchdog ends a run past its timeout), and reading it would create it.
      async run(input, ctx) {
        try {
          return sandbox.run(input);
        } catch (e) {
          throw inputError(e, ctx.blockId);
        }
      },
    };
  },
};
