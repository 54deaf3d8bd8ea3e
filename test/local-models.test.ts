/**
 * flowd's built-in local models: each loads from its npm package and gives meaningful results
 * on real sentences; offsets slice back to the reported text; cancellation is honoured.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getLocalModel, listLocalModels } from '../src/ml/local/local-model-registry.js';
import type { LoadedLocalModel } from '../src/ml/local/local-model.js';
import type { JsonObject } from '../src/util/json.js';

interface Span {
  text: string;
  start: number;
  end: number;
}
interface LanguageOut {
  language: string;
  iso639_3: string;
  confidence: number;
  candidates: Array<{ language: string; iso639_3: string; score: number }>;
}
interface SentencesOut {
  sentences: Span[];
}
interface Token extends Span {
  type: string;
  pos: string;
  lemma?: string;
  stop_word: boolean;
}
interface TokensOut {
  tokens: Token[];
}
interface EntitiesOut {
  entities: Array<Span & { type: string }>;
}
interface SentimentOut {
  label: string;
  score: number;
  raw_score: number;
  positive: string[];
  negative: string[];
}

/** Each model's documented output shape. */
interface Outputs {
  'flowd/language-id': LanguageOut;
  'flowd/sentences': SentencesOut;
  'flowd/tokens': TokensOut;
  'flowd/entities': EntitiesOut;
  'flowd/sentiment': SentimentOut;
}

const NAMES: Array<keyof Outputs> = ['flowd/language-id', 'flowd/sentences', 'flowd/tokens', 'flowd/entities', 'flowd/sentiment'];
const loaded = new Map<string, LoadedLocalModel>();

/**
 * Runs a loaded model. The result is typed with the model's output shape, as a tuple as long
 * as `texts`, so destructured results need no undefined checks.
 */
async function predict<M extends keyof Outputs, const N extends readonly string[]>(
  name: M,
  texts: N,
  parameters: JsonObject = {},
): Promise<{ [K in keyof N]: Outputs[M] }> {
  const model = loaded.get(name);
  assert.ok(model, `${name} loaded`);
  const out = await model.predict([...texts], parameters);
  assert.equal(out.length, texts.length, 'one result per text');
  return out as unknown as { [K in keyof N]: Outputs[M] };
}

/** Every `{ text, start, end }` item slices back out of its input. */
function assertOffsets(input: string, items: Span[]): void {
  for (const it of items) {
    assert.ok(it.start >= 0 && it.end <= input.length && it.start < it.end, `span ${it.start}..${it.end}`);
    assert.equal(input.slice(it.start, it.end), it.text);
  }
}

