/**
 * `flowd/sentences`: sentence boundary detection with wink-nlp's English model (it knows
 * abbreviations such as "Dr." and "e.g.", so they do not end a sentence).
 *
 * Offsets are character offsets (UTF-16 code units, i.e. JavaScript string indices) into the
 * input: `input.slice(start, end) === text` always holds. A sentence's span runs from its first
 * token to its last, so surrounding whitespace and blank lines are not part of it.
 */
import type { JsonObject } from '../../util/json.js';
import type { LoadedLocalModel, LocalModelSpec } from './local-model.js';
import { mapTexts } from './util.js';
import { loadWink } from './wink.js';
import type { WinkDoc } from './wink.js';

function split(doc: WinkDoc): JsonObject {
  const types = doc.types();
  const sentences: JsonObject[] = [];
  for (const range of doc.sentences()) {
    // wink attaches line breaks to the sentence before them; trim them off the span.
    let { first, last } = range;
    while (first <= last && types[first] === 'tabCRLF') first++;
    while (last >= first && types[last] === 'tabCRLF') last--;
    if (first > last) continue;
    const [start, end] = doc.charSpan({ first, last });
    sentences.push({ text: doc.text.slice(start, end), start, end });
  }
  return { sentences };
}

export const sentencesModel: LocalModelSpec = {
  name: 'flowd/sentences',
  version: '1.0.0',
  model_format: 'NPM_PACKAGE',
  function_name: 'SENTENCE_SPLIT',
  description:
    'English sentence splitting with wink-nlp (wink-eng-lite-web-model). Returns each sentence with its ' +
    'character offsets [start, end) into the input.',
  packages: ['wink-nlp', 'wink-eng-lite-web-model'],
  async load(): Promise<LoadedLocalModel> {
    const wink = await loadWink();
    return {
      async predict(texts, _parameters, signal) {
        return mapTexts(texts, signal, (text) => split(wink.readDoc(text)));
      },
    };
  },
};
