/**
 * Calling a remote model through its connector, with ML Commons' semantics: take the
 * connector's `predict` action, substitute `${parameters.x}` (connector parameters overlaid
 * with the request's) and `${credential.x}` (the opened credential) into its url, headers
 * and request_body, send it, and wrap the answer as `inference_results`. String parameters
 * are inserted verbatim, objects and arrays as JSON (ML Commons' `gson.toJson`); parameter
 * values may themselves reference parameters.
 *
 * Request parameters may fill placeholders but never change the scheme, host or port of the
 * connector's url (as ML Commons restricts it): the origin must be the one the connector's
 * own parameters give, or the call is refused before anything is sent. Credentials are never
 * logged nor put in errors: a text a credential was substituted into is a `Secret` until the
 * outbound client sends it, and an answer that echoes a credential back has it scrubbed.
 */
import type { Logger } from 'pino';
import { isFlowdError, rephrase, stepFailure, validationError } from '../errors.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import { OutboundClient } from '../util/outbound-client.js';
import type { OutboundPolicy } from '../util/outbound-policy.js';
import { DEFAULT_OUTBOUND_POLICY } from '../util/outbound-policy.js';
import type { MaybeSecret } from '../util/secret.js';
import { Secret, reveal, scrubJson, scrubSecrets } from '../util/secret.js';
import type { ConnectorAction, OpenedConnector } from './connectors.js';
import { textOf } from './json-util.js';
import type { PredictInput, PredictResponse } from './predict-io.js';
import { isBuiltInPostProcess, postProcess, preProcess } from './process-functions.js';
import { signSigV4 } from './sigv4.js';

export interface RemoteCallDeps {
  /**
   * The node's outbound client (its policy). Absent (block instances): a client for the
   * policy the connector was opened under, or the default (public addresses only).
   */
  outbound?: OutboundClient;
  logger: Logger;
}

const DEFAULT_READ_TIMEOUT_S = 30;
const EXCERPT = 500;
const MAX_NESTING = 5;
const PLACEHOLDER = /\$\{(parameters|credential)\.([^{}]+?)\}/g;

interface Filled {
  text: string;
  /** A credential was substituted into `text`. */
  secret: boolean;
  unfilled: string[];
}

/** Substitutes placeholders in `template`; unknown ones stay verbatim and are reported. */
function fill(template: string, params: JsonObject, credential: Record<string, string>, depth = 0): Filled {
  const unfilled: string[] = [];
  let secret = false;
  const text = template.replace(PLACEHOLDER, (whole, source: string, key: string) => {
    if (source === 'credential') {
      // Only the connector's own templates (url, headers, request_body) may name a credential:
      // a parameter value can come from the caller, and expanding a secret there would send it
      // wherever the caller likes (and echo it back).
      if (depth > 0) {
        unfilled.push(`credential.${key} (credentials may only appear in the connector's url, headers and request_body)`);
        return whole;
      }
      const value = credential[key];
      if (value === undefined) {
        unfilled.push(`credential.${key}`);
        return whole;
      }
      secret = true;
      return value;
    }
    const v: JsonValue | undefined = params[key];
    if (v === undefined || v === null) {
      unfilled.push(`parameters.${key}`);
      return whole;
    }
    const s = textOf(v);
    if (depth >= MAX_NESTING || !s.includes('${')) return s;
    const inner = fill(s, params, credential, depth + 1);
    unfilled.push(...inner.unfilled);
    return inner.text;
  });
  return { text, secret, unfilled };
}

function filled(where: string, template: string, params: JsonObject, credential: Record<string, string>): MaybeSecret {
  const r = fill(template, params, credential);
  if (r.unfilled.length > 0) {
    throw validationError(`Some parameter placeholder not filled in ${where}: ${[...new Set(r.unfilled)].join(', ')}`, {
      code: 'ml.unfilled_placeholder',
    });
  }
  return r.secret ? new Secret(r.text) : r.text;
}

