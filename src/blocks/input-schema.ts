/**
 * `flow.input_schema` compiled with Ajv, with every regular expression in it (`pattern`,
 * `patternProperties`, `propertyNames.pattern`) run by RE2 (re2js) instead of V8's backtracking
 * engine: RE2 answers in time linear in the input whatever the pattern, so a schema such as
 * `^(a+)+$` cannot stall the node on an input of 30 a's and a `!`. RE2 has no backreferences and
 * no lookaround; a schema using them is refused when the flow is created (UnsupportedPatternError).
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { RE2JS } from 're2js';
import { coerceError } from '../errors.js';
import type { JsonObject } from '../util/json.js';

/** A pattern of the schema that RE2 cannot run (or that is not a regular expression at all). */
export class UnsupportedPatternError extends Error {
  readonly pattern: string;
  /** False when the pattern is not a valid JavaScript regular expression either. */
  readonly validJs: boolean;

  constructor(pattern: string, validJs: boolean, reason: string) {
    super(reason);
    this.name = 'UnsupportedPatternError';
    this.pattern = pattern;
    this.validJs = validJs;
  }
}

/** Ajv's `code.regExp` engine: `(pattern, flags) => { test }`, here on RE2. */
function re2RegExp(pattern: string, flags: string): { test(s: string): boolean; toString(): string } {
  let re: RE2JS;
  try {
    // ECMAScript syntax RE2 spells differently (\u0041, (?<name>…)) is translated first
    re = RE2JS.compile(RE2JS.translateRegExp(pattern));
  } catch (e) {
    throw new UnsupportedPatternError(pattern, isJsRegExp(pattern, flags), coerceError(e).message);
  }
  return { test: (s) => re.test(s), toString: () => `/${pattern}/${flags}` };
}
// Only used by Ajv's standalone code generation, which flowd does not use.
re2RegExp.code = 'RE2JS';

function isJsRegExp(pattern: string, flags: string): boolean {
  try {
    new RegExp(pattern, flags); // compiled, never run
    return true;
  } catch {
    return false;
  }
}

/** A validator for a flow's input_schema; throws UnsupportedPatternError for a pattern RE2 cannot run. */
export function compileInputSchema(schema: JsonObject): ValidateFunction {
  // strict stays off: strict mode would also run patternProperties through `new RegExp` itself
  return new Ajv({ strict: false, logger: false, code: { regExp: re2RegExp } }).compile(schema);
}
