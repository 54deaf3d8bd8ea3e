/**
 * The catalogue of flowd's built-in local models, by the name users give in
 * `register_local_pretrained_model.name`. Importing it is cheap: every model imports its
 * npm package inside `load()`, so nothing is parsed until a model is deployed.
 */
import { entitiesModel } from './entities.js';
import { languageIdModel } from './language-id.js';
import type { LocalModelInfo, LocalModelSpec } from './local-model.js';
import { sentencesModel } from './sentences.js';
import { sentimentModel } from './sentiment.js';
import { tokensModel } from './tokens.js';

const MODELS: readonly LocalModelSpec[] = [languageIdModel, sentencesModel, tokensModel, entitiesModel, sentimentModel];

const BY_NAME = new Map(MODELS.map((m) => [m.name, m]));

/** Descriptions only (no `load`), e.g. for a listing endpoint; fresh copies, safe to mutate. */
export function listLocalModels(): LocalModelInfo[] {
  return MODELS.map(({ name, version, model_format, function_name, description, packages }) => ({
    name,
    version,
    model_format,
    function_name,
    description,
    packages: [...packages],
  }));
}

export function getLocalModel(name: string): LocalModelSpec | undefined {
  return BY_NAME.get(name);
}
