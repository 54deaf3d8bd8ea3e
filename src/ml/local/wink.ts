/**
 * One shared wink-nlp instance for every local model that uses it (sentences, tokens,
 * entities). Building it parses the packaged English model (slow, and megabytes of heap), so
 * it is done once per process (per worker thread), lazily, on the first `load()` that needs it;
 * merely importing the registry costs nothing.
 *
 * `WinkDoc` wraps a parsed document and adds what wink-nlp does not give directly: character
 * offsets of every token in the caller's text, so spans can be sliced back out of the input.
 */
import type { Document, ItemEntity, ItemSentence, ItsFunction, ItsHelpers, WinkMethods } from 'wink-nlp';
import { locate } from './util.js';

/**
 * Only the stages flowd's models read: sentence boundaries, part of speech (also needed by the
 * lemmatizer) and entities. Leaving out negation, sentiment and custom entities makes
 * `readDoc` several times faster.
 */
const PIPE = ['sbd', 'pos', 'ner'];

/** Inclusive token-index range, as wink-nlp's `its.span` reports it. */
export interface TokenRange {
  first: number;
  last: number;
}

export interface WinkEntity extends TokenRange {
  type: string;
}

/** The `its.*` helpers flowd reads, as plain functions. */
interface Its {
  value: ItsFunction<string>;
  type: ItsFunction<string>;
  pos: ItsFunction<string>;
  lemma: ItsFunction<string>;
  precedingSpaces: ItsFunction<string>;
  stopWordFlag: ItsFunction<boolean>;
  span: ItsFunction<number[]>;
}

/**
 * wink-nlp's `its.*` are free functions made to be passed around (`out(its.value)`); its
 * typings declare them as methods, hence the one lint exception. `its.lemma` is also declared
 * with its addons argument in the wrong position for `ItsFunction`; at run time it is a token
 * function returning a string, so the cast only restates what the library does.
 */
function pickIts(helpers: ItsHelpers): Its {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- free functions, `this` unused
  const { value, type, pos, lemma, precedingSpaces, stopWordFlag, span } = helpers;
  return { value, type, pos, lemma: lemma as unknown as ItsFunction<string>, precedingSpaces, stopWordFlag, span };
}

export class WinkDoc {
  #offsets: Array<[number, number]> | undefined;
  #valueList: string[] | undefined;
  readonly #doc: Document;
  readonly #its: Its;
  readonly text: string;

  constructor(doc: Document, its: Its, text: string) {
    this.#doc = doc;
    this.#its = its;
    this.text = text;
  }

  /** Token texts, exactly as they appear in the input (contractions are split: "ca", "n't"). */
  values(): string[] {
    this.#valueList ??= this.#doc.tokens().out(this.#its.value);
    return this.#valueList;
  }

  /** wink token types: word, number, punctuation, email, url, emoji, tabCRLF, … */
  types(): string[] {
    return this.#doc.tokens().out(this.#its.type);
  }

  /** Universal POS tags (NOUN, VERB, PROPN, …). */
  pos(): string[] {
    return this.#doc.tokens().out(this.#its.pos);
  }

  lemmas(): string[] {
    return this.#doc.tokens().out(this.#its.lemma);
  }

  stopWords(): boolean[] {
    return toBooleans(this.#doc.tokens().out(this.#its.stopWordFlag));
  }

  /** [start, end) character offsets of every token in `text`. */
  spans(): Array<[number, number]> {
    if (this.#offsets) return this.#offsets;
    const values = this.values();
    const spaces = this.#doc.tokens().out(this.#its.precedingSpaces);
    const out: Array<[number, number]> = [];
    let cursor = 0;
    for (let i = 0; i < values.length; i++) {
      const value = values[i] ?? '';
      // wink-nlp reconstructs the text as precedingSpaces + value per token; trust that first.
      const start = locate(this.text, value, cursor + (spaces[i] ?? '').length, cursor);
      out.push([start, start + value.length]);
      cursor = start + value.length;
    }
    this.#offsets = out;
    return out;
  }

  sentences(): TokenRange[] {
    const out: TokenRange[] = [];
    this.#doc.sentences().each((s: ItemSentence) => {
      const range = toRange(s.out(this.#its.span));
      if (range) out.push(range);
    });
    return out;
  }

  entities(): WinkEntity[] {
    const out: WinkEntity[] = [];
    this.#doc.entities().each((e: ItemEntity) => {
      const range = toRange(e.out(this.#its.span));
      const type = e.out(this.#its.type);
      if (range) out.push({ ...range, type });
    });
    return out;
  }

  /** Character span [start, end) covering tokens first..last. */
  charSpan(range: TokenRange): [number, number] {
    const spans = this.spans();
    const start = spans[range.first]?.[0] ?? 0;
    const end = spans[range.last]?.[1] ?? start;
    return [start, end];
  }
}

export interface WinkEngine {
  readDoc(text: string): WinkDoc;
}

let engine: Promise<WinkEngine> | undefined;

/** The shared engine; the first call imports wink-nlp and its model and builds the pipeline. */
export function loadWink(): Promise<WinkEngine> {
  engine ??= build().catch((err: unknown) => {
    engine = undefined; // a failed load may be retried
    throw err;
  });
  return engine;
}

async function build(): Promise<WinkEngine> {
  const [{ default: winkNLP }, { default: model }] = await Promise.all([import('wink-nlp'), import('wink-eng-lite-web-model')]);
  const nlp: WinkMethods = winkNLP(model, PIPE);
  const its = pickIts(nlp.its);
  // The first document warms wink's lazily built caches; pay that here, not on a request.
  nlp.readDoc('Warm up on 1 May 2024.');
  return { readDoc: (text) => new WinkDoc(nlp.readDoc(text), its, text) };
}

/** `its.span` comes back typed as `number[] | string`; keep only a well-formed range. */
function toRange(v: unknown): TokenRange | undefined {
  if (!Array.isArray(v)) return undefined;
  const [first, last] = v as unknown[];
  return typeof first === 'number' && typeof last === 'number' ? { first, last } : undefined;
}

function toBooleans(v: readonly unknown[]): boolean[] {
  return v.map((x) => x === true);
}
