/**
 * `model`: runs a deployed model on the input's text. `text_path` (default `/text`) points at
 * a string, or an array of strings; the output is the model's result for that text, or the
 * array of results. At publish time the model is looked up (it must be DEPLOYED); each
 * instance then loads a built-in local model itself, or calls a remote model through its
 * connector, one request per text. `parameters` go to the model with every text (a local
 * model's options, or a remote connector's `${parameters.…}`, where the text is `text`).
 */
import { stepFailure, validationError } from '../errors.js';
import { getLocalModel } from '../ml/local/local-model-registry.js';
import { predictRemote } from '../ml/remote-predict.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import type { BlockScope } from './block-config.js';
import { configError, onlyKeys, optionalObject, optionalPointer, requiredString, runError } from './block-config.js';
import type { BlockType } from './block.js';
import { compilePointer, jsonTypeOf, readPointer } from './json-pointer.js';
import { connectorFromJson, connectorToJson, refusePlaceholders, remoteCallDeps, remoteResult } from './remote-call.js';

const TYPE = 'model';

interface ModelConfig {
  modelId: string;
  textPath: string;
  parameters: JsonObject;
}

function parseConfig(config: JsonObject, scope: BlockScope): ModelConfig {
  onlyKeys(config, ['model_id', 'text_path', 'parameters'], scope);
  return {
    modelId: requiredString(config, 'model_id', scope),
    textPath: optionalPointer(config, 'text_path', scope) ?? '/text',
    parameters: optionalObject(config, 'parameters', scope) ?? {},
  };
}

type PredictTexts = (texts: string[], blockId: string, signal: AbortSignal) => Promise<JsonValue[]>;

async function localPredictor(name: string, c: ModelConfig): Promise<PredictTexts> {
  const spec = getLocalModel(name);
  if (spec === undefined) {
    throw validationError(`Model ${c.modelId} is the local model [${name}], which this flowd does not have`, {
      code: 'ml.unknown_local_model',
    });
  }
  const model = await spec.load();
  return async (texts, blockId, signal) => {
    try {
      return await model.predict(texts, c.parameters, signal);
    } catch (e) {
      if (signal.aborted) throw e;
      throw stepFailure(`Block [${blockId}]: local model ${name} failed: ${(e as Error).message}`, {
        code: 'ml.predict_failed',
        node: blockId,
        cause: e,
      });
    }
  };
}

async function remotePredictor(prepared: JsonObject, c: ModelConfig): Promise<PredictTexts> {
  const connector = connectorFromJson(prepared['connector'], `Model ${c.modelId}`);
  const deps = await remoteCallDeps();
  // Embedding connectors take text_docs through their pre-process function; the others read ${parameters.text}.
  const usesTextDocs = connector.actions.find((a) => a.action_type === 'PREDICT')?.pre_process_function !== undefined;
  return async (texts, _blockId, signal) => {
    const out: JsonValue[] = [];
    for (const text of texts) {
      const input = usesTextDocs
        ? { textDocs: [text], parameters: c.parameters }
        : { textDocs: undefined, parameters: { ...c.parameters, text } };
      out.push(remoteResult(await predictRemote(deps, connector, input, signal)));
    }
    return out;
  };
}

export const modelBlock: BlockType = {
  name: TYPE,
  description:
    'Model: runs a deployed model (config.model_id; a built-in local model or a remote one) on the text at config.text_path ' +
    '(default /text; a string or an array of strings) with config.parameters; outputs its result (an array for an array of texts).',
  validateConfig(config, blockId) {
    const c = parseConfig(config, { type: TYPE, blockId });
    return { model_id: c.modelId, text_path: c.textPath, parameters: c.parameters };
  },
  async prepare(config, deps): Promise<JsonObject> {
    const c = parseConfig(config, { type: TYPE });
    const target = await deps.ml.openForBlock({ modelId: c.modelId });
    if (target.kind === 'local') return { kind: 'local', model_id: c.modelId, name: target.name };
    if (!target.connector.actions.some((a) => a.action_type === 'PREDICT')) {
      throw validationError(`Model ${c.modelId}: its connector [${target.connector.name}] has no predict action to call`, {
        code: 'ml.no_predict_action',
      });
    }
    return { kind: 'remote', model_id: c.modelId, connector: connectorToJson(target.connector) };
  },
  async load(config, prepared) {
    const c = parseConfig(config, { type: TYPE });
    const kind = prepared['kind'];
    const name = prepared['name'];
    let predict: PredictTexts;
    if (kind === 'local' && typeof name === 'string') predict = await localPredictor(name, c);
    else if (kind === 'remote') predict = await remotePredictor(prepared, c);
    else
      throw configError(
        { type: TYPE },
        `model ${c.modelId} was not prepared (publish the flow so the model is looked up before instances load it)`,
        'block.invalid_prepared',
      );
    const tokens = compilePointer(c.textPath);
    return {
      async run(input, ctx) {
        const value = readPointer(input, tokens);
        const single = typeof value === 'string';
        if (!single && !(Array.isArray(value) && value.every((t) => typeof t === 'string'))) {
          throw runError(
            ctx.blockId,
            `no text at ${c.textPath === '' ? 'the input' : c.textPath}: the model block reads a string or an array of strings there, found ${jsonTypeOf(value)} (set config.text_path to where the text is)`,
            'block.invalid_input',
            400,
          );
        }
        const texts = single ? [value] : value;
        if (kind === 'remote')
          refusePlaceholders(
            texts.map((t, i): [string, JsonValue] => [single ? `the text at ${c.textPath}` : `text ${i} at ${c.textPath}`, t]),
            ctx.blockId,
          );
        const results = await predict(texts, ctx.blockId, ctx.signal);
        return single ? (results[0] ?? null) : results;
      },
    };
  },
};
