/**
 * The 21 built-in use cases (`?use_case=`, Flow Framework's default use cases). Each is a substitution-ready
 * template plus a flat map of defaults, both shipped as data files next to this module
 * (`use-cases/`; `scripts/copy-assets.mjs` copies them into dist/).
 */
import { existsSync, readFileSync } from 'node:fs';
import { validationError } from '../errors.js';
import { INVALID_CONTENT_MESSAGE } from './body-parser.js';
import { isJsonObject, setOwn } from './template-parser.js';

export interface UseCaseInfo {
  name: string;
  requiredParams: string[];
  /** File name under use-cases/substitution-templates/. */
  template: string;
  /** File name under use-cases/defaults/. */
  defaults: string;
}

const KEY = 'create_connector.credential.key';
const AWS = [
  'create_connector.credential.access_key',
  'create_connector.credential.secret_key',
  'create_connector.credential.session_token',
];
const MODEL_ID = 'create_ingest_pipeline.model_id';

/** [name, defaults file, substitution template file, required params] as in DefaultUseCases. */
const USE_CASES: ReadonlyArray<readonly [string, string, string, readonly string[]]> = [
  ['open_ai_embedding_model_deploy', 'openai-embedding-defaults.json', 'deploy-remote-model-template.json', [KEY]],
  ['cohere_embedding_model_deploy', 'cohere-embedding-defaults.json', 'deploy-remote-model-extra-params-template.json', [KEY]],
  ['bedrock_titan_embedding_model_deploy', 'bedrock-titan-embedding-defaults.json', 'deploy-remote-bedrock-model-template.json', AWS],
  ['bedrock_titan_multimodal_model_deploy', 'bedrock-titan-multimodal-defaults.json', 'deploy-remote-bedrock-model-template.json', AWS],
  ['cohere_chat_model_deploy', 'cohere-chat-defaults.json', 'deploy-remote-model-chat-template.json', [KEY]],
  ['openai_chat_model_deploy', 'openai-chat-defaults.json', 'deploy-remote-model-chat-template.json', [KEY]],
  [
    'local_neural_sparse_search_bi_encoder',
    'local-sparse-search-biencoder-defaults.json',
    'neural-sparse-local-biencoder-template.json',
    [],
  ],
  ['semantic_search', 'semantic-search-defaults.json', 'semantic-search-template.json', [MODEL_ID]],
  ['multimodal_search', 'multi-modal-search-defaults.json', 'multi-modal-search-template.json', [MODEL_ID]],
  [
    'multimodal_search_with_bedrock_titan',
    'multimodal-search-bedrock-titan-defaults.json',
    'multi-modal-search-with-bedrock-titan-template.json',
    AWS,
  ],
  [
    'semantic_search_with_query_enricher',
    'semantic-search-query-enricher-defaults.json',
    'semantic-search-with-query-enricher-template.json',
    [MODEL_ID],
  ],
  [
    'semantic_search_with_cohere_embedding',
    'cohere-embedding-semantic-search-defaults.json',
    'semantic-search-with-model-template.json',
    [KEY],
  ],
  [
    'semantic_search_with_cohere_embedding_query_enricher',
    'cohere-embedding-semantic-search-with-query-enricher-defaults.json',
    'semantic-search-with-model-and-query-enricher-template.json',
    [KEY],
  ],
  ['hybrid_search', 'hybrid-search-defaults.json', 'hybrid-search-template.json', [MODEL_ID]],
  [
    'conversational_search_with_llm_deploy',
    'conversational-search-defaults.json',
    'conversational-search-with-cohere-model-template.json',
    [KEY],
  ],
  [
    'semantic_search_with_local_model',
    'semantic-search-with-local-model-defaults.json',
    'semantic-search-with-local-model-template.json',
    [],
  ],
  ['hybrid_search_with_local_model', 'hybrid-search-with-local-model-defaults.json', 'hybrid-search-with-local-model-template.json', []],
  [
    'semantic_search_with_reindex',
    'semantic-search-with-reindex-defaults.json',
    'semantic-search-with-reindex-template.json',
    [KEY, 'reindex.source_index'],
  ],
  [
    'conversational-search-with-bedrock-rag-tool',
    'conversational-search-rag-tool-defaults.json',
    'conversational-search-with-bedrock-rag-tool-template.json',
    AWS,
  ],
  ['agentic_search_with_flow_agent', 'agentic-search-with-flow-agent-defaults.json', 'agentic-search-with-flow-agent-template.json', AWS],
  [
    'agentic_search_with_conversational_agent',
    'agentic-search-with-conversational-agent-defaults.json',
    'agentic-search-with-conversational-agent-template.json',
    AWS,
  ],
];

const BAD_BODY_MESSAGE =
  'failure parsing request body when a use case is given, make sure to provide a map with values that are either Strings, Arrays, or Map of Strings to Strings';

