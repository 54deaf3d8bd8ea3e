/**
 * What the flow layer reads from the config of the blocks whose role it implements (block.ts
 * `BlockRole`): where a switch may route, how many failed branches a join tolerates.
 */
import type { JsonObject, JsonValue } from '../util/json.js';

/**
 * The block ids a switch may route to: the `dest` of each of its `cases` and its `default`
 * (switch-block.ts). Undefined when the config names none (routes computed at run time: any
 * downstream block may be chosen).
 */
export function switchDestinations(config: JsonObject): string[] | undefined {
  const found: string[] = [];
  const add = (v: JsonValue | undefined): void => {
    if (typeof v === 'string' && !found.includes(v)) found.push(v);
  };
  const cases = config.cases;
  if (Array.isArray(cases)) {
    for (const c of cases) if (c !== null && typeof c === 'object' && !Array.isArray(c)) add(c.dest);
  }
  add(config.default);
  return found.length > 0 ? found : undefined;
}

/** A join's `max_failed_branches` (default 0: any failed branch fails the join). */
export function joinMaxFailedBranches(config: JsonObject): number {
  const v = config.max_failed_branches;
  const n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : 0;
}
