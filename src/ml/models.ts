/**
 * Model and model-group documents, shaped like ML Commons' `.plugins-ml-model` /
 * `.plugins-ml-model-group` entries so `GET /_plugins/_ml/models/{id}` reads the same.
 * A model is remote (`algorithm: REMOTE`, called through its connector) or one of flowd's
 * built-in local models (`algorithm` = the local model's function name).
 */
import { validationError } from '../errors.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import type { LocalModelInfo } from './local/local-model.js';
import { jsonish, optionalString, optionalStringList, requiredString } from './json-util.js';

export const MODEL_KIND = 'model';
export const MODEL_GROUP_KIND = 'model_group';
export const REMOTE_ALGORITHM = 'REMOTE';

/** ML Commons' `MLModelState` values flowd uses. */
export type ModelState = 'REGISTERED' | 'DEPLOYING' | 'DEPLOYED' | 'UNDEPLOYED' | 'DEPLOY_FAILED';

const ACCESS_MODES = ['public', 'private', 'restricted'];

/** Optional fields both kinds of model accept and store as given (objects may arrive as JSON text). */
const PASS_THROUGH = ['interface', 'guardrails', 'rate_limiter', 'deploy_setting'];

export function modelState(doc: JsonObject): ModelState {
  const s = doc['model_state'];
  return s === 'DEPLOYING' || s === 'DEPLOYED' || s === 'UNDEPLOYED' || s === 'DEPLOY_FAILED' ? s : 'REGISTERED';
}

export const isRemote = (doc: JsonObject): boolean => doc['algorithm'] === REMOTE_ALGORITHM;

/** The model document in `state`, with ML Commons' timestamps for that transition. */
export function withState(doc: JsonObject, state: ModelState, now: number): JsonObject {
  const out: JsonObject = { ...doc, model_state: state, last_updated_time: now };
  if (state === 'DEPLOYED') out['last_deployed_time'] = now;
  if (state === 'UNDEPLOYED') out['last_undeployed_time'] = now;
  return out;
}

function accessMode(body: JsonObject, what: string): string | undefined {
  const access = optionalString(body, 'access_mode', what)?.toLowerCase();
  if (access !== undefined && !ACCESS_MODES.includes(access)) {
    throw validationError(`${what} [access_mode] must be one of ${ACCESS_MODES.join(', ')}`, { code: 'ml.invalid_access_mode' });
  }
  return access;
}

function common(body: JsonObject, what: string, now: number): JsonObject {
  const doc: JsonObject = { model_state: 'REGISTERED', created_time: now, last_updated_time: now, last_registered_time: now };
  const description = optionalString(body, 'description', what);
  if (description !== undefined) doc['description'] = description;
  const group = optionalString(body, 'model_group_id', what);
  if (group !== undefined) doc['model_group_id'] = group;
  const enabled = body['is_enabled'];
  doc['is_enabled'] = !(enabled === false || (typeof enabled === 'string' && enabled.toLowerCase() === 'false'));
  for (const key of PASS_THROUGH) {
    const v: JsonValue | undefined = jsonish(body[key]);
    if (v !== undefined && v !== null && v !== '') doc[key] = v;
  }
  const roles = optionalStringList(body['backend_roles'], `${what} [backend_roles]`);
  if (roles !== undefined) doc['backend_roles'] = roles;
  const access = accessMode(body, what);
  if (access !== undefined) doc['access'] = access;
  return doc;
}

/** A remote model (function_name is forced to `remote`, as Flow Framework does). */
export function remoteModelDoc(body: JsonObject, now: number): JsonObject {
  return {
    name: requiredString(body, 'name', 'model'),
    algorithm: REMOTE_ALGORITHM,
    model_version: '1',
    connector_id: requiredString(body, 'connector_id', 'model'),
    ...common(body, 'model', now),
  };
}

/** One of flowd's built-in local models (`spec` from the local model registry). */
export function localModelDoc(body: JsonObject, spec: LocalModelInfo, now: number): JsonObject {
  const doc: JsonObject = {
    name: spec.name,
    algorithm: spec.function_name,
    model_version: spec.version,
    model_format: spec.model_format,
    ...common(body, 'model', now),
  };
  doc['description'] ??= spec.description;
  return doc;
}

export function modelGroupDoc(body: JsonObject, now: number): JsonObject {
  const doc: JsonObject = {
    name: requiredString(body, 'name', 'model group'),
    latest_version: 0,
    access: accessMode(body, 'model group') ?? 'private',
    created_time: now,
    last_updated_time: now,
  };
  const description = optionalString(body, 'description', 'model group');
  if (description !== undefined) doc['description'] = description;
  const roles = optionalStringList(body['backend_roles'], 'model group [backend_roles]');
  if (roles !== undefined) doc['backend_roles'] = roles;
  return doc;
}

/** The connector id a model document references (remote models only). */
export function connectorIdOf(doc: JsonObject): string | undefined {
  const id = doc['connector_id'];
  return typeof id === 'string' ? id : undefined;
}
