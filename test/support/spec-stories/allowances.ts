/**
 * Where the OpenSearch API specification lags OpenSearch itself: response properties that
 * OpenSearch (and flowd, matching it) returns but the spec's schema does not declare yet. Each
 * entry is one operation, one JSON pointer into its response (`*` for any array index or key)
 * and the reason; the property is left out of the copy validated against the schema (the
 * story's expected payload still sees it). Everything else stays strict: keep this list short.
 */

export interface Allowance {
  /** `METHOD /spec/path`, as the spec writes the path. */
  operation: string;
  /** JSON pointer into the response body; `*` matches any one key or index. */
  pointer: string;
  reason: string;
}

export const SPEC_ALLOWANCES: readonly Allowance[] = [
  ...['GET', 'POST'].map((method) => ({
    operation: `${method} /_plugins/_flow_framework/workflow/state/_search`,
    pointer: '/hits/hits/*/_source/error',
    reason:
      "Flow Framework's WorkflowState has `error` (set when provisioning fails) and state/_search returns it; the spec's state schema lacks it.",
  })),
];

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function without(value: unknown, path: readonly string[]): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  if (Array.isArray(value)) {
    return value.map((v, i) => (head === '*' || head === String(i) ? (rest.length === 0 ? v : without(v, rest)) : v));
  }
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (head !== '*' && head !== k) out[k] = v;
    else if (rest.length > 0) out[k] = without(v, rest);
  }
  return out;
}

/** `body` without what the allowances for `operation` name (a copy; `body` is untouched). */
export function withoutAllowed(operation: string, body: unknown, allowances: readonly Allowance[] = SPEC_ALLOWANCES): unknown {
  let out = body;
  for (const a of allowances) {
    if (a.operation !== operation) continue;
    const path = a.pointer
      .split('/')
      .slice(1)
      .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
    out = without(out, path);
  }
  return out;
}
