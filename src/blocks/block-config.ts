/**
 * Reading a block's `config` with errors that name the block and say what to fix. The same
 * readers run at create time (`validateConfig`, where the block id is known) and again in the
 * instance (`load`, which only knows the type), so a block never trusts a config it did not
 * check itself.
 */
import type { FlowdError } from '../errors.js';
import { stepFailure, validationError } from '../errors.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import { jsonTypeOf, pointerProblem } from './json-pointer.js';

/** Which block a config belongs to; `blockId` is unknown inside an instance's `load`. */
export interface BlockScope {
  type: string;
  blockId?: string;
}

export function describeBlock(scope: BlockScope): string {
  return scope.blockId === undefined ? `Block of type [${scope.type}]` : `Block [${scope.blockId}] (${scope.type})`;
}

/** A 400 about the block's config. */
export function configError(scope: BlockScope, message: string, code = 'block.invalid_config'): FlowdError {
  const opts = scope.blockId === undefined ? { code } : { code, node: scope.blockId };
  return validationError(`${describeBlock(scope)}: ${message}`, opts);
}

/** A failure while handling one input (status 400 when the input itself is at fault). */
export function runError(blockId: string, message: string, code: string, status?: number): FlowdError {
  return stepFailure(`Block [${blockId}]: ${message}`, status === undefined ? { code, node: blockId } : { code, node: blockId, status });
}

export const isObject = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Refuses keys the block does not know (a typo such as `pth` would otherwise be ignored silently). */
export function onlyKeys(config: JsonObject, known: readonly string[], scope: BlockScope): void {
  const unknown = Object.keys(config).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    const allowed = known.length > 0 ? `it accepts ${known.join(', ')}` : 'it takes no config';
    throw configError(scope, `unknown config key${unknown.length > 1 ? 's' : ''} [${unknown.join(', ')}]; ${allowed}`);
  }
}

export function optionalString(config: JsonObject, key: string, scope: BlockScope): string | undefined {
  const v = config[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw configError(scope, `[${key}] must be a string, got ${jsonTypeOf(v)}`);
  return v;
}

export function requiredString(config: JsonObject, key: string, scope: BlockScope): string {
  const v = optionalString(config, key, scope);
  if (v === undefined || v.trim() === '') throw configError(scope, `[${key}] is required and must be a non-empty string`);
  return v;
}

/** An integer ≥ `min`; a string of digits (what a `${{ … }}` placeholder becomes) counts too. */
export function optionalInteger(config: JsonObject, key: string, min: number, scope: BlockScope): number | undefined {
  const v = config[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min) {
    throw configError(scope, `[${key}] must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  return n;
}

export function optionalObject(config: JsonObject, key: string, scope: BlockScope): JsonObject | undefined {
  const v = config[key];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw configError(scope, `[${key}] must be an object, got ${jsonTypeOf(v)}`);
  return v;
}

export function optionalEnum<T extends string>(config: JsonObject, key: string, values: readonly T[], scope: BlockScope): T | undefined {
  const v = optionalString(config, key, scope);
  if (v === undefined) return undefined;
  const found = values.find((x) => x === v);
  if (found === undefined) throw configError(scope, `[${key}] must be one of ${values.join(', ')}, got "${v}"`);
  return found;
}

/** A JSON Pointer, checked; `where` names the field in messages (default `[key]`). */
export function checkPointer(v: JsonValue | undefined, where: string, scope: BlockScope): string {
  if (typeof v !== 'string') throw configError(scope, `${where} must be a JSON Pointer string such as "/text", got ${jsonTypeOf(v)}`);
  const problem = pointerProblem(v);
  if (problem !== undefined) throw configError(scope, `${where} ${problem}`);
  return v;
}

export function optionalPointer(config: JsonObject, key: string, scope: BlockScope): string | undefined {
  const v = config[key];
  if (v === undefined || v === null) return undefined;
  return checkPointer(v, `[${key}]`, scope);
}