function readTimeoutMs(clientConfig: JsonObject): number {
  const v = clientConfig['read_timeout'];
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n * 1000 : DEFAULT_READ_TIMEOUT_S * 1000;
}

interface HttpRequest {
  method: string;
  url: MaybeSecret;
  /** Where the request goes (scheme, host and port only: never a path, query or credential). */
  origin: string;
  headers: Record<string, MaybeSecret>;
  body: MaybeSecret | undefined;
}

const originOf = (url: string): string | undefined => {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : undefined;
  } catch {
    return undefined;
  }
};

/**
 * The origin of the substituted url, which must be the one the connector's own parameters
 * give (F4: a caller's `endpoint` parameter must not send the credential to its own server).
 */
function checkedOrigin(connector: OpenedConnector, action: ConnectorAction, url: string): string {
  const origin = originOf(url);
  if (origin === undefined) {
    throw validationError("The predict action's url must be an absolute http(s) URL after substitution", { code: 'ml.invalid_connector' });
  }
  const ownText = fill(action.url, connector.parameters, connector.credential).text;
  // A placeholder left in the scheme or host means the connector leaves its origin to the caller.
  const ownOrigin = originOf(ownText);
  const own = ownOrigin === undefined || ownOrigin.includes('${') ? undefined : ownOrigin;
  if (own !== origin) {
    throw validationError(
      `Request parameters may fill the connector's placeholders but not change the scheme, host or port of its url: ` +
        `connector [${connector.name}] must be called at ${own ?? 'the origin its own parameters give'}` +
        (own === undefined ? " (set the placeholders of the url's scheme and host in the connector's parameters)" : ''),
      { code: 'ml.connector_origin' },
    );
  }
  return origin;
}

function buildRequest(connector: OpenedConnector, action: ConnectorAction, params: JsonObject): HttpRequest {
  const cred = connector.credential;
  const url = filled('url', action.url, params, cred);
  const origin = checkedOrigin(connector, action, reveal(url));
  const headers: Record<string, MaybeSecret> = {};
  for (const [k, v] of Object.entries(action.headers ?? {})) headers[k] = filled(`header [${k}]`, v, params, cred);
  let body: MaybeSecret | undefined;
  if (action.request_body !== undefined && action.method !== 'GET') {
    body = filled('payload', action.request_body, params, cred);
    try {
      JSON.parse(reveal(body));
    } catch {
      // The payload may hold secrets: say what is wrong, not what it is.
      throw validationError(
        'Invalid payload: the request_body of the predict action is not valid JSON after substitution ' +
          '(a string parameter with quotes or newlines inserted inside a JSON string breaks it)',
        { code: 'ml.invalid_payload' },
      );
    }
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  }
  if (connector.protocol === 'aws_sigv4') {
    const plain: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) plain[k] = reveal(v);
    const signed = signSigV4({
      method: action.method,
      url: reveal(url),
      headers: plain,
      body: body === undefined ? undefined : reveal(body),
      region: textOf(params['region'] ?? ''),
      service: textOf(params['service_name'] ?? ''),
      credentials: { accessKey: cred['access_key'] ?? '', secretKey: cred['secret_key'] ?? '', sessionToken: cred['session_token'] },
    });
    // The signature headers name the access key and carry the session token: secrets too.
    const out: Record<string, MaybeSecret> = {};
    for (const [k, v] of Object.entries(signed.headers))
      out[k] = headers[k] ?? (k === 'authorization' || k === 'x-amz-security-token' ? new Secret(v) : v);
    return { method: action.method, url: typeof url === 'string' ? signed.url : new Secret(signed.url), origin, headers: out, body };
  }
  return { method: action.method, url, origin, headers, body };
}

const clients = new WeakMap<OutboundPolicy, OutboundClient>();

