/**
 * `_source` filtering: parsing as FetchSourceContext.fromXContent does, and filtering as
 * XContentMapValues.filter does: include/exclude patterns (`*` matches any run, dots included) are
 * stepped key by key through the document, so arrays are transparent and keys may contain dots.
 */
import { parsingError } from './errors.js';
import { type GlobState, GlobSet } from './glob.js';
import { type JsonObject, entries, isObject, setOwn, tokenName } from './values.js';

export interface SourceSpec {
  fetch: boolean;
  includes: string[];
  excludes: string[];
}

export function parseSourceSpec(v: unknown): SourceSpec {
  if (typeof v === 'boolean') return { fetch: v, includes: [], excludes: [] };
  if (typeof v === 'string') return { fetch: true, includes: [v], excludes: [] };
  if (Array.isArray(v)) return { fetch: true, includes: stringList(v, '_source'), excludes: [] };
  if (isObject(v)) {
    const spec: SourceSpec = { fetch: true, includes: [], excludes: [] };
    for (const [k, val] of entries(v)) {
      const which = k === 'includes' || k === 'include' ? 'includes' : k === 'excludes' || k === 'exclude' ? 'excludes' : undefined;
      if (which === undefined || (typeof val !== 'string' && !Array.isArray(val))) {
        throw parsingError(`Unknown key for a ${tokenName(val)} in [${k}].`);
      }
      spec[which] = typeof val === 'string' ? [val] : stringList(val, k);
    }
    return spec;
  }
  throw parsingError(`Expected one of [VALUE_BOOLEAN, VALUE_STRING, START_ARRAY, START_OBJECT] but found [${tokenName(v)}]`);
}

function stringList(list: readonly unknown[], field: string): string[] {
  return list.map((el) => {
    if (typeof el !== 'string') throw parsingError(`Unknown key for a ${tokenName(el)} in [${field}].`);
    return el;
  });
}

const SYNTAX = { question: false, escape: false };

/** A compiled include/exclude filter, reusable across hits. */
export class SourceFilter {
  /** undefined: include everything. */
  readonly #include: GlobSet | undefined;
  readonly #exclude: GlobSet;

  constructor(includes: readonly string[], excludes: readonly string[]) {
    this.#include = includes.length === 0 ? undefined : new GlobSet(includes, SYNTAX);
    this.#exclude = new GlobSet(excludes, SYNTAX);
  }

  apply(source: JsonObject): JsonObject {
    return this.#filterMap(source, this.#include?.start(), this.#exclude.start());
  }

  /** `inc` undefined: everything below is included (match-all automaton). `exc` undefined: no exclude can match. */
  #filterMap(map: JsonObject, inc: GlobState | undefined, exc: GlobState | undefined): JsonObject {
    const out: JsonObject = {};
    for (const [key, value] of entries(map)) {
      const incState = inc === undefined || this.#include === undefined ? undefined : this.#include.step(inc, key);
      if (incState !== undefined && this.#include?.dead(incState) === true) continue;
      let excState = exc === undefined ? undefined : this.#exclude.step(exc, key);
      if (excState !== undefined && this.#exclude.dead(excState)) excState = undefined;
      if (excState !== undefined && this.#exclude.accepts(excState)) continue;

      const included = incState === undefined || this.#include?.accepts(incState) === true;
      let subInc = incState;
      const excBelow = excState === undefined ? undefined : this.#alive(this.#exclude.step(excState, '.'));
      if (included) {
        // nothing below can be excluded: take the whole value
        if (excBelow === undefined) {
          setOwn(out, key, value);
          continue;
        }
        subInc = undefined;
      }
      if (isObject(value)) {
        const below = subInc === undefined ? undefined : this.#include?.step(subInc, '.');
        if (below !== undefined && this.#include?.dead(below) === true) continue;
        const filtered = this.#filterMap(value, below, excBelow);
        if (included || Object.keys(filtered).length > 0) setOwn(out, key, filtered);
      } else if (Array.isArray(value)) {
        const filtered = this.#filterArray(value as unknown[], subInc, excState, included);
        if (included || filtered.length > 0) setOwn(out, key, filtered);
      } else if (included) {
        setOwn(out, key, value);
      }
    }
    return out;
  }

  /** Array elements share the array's path: objects step past the '.', scalars follow the array's own inclusion. */
  #filterArray(arr: unknown[], inc: GlobState | undefined, exc: GlobState | undefined, included: boolean): unknown[] {
    const out: unknown[] = [];
    for (const el of arr) {
      if (isObject(el)) {
        const below = inc === undefined ? undefined : this.#include?.step(inc, '.');
        if (below !== undefined && this.#include?.dead(below) === true) continue;
        const excBelow = exc === undefined ? undefined : this.#alive(this.#exclude.step(exc, '.'));
        const filtered = this.#filterMap(el, below, excBelow);
        if (Object.keys(filtered).length > 0) out.push(filtered);
      } else if (Array.isArray(el)) {
        const filtered = this.#filterArray(el as unknown[], inc, exc, included);
        if (filtered.length > 0) out.push(filtered);
      } else if (included) {
        out.push(el);
      }
    }
    return out;
  }

  #alive(s: GlobState): GlobState | undefined {
    return this.#exclude.dead(s) ? undefined : s;
  }
}
