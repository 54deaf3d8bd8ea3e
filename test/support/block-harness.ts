/**
 * Loading a block the way a service instance does (registry → validateConfig → load → run),
 * and asserting on the FlowdErrors blocks throw, for the block tests.
 */
import assert from 'node:assert/strict';
import { builtinBlockRegistry } from '../../src/blocks/block-registry.js';
import type { BlockRunner, BlockType } from '../../src/blocks/block.js';
import { FlowdError } from '../../src/errors.js';
import type { JsonObject, JsonValue } from '../../src/util/json.js';

export interface Expected {
  kind: FlowdError['kind'];
  code: string;
  status?: number;
  message: RegExp;
}

export function checkError(e: unknown, want: Expected): FlowdError {
  assert.ok(e instanceof FlowdError, `expected a FlowdError, got ${String(e)}`);
  assert.equal(e.kind, want.kind, e.message);
  assert.equal(e.code, want.code, e.message);
  if (want.status !== undefined) assert.equal(e.status, want.status, e.message);
  assert.match(e.message, want.message);
  return e;
}

export async function rejectsWith(p: Promise<unknown>, want: Expected): Promise<FlowdError> {
  let caught: unknown;
  await assert.rejects(p, (e) => {
    caught = e;
    return true;
  });
  return checkError(caught, want);
}

export function throwsWith(fn: () => unknown, want: Expected): FlowdError {
  let caught: unknown;
  assert.throws(fn, (e) => {
    caught = e;
    return true;
  });
  return checkError(caught, want);
}

const BLOCKS = builtinBlockRegistry();

export function typeOf(name: string): BlockType {
  const t = BLOCKS.get(name);
  assert.ok(t, `block type ${name} is registered`);
  return t;
}

export interface Loaded {
  runner: BlockRunner;
  config: JsonObject;
  run(input: JsonValue): Promise<JsonValue>;
}

/** validateConfig → load → a `run` bound to a block id, as an instance does it. */
export async function load(
  type: string,
  config: JsonObject,
  opts: { prepared?: JsonObject; timeoutMs?: number; blockId?: string; hostEnforcesTimeout?: boolean } = {},
): Promise<Loaded> {
  const blockId = opts.blockId ?? 'b1';
  const t = typeOf(type);
  const normalized = t.validateConfig(config, blockId);
  const limits = { timeoutMs: opts.timeoutMs ?? 2000, ...(opts.hostEnforcesTimeout ? { hostEnforcesTimeout: true } : {}) };
  const runner = await t.load(normalized, opts.prepared ?? {}, limits);
  return { runner, config: normalized, run: (input) => runner.run(input, { blockId, signal: new AbortController().signal }) };
}

/** A `js` block; `hostEnforcesTimeout` loads it as an instance does (runs are not timed by the block itself). */
export const js = (source: string, timeoutMs = 2000, hostEnforcesTimeout = false): Promise<Loaded> =>
  load('js', { source }, { timeoutMs, hostEnforcesTimeout });