void describe('local models', () => {
  before(async () => {
    // Load in order and report time-to-ready; the wink-nlp engine is built by the first model
    // that needs it (sentences) and shared by tokens and entities.
    const times: Record<string, string> = {};
    for (const name of NAMES) {
      const spec = getLocalModel(name);
      assert.ok(spec, name);
      const t0 = performance.now();
      loaded.set(name, await spec.load());
      times[name] = `${Math.round(performance.now() - t0)} ms`;
    }
    console.log('local model load times (first load in this process):', times);
  });

  void it('registry lists the five models with their metadata; unknown name → undefined', () => {
    const list = listLocalModels();
    assert.deepEqual(list.map((m) => m.name).sort(), [...NAMES].sort());
    for (const m of list) {
      assert.equal(m.version, '1.0.0');
      assert.equal(m.model_format, 'NPM_PACKAGE');
      assert.ok(m.function_name.length > 0 && m.description.length > 20 && m.packages.length > 0);
      assert.equal('load' in m, false, 'listing carries no loader');
    }
    assert.deepEqual(list.map((m) => m.function_name).sort(), [
      'LANGUAGE_IDENTIFICATION',
      'NER',
      'SENTENCE_SPLIT',
      'SENTIMENT',
      'TOKENIZE',
    ]);
    assert.equal(getLocalModel('flowd/nope'), undefined);
    assert.equal(getLocalModel(''), undefined);
  });

  void it('language-id: French, English, German, Spanish; und for short text', async () => {
    const [fr, en, de, es, short] = await predict('flowd/language-id', [
      'Le chat est sur la table et il dort tranquillement depuis ce matin.',
      'The quick brown fox jumps over the lazy dog and then runs into the forest.',
      'Der Hund läuft schnell über die Straße und bellt sehr laut.',
      'El perro corre rápidamente por la calle y ladra muy fuerte.',
      'hi',
    ]);
    assert.equal(fr.language, 'fr');
    assert.equal(fr.iso639_3, 'fra');
    assert.equal(en.language, 'en');
    assert.equal(de.language, 'de');
    assert.equal(es.language, 'es');
    for (const r of [fr, en, de, es]) {
      assert.ok(r.confidence > 0.8 && r.confidence <= 1, `confident: ${r.confidence}`);
      assert.equal(r.candidates.length, 3);
      const scores = r.candidates.map((c) => c.score);
      assert.equal(r.candidates[0]?.language, r.language);
      assert.equal(scores[0], r.confidence);
      assert.deepEqual(
        scores,
        [...scores].sort((a, b) => b - a),
        'best first',
      );
    }
    assert.deepEqual(short, { language: 'und', iso639_3: 'und', confidence: 0, candidates: [] });
  });

  void it('language-id: `only` restricts candidates (accepts 639-1 codes)', async () => {
    const [r] = await predict('flowd/language-id', ['Le chat est sur la table et il dort.'], { only: ['en', 'de'] });
    assert.ok(['en', 'de'].includes(r.language));
    assert.ok(r.candidates.every((c) => ['en', 'de'].includes(c.language)));
  });

  void it('sentences: split at the right offsets, abbreviations and blank lines handled', async () => {
    const input = 'I love this. It is great!';
    const [r] = await predict('flowd/sentences', [input]);
    assert.deepEqual(r.sentences, [
      { text: 'I love this.', start: 0, end: 12 },
      { text: 'It is great!', start: 13, end: 25 },
    ]);
    const text2 = '  Dr. Smith arrived at 10 a.m. on Monday.\n\nHe left early. Did he?  ';
    const [r2] = await predict('flowd/sentences', [text2]);
    assert.deepEqual(
      r2.sentences.map((s) => s.text),
      ['Dr. Smith arrived at 10 a.m. on Monday.', 'He left early.', 'Did he?'],
    );
    assertOffsets(text2, r2.sentences);
    const [empty] = await predict('flowd/sentences', ['']);
    assert.deepEqual(empty, { sentences: [] });
  });

  void it('tokens: text, type, pos, lemma and offsets', async () => {
    const input = "She can't pay 25 dollars, email me at a.b@example.com!\nThanks.";
    const [r] = await predict('flowd/tokens', [input]);
    const byText = new Map(r.tokens.map((t) => [t.text, t]));
    const tok = (text: string): Token => {
      const t = byText.get(text);
      assert.ok(t, text);
      return t;
    };
    assert.deepEqual(
      r.tokens.map((t) => t.text),
      ['She', 'ca', "n't", 'pay', '25', 'dollars', ',', 'email', 'me', 'at', 'a.b@example.com', '!', 'Thanks', '.'],
    );
    assert.equal(tok('25').type, 'number');
    assert.equal(tok(',').type, 'punctuation');
    assert.equal(tok('a.b@example.com').type, 'email');
    assert.equal(tok('She').pos, 'PRON');
    assert.equal(tok('pay').pos, 'VERB');
    assert.equal(tok('dollars').lemma, 'dollar');
    assert.equal(tok("n't").lemma, 'not');
    assertOffsets(input, r.tokens);
    const [ws] = await predict('flowd/tokens', ['a\n\nb'], { include_whitespace: true });
    assert.deepEqual(
      ws.tokens.map((t) => t.type),
      ['word', 'tabCRLF', 'word'],
    );
  });

  void it('entities: email, date, money, url, person, place, organization; sorted, offsets exact', async () => {
    const input =
      'On 5th March 2024 Barack Obama visited Google Inc. in New York City. ' +
      'Write to press@example.org or see https://example.org/news, tickets cost $25.50.';
    const [r] = await predict('flowd/entities', [input]);
    const got = r.entities.map((e: { type: string; text: string }) => `${e.type}:${e.text}`);
    for (const want of [
      'DATE:5th March 2024',
      'PERSON:Barack Obama',
      'ORGANIZATION:Google Inc.',
      'PLACE:New York City',
      'EMAIL:press@example.org',
      'URL:https://example.org/news',
      'MONEY:$25.50',
    ]) {
      assert.ok(got.includes(want), `${want} in ${JSON.stringify(got)}`);
    }
    assertOffsets(input, r.entities);
    const starts = r.entities.map((e) => e.start);
    assert.deepEqual(
      starts,
      [...starts].sort((a, b) => a - b),
    );
    assert.equal(new Set(r.entities.map((e) => JSON.stringify(e))).size, r.entities.length, 'no duplicates');
    // Punctuation after a link in prose is not part of the URL.
    const [u] = await predict('flowd/entities', ['Docs (see https://example.com/docs). Or https://example.com/a_(b)!']);
    assert.deepEqual(
      u.entities.filter((e) => e.type === 'URL').map((e) => e.text),
      ['https://example.com/docs', 'https://example.com/a_(b)'],
    );
  });

  void it('entities: `types` filter; possessive trimmed', async () => {
    const input = "Alice Johnson flew to São Paulo's airport on May 3, 2024.";
    const [r] = await predict('flowd/entities', [input], { types: ['person', 'PLACE'] });
    assert.deepEqual(
      r.entities.map((e: { type: string; text: string }) => `${e.type}:${e.text}`),
      ['PERSON:Alice Johnson', 'PLACE:São Paulo'],
    );
    assertOffsets(input, r.entities);
  });

  void it('sentiment: positive, negative (with negation), neutral', async () => {
    const [pos, neg, neutral, extra] = await predict(
      'flowd/sentiment',
      ['I love this. It is great!', 'This is not good. The service was terrible.', 'The meeting is at noon.', 'meh'],
      {},
    );
    assert.equal(pos.label, 'positive');
    assert.ok(pos.score > 0 && pos.raw_score > 0);
    assert.deepEqual([...pos.positive].sort(), ['great', 'love']);
    assert.deepEqual(pos.negative, []);
    assert.equal(neg.label, 'negative');
    assert.ok(neg.score < 0 && neg.raw_score < 0);
    assert.ok(neg.negative.includes('terrible'));
    assert.equal(neutral.label, 'neutral');
    assert.equal(neutral.raw_score, 0);
    assert.equal(extra.label, 'neutral');
    const [meh] = await predict('flowd/sentiment', ['meh'], { extras: { meh: -2 } });
    assert.equal(meh.label, 'negative');
  });

  void it('every model rejects on an aborted signal (and stops between texts)', async () => {
    for (const name of NAMES) {
      const model = loaded.get(name);
      assert.ok(model);
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(model.predict(['Hello there, this is a test.'], {}, controller.signal), { name: 'AbortError' });
    }
    // An abort that arrives while a large batch runs stops it: predict yields every ~20 ms.
    const model = loaded.get('flowd/tokens');
    assert.ok(model);
    const controller = new AbortController();
    const batch = Array.from({ length: 20_000 }, (_, i) => `Sentence number ${i} is about Paris and London.`);
    const running = model.predict(batch, {}, controller.signal);
    setImmediate(() => controller.abort());
    await assert.rejects(running, { name: 'AbortError' });
  });

  void it('load() is idempotent and cheap the second time (shared engines)', async () => {
    for (const name of NAMES) {
      const t0 = performance.now();
      const spec = getLocalModel(name);
      assert.ok(spec);
      const again = await spec.load();
      assert.ok(performance.now() - t0 < 200, `${name} reload is fast`);
      const [a] = await again.predict(['I love this. It is great!'], {});
      const [b] = await predict(name, ['I love this. It is great!']);
      assert.deepEqual(a, b);
    }
  });
});
