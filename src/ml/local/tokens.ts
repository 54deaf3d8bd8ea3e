/**
 * `flowd/tokens`: tokenization, part-of-speech tagging and lemmatization with wink-nlp's
 * English model.
 *
 * Each token carries wink's token type (word, number, punctuation, email, url, emoji,
 * currency, ordinal, …), its Universal POS tag, its lemma and its character offsets in the
 * input. Runs of line breaks and tabs are tokens for wink (type `tabCRLF`); they are left out
 * unless `include_whitespace: true`, since callers nearly always want words.
 */
import type { JsonObject } from '../../util/json.js';
import type { LoadedLocalModel, LocalModelSpec } from './local-model.js';
import { booleanParam, mapTexts } from './util.js';
import { loadWink } from './wink.js';
import type { WinkDoc } from './wink.js';

function tokenize(doc: WinkDoc, includeWhitespace: boolean): JsonObject {
  const values = doc.values();
  const types = doc.types();
  const pos = doc.pos();
  const lemmas = doc.lemmas();
  const stop = doc.stopWords();
  const spans = doc.spans();
  const tokens: JsonObject[] = [];
  for (let i = 0; i < values.length; i++) {
    const type = types[i] ?? 'word';
    if (type === 'tabCRLF' && !includeWhitespace) continue;
    const [start, end] = spans[i] ?? [0, 0];
    const token: JsonObject = { text: values[i] ?? '', type, pos: pos[i] ?? 'X' };
    const lemma = lemmas[i];
    if (lemma !== undefined && type !== 'tabCRLF') token.lemma = lemma;
    token.stop_word = stop[i] ?? false;
    token.start = start;
    token.end = end;
    tokens.push(token);
  }
  return { tokens };
}

export const tokensModel: LocalModelSpec = {
  name: 'flowd/tokens',
  version: '1.0.0',
  model_format: 'NPM_PACKAGE',
  function_name: 'TOKENIZE',
  description:
    'English tokenization with wink-nlp (wink-eng-lite-web-model): token text, type (word, number, punctuation, ' +
    'email, url, emoji…), part of speech, lemma, stop-word flag and character offsets.',
  packages: ['wink-nlp', 'wink-eng-lite-web-model'],
  async load(): Promise<LoadedLocalModel> {
    const wink = await loadWink();
    return {
      async predict(texts, parameters, signal) {
        const includeWhitespace = booleanParam(parameters, 'include_whitespace') ?? false;
        return mapTexts(texts, signal, (text) => tokenize(wink.readDoc(text), includeWhitespace));
      },
    };
  },
};
