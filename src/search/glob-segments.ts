/**
 * The fast path of wildcard matching: a pattern is `head *seg1*seg2*…* tail`. The head must match
 * at the start and the tail at the end (both fixed-length, `?` allowed), and each middle segment
 * is found at its leftmost place after the previous one: for `*`-only wildcards, the leftmost
 * occurrence is always the best choice (it leaves the most text for the rest), so nothing is ever
 * retried. Literal segments are found with String.indexOf (Boyer-Moore in V8, linear for a first
 * occurrence), so matching is linear in the text. When the middle cannot be searched so (a `?`
 * inside it, a lone surrogate), the matcher is not `exact`: it still rejects on the head and tail,
 * and the caller confirms a possible match with the bit-parallel NFA.
 */

export type Tok = { kind: 'star' } | { kind: 'one' } | { kind: 'lit'; cp: number };

/** A run of tokens without a star. */
type Seg = readonly Tok[];

const isSurrogate = (cp: number): boolean => cp >= 0xd800 && cp <= 0xdfff;

export class SegmentMatcher {
  /** False: a true from `matches` only means that the head and tail fit. */
  readonly exact: boolean;
  readonly #head: Seg;
  /** undefined: the pattern has no star (the head must then cover the whole text). */
  readonly #middle: readonly string[] | undefined;
  readonly #tail: Seg;

  private constructor(head: Seg, middle: readonly string[] | undefined, tail: Seg, exact: boolean) {
    this.#head = head;
    this.#middle = middle;
    this.#tail = tail;
    this.exact = exact;
  }

  static from(toks: readonly Tok[]): SegmentMatcher {
    const first = toks.findIndex((t) => t.kind === 'star');
    if (first < 0) return new SegmentMatcher(toks, undefined, [], true);
    let last = toks.length - 1;
    while (toks[last]?.kind !== 'star') last--;
    const middle: string[] = [];
    let exact = true;
    let cur = '';
    for (const t of toks.slice(first + 1, last)) {
      if (t.kind === 'one' || (t.kind === 'lit' && isSurrogate(t.cp))) exact = false;
      else if (t.kind === 'lit') {
        cur += String.fromCodePoint(t.cp);
      } else {
        if (cur !== '') middle.push(cur);
        cur = '';
      }
    }
    if (cur !== '') middle.push(cur);
    return new SegmentMatcher(toks.slice(0, first), exact ? middle : [], toks.slice(last + 1), exact);
  }

  matches(text: string): boolean {
    const afterHead = matchAt(this.#head, text, 0);
    if (afterHead < 0) return false;
    if (this.#middle === undefined) return afterHead === text.length;
    const tailStart = backCodePoints(text, this.#tail.length);
    if (tailStart < afterHead || matchAt(this.#tail, text, tailStart) !== text.length) return false;
    let at = afterHead;
    for (const seg of this.#middle) {
      const found = text.indexOf(seg, at);
      if (found < 0 || found + seg.length > tailStart) return false;
      at = found + seg.length;
    }
    return true;
  }
}

/** Where `seg` ends when matched at `at`, or -1. */
function matchAt(seg: Seg, text: string, at: number): number {
  let i = at;
  for (const t of seg) {
    if (i >= text.length) return -1;
    const cp = text.codePointAt(i) ?? 0;
    if (t.kind === 'lit' && t.cp !== cp) return -1;
    i += cp > 0xffff ? 2 : 1;
  }
  return i;
}

/** The index `n` code points before the end of `text`, or -1 when it is shorter. */
function backCodePoints(text: string, n: number): number {
  let i = text.length;
  for (let k = 0; k < n; k++) {
    if (i <= 0) return -1;
    const low = text.charCodeAt(i - 1);
    const high = i >= 2 ? text.charCodeAt(i - 2) : 0;
    i -= low >= 0xdc00 && low <= 0xdfff && high >= 0xd800 && high <= 0xdbff ? 2 : 1;
  }
  return i;
}
