/**
 * `http`: calls one action of a connector (ML Commons' blueprint format) with the connector's
 * credential, and outputs the parsed JSON answer. The connector is opened at publish time;
 * each input's top-level scalar fields fill the `${parameters.…}` that neither the connector
 * nor `config.parameters` defines (so an input can never redirect the call, e.g. by sending
 * its own `endpoint`; neither can `config.parameters` move the connector to another scheme,
 * host or port). The call follows the outbound policy of the node that published the flow
 * (it travels with the prepared connector). The answer is an object as the service sent it,
 * or `{ "response": … }` when it is not an object (ML Commons' convention).
 */
import { validationError } from '../errors.js';
import type { OpenedConnector } from '../ml/connectors.js';
import { ACTION_TYPES } from '../ml/connectors.js';
import { predictRemote } from '../ml/remote-predict.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import type { BlockScope } from './block-config.js';
import { configError, isObject, onlyKeys, optionalObject, optionalString, requiredString, runError } from './block-config.js';
import type { BlockType } from './block.js';
import { jsonTypeOf } from './json-pointer.js';
import { connectorFromJson, connectorToJson, refusePlaceholders, remoteCallDeps, remoteResult } from './remote-call.js';

const TYPE = 'http';

interface HttpConfig {
  connectorId: string;
  action: string;
  parameters: JsonObject;
}

function parseConfig(config: JsonObject, scope: BlockScope): HttpConfig {
  onlyKeys(config, ['connector_id', 'action', 'parameters'], scope);
  const action = (optionalString(config, 'action', scope) ?? 'PREDICT').trim().toUpperCase();
  if (!(ACTION_TYPES as readonly string[]).includes(action)) {
    throw configError(scope, `[action] must be one of the connector action types ${ACTION_TYPES.join(', ')}, got "${action}"`);
  }
  return {
    connectorId: requiredString(config, 'connector_id', scope),
    action,
    parameters: optionalObject(config, 'parameters', scope) ?? {},
  };
}

function actionOf(connector: OpenedConnector, c: HttpConfig): OpenedConnector['actions'][number] {
  const action = connector.actions.find((a) => a.action_type === c.action);
  if (action === undefined) {
    const has = connector.actions.map((a) => a.action_type).join(', ') || 'none';
    throw validationError(
      `Connector ${c.connectorId} [${connector.name}] has no ${c.action} action (it has: ${has}); set the http block's config.action`,
      {
        code: 'block.no_such_action',
      },
    );
  }
  return action;
}

const isScalar = (v: JsonValue): v is string | number | boolean => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

export const httpBlock: BlockType = {
  name: TYPE,
  description:
    "HTTP: calls config.action (default PREDICT) of connector config.connector_id with its credential; the input's top-level " +
    'scalar fields fill the ${parameters.…} that the connector and config.parameters leave open; outputs the parsed JSON answer.',
  validateConfig(config, blockId) {
    const c = parseConfig(config, { type: TYPE, blockId });
    return { connector_id: c.connectorId, action: c.action, parameters: c.parameters };
  },
  async prepare(config, deps) {
    const c = parseConfig(config, { type: TYPE });
    const target = await deps.ml.openForBlock({ connectorId: c.connectorId });
    if (target.kind !== 'remote') throw validationError(`${c.connectorId} is not a connector`, { code: 'block.invalid_prepared' });
    actionOf(target.connector, c);
    return { connector: connectorToJson(target.connector) };
  },
  async load(config, prepared) {
    const c = parseConfig(config, { type: TYPE });
    const opened = connectorFromJson(prepared['connector'], `Connector ${c.connectorId}`);
    // remote-predict.ts calls a connector's PREDICT action: present the chosen action as that one.
    const connector: OpenedConnector = { ...opened, actions: [{ ...actionOf(opened, c), action_type: 'PREDICT' }] };
    const fixed = new Set([...Object.keys(opened.parameters), ...Object.keys(c.parameters)]);
    const deps = await remoteCallDeps();
    return {
      async run(input, ctx) {
        if (!isObject(input)) {
          throw runError(
            ctx.blockId,
            `expects an object whose fields fill the connector's parameters, got ${jsonTypeOf(input)}`,
            'block.invalid_input',
            400,
          );
        }
        const fromInput = Object.entries(input).filter((e): e is [string, string | number | boolean] => isScalar(e[1]) && !fixed.has(e[0]));
        refusePlaceholders(
          fromInput.map(([k, v]): [string, JsonValue] => [`input field [${k}]`, v]),
          ctx.blockId,
        );
        const parameters: JsonObject = { ...Object.fromEntries(fromInput), ...c.parameters };
        return remoteResult(await predictRemote(deps, connector, { textDocs: undefined, parameters }, ctx.signal));
      },
    };
  },
};
