/**
 * Connectors (ML Commons' blueprint format): how a remote model is called. Validated once at
 * creation with messages that name the offending field, stored with the credential map
 * sealed (AES-256-GCM) under `credential`, and never returned with it.
 */
import { validationError } from '../errors.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import type { OutboundPolicy } from '../util/outbound-policy.js';
import type { SecretBox } from '../util/secret-box.js';
import { rememberSecret } from '../util/secret.js';
import { compact, isObject, jsonish, lenientStringMap, omit, optionalString, optionalStringList, requiredString } from './json-util.js';

export const CONNECTOR_KIND = 'connector';

export const CONNECTOR_PROTOCOLS = ['http', 'aws_sigv4'] as const;
export type ConnectorProtocol = (typeof CONNECTOR_PROTOCOLS)[number];

/** ML Commons' `ConnectorAction.ActionType`; stored upper-cased as ML Commons returns them. */
export const ACTION_TYPES = ['PREDICT', 'EXECUTE', 'BATCH_PREDICT', 'CANCEL_BATCH_PREDICT', 'BATCH_PREDICT_STATUS'] as const;

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

export type ConnectorAction = {
  action_type: string;
  method: string;
  url: string;
  name?: string;
  headers?: Record<string, string>;
  request_body?: string;
  pre_process_function?: string;
  post_process_function?: string;
};

/** A connector as the predict path needs it: credential opened, typed. */
export interface OpenedConnector {
  name: string;
  protocol: ConnectorProtocol;
  parameters: JsonObject;
  credential: Record<string, string>;
  actions: ConnectorAction[];
  clientConfig: JsonObject;
  /**
   * The outbound policy of the node that opened it, for block instances (worker threads),
   * which have no node configuration of their own; absent: the caller's client decides.
   */
  outbound?: OutboundPolicy;
}

const bad = (message: string): Error => validationError(`Invalid connector configuration: ${message}`, { code: 'ml.invalid_connector' });

function parseProtocol(v: JsonValue | undefined): ConnectorProtocol {
  const p = typeof v === 'string' ? v.trim().toLowerCase() : undefined;
  const found = CONNECTOR_PROTOCOLS.find((x) => x === p);
  if (found === undefined) throw bad(`[protocol] must be one of ${CONNECTOR_PROTOCOLS.join(', ')}, got ${JSON.stringify(v ?? null)}`);
  return found;
}

