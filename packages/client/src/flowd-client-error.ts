/**
 * The one error the typed client throws. `status` is the HTTP status, or 0 when no answer came
 * back (flowd not running, wrong URL, network down) or the client was misused (no API key for a
 * runtime call); `kind` tells these apart. `message` is the server's own message when it sent
 * one, `body` the parsed answer. Kind `auth` (status 401): the server ended an open event stream
 * because the credential it was opened with was revoked (key deleted or rotated; user deleted,
 * re-passworded or given other roles).
 */
import type { JsonValue } from './client-types.js';

export type FlowdClientErrorKind = 'http' | 'connection' | 'missing_credentials' | 'bad_response' | 'auth';

export interface FlowdClientErrorInit {
  status: number;
  message: string;
  kind: FlowdClientErrorKind;
  body?: JsonValue | undefined;
  /** Which API answered: management (basic auth) or runtime (API key). */
  api: 'management' | 'runtime';
  method: string;
  url: string;
  cause?: unknown;
}

export class FlowdClientError extends Error {
  readonly status: number;
  readonly body: JsonValue | undefined;
  readonly kind: FlowdClientErrorKind;
  readonly api: 'management' | 'runtime';
  readonly method: string;
  readonly url: string;

  constructor(init: FlowdClientErrorInit) {
    super(init.message, init.cause !== undefined ? { cause: init.cause } : undefined);
    this.name = 'FlowdClientError';
    this.status = init.status;
    this.body = init.body;
    this.kind = init.kind;
    this.api = init.api;
    this.method = init.method;
    this.url = init.url;
  }
}

export function isFlowdClientError(e: unknown): e is FlowdClientError {
  return e instanceof FlowdClientError;
}

/**
 * The message inside an error body: Flow Framework's `{"error": "…"}`, NL Flow's
 * `{"errors": [{"message"}]}`, or OpenSearch's `{"error": {"reason"}}`.
 */
export function serverMessage(body: JsonValue | undefined, text: string, status: number): string {
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const err = body['error'];
    if (typeof err === 'string' && err !== '') return err;
    if (err !== null && typeof err === 'object' && !Array.isArray(err) && typeof err['reason'] === 'string') return err['reason'];
    const errors = body['errors'];
    if (Array.isArray(errors)) {
      const msgs = errors
        .map((x) => {
          if (x === null || typeof x !== 'object' || Array.isArray(x) || typeof x['message'] !== 'string') return '';
          // NL Flow names the block (or $input) that failed.
          const node = x['node'];
          return typeof node === 'string' && node !== '' && !x['message'].includes(node) ? `${node}: ${x['message']}` : x['message'];
        })
        .filter((m) => m !== '');
      if (msgs.length > 0) return msgs.join('; ');
    }
    if (typeof body['message'] === 'string') return body['message'];
  }
  const t = text.trim();
  if (t !== '' && t.length <= 500 && !t.startsWith('<')) return t;
  return `HTTP ${status}`;
}
