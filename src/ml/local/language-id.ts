/**
 * `flowd/language-id`: language identification with franc-min (trigram profiles of the 82
 * most-spoken languages, shipped inside the package).
 *
 * franc answers ISO 639-3 codes and a score per candidate normalized so that the best is
 * always 1, which says nothing about how sure it is. flowd turns the scores into a
 * distribution with a sharp softmax, so `confidence` is high when the best language is well
 * ahead of the runner-up (a French sentence: Portuguese 0.23 behind → 0.99) and drops toward
 * 0.5 or below when languages are nearly tied. Candidate scores are the same distribution.
 */
import type { JsonObject } from '../../util/json.js';
import type { LoadedLocalModel, LocalModelSpec } from './local-model.js';
import { mapTexts, numberParam, round, stringListParam } from './util.js';

/**
 * Softmax temperature over franc's normalized scores (0..1). With two candidates, a 0.1 gap
 * gives ≈ 0.97; text full of names, e-mail addresses and numbers, where franc finds many
 * languages within 0.05 of each other, gets a low confidence, as it should.
 */
const TEMPERATURE = 0.03;
const TOP_CANDIDATES = 3;

/**
 * ISO 639-3 → ISO 639-1 for every language franc-min can answer. Individual languages map to
 * their macrolanguage's two-letter code (arb → ar, pes → fa, uzn → uz), as is usual; languages
 * with no 639-1 code (ceb, bho, ilo, …) keep their three-letter code.
 */
const ISO_639_1: Readonly<Record<string, string>> = {
  amh: 'am',
  arb: 'ar',
  azj: 'az',
  bel: 'be',
  ben: 'bn',
  bos: 'bs',
  bul: 'bg',
  ces: 'cs',
  ckb: 'ku',
  cmn: 'zh',
  deu: 'de',
  ell: 'el',
  eng: 'en',
  fra: 'fr',
  fuv: 'ff',
  guj: 'gu',
  hau: 'ha',
  hin: 'hi',
  hrv: 'hr',
  hun: 'hu',
  ibo: 'ig',
  ind: 'id',
  ita: 'it',
  jav: 'jv',
  jpn: 'ja',
  kan: 'kn',
  kaz: 'kk',
  kin: 'rw',
  koi: 'kv',
  kor: 'ko',
  lin: 'ln',
  mal: 'ml',
  mar: 'mr',
  mya: 'my',
  nld: 'nl',
  npi: 'ne',
  nya: 'ny',
  pan: 'pa',
  pbu: 'ps',
  pes: 'fa',
  plt: 'mg',
  pol: 'pl',
  por: 'pt',
  qug: 'qu',
  ron: 'ro',
  run: 'rn',
  rus: 'ru',
  sin: 'si',
  som: 'so',
  spa: 'es',
  srp: 'sr',
  sun: 'su',
  swe: 'sv',
  swh: 'sw',
  tam: 'ta',
  tel: 'te',
  tgl: 'tl',
  tha: 'th',
  tur: 'tr',
  ukr: 'uk',
  urd: 'ur',
  uzn: 'uz',
  vie: 'vi',
  yor: 'yo',
  zlm: 'ms',
  zul: 'zu',
  zyb: 'za',
};

/** The two-letter code when ISO 639-1 has one, else the three-letter code (`und` stays). */
export function toIso6391(iso6393: string): string {
  return ISO_639_1[iso6393] ?? iso6393;
}

type FrancAll = (value?: string, options?: { only?: string[]; ignore?: string[]; minLength?: number }) => Array<[string, number]>;

function identify(francAll: FrancAll, text: string, parameters: JsonObject): JsonObject {
  const options: { only?: string[]; ignore?: string[]; minLength?: number } = {};
  // `only` / `ignore` take either code style: users think in "en", franc in "eng".
  const only = stringListParam(parameters, 'only')?.flatMap(toIso6393);
  const ignore = stringListParam(parameters, 'ignore')?.flatMap(toIso6393);
  const minLength = numberParam(parameters, 'min_length');
  if (only) options.only = only;
  if (ignore) options.ignore = ignore;
  if (minLength !== undefined) options.minLength = minLength;

  const ranked = francAll(text, options);
  const best = ranked[0];
  if (!best || best[0] === 'und') {
    return { language: 'und', iso639_3: 'und', confidence: 0, candidates: [] };
  }
  const weights = ranked.map(([, score]) => Math.exp((score - best[1]) / TEMPERATURE));
  const total = weights.reduce((a, b) => a + b, 0);
  const candidates = ranked.slice(0, TOP_CANDIDATES).map(([code], i) => ({
    language: toIso6391(code),
    iso639_3: code,
    score: round((weights[i] ?? 0) / total),
  }));
  return {
    language: toIso6391(best[0]),
    iso639_3: best[0],
    confidence: candidates[0]?.score ?? 0,
    candidates,
  };
}

/** Accepts "en" or "eng"; a two-letter code expands to every 639-3 code that maps to it. */
function toIso6393(code: string): string[] {
  const c = code.toLowerCase();
  if (c.length !== 2) return [c];
  const matches = Object.entries(ISO_639_1)
    .filter(([, two]) => two === c)
    .map(([three]) => three);
  return matches.length > 0 ? matches : [c];
}

export const languageIdModel: LocalModelSpec = {
  name: 'flowd/language-id',
  version: '1.0.0',
  model_format: 'NPM_PACKAGE',
  function_name: 'LANGUAGE_IDENTIFICATION',
  description:
    'Language identification (82 languages, trigram profiles) with franc-min. Returns the ISO 639-1 code ' +
    '(639-3 when there is none), the 639-3 code, a confidence and the top 3 candidates; "und" for text too short to tell.',
  packages: ['franc-min'],
  async load(): Promise<LoadedLocalModel> {
    const { francAll } = await import('franc-min');
    return {
      async predict(texts, parameters, signal) {
        return mapTexts(texts, signal, (text) => identify(francAll, text, parameters));
      },
    };
  },
};
