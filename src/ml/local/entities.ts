/**
 * `flowd/entities`: named-entity recognition from two packaged English models.
 *
 * - wink-nlp finds the pattern-like entities precisely: DATE, TIME, DURATION, MONEY, PERCENT,
 *   CARDINAL, ORDINAL, EMAIL, URL, HASHTAG, MENTION, EMOJI, EMOTICON.
 * - compromise (lexicon + rules) adds what wink's lite model lacks: PERSON, PLACE,
 *   ORGANIZATION.
 *
 * When the two overlap, wink's entity is kept (its patterns are the more precise ones, and
 * compromise sometimes reads "May" or the user part of an e-mail address as a name). Output is
 * de-duplicated and sorted by start; `input.slice(start, end) === text` always holds.
 */
import { createRequire } from 'node:module';
import type compromiseFn from 'compromise';
import type { JsonObject } from '../../util/json.js';
import type { LoadedLocalModel, LocalModelSpec } from './local-model.js';
import { locate, mapTexts, stringListParam } from './util.js';
import { loadWink } from './wink.js';
import type { WinkEngine } from './wink.js';

interface Entity {
  text: string;
  type: string;
  start: number;
  end: number;
}

/** compromise method → flowd entity type. */
const COMPROMISE_KINDS = [
  ['people', 'PERSON'],
  ['places', 'PLACE'],
  ['organizations', 'ORGANIZATION'],
] as const;

type CompromiseKind = (typeof COMPROMISE_KINDS)[number][0];

/** The slice of compromise's API used here, with `json()`'s `any` narrowed to `unknown`. */
type CompromiseView = Record<CompromiseKind, () => { json(options: object): unknown }>;
type Compromise = (text: string) => CompromiseView;

/** A term of compromise's `json({ terms: { offset: true } })` output, as far as it is read. */
interface Term {
  text: string;
  post: string;
  tags: string[];
  start: number;
}

function wink(engine: WinkEngine, text: string): Entity[] {
  const doc = engine.readDoc(text);
  return doc.entities().map((e) => {
    const [start, rawEnd] = doc.charSpan(e);
    const end = e.type === 'URL' ? start + trimUrl(text.slice(start, rawEnd)).length : rawEnd;
    return { text: text.slice(start, end), type: e.type, start, end };
  });
}

/**
 * wink's URL pattern swallows the punctuation that follows a link in prose
 * ("see https://x.org/a, then"); drop trailing sentence punctuation, and a closing
 * parenthesis that has no opening one inside the URL (as linkifiers do).
 */
function trimUrl(url: string): string {
  let u = url;
  for (;;) {
    const last = u.at(-1);
    if (last !== undefined && '.,;:!?\'"’”'.includes(last)) u = u.slice(0, -1);
    else if (last === ')' && !u.includes('(')) u = u.slice(0, -1);
    else return u;
  }
}

function compromise(nlp: Compromise, text: string, wanted: (type: string) => boolean): Entity[] {
  const view = nlp(text);
  const out: Entity[] = [];
  for (const [method, type] of COMPROMISE_KINDS) {
    if (!wanted(type)) continue;
    const matches = view[method]().json({ offset: true, terms: { offset: true } });
    for (const terms of termLists(matches)) {
      const span = termSpan(text, terms);
      if (span) out.push({ text: text.slice(span[0], span[1]), type, start: span[0], end: span[1] });
    }
  }
  return out;
}

/**
 * The character span of a compromise match, computed from its terms: a match's own offset
 * includes trailing punctuation ("New York City."). An abbreviation keeps its period
 * ("Google Inc."), a possessive loses its "'s" ("Paulo's" → "Paulo").
 */
function termSpan(text: string, terms: Term[]): [number, number] | undefined {
  const firstTerm = terms[0];
  const lastTerm = terms[terms.length - 1];
  if (!firstTerm || !lastTerm) return undefined;
  const start = locate(text, firstTerm.text, firstTerm.start, 0);
  let end = locate(text, lastTerm.text, lastTerm.start, start) + lastTerm.text.length;
  if (lastTerm.tags.includes('Abbreviation') && lastTerm.post.startsWith('.')) end += 1;
  else if (lastTerm.text.length > 2 && /['’]s$/i.test(lastTerm.text)) end -= 2;
  return end > start ? [start, end] : undefined;
}

/** Narrows compromise's untyped JSON to the term lists of each match. */
function termLists(json: unknown): Term[][] {
  if (!Array.isArray(json)) return [];
  const out: Term[][] = [];
  for (const match of json as unknown[]) {
    const terms = isObject(match) && Array.isArray(match.terms) ? (match.terms as unknown[]) : [];
    const list = terms.flatMap((t): Term[] => {
      if (!isObject(t) || typeof t.text !== 'string' || !isObject(t.offset)) return [];
      const start = t.offset.start;
      if (typeof start !== 'number') return [];
      const tags = Array.isArray(t.tags) ? (t.tags as unknown[]).filter((x): x is string => typeof x === 'string') : [];
      return [{ text: t.text, post: typeof t.post === 'string' ? t.post : '', tags, start }];
    });
    if (list.length > 0) out.push(list);
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** wink first (it wins overlaps), then compromise; exact duplicates dropped; sorted by start. */
function merge(primary: Entity[], secondary: Entity[]): Entity[] {
  const overlaps = (a: Entity, b: Entity): boolean => a.start < b.end && b.start < a.end;
  const kept = [...primary, ...secondary.filter((s) => !primary.some((p) => overlaps(p, s)))];
  const seen = new Set<string>();
  const unique = kept.filter((e) => {
    const key = `${e.type}:${e.start}:${e.end}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.sort((a, b) => a.start - b.start || b.end - a.end || a.type.localeCompare(b.type));
}

export const entitiesModel: LocalModelSpec = {
  name: 'flowd/entities',
  version: '1.0.0',
  model_format: 'NPM_PACKAGE',
  function_name: 'NER',
  description:
    'English named entities: DATE, TIME, DURATION, MONEY, PERCENT, CARDINAL, ORDINAL, EMAIL, URL, HASHTAG, ' +
    'MENTION, EMOJI (wink-nlp) and PERSON, PLACE, ORGANIZATION (compromise), with character offsets. ' +
    'Parameter `types` keeps only the listed types.',
  packages: ['wink-nlp', 'wink-eng-lite-web-model', 'compromise'],
  async load(): Promise<LoadedLocalModel> {
    const engine = await loadWink();
    // `require` gets compromise's single-file CommonJS bundle; its ESM entry is hundreds of
    // source modules, much slower to load. Same library, same version, same typings.
    const nlpFn = createRequire(import.meta.url)('compromise') as typeof compromiseFn;
    const nlp: Compromise = (text) => nlpFn(text);
    // The first parse builds compromise's lexicon caches (~tens of ms); pay it here, not on a request.
    nlp('Warm up with Ada Lovelace in London.').people().json({});
    return {
      async predict(texts, parameters, signal) {
        const types = stringListParam(parameters, 'types')?.map((t) => t.toUpperCase());
        const wanted = (type: string): boolean => !types || types.includes(type);
        return mapTexts(texts, signal, (text): JsonObject => {
          const found = merge(wink(engine, text), compromise(nlp, text, wanted)).filter((e) => wanted(e.type));
          return { entities: found.map((e) => ({ text: e.text, type: e.type, start: e.start, end: e.end })) };
        });
      },
    };
  },
};
