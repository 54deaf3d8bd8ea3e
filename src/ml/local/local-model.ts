/**
 * flowd's built-in local models: real NLP models shipped inside npm packages (no download at
 * run time). `register_local_pretrained_model` registers one by name; `deploy_model` loads it;
 * `_predict` and the runtime's `model` block call it.
 */
import type { JsonObject } from '../../util/json.js';

export interface LocalModelInfo {
  /** Name used in `register_local_pretrained_model.name`, e.g. `flowd/sentiment`. */
  name: string;
  version: string;
  model_format: string;
  function_name: string;
  description: string;
  /** npm package(s) that ship the model. */
  packages: string[];
}

export interface LoadedLocalModel {
  /** One result per input text, in order. */
  predict(texts: string[], parameters: JsonObject, signal?: AbortSignal): Promise<JsonObject[]>;
}

export interface LocalModelSpec extends LocalModelInfo {
  /** Load the model (may be slow the first time: parses the packaged model). */
  load(): Promise<LoadedLocalModel>;
}
