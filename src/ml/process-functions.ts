/**
 * ML Commons' built-in connector pre/post-process functions (the `connector.pre_process.*`
 * and `connector.post_process.*` names blueprints use for embedding models) and the
 * `response_filter` parameter. Painless scripts are not run: a pre-process script is refused
 * with a clear message, a post-process script is skipped (the raw response is returned).
 */
import { stepFailure, validationError } from '../errors.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import { evalJsonPath } from './json-path.js';
import { isObject } from './json-util.js';
import type { ModelTensor } from './predict-io.js';

/** text_docs → the parameters each built-in pre-process function produces. */
const PRE_PROCESS: Record<string, (docs: string[]) => JsonObject> = {
  'connector.pre_process.openai.embedding': (docs) => ({ input: docs }),
  'connector.pre_process.default.embedding': (docs) => ({ input: docs }),
  'connector.pre_process.cohere.embedding': (docs) => ({ texts: docs }),
  'connector.pre_process.bedrock.embedding': (docs) => ({ inputText: docs[0] ?? '' }),
};

/** Where each built-in post-process function finds the embedding(s), unless `response_filter` says otherwise. */
const POST_PROCESS: Record<string, string> = {
  'connector.post_process.openai.embedding': '$.data[*].embedding',
  'connector.post_process.default.embedding': '$[*]',
  'connector.post_process.cohere.embedding': '$.embeddings',
  'connector.post_process.bedrock.embedding': '$.embedding',
};

export const BUILT_IN_PRE_PROCESS = Object.keys(PRE_PROCESS);
export const BUILT_IN_POST_PROCESS = Object.keys(POST_PROCESS);

/** The parameters text_docs turn into, by the action's pre-process function. */
export function preProcess(fn: string | undefined, docs: string[]): JsonObject {
  if (fn === undefined) {
    throw validationError('Must provide pre_process_function for predict action to process text docs input.', {
      code: 'ml.no_pre_process',
    });
  }
  const builtIn = PRE_PROCESS[fn];
  if (builtIn === undefined) {
    throw validationError(
      `pre_process_function [${fn.length > 80 ? fn.slice(0, 80) + '…' : fn}] is not supported: flowd runs no painless scripts; ` +
        `use one of ${BUILT_IN_PRE_PROCESS.join(', ')} or send {"parameters": {...}} instead of text_docs`,
      { code: 'ml.unsupported_pre_process' },
    );
  }
  return builtIn(docs);
}

export const isBuiltInPostProcess = (fn: string | undefined): boolean => fn !== undefined && fn in POST_PROCESS;

const isVector = (v: JsonValue | undefined): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number');

/** One embedding (a vector) or a list of them → one FLOAT32 tensor each. */
function embeddings(fn: string, data: JsonValue | undefined): ModelTensor[] {
  const list = isVector(data) ? [data] : Array.isArray(data) ? data : [];
  if (list.length === 0 || !list.every(isVector)) {
    throw stepFailure(`post_process_function [${fn}] found no embeddings in the remote model's response`, {
      status: 502,
      code: 'ml.bad_remote_response',
    });
  }
  return list.map((v) => ({ name: 'sentence_embedding', data_type: 'FLOAT32', shape: [v.length], data: v }));
}

/**
 * The output tensors of a remote response: the built-in post-process function's embeddings,
 * else one `response` tensor holding the (filtered) response.
 */
export function postProcess(fn: string | undefined, responseFilter: string | undefined, response: JsonValue): ModelTensor[] {
  const builtInFilter = fn === undefined ? undefined : POST_PROCESS[fn];
  if (fn !== undefined && builtInFilter !== undefined) return embeddings(fn, evalJsonPath(response, responseFilter ?? builtInFilter));
  if (responseFilter !== undefined) return [{ name: 'response', dataAsMap: { response: evalJsonPath(response, responseFilter) ?? null } }];
  return [{ name: 'response', dataAsMap: isObject(response) ? response : { response } }];
}
