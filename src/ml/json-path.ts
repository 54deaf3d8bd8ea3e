/**
 * The JSONPath subset connectors use in `response_filter` and the built-in post-process
 * functions: `$`, `.key`, `['key']`, `[n]` (negative counts from the end), `[*]` and `.*`.
 * Like Jayway JsonPath (ML Commons), a definite path yields the value and a path with a
 * wildcard yields the list of matches.
 */
import { validationError } from '../errors.js';
import type { JsonValue } from '../util/json.js';

type Segment = { kind: 'key'; key: string } | { kind: 'index'; index: number } | { kind: 'all' };

const TOKEN = /\.([A-Za-z_$][\w$-]*)|\.\*|\[\*\]|\[(-?\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/y;

export function parseJsonPath(path: string): Segment[] {
  const p = path.trim();
  if (!p.startsWith('$')) throw validationError(`Invalid JSONPath [${path}]: it must start with $`, { code: 'ml.invalid_json_path' });
  const out: Segment[] = [];
  TOKEN.lastIndex = 1;
  while (TOKEN.lastIndex < p.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(p);
    if (m === null) throw validationError(`Invalid JSONPath [${path}] at position ${at}`, { code: 'ml.invalid_json_path' });
    if (m[1] !== undefined) out.push({ kind: 'key', key: m[1] });
    else if (m[2] !== undefined) out.push({ kind: 'index', index: Number(m[2]) });
    else if (m[3] !== undefined) out.push({ kind: 'key', key: m[3] });
    else if (m[4] !== undefined) out.push({ kind: 'key', key: m[4] });
    else out.push({ kind: 'all' });
  }
  return out;
}

function step(values: JsonValue[], seg: Segment): JsonValue[] {
  const next: JsonValue[] = [];
  for (const v of values) {
    if (seg.kind === 'all') {
      if (Array.isArray(v)) next.push(...v);
      else if (v !== null && typeof v === 'object') next.push(...Object.values(v));
    } else if (seg.kind === 'index') {
      if (Array.isArray(v)) {
        const x = v[seg.index < 0 ? v.length + seg.index : seg.index];
        if (x !== undefined) next.push(x);
      }
    } else if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, seg.key)) {
      const x = v[seg.key];
      if (x !== undefined) next.push(x);
    }
  }
  return next;
}

/** The value at `path` (undefined when a definite path matches nothing). */
export function evalJsonPath(doc: JsonValue, path: string): JsonValue | undefined {
  const segments = parseJsonPath(path);
  let values: JsonValue[] = [doc];
  for (const seg of segments) values = step(values, seg);
  if (segments.some((s) => s.kind === 'all')) return values;
  return values[0];
}
