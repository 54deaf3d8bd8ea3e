/** Query-string and body helpers with Flow Framework's parameter rules and messages. */
import type { FastifyRequest } from 'fastify';
import { validationError } from '../../errors.js';
import { searchError } from '../../search/errors.js';
import { parseTimeValue } from '../../template/time-value.js';

export type Query = Record<string, string>;

export function queryOf(req: FastifyRequest): Query {
  const q = req.query as Record<string, string | string[] | undefined>;
  const out: Query = {};
  for (const [k, v] of Object.entries(q)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(',') : v;
  return out;
}

/** OpenSearch's `paramAsBoolean`: absent = default; "" and "true" = true; "false" = false. */
export function boolParam(q: Query, key: string, dflt = false): boolean {
  const v = q[key];
  if (v === undefined) return dflt;
  if (v === '' || v === 'true') return true;
  if (v === 'false') return false;
  throw validationError(`Failed to parse value [${v}] only [true] or [false] are allowed.`, { code: 'request.bad_boolean' });
}

/** Rejects query parameters an endpoint does not know, as OpenSearch does (nested error body). */
export function rejectUnknownParams(req: FastifyRequest, q: Query, allowed: readonly string[]): void {
  const unknown = Object.keys(q).filter((k) => !allowed.includes(k) && !COMMON_PARAMS.has(k));
  if (unknown.length === 0) return;
  const path = req.url.split('?')[0] ?? req.url;
  const list = unknown.map((u) => `[${u}]`).join(', ');
  throw searchError(
    'illegal_argument_exception',
    `request [${path}] contains unrecognized parameter${unknown.length > 1 ? 's' : ''}: ${list}`,
  );
}

/** Accepted everywhere (OpenSearch REST conventions). */
const COMMON_PARAMS = new Set(['pretty', 'human', 'error_trace', 'filter_path', 'format']);

export function timeoutParam(q: Query, key: string): number | undefined {
  const v = q[key];
  if (v === undefined) return undefined;
  return parseTimeValue(v, key);
}

/** The request body as text (the server parses every body as a raw string). */
export function rawBody(req: FastifyRequest): string {
  const b = req.body;
  if (b === undefined || b === null) return '';
  if (typeof b === 'string') return b;
  if (Buffer.isBuffer(b)) return b.toString('utf8');
  return JSON.stringify(b);
}

export function contentType(req: FastifyRequest): string | undefined {
  return req.headers['content-type'];
}