function parseAction(raw: JsonValue, i: number): ConnectorAction {
  const where = `actions[${i}]`;
  if (!isObject(raw)) throw bad(`${where} must be an object with action_type, method and url`);
  const type = typeof raw['action_type'] === 'string' ? raw['action_type'].trim().toUpperCase() : '';
  if (type === '') throw bad(`${where}.action_type is required`);
  if (!(ACTION_TYPES as readonly string[]).includes(type)) {
    throw bad(`${where}.action_type [${type.toLowerCase()}] is not one of ${ACTION_TYPES.map((t) => t.toLowerCase()).join(', ')}`);
  }
  const url = raw['url'];
  if (typeof url !== 'string' || url.trim() === '') throw bad(`${where}.url is required and must be a string`);
  const method = (optionalString(raw, 'method', `connector ${where}`) ?? 'POST').toUpperCase();
  if (!METHODS.includes(method)) throw bad(`${where}.method must be one of ${METHODS.join(', ')}`);
  const action: ConnectorAction = { action_type: type, method, url };
  const name = optionalString(raw, 'name', `connector ${where}`);
  if (name !== undefined) action.name = name;
  const headers = lenientStringMap(raw['headers'], `connector ${where}.headers`);
  if (headers !== undefined) action.headers = headers;
  // ML Commons takes the body as a string template; an object is accepted as its JSON text.
  const body = raw['request_body'];
  if (body !== undefined && body !== null && body !== '') {
    action.request_body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const pre = optionalString(raw, 'pre_process_function', `connector ${where}`);
  if (pre !== undefined) action.pre_process_function = pre;
  const post = optionalString(raw, 'post_process_function', `connector ${where}`);
  if (post !== undefined) action.post_process_function = post;
  return action;
}

function parseActions(v: JsonValue | undefined): ConnectorAction[] {
  const parsed = jsonish(v);
  if (parsed === undefined || parsed === null) return [];
  if (!Array.isArray(parsed)) throw bad('[actions] must be an array of objects with action_type and url');
  return parsed.map(parseAction);
}

/** client_config timeouts are seconds; they must be positive numbers when given. */
function parseClientConfig(v: JsonValue | undefined): JsonObject | undefined {
  const parsed = jsonish(v);
  if (parsed === undefined || parsed === null) return undefined;
  if (!isObject(parsed)) throw bad('[client_config] must be an object');
  for (const key of [
    'max_connection',
    'connection_timeout',
    'read_timeout',
    'max_retry_times',
    'retry_backoff_millis',
    'retry_timeout_seconds',
  ]) {
    const x = parsed[key];
    if (x === undefined) continue;
    const n = typeof x === 'string' ? Number(x) : x;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw bad(`client_config.${key} must be a non-negative number`);
  }
  return parsed;
}

/**
 * The stored document for a create-connector body (ML Commons' REST body, or a
 * `create_connector` node's inputs). Throws a validation error naming the field.
 */
export function connectorDoc(body: JsonObject, secrets: SecretBox, now: number): JsonObject {
  const name = requiredString(body, 'name', 'connector');
  const protocol = parseProtocol(body['protocol']);
  const parameters = jsonish(body['parameters']) ?? {};
  if (!isObject(parameters)) throw bad('[parameters] must be a map');
  const rawCredential = jsonish(body['credential']);
  if (rawCredential !== undefined && rawCredential !== null && !isObject(rawCredential)) throw bad('[credential] must be a map of strings');
  const credential = lenientStringMap(rawCredential, 'connector [credential]') ?? {};
  const actions = parseActions(body['actions']);
  if (protocol === 'aws_sigv4') {
    // ML Commons' AwsConnector needs both keys (or a role, which flowd cannot assume).
    if (!credential['access_key'] || !credential['secret_key'])
      throw bad('aws_sigv4 connectors need credential [access_key] and [secret_key]');
    if (typeof parameters['region'] !== 'string' || typeof parameters['service_name'] !== 'string') {
      throw bad('aws_sigv4 connectors need parameters [region] and [service_name]');
    }
  }
  const doc: JsonObject = {
    name,
    protocol,
    parameters,
    credential: secrets.sealJson(credential),
    actions: actions.map(compact),
    created_time: now,
    last_updated_time: now,
  };
  const description = optionalString(body, 'description', 'connector');
  if (description !== undefined) doc['description'] = description;
  const version = optionalString(body, 'version', 'connector');
  if (version !== undefined) doc['version'] = version;
  const clientConfig = parseClientConfig(body['client_config']);
  if (clientConfig !== undefined) doc['client_config'] = clientConfig;
  const roles = optionalStringList(body['backend_roles'], 'connector [backend_roles]');
  if (roles !== undefined) doc['backend_roles'] = roles;
  const access = optionalString(body, 'access_mode', 'connector');
  if (access !== undefined) doc['access'] = access.toLowerCase();
  return doc;
}

/** What GET returns: everything but the (sealed) credential. */
export function publicConnector(doc: JsonObject): JsonObject {
  return omit(doc, ['credential']);
}

/** The stored document, typed, with its credential opened (for the predict path only). */
export function openConnector(doc: JsonObject, secrets: SecretBox): OpenedConnector {
  const sealed = doc['credential'];
  const credential = typeof sealed === 'string' ? secrets.openJson<Record<string, string>>(sealed) : {};
  // Known from now on, so that no step error can carry them even if a message slipped.
  for (const v of Object.values(credential)) if (typeof v === 'string') rememberSecret(v);
  const actions = Array.isArray(doc['actions']) ? doc['actions'].map(parseAction) : [];
  return {
    name: typeof doc['name'] === 'string' ? doc['name'] : '',
    protocol: parseProtocol(doc['protocol']),
    parameters: isObject(doc['parameters']) ? doc['parameters'] : {},
    credential,
    actions,
    clientConfig: isObject(doc['client_config']) ? doc['client_config'] : {},
  };
}
