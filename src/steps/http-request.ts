/**
 * `http_request`: create a resource on any REST API. The request carries an
 * `Idempotency-Key` that stays the same when the step is retried or resumed after a crash, so
 * a server that honours it creates the resource once. `${credential.<key>}` in the url,
 * headers or body is replaced by the (encrypted at rest) `credential` map.
 */
import { stepFailure, validationError } from '../errors.js';
import type { JsonObject, JsonValue } from '../template/types.js';
import type { DeleteContext, ResourceDeleter, StepContext, StepDefinition } from './step.js';
import { scalarText } from '../util/scalar-text.js';

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

function credentialText(s: string, credential: JsonValue | undefined): string {
  if (typeof credential !== 'object' || credential === null || Array.isArray(credential)) return s;
  return s.replace(/\$\{credential\.([\w.-]+)\}/g, (m, k: string) => {
    const v = credential[k];
    return v === undefined ? m : scalarText(v);
  });
}

function headersOf(raw: JsonValue | undefined, credential: JsonValue | undefined, node: string): Record<string, string> {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw validationError(`[headers] of node [${node}] must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) out[k] = credentialText(typeof v === 'string' ? v : JSON.stringify(v), credential);
  return out;
}

/** RFC 6901 JSON Pointer. */
export function jsonPointer(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  if (!pointer.startsWith('/')) return undefined;
  let cur: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) cur = cur[Number(key)];
    else if (cur !== null && typeof cur === 'object') cur = (cur as Record<string, unknown>)[key];
    else return undefined;
  }
  return cur;
}

async function send(
  ctx: { signal: AbortSignal; services: StepContext['services'] },
  node: string,
  method: string,
  url: string,
  headers: Record<string, string>,
  body: JsonValue | undefined,
): Promise<{ status: number; body: JsonValue }> {
  let res: Response;
  try {
    const init: RequestInit = { method, headers: { ...headers }, signal: ctx.signal };
    if (body !== undefined && method !== 'GET') {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      if (typeof body !== 'string') (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
    res = await ctx.services.fetch(url, init);
  } catch (e) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    throw stepFailure(`http_request ${method} ${url} failed: ${(e as Error).message}`, { status: 502, node, retryable: true, cause: e });
  }
  const text = await res.text();
  let parsed: JsonValue = text;
  try {
    parsed = text === '' ? null : (JSON.parse(text) as JsonValue);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed };
}

export const httpRequestStep: StepDefinition = {
  name: 'http_request',
  inputs: ['url'],
  optionalInputs: ['method', 'headers', 'body', 'id_path', 'delete_method', 'delete_url', 'credential'],
  outputs: ['resource_id', 'status', 'response'],
  requiredPlugins: [],
  resourceType: 'http_resource_id',
  secretInputs: ['credential'],
  async execute(ctx) {
    const url = ctx.inputs['url'];
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
      throw validationError(`[url] of node [${ctx.nodeId}] must be an http(s) URL`, { node: ctx.nodeId });
    }
    const method = scalarText(ctx.inputs['method'] ?? 'POST').toUpperCase();
    if (!METHODS.has(method)) throw validationError(`[method] of node [${ctx.nodeId}] must be one of ${[...METHODS].join(', ')}`);
    const credential = ctx.inputs['credential'];
    const headers = headersOf(ctx.inputs['headers'], credential, ctx.nodeId);
    headers['idempotency-key'] = ctx.idempotencyKey;
    const rawBody = ctx.inputs['body'];
    const body = typeof rawBody === 'string' ? credentialText(rawBody, credential) : rawBody;
    const res = await send(ctx, ctx.nodeId, method, credentialText(url, credential), headers, body);
    if (res.status < 200 || res.status > 299) {
      const detail = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
      throw stepFailure(`http_request ${method} ${url} answered ${res.status}: ${detail.slice(0, 500)}`, {
        status: res.status >= 500 ? 502 : 400,
        node: ctx.nodeId,
        retryable: res.status >= 500 || res.status === 429,
      });
    }
    const idPath = ctx.inputs['id_path'];
    let resourceId: string = ctx.idempotencyKey;
    if (typeof idPath === 'string') {
      const found = jsonPointer(res.body, idPath);
      if (typeof found !== 'string' && typeof found !== 'number') {
        throw stepFailure(`http_request: no id at [${idPath}] in the response of ${method} ${url}`, { status: 400, node: ctx.nodeId });
      }
      resourceId = String(found);
    }
    const outputs: JsonObject = { resource_id: resourceId, status: res.status, response: res.body };
    return { outputs, resources: [{ workflow_step_name: 'http_request', resource_type: 'http_resource_id', resource_id: resourceId }] };
  },
};

export const httpRequestDeleter: ResourceDeleter = {
  createdBy: 'http_request',
  deleteStep: 'http_request',
  requiresAllowDelete: false,
  async remove(ctx: DeleteContext) {
    const inputs = ctx.nodeInputs ?? {};
    const rawUrl = inputs['delete_url'];
    if (typeof rawUrl !== 'string') return; // nothing declared to undo it
    const credential = inputs['credential'];
    const url = credentialText(rawUrl.replace(/\$\{resource_id\}/g, encodeURIComponent(ctx.resourceId)), credential);
    const method = scalarText(inputs['delete_method'] ?? 'DELETE').toUpperCase();
    const headers = headersOf(inputs['headers'], credential, ctx.nodeId);
    const res = await send(ctx, ctx.nodeId, method, url, headers, undefined);
    // 404/410: already gone, which is what we wanted.
    if ((res.status < 200 || res.status > 299) && res.status !== 404 && res.status !== 410) {
      throw stepFailure(`http_request ${method} ${url} answered ${res.status}`, { status: res.status >= 500 ? 502 : 400, node: ctx.nodeId });
    }
  },
};
