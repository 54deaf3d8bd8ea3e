/**
 * The `_predict` wire format (ML Commons): the request is `{"text_docs": [...]}` and/or
 * `{"parameters": {...}}`; the response is `{"inference_results": [{"output": [tensor...],
 * "status_code": N}]}` where a tensor carries `dataAsMap` (structured results) or
 * `data`/`shape`/`data_type` (embeddings).
 */
import { validationError } from '../errors.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import { isObject, omit } from './json-util.js';

export type ModelTensor = {
  name?: string;
  data_type?: string;
  shape?: number[];
  data?: number[];
  result?: string;
  dataAsMap?: JsonValue;
};

export type ModelTensorOutput = { output: ModelTensor[]; status_code: number };

export type PredictResponse = { inference_results: ModelTensorOutput[] };

export interface PredictInput {
  /** `text_docs`, when the request has them. */
  textDocs: string[] | undefined;
  parameters: JsonObject;
}

const bad = (message: string): Error => validationError(message, { code: 'ml.invalid_predict_request' });

export function parsePredictBody(body: unknown): PredictInput {
  if (!isObject(body)) throw bad('The _predict body must be a JSON object with [text_docs] or [parameters]');
  const params = body['parameters'];
  if (params !== undefined && params !== null && !isObject(params)) throw bad('[parameters] must be an object');
  const docs = body['text_docs'];
  let textDocs: string[] | undefined;
  if (docs !== undefined && docs !== null) {
    if (!Array.isArray(docs) || !docs.every((d) => typeof d === 'string')) throw bad('[text_docs] must be an array of strings');
    textDocs = docs;
  }
  return { textDocs, parameters: isObject(params) ? params : {} };
}

/**
 * Texts for a local model: `text_docs`, else `parameters.texts` (list) or `parameters.text`;
 * the other parameters go to the model.
 */
export function localInput(input: PredictInput): { texts: string[]; parameters: JsonObject } {
  const p = input.parameters;
  let texts = input.textDocs;
  if (texts === undefined) {
    const many = p['texts'];
    const one = p['text'];
    if (Array.isArray(many) && many.every((t) => typeof t === 'string')) texts = many;
    else if (typeof one === 'string') texts = [one];
  }
  if (texts === undefined || texts.length === 0) {
    throw bad('No input text: send {"text_docs": ["..."]} or {"parameters": {"text": "..."}} (or "texts": [...])');
  }
  return { texts, parameters: omit(p, ['text', 'texts']) };
}

/** One inference result per text, as ML Commons answers for a batch of text_docs. */
export function localResponse(results: JsonObject[]): PredictResponse {
  return { inference_results: results.map((r) => ({ output: [{ name: 'response', dataAsMap: r }], status_code: 200 })) };
}
