/**
 * What the `model` and `http` blocks share to call a remote service from an instance: the
 * opened connector as plain JSON (it crosses into the worker thread in `prepared`, credential
 * included, and lives in memory only, with the node's outbound policy, which the instance's
 * calls follow), the call dependencies, a guard against placeholder injection through the
 * input, and the result shape.
 */
import type { Logger } from 'pino';
import { validationError } from '../errors.js';
import type { ConnectorAction, ConnectorProtocol, OpenedConnector } from '../ml/connectors.js';
import { CONNECTOR_PROTOCOLS } from '../ml/connectors.js';
import type { PredictResponse } from '../ml/predict-io.js';
import type { RemoteCallDeps } from '../ml/remote-predict.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import { outboundPolicyFromJson, outboundPolicyToJson } from '../util/outbound-policy.js';
import { isObject, runError } from './block-config.js';

/** The opened connector as JSON for `prepared`. */
export function connectorToJson(c: OpenedConnector): JsonObject {
  const actions = c.actions.map((a): JsonObject => {
    const out: JsonObject = { action_type: a.action_type, method: a.method, url: a.url };
    if (a.name !== undefined) out['name'] = a.name;
    if (a.headers !== undefined) out['headers'] = { ...a.headers };
    if (a.request_body !== undefined) out['request_body'] = a.request_body;
    if (a.pre_process_function !== undefined) out['pre_process_function'] = a.pre_process_function;
    if (a.post_process_function !== undefined) out['post_process_function'] = a.post_process_function;
    return out;
  });
  const out: JsonObject = {
    name: c.name,
    protocol: c.protocol,
    parameters: c.parameters,
    credential: { ...c.credential },
    actions,
    client_config: c.clientConfig,
  };
  if (c.outbound !== undefined) out['outbound'] = outboundPolicyToJson(c.outbound);
  return out;
}

const badPrepared = (what: string, detail: string): Error =>
  validationError(`${what}: the prepared connector is malformed (${detail}); publish the flow again`, { code: 'block.invalid_prepared' });

function stringMap(v: JsonValue | undefined, what: string, field: string): Record<string, string> {
  if (v === undefined) return {};
  if (!isObject(v)) throw badPrepared(what, `${field} is not an object`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') throw badPrepared(what, `${field}.${k} is not a string`);
    out[k] = x;
  }
  return out;
}

function actionFromJson(v: JsonValue, what: string): ConnectorAction {
  if (!isObject(v)) throw badPrepared(what, 'an action is not an object');
  const { action_type, method, url } = v;
  if (typeof action_type !== 'string' || typeof method !== 'string' || typeof url !== 'string')
    throw badPrepared(what, 'an action lacks action_type, method or url');
  const a: ConnectorAction = { action_type, method, url };
  for (const key of ['name', 'request_body', 'pre_process_function', 'post_process_function'] as const) {
    const x = v[key];
    if (typeof x === 'string') a[key] = x;
  }
  if (v['headers'] !== undefined) a.headers = stringMap(v['headers'], what, 'headers');
  return a;
}

/** Reads back what `connectorToJson` wrote (in the instance). */
export function connectorFromJson(v: JsonValue | undefined, what: string): OpenedConnector {
  if (!isObject(v)) throw badPrepared(what, 'missing');
  const protocol = CONNECTOR_PROTOCOLS.find((p): p is ConnectorProtocol => p === v['protocol']);
  if (protocol === undefined) throw badPrepared(what, 'unknown protocol');
  const actions = v['actions'];
  if (!Array.isArray(actions)) throw badPrepared(what, 'actions is not an array');
  const parameters = v['parameters'] ?? {};
  const clientConfig = v['client_config'] ?? {};
  if (!isObject(parameters) || !isObject(clientConfig)) throw badPrepared(what, 'parameters or client_config is not an object');
  return {
    name: typeof v['name'] === 'string' ? v['name'] : '',
    protocol,
    parameters,
    credential: stringMap(v['credential'], what, 'credential'),
    actions: actions.map((a) => actionFromJson(a, what)),
    clientConfig,
    // Missing (prepared by an older node): the strict default policy.
    outbound: outboundPolicyFromJson(v['outbound']),
  };
}

let silentLogger: Promise<Logger> | undefined;

/**
 * A logger for remote-predict.ts; the outbound client comes from the policy the connector
 * carries. The block contract gives instances no logger, so remote calls from blocks are not
 * logged (pino is only imported once a block needs it).
 */
export async function remoteCallDeps(): Promise<RemoteCallDeps> {
  silentLogger ??= import('pino').then(({ pino }) => pino({ level: 'silent' }));
  return { logger: await silentLogger };
}

/** Connector substitution would expand these even inside values that came from the input. */
const PLACEHOLDER = /\$\{(?:parameters|credential)\./;

/**
 * Refuses input-supplied text that holds a connector placeholder: substitution is recursive,
 * so `${credential.api_key}` in a document would otherwise be replaced by the secret and sent
 * (and possibly echoed back) to the remote service.
 */
export function refusePlaceholders(values: Iterable<[string, JsonValue]>, blockId: string): void {
  for (const [where, v] of values) {
    if (typeof v === 'string' && PLACEHOLDER.test(v)) {
      throw runError(
        blockId,
        `${where} contains "\${parameters." or "\${credential.", which the connector would substitute; remove that text from the input`,
        'block.unsafe_input',
        400,
      );
    }
  }
}

/** A remote answer as a block output: the first result's `dataAsMap`, else the whole response. */
export function remoteResult(res: PredictResponse): JsonValue {
  const first = res.inference_results[0]?.output[0]?.dataAsMap;
  if (first !== undefined) return first;
  return JSON.parse(JSON.stringify(res)) as JsonValue;
}