/** The client for calls of this connector (see RemoteCallDeps.outbound). */
function clientFor(deps: RemoteCallDeps, connector: OpenedConnector): OutboundClient {
  if (deps.outbound !== undefined) return deps.outbound;
  const policy = connector.outbound ?? DEFAULT_OUTBOUND_POLICY;
  let client = clients.get(policy);
  if (client === undefined) {
    client = new OutboundClient(policy);
    clients.set(policy, client);
  }
  return client;
}

async function send(
  client: OutboundClient,
  req: HttpRequest,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  secrets: readonly string[],
): Promise<{ status: number; text: string }> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new Error('read timeout')), timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
  const host = new URL(req.origin).host;
  try {
    const outbound = { method: req.method, url: req.url, headers: req.headers, signal: combined };
    const res = await client.request(req.body === undefined ? outbound : { ...outbound, body: req.body });
    return { status: res.status, text: res.text };
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    if (timeout.signal.aborted) {
      throw stepFailure(`Remote model at ${host} did not answer within ${timeoutMs / 1000}s (client_config.read_timeout)`, {
        status: 504,
        code: 'ml.remote_timeout',
        retryable: true,
      });
    }
    // The outbound client's errors name no path, query, header nor body (at most a host, scrubbed
    // anyway in case a credential was put there); keep their kind and code.
    const known = isFlowdError(e) ? e : undefined;
    const code = known === undefined || known.code === 'outbound.unreachable' ? 'ml.remote_unreachable' : known.code;
    const message = `Failed to call the remote model at ${host}: ${scrubSecrets((e as Error).message, secrets)}`;
    throw known !== undefined
      ? rephrase(known, message, { code, cause: e })
      : stepFailure(message, { status: 502, code, retryable: true, cause: e });
  } finally {
    clearTimeout(timer);
  }
}

/** `POST _predict` on a deployed remote model. */
export async function predictRemote(
  deps: RemoteCallDeps,
  connector: OpenedConnector,
  input: PredictInput,
  signal: AbortSignal | undefined,
): Promise<PredictResponse> {
  const action = connector.actions.find((a) => a.action_type === 'PREDICT');
  if (action === undefined) {
    throw validationError(`Connector [${connector.name}] has no predict action`, { code: 'ml.no_predict_action' });
  }
  const params: JsonObject = { ...connector.parameters, ...input.parameters };
  if (input.textDocs !== undefined) Object.assign(params, preProcess(action.pre_process_function, input.textDocs));
  const req = buildRequest(connector, action, params);
  const started = performance.now();
  const secrets = Object.values(connector.credential);
  const res = await send(clientFor(deps, connector), req, readTimeoutMs(connector.clientConfig), signal, secrets);
  const host = new URL(req.origin).host;
  deps.logger.debug(
    { connector: connector.name, host, status: res.status, ms: Math.round(performance.now() - started) },
    'remote model call',
  );
  if (res.status < 200 || res.status > 299) {
    const status = res.status >= 400 && res.status <= 599 ? res.status : 502;
    // A service may echo the credential back (an "invalid key …" message): never pass it on.
    throw stepFailure(`Error from remote service (${host}, status ${res.status}): ${scrubSecrets(res.text, secrets).slice(0, EXCERPT)}`, {
      status,
      code: 'ml.remote_error',
      retryable: res.status >= 500 || res.status === 429,
    });
  }
  let parsed: JsonValue = res.text;
  try {
    parsed = JSON.parse(res.text) as JsonValue;
  } catch {
    // not JSON: ML Commons returns the text under `response`
  }
  parsed = scrubJson(parsed, secrets);
  const filter = typeof params['response_filter'] === 'string' && params['response_filter'] !== '' ? params['response_filter'] : undefined;
  const fn = action.post_process_function;
  if (fn !== undefined && !isBuiltInPostProcess(fn)) {
    deps.logger.debug({ connector: connector.name }, 'post_process_function is a script: flowd returns the raw response');
  }
  return {
    inference_results: [{ output: postProcess(isBuiltInPostProcess(fn) ? fn : undefined, filter, parsed), status_code: res.status }],
  };
}