export function listUseCases(): UseCaseInfo[] {
  return USE_CASES.map(([name, defaults, template, required]) => ({
    name,
    requiredParams: [...required],
    template,
    defaults,
  }));
}

/** Files are read once, on first use, and are immutable afterwards. */
const fileCache = new Map<string, string>();

/**
 * Next to this module (src/ under tsx, dist/template/ after tsc), or under template/ beside the
 * single-file bundle (dist/flowd.mjs), whichever exists.
 */
const assetRoot = ((): URL => {
  const beside = new URL('./use-cases/', import.meta.url);
  return existsSync(beside) ? beside : new URL('./template/use-cases/', import.meta.url);
})();
function readAsset(dir: 'defaults' | 'substitution-templates', file: string): string {
  const key = `${dir}/${file}`;
  let text = fileCache.get(key);
  if (text === undefined) {
    text = readFileSync(new URL(key, assetRoot), 'utf8');
    fileCache.set(key, text);
  }
  return text;
}

function loadDefaults(file: string): Map<string, string> {
  const raw = JSON.parse(readAsset('defaults', file)) as unknown;
  if (!isJsonObject(raw)) throw new Error(`use case defaults ${file} is not a JSON object`);
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(raw)) out.set(k, typeof v === 'string' ? v : JSON.stringify(v));
  return out;
}

/** Java's List.toString(), which Flow Framework's error messages print. */
const javaList = (items: readonly string[]) => `[${items.join(', ')}]`;

/**
 * A body value as Flow Framework's `parseStringToObjectMap` + `toString()` turns it into text:
 * scalars as their text, arrays as `["a", 1]` (numbers unquoted), maps of scalars as JSON
 * (Flow Framework prints Java's `{k=v}`, which no template could use).
 */
function overrideText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) {
    const parts: string[] = [];
    for (const item of v as unknown[]) {
      if (typeof item === 'number') parts.push(String(item));
      else if (typeof item === 'string' || typeof item === 'boolean') parts.push(`"${String(item)}"`);
      else return undefined;
    }
    return javaList(parts);
  }
  if (isJsonObject(v)) {
    const map: Record<string, string> = {};
    for (const [k, item] of Object.entries(v)) {
      if (typeof item === 'string') setOwn(map, k, item);
      else if (typeof item === 'number' || typeof item === 'boolean') setOwn(map, k, String(item));
      else return undefined;
    }
    return JSON.stringify(map);
  }
  return undefined;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** JSON-escape a value for insertion inside a JSON string of the raw template text. */
const jsonEscape = (s: string) => JSON.stringify(s).slice(1, -1);

/** Replace every `${{ key }}` whose key is a default; other placeholders survive verbatim. */
function substituteDefaults(text: string, values: Map<string, string>): string {
  let out = text;
  for (const [key, value] of values) {
    const re = new RegExp(`\\$\\{\\{\\s*${escapeRegExp(key)}\\s*\\}\\}`, 'g');
    const escaped = jsonEscape(value);
    // A replacer function: `$&` and friends in user values must stay literal.
    out = out.replace(re, () => escaped);
  }
  return out;
}

/**
 * The template document for `useCase` with the body's overrides applied. `body` is the decoded
 * request body, or undefined/null when the request had none.
 */
export function buildUseCaseTemplate(useCase: string, body: unknown): unknown {
  const entry = USE_CASES.find(([name]) => name === useCase);
  if (entry === undefined) {
    throw validationError(`Unable to find substitution ready file for use case: ${useCase}`, {
      code: 'use_case.unknown',
    });
  }
  const [, defaultsFile, templateFile, required] = entry;
  const missing = (keys: readonly string[]) =>
    validationError(`Missing the following required parameters for use case [${useCase}] : ${javaList(keys)}`, {
      code: 'use_case.missing_params',
    });

  const values = loadDefaults(defaultsFile);
  if (body === undefined || body === null) {
    if (required.length > 0) throw missing(required);
  } else {
    if (!isJsonObject(body)) throw validationError(BAD_BODY_MESSAGE, { code: 'use_case.bad_body' });
    const overrides = new Map<string, string>();
    for (const [k, v] of Object.entries(body)) {
      const text = overrideText(v);
      if (text === undefined) throw validationError(BAD_BODY_MESSAGE, { code: 'use_case.bad_body' });
      overrides.set(k, text);
    }
    const absent = required.filter((k) => !overrides.has(k));
    if (absent.length > 0) throw missing(absent);
    // Keys the defaults do not know are ignored, as in Flow Framework.
    for (const [k, v] of overrides) if (values.has(k)) values.set(k, v);
  }

  const text = substituteDefaults(readAsset('substitution-templates', templateFile), values);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw validationError(INVALID_CONTENT_MESSAGE, { code: 'template.invalid_content', cause: e });
  }
}
