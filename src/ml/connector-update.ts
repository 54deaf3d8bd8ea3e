/**
 * ML Commons' connector update (`PUT /_plugins/_ml/connectors/{id}`): the given fields replace
 * the stored ones, `parameters` are merged key by key, a non-empty `credential` replaces the
 * old map; the result is validated as a new connector would be and its credential sealed again.
 * Refused while a deployed model calls the connector, as ML Commons refuses it.
 */
import { FlowdError } from '../errors.js';
import type { JsonObject } from '../util/json.js';
import type { SecretBox } from '../util/secret-box.js';
import { connectorDoc } from './connectors.js';
import { isObject, jsonish } from './json-util.js';

/** The fields an update may set (ML Commons' `Connector.update`); anything else is ignored, as there. */
const REPLACED = ['name', 'description', 'version', 'protocol', 'actions', 'backend_roles', 'access_mode', 'client_config'] as const;

/** The stored connector `existing` with `update` applied, validated, credential sealed anew. */
export function updatedConnectorDoc(existing: JsonObject, update: JsonObject, secrets: SecretBox, now: number): JsonObject {
  const sealed = existing['credential'];
  const oldCredential = typeof sealed === 'string' ? secrets.openJson<Record<string, string>>(sealed) : {};
  // The stored document back in create-body form: `access` is stored, `access_mode` is what a body says.
  const body: JsonObject = { ...existing, credential: oldCredential };
  delete body['access'];
  if (typeof existing['access'] === 'string') body['access_mode'] = existing['access'];
  for (const key of REPLACED) {
    const v = update[key];
    if (v !== undefined && v !== null) body[key] = v;
  }
  const params = jsonish(update['parameters']);
  if (isObject(params) && Object.keys(params).length > 0) {
    body['parameters'] = { ...(isObject(existing['parameters']) ? existing['parameters'] : {}), ...params };
  } else if (params !== undefined && params !== null && !isObject(params)) {
    body['parameters'] = params; // connectorDoc names the error
  }
  const credential = jsonish(update['credential']);
  if (credential !== undefined && credential !== null && !(isObject(credential) && Object.keys(credential).length === 0)) {
    body['credential'] = credential;
  }
  const doc = connectorDoc(body, secrets, now);
  // Created once; everything else the create path does not know (owner…) is kept as stored.
  const out: JsonObject = { ...existing, ...doc, created_time: existing['created_time'] ?? doc['created_time'] ?? now };
  for (const key of ['description', 'version', 'client_config', 'backend_roles', 'access'] as const) {
    if (doc[key] === undefined) delete out[key];
  }
  return out;
}

/** ML Commons' answer when deployed models still call the connector (a 400 `status_exception`). */
export function connectorInUseByDeployed(modelIds: readonly string[]): FlowdError {
  return new FlowdError(
    'validation',
    `${modelIds.length} models are still using this connector, please undeploy the models first: [${modelIds.join(', ')}]`,
    { code: 'ml.connector_in_use', details: { opensearchType: 'status_exception' } },
  );
}
