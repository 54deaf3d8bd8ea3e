/**
 * The checks ML Commons makes on a create-connector REST body, in its order and words, before
 * flowd's own validation (connectors.ts, which also serves Flow Framework's create_connector
 * step and names the field in its own words).
 */
import { validationError } from '../errors.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import { ACTION_TYPES, CONNECTOR_PROTOCOLS } from './connectors.js';
import { isObject, jsonish } from './json-util.js';

const bad = (message: string): Error => validationError(message, { code: 'ml.invalid_connector' });

const absent = (v: JsonValue | undefined): boolean => v === undefined || v === null;

/** `ConnectorAction.parse`: each action's type, url and method. */
function checkActions(actions: JsonValue | undefined): void {
  const list = jsonish(actions);
  if (!Array.isArray(list)) return; // connectorDoc names a non-list
  for (const a of list) {
    if (!isObject(a)) continue;
    const type = a['action_type'];
    if (absent(type)) throw bad("action type can't be null");
    if (typeof type !== 'string' || !(ACTION_TYPES as readonly string[]).includes(type.toUpperCase())) {
      throw bad(`Wrong Action Type of ${typeof type === 'string' ? type : JSON.stringify(type)}`);
    }
    if (absent(a['url'])) throw bad("url can't be null");
    if (absent(a['method'])) throw bad("method can't be null");
  }
}

/** Throws ML Commons' error for the first problem it would report; flowd's checks follow. */
export function checkCreateConnectorBody(body: JsonObject): void {
  checkActions(body['actions']);
  if (absent(body['name'])) throw bad('Connector name is null');
  if (absent(body['version'])) throw bad('Connector version is null');
  const protocol = body['protocol'];
  if (absent(protocol)) throw bad('Connector protocol is null');
  const credential = jsonish(body['credential']);
  if (absent(credential) || (isObject(credential) && Object.keys(credential).length === 0)) {
    throw bad('Connector credential is null or empty list');
  }
  if (typeof protocol !== 'string' || !(CONNECTOR_PROTOCOLS as readonly string[]).includes(protocol)) {
    throw bad(`Unsupported connector protocol. Please use one of [${[...CONNECTOR_PROTOCOLS].sort().join(', ')}]`);
  }
}
