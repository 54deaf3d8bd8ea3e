/**
 * Calling a remote model through its connector, with ML Commons' semantics: take the
 * connector's `predict` action, substitute `${parameters.x}` (connector parameters overlaid
 * with the request's) and `${credential.x}` (the opened credential) into its url, headers
 * and request_body, send it, and wrap the answer as `inference_results`. String parameters
 * are inserted verbatim, objects and arrays as JSON (ML Commons' `gson.toJson`); parameter
 * values may themselves reference parameters. Credentials are never logged nor put in errors.
 */
import type { Logger } from 'pino';
import { stepFailure, validationError } from '../errors.js';
import type { JsonObject, JsonValue } from '../template/types.js';
import type { ConnectorAction, OpenedConnector } from './connectors.js';
import { textOf } from './json-util.js';
import type { PredictInput, PredictResponse } from './predict-io.js';
import { isBuiltInPostProcess, postProcess, preProcess } from './process-functions.js';
import { signSigV4 } from './sigv4.js';

export interface RemoteCallDeps {
  fetch: typeof fetch;
  logger: Logger;
}

const DEFAULT_READ_TIMEOUT_S = 30;
const EXCERPT = 500;
const MAX_NESTING = 5;
const PLACEHOLDER = /\$\{(parameters|credential)\.([^{}]+?)\}/g;

interface Filled {
  text: string;
  unfilled: string[];
}

/** Substitutes placeholders in `template`; unknown ones stay verbatim and are reported. */
function fill(template: string, params: JsonObject, credential: Record<string, string>, depth = 0): Filled {
  const unfilled: string[] = [];
  const text = template.replace(PLACEHOLDER, (whole, source: string, key: string) => {
    if (source === 'credential') {
      // Only the connector's own templates (url, headers, request_body) may name a credential:
      // a parameter value can come from the caller, and expanding a secret there would send it
      // wherever the caller likes (and echo it back).
      if (depth > 0) {
        unfilled.push(`credential.${key} (credentials may only appear in the connector's url, headers and request_body)`);
        return whole;
      }
      const secret = credential[key];
      if (secret === undefined) unfilled.push(`credential.${key}`);
      return secret ?? whole;
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
  return { text, unfilled };
}

function filled(where: string, template: string, params: JsonObject, credential: Record<string, string>): string {
  const r = fill(template, params, credential);
  if (r.unfilled.length > 0) {
    throw validationError(`Some parameter placeholder not filled in ${where}: ${[...new Set(r.unfilled)].join(', ')}`, {
      code: 'ml.unfilled_placeholder',
    });
  }
  return r.text;
}

function readTimeoutMs(clientConfig: JsonObject): number {
  const v = clientConfig['read_timeout'];
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n * 1000 : DEFAULT_READ_TIMEOUT_S * 1000;
}

interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
}

function buildRequest(connector: OpenedConnector, action: ConnectorAction, params: JsonObject): HttpRequest {
  const cred = connector.credential;
  const url = filled('url', action.url, params, cred);
  if (!/^https?:\/\//i.test(url)) {
    throw validationError(`The predict action's url must be http(s) after substitution, got [${url.split('?')[0] ?? ''}]`, {
      code: 'ml.invalid_connector',
    });
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(action.headers ?? {})) headers[k] = filled(`header [${k}]`, v, params, cred);
  let body: string | undefined;
  if (action.request_body !== undefined && action.method !== 'GET') {
    body = filled('payload', action.request_body, params, cred);
    try {
      JSON.parse(body);
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
    const signed = signSigV4({
      method: action.method,
      url,
      headers,
      body,
      region: textOf(params['region'] ?? ''),
      service: textOf(params['service_name'] ?? ''),
      credentials: { accessKey: cred['access_key'] ?? '', secretKey: cred['secret_key'] ?? '', sessionToken: cred['session_token'] },
    });
    return { method: action.method, url: signed.url, headers: signed.headers, body };
  }
  return { method: action.method, url, headers, body };
}

async function send(deps: RemoteCallDeps, req: HttpRequest, timeoutMs: number, signal: AbortSignal | undefined): Promise<{ status: number; text: string }> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new Error('read timeout')), timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
  const host = new URL(req.url).host;
  try {
    const init: RequestInit = { method: req.method, headers: req.headers, signal: combined };
    if (req.body !== undefined) init.body = req.body;
    const res = await deps.fetch(req.url, init);
    return { status: res.status, text: await res.text() };
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    if (timeout.signal.aborted) {
      throw stepFailure(`Remote model at ${host} did not answer within ${timeoutMs / 1000}s (client_config.read_timeout)`, {
        status: 504,
        code: 'ml.remote_timeout',
        retryable: true,
      });
    }
    throw stepFailure(`Failed to call the remote model at ${host}: ${(e as Error).message}`, {
      status: 502,
      code: 'ml.remote_unreachable',
      retryable: true,
      cause: e,
    });
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
  const res = await send(deps, req, readTimeoutMs(connector.clientConfig), signal);
  const host = new URL(req.url).host;
  deps.logger.debug({ connector: connector.name, host, status: res.status, ms: Math.round(performance.now() - started) }, 'remote model call');
  if (res.status < 200 || res.status > 299) {
    const status = res.status >= 400 && res.status <= 599 ? res.status : 502;
    throw stepFailure(`Error from remote service (${host}, status ${res.status}): ${res.text.slice(0, EXCERPT)}`, {
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
  const filter = typeof params['response_filter'] === 'string' && params['response_filter'] !== '' ? params['response_filter'] : undefined;
  const fn = action.post_process_function;
  if (fn !== undefined && !isBuiltInPostProcess(fn)) {
    deps.logger.debug({ connector: connector.name }, 'post_process_function is a script: flowd returns the raw response');
  }
  return { inference_results: [{ output: postProcess(isBuiltInPostProcess(fn) ? fn : undefined, filter, parsed), status_code: res.status }] };
}
