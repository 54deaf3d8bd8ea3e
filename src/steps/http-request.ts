/**
 * `http_request`: create a resource on any REST API. The request carries an
 * `Idempotency-Key` that stays the same when the step is retried or resumed after a crash, so
 * a server that honours it creates the resource once. `${credential.<key>}` in the url,
 * headers or body is replaced by the (encrypted at rest) `credential` map.
 *
 * The call follows the node's outbound policy (services.outbound). A text a credential was
 * substituted into is a `Secret` until the outbound client sends it: every message names the
 * url as the template wrote it (`${credential.token}` still in it), and credential values are
 * scrubbed from what the remote answers before it becomes an error or the `response` output.
 */
import { isFlowdError, rephrase, stepFailure, validationError } from '../errors.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import { OutboundClient } from '../util/outbound-client.js';
import { DEFAULT_OUTBOUND_POLICY } from '../util/outbound-policy.js';
import type { MaybeSecret } from '../util/secret.js';
import { Secret, scrubJson, scrubSecrets } from '../util/secret.js';
import type { DeleteContext, ResourceDeleter, StepContext, StepDefinition } from './step.js';
import { scalarText } from '../util/scalar-text.js';

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
const EXCERPT = 500;
const CREDENTIAL = /\$\{credential\.([\w.-]+)\}/g;

/** The credential map's values as text. */
function credentialOf(raw: JsonValue | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return out;
  for (const [k, v] of Object.entries(raw)) if (v !== null) out.set(k, scalarText(v));
  return out;
}

/**
 * `s` with its credential placeholders filled: a Secret when any was. In JSON text (`json`),
 * a placeholder sits inside a string literal and its value is escaped as one.
 */
function withCredential(s: string, credential: ReadonlyMap<string, string>, json = false): MaybeSecret {
  let used = false;
  const text = s.replace(CREDENTIAL, (m, k: string) => {
    const v = credential.get(k);
    if (v === undefined) return m;
    used = true;
    return json ? JSON.stringify(v).slice(1, -1) : v;
  });
  return used ? new Secret(text) : text;
}

/** A url as messages show it: the template (placeholders unresolved), without any user info. */
const shownUrl = (template: string): string => template.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, '$1***@');

function headersOf(raw: JsonValue | undefined, credential: ReadonlyMap<string, string>, node: string): Record<string, MaybeSecret> {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw validationError(`[headers] of node [${node}] must be an object of strings`);
  const out: Record<string, MaybeSecret> = {};
  for (const [k, v] of Object.entries(raw)) out[k] = withCredential(typeof v === 'string' ? v : JSON.stringify(v), credential);
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

interface Call {
  node: string;
  method: string;
  /** The url as the template wrote it (what messages show). */
  urlTemplate: string;
  url: MaybeSecret;
  headers: Record<string, MaybeSecret>;
  body: JsonValue | undefined;
  credential: ReadonlyMap<string, string>;
}

let defaultClient: OutboundClient | undefined;

/** Services built outside a node (unit tests) may carry no client: the default policy then. */
const clientOf = (services: StepContext['services']): OutboundClient =>
  services.outbound ?? (defaultClient ??= new OutboundClient(DEFAULT_OUTBOUND_POLICY));

async function send(
  ctx: { signal: AbortSignal; services: StepContext['services'] },
  call: Call,
): Promise<{ status: number; body: JsonValue }> {
  const headers = { ...call.headers };
  let body: MaybeSecret | undefined;
  if (call.body !== undefined && call.method !== 'GET') {
    body =
      typeof call.body === 'string'
        ? withCredential(call.body, call.credential)
        : withCredential(JSON.stringify(call.body), call.credential, true);
    if (typeof call.body !== 'string' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json';
  }
  let text: string;
  let status: number;
  try {
    const res = await clientOf(ctx.services).request({
      method: call.method,
      url: call.url,
      headers,
      signal: ctx.signal,
      ...(body !== undefined ? { body } : {}),
    });
    ({ text, status } = res);
  } catch (e) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const known = isFlowdError(e) ? e : undefined;
    const verb = known?.kind === 'validation' ? 'refused' : 'failed';
    // The reason names at most a host; scrubbed anyway, in case a credential was put there.
    const reason = scrubSecrets((e as Error).message, call.credential.values());
    const message = `http_request ${call.method} ${shownUrl(call.urlTemplate)} ${verb}: ${reason}`;
    throw known !== undefined
      ? rephrase(known, message, { node: call.node, cause: e })
      : stepFailure(message, { status: 502, code: 'outbound.unreachable', node: call.node, retryable: true, cause: e });
  }
  let parsed: JsonValue = text;
  try {
    parsed = text === '' ? null : (JSON.parse(text) as JsonValue);
  } catch {
    // not JSON: keep the text
  }
  // A service may echo the credential (a header dump, an "invalid token …" message).
  return { status, body: scrubJson(parsed, call.credential.values()) };
}

function callOf(node: string, method: string, urlTemplate: string, inputs: JsonObject): Call {
  const credential = credentialOf(inputs['credential']);
  return {
    node,
    method,
    urlTemplate,
    url: withCredential(urlTemplate, credential),
    headers: headersOf(inputs['headers'], credential, node),
    body: undefined,
    credential,
  };
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
    const call = callOf(ctx.nodeId, method, url, ctx.inputs);
    call.headers['idempotency-key'] = ctx.idempotencyKey;
    call.body = ctx.inputs['body'];
    const res = await send(ctx, call);
    if (res.status < 200 || res.status > 299) {
      const detail = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
      throw stepFailure(
        `http_request ${method} ${shownUrl(url)} answered ${res.status}: ${scrubSecrets(detail, call.credential.values()).slice(0, EXCERPT)}`,
        {
          status: res.status >= 500 ? 502 : 400,
          node: ctx.nodeId,
          retryable: res.status >= 500 || res.status === 429,
        },
      );
    }
    const idPath = ctx.inputs['id_path'];
    let resourceId: string = ctx.idempotencyKey;
    if (typeof idPath === 'string') {
      const found = jsonPointer(res.body, idPath);
      if (typeof found !== 'string' && typeof found !== 'number') {
        throw stepFailure(`http_request: no id at [${idPath}] in the response of ${method} ${shownUrl(url)}`, {
          status: 400,
          node: ctx.nodeId,
        });
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
    const urlTemplate = rawUrl.replace(/\$\{resource_id\}/g, encodeURIComponent(ctx.resourceId));
    const method = scalarText(inputs['delete_method'] ?? 'DELETE').toUpperCase();
    const call = callOf(ctx.nodeId, method, urlTemplate, inputs);
    const res = await send(ctx, call);
    // 404/410: already gone, which is what we wanted.
    if ((res.status < 200 || res.status > 299) && res.status !== 404 && res.status !== 410) {
      throw stepFailure(`http_request ${method} ${shownUrl(urlTemplate)} answered ${res.status}`, {
        status: res.status >= 500 ? 502 : 400,
        node: ctx.nodeId,
        retryable: res.status >= 500,
      });
    }
  },
};
