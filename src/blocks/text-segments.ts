/**
 * Splitting a text into sentences, lines or paragraphs for the `split` block. Sentences come
 * from `Intl.Segmenter` (Unicode sentence boundaries, built into Node's ICU) with common
 * abbreviations kept inside their sentence; every segment
 * is trimmed and carries its zero-based `[start, end)` offsets in the original text, the way
 * NL Flow's sections do, and empty segments are dropped.
 */
import type { JsonObject } from '../util/json.js';

export const TEXT_UNITS = ['sentence', 'line', 'paragraph'] as const;
export type TextUnit = (typeof TEXT_UNITS)[number];

interface Piece {
  text: string;
  start: number;
}

/**
 * ICU's sentence rules break after every "Dr." or "J."; a segment ending with a common title
 * or an initial is joined to the next one (segments are contiguous, so offsets stay exact).
 */
const ABBREVIATION = /(?:^|[\s(])(?:Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|Mt|vs|cf|e\.g|i\.e|[A-Z])\.\s*$/;

function* sentences(text: string, locale: string | undefined): Generator<Piece> {
  let pending: Piece | undefined;
  for (const s of new Intl.Segmenter(locale, { granularity: 'sentence' }).segment(text)) {
    const piece: Piece =
      pending === undefined ? { text: s.segment, start: s.index } : { text: pending.text + s.segment, start: pending.start };
    if (ABBREVIATION.test(piece.text)) {
      pending = piece;
      continue;
    }
    pending = undefined;
    yield piece;
  }
  if (pending !== undefined) yield pending;
}

function* byPattern(text: string, separator: RegExp): Generator<Piece> {
  let start = 0;
  for (const m of text.matchAll(separator)) {
    yield { text: text.slice(start, m.index), start };
    start = m.index + m[0].length;
  }
  yield { text: text.slice(start), start };
}

/** `{ text, index, start, end }` per non-empty segment, in order. */
export function segmentText(text: string, unit: TextUnit, locale?: string): JsonObject[] {
  const pieces = unit === 'sentence' ? sentences(text, locale) : byPattern(text, unit === 'line' ? /\r?\n/g : /\r?\n[ \t]*\r?\n\s*/g);
  const out: JsonObject[] = [];
  for (const p of pieces) {
    const lead = p.text.length - p.text.trimStart().length;
    const trimmed = p.text.trim();
    if (trimmed === '') continue;
    const start = p.start + lead;
    out.push({ text: trimmed, index: out.length, start, end: start + trimmed.length });
  }
  return out;
}
