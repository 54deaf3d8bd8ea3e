/**
 * `flowd/sentiment`: lexicon-based English sentiment with the `sentiment` package (AFINN-165
 * word list, -5..+5 per word, with negation handling: "not good" scores negative).
 *
 * `raw_score` is the sum of word scores; `score` is that sum divided by the number of tokens
 * (sentiment's "comparative"), so long and short texts are comparable. The label is positive
 * when `score` is above `neutral_threshold` (default 0), negative when below its opposite,
 * neutral otherwise. `extras` overrides or adds words: `{ "extras": { "meh": -1 } }`.
 */
import type SentimentType from 'sentiment';
import type { JsonObject } from '../../util/json.js';
import type { LoadedLocalModel, LocalModelSpec } from './local-model.js';
import { mapTexts, numberMapParam, numberParam, round } from './util.js';

function analyze(analyzer: SentimentType, text: string, parameters: JsonObject): JsonObject {
  const extras = numberMapParam(parameters, 'extras');
  const threshold = Math.abs(numberParam(parameters, 'neutral_threshold') ?? 0);
  const result = analyzer.analyze(text, extras ? { extras } : undefined);
  const score = Number.isFinite(result.comparative) ? result.comparative : 0;
  const label = score > threshold ? 'positive' : score < -threshold ? 'negative' : 'neutral';
  return {
    label,
    score: round(score),
    raw_score: result.score,
    positive: [...result.positive],
    negative: [...result.negative],
  };
}

export const sentimentModel: LocalModelSpec = {
  name: 'flowd/sentiment',
  version: '1.0.0',
  model_format: 'NPM_PACKAGE',
  function_name: 'SENTIMENT',
  description:
    'English sentiment with the AFINN-165 lexicon (sentiment package): label positive/negative/neutral, ' +
    'comparative score (per token), raw score and the positive and negative words found.',
  packages: ['sentiment'],
  async load(): Promise<LoadedLocalModel> {
    const { default: Sentiment } = await import('sentiment');
    const analyzer = new Sentiment();
    return {
      async predict(texts, parameters, signal) {
        return mapTexts(texts, signal, (text) => analyze(analyzer, text, parameters));
      },
    };
  },
};
