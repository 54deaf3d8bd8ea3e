/**
 * Sends one story request the way the official runner does: `{name}` path parameters filled from
 * `parameters`, the rest as the query (arrays comma-joined), the payload as JSON (or NDJSON for
 * `application/x-ndjson`), any method with a body (GET included, so node:http, not fetch), and
 * the answer decoded by its content type.
 */
import { request as httpRequest } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { Parameter } from './story.js';

export interface StoryRequest {
  method: string;
  /** The spec's path, with `{name}` placeholders. */
  path: string;
  parameters: Record<string, unknown>;
  contentType: string;
  headers: Record<string, string>;
  /** Undefined: no body. */
  payload: unknown;
}

export interface StoryResponse {
  status: number;
  /** Without parameters (`application/json`), or undefined when none came. */
  contentType: string | undefined;
  /** Decoded by content type; undefined without a body. */
  payload: unknown;
  /** The raw body text, for messages. */
  text: string;
  /** OpenSearch's `error.reason` (or the status text) on an error status. */
  message: string | undefined;
}

const paramText = (v: unknown): string => (Array.isArray(v) ? v.map(paramText).join(',') : String(v as Parameter));

/** The request URL path with query, from the spec path and the chapter's resolved parameters. */
export function requestTarget(path: string, parameters: Record<string, unknown>): string {
  const inPath = new Set<string>();
  const filled = path.replace(/\{(\w+)\}/g, (_m, key: string) => {
    inPath.add(key);
    return paramText(parameters[key]);
  });
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(parameters)) if (!inPath.has(k) && v !== undefined) query.append(k, paramText(v));
  const q = query.toString();
  return q === '' ? filled : `${filled}?${q}`;
}

function encodeBody(payload: unknown, contentType: string): string {
  if (typeof payload === 'string') return payload;
  if (contentType === 'application/x-ndjson' && Array.isArray(payload)) return payload.map((l) => `${JSON.stringify(l)}\n`).join('');
  return JSON.stringify(payload);
}

function decodeBody(text: string, contentType: string | undefined): unknown {
  if (contentType === undefined) return text === '' ? undefined : text;
  switch (contentType) {
    case 'application/json':
      return text === '' ? {} : (JSON.parse(text) as unknown);
    case 'application/yaml':
      return text === '' ? {} : (parseYaml(text) as unknown);
    default:
      return text;
  }
}

export async function sendStoryRequest(baseUrl: string, authorization: string, req: StoryRequest): Promise<StoryResponse> {
  const url = new URL(requestTarget(req.path, req.parameters), baseUrl);
  const body = req.payload === undefined ? undefined : encodeBody(req.payload, req.contentType);
  const headers: Record<string, string> = { 'content-type': req.contentType, authorization, ...req.headers };
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  const { status, statusText, contentType, text } = await new Promise<{
    status: number;
    statusText: string;
    contentType: string | undefined;
    text: string;
  }>((resolveAnswer, reject) => {
    const r = httpRequest(url, { method: req.method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () =>
        resolveAnswer({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          contentType: res.headers['content-type']?.split(';')[0]?.trim(),
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    r.on('error', reject);
    r.end(body);
  });
  let payload: unknown;
  try {
    payload = decodeBody(text, contentType);
  } catch {
    payload = text;
  }
  let message: string | undefined;
  if (status >= 400) {
    const error = typeof payload === 'object' && payload !== null ? (payload as { error?: unknown }).error : undefined;
    const reason = typeof error === 'object' && error !== null ? (error as { reason?: unknown }).reason : error;
    message = typeof reason === 'string' ? reason : statusText;
  }
  return { status, contentType, payload, text, message };
}
