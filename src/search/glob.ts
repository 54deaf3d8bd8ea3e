/**
 * Wildcard patterns (`*` any run, optionally `?` one character and `\` escapes, as Lucene's wildcard
 * query has them), matched without backtracking. Whole-value matching takes the linear segment
 * path (glob-segments.ts) when it can; otherwise, and for stepping, the pattern runs as a
 * bit-parallel NFA (Shift-And), one code point at a time: every position of every pattern is one
 * bit, and a step is a few word operations per 32 positions, so matching is
 * O(text × ⌈positions / 32⌉) whatever the pattern (`*a*a*a…*b` included).
 * Two reasons not to build a RegExp: a user-supplied pattern would backtrack, and source
 * filtering needs to step patterns key by key through a document, like OpenSearch's automata do.
 */
import { illegalArgument } from './errors.js';
import { SegmentMatcher, type Tok } from './glob-segments.js';
import { chargeWork } from './work-meter.js';

/**
 * The set of live NFA positions, one bit each (bit `i` of word `i >>> 5`). A state returned by
 * `start`/`step` is never mutated afterwards, so it can be stepped along several paths.
 */
export type GlobState = Readonly<Uint32Array>;

export interface GlobSyntax {
  /** `?` matches exactly one character (wildcard query); otherwise it is literal (source filtering). */
  question: boolean;
  /** `\` escapes the next character (wildcard query). */
  escape: boolean;
}

const WILDCARD_SYNTAX: GlobSyntax = { question: true, escape: true };

/** Words of literal masks kept dense (fast fused stepping) before switching to sparse ones. */
const DENSE_BUDGET = 1 << 16;

/** Characters stepped between two charges to the work meter. */
const CHARGE_CHUNK = 4096;

function tokenize(pattern: string, syntax: GlobSyntax): Tok[] {
  const toks: Tok[] = [];
  const cps = Array.from(pattern);
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i] as string;
    if (c === '*') {
      // consecutive stars are one star: keeps the NFA small, and the epsilon closure one shift deep
      if (toks.at(-1)?.kind !== 'star') toks.push({ kind: 'star' });
    } else if (c === '?' && syntax.question) {
      toks.push({ kind: 'one' });
    } else if (c === '\\' && syntax.escape && i + 1 < cps.length) {
      i++;
      toks.push({ kind: 'lit', cp: (cps[i] as string).codePointAt(0) ?? 0 });
    } else {
      toks.push({ kind: 'lit', cp: c.codePointAt(0) ?? 0 });
    }
  }
  return toks;
}

/**
 * The union of several patterns as one NFA: pattern k owns positions base_k … base_k + |toks_k|,
 * the last one accepting. A bit only ever moves one position up, and accepting positions never
 * move, so patterns cannot leak into each other.
 */
class GlobNfa {
  readonly words: number;
  readonly #starMask: Uint32Array;
  readonly #oneMask: Uint32Array;
  readonly #acceptMask: Uint32Array;
  /** Per literal code point, its positions as (word index, bits) pairs: sparse, so memory stays linear in the patterns. */
  readonly #litMasks = new Map<number, number[]>();
  /** The same as full masks, when they fit in DENSE_BUDGET words: stepping is then one fused pass. */
  readonly #denseLits: Map<number, Uint32Array> | undefined;
  readonly #noLits: Uint32Array;
  readonly #initial: Uint32Array;
  // scratch buffers for stepping; a step's result is copied out, so states stay immutable
  readonly #a: Uint32Array;
  readonly #b: Uint32Array;
  readonly #moving: Uint32Array;

  constructor(patterns: readonly Tok[][]) {
    const bits = patterns.reduce((n, toks) => n + toks.length + 1, 0);
    this.words = Math.max(1, Math.ceil(bits / 32));
    this.#starMask = new Uint32Array(this.words);
    this.#oneMask = new Uint32Array(this.words);
    this.#acceptMask = new Uint32Array(this.words);
    const start = new Uint32Array(this.words);
    const lits = new Map<number, Map<number, number>>();
    let base = 0;
    for (const toks of patterns) {
      setBit(start, base);
      toks.forEach((t, i) => {
        const pos = base + i;
        if (t.kind === 'star') setBit(this.#starMask, pos);
        else if (t.kind === 'one') setBit(this.#oneMask, pos);
        else {
          let m = lits.get(t.cp);
          if (m === undefined) lits.set(t.cp, (m = new Map<number, number>()));
          m.set(pos >>> 5, ((m.get(pos >>> 5) ?? 0) | (1 << (pos & 31))) >>> 0);
        }
      });
      setBit(this.#acceptMask, base + toks.length);
      base += toks.length + 1;
    }
    for (const [cp, m] of lits) this.#litMasks.set(cp, [...m].flat());
    this.#noLits = new Uint32Array(this.words);
    if (lits.size * this.words <= DENSE_BUDGET) {
      this.#denseLits = new Map();
      for (const [cp, m] of lits) {
        const dense = new Uint32Array(this.words);
        for (const [w, bits] of m) dense[w] = bits;
        this.#denseLits.set(cp, dense);
      }
    }
    this.#a = new Uint32Array(this.words);
    this.#b = new Uint32Array(this.words);
    this.#moving = new Uint32Array(this.words);
    this.#closeOverStars(start);
    this.#initial = start;
  }

  start(): GlobState {
    return this.#initial;
  }

  /** Advance over every code point of `text`. */
  step(state: GlobState, text: string): GlobState {
    const end = this.#run(state, text);
    return end === undefined ? new Uint32Array(this.words) : Uint32Array.from(end);
  }

  /** Does the whole of `text` match from the start state? (No state is copied out.) */
  matches(text: string): boolean {
    const end = this.#run(this.#initial, text);
    return end !== undefined && this.accepts(end);
  }

  /** The state after `text`, in a scratch buffer (valid until the next run), or undefined once dead. */
  #run(state: GlobState, text: string): Uint32Array | undefined {
    let cur = this.#a;
    let next = this.#b;
    cur.set(state);
    for (let i = 0, charged = 0; i < text.length;) {
      if (i >= charged) {
        // charged as it goes, so a long text cannot run far past the search's deadline
        charged = i + CHARGE_CHUNK;
        chargeWork(Math.min(CHARGE_CHUNK, text.length - i) * this.words);
      }
      const cp = text.codePointAt(i) ?? 0;
      i += cp > 0xffff ? 2 : 1;
      const live =
        this.#denseLits === undefined
          ? this.#advance(cur, next, cp)
          : this.#advanceDense(cur, next, this.#denseLits.get(cp) ?? this.#noLits);
      if (!live) return undefined;
      const t = cur;
      cur = next;
      next = t;
    }
    return cur;
  }

  accepts(state: GlobState): boolean {
    for (let w = 0; w < this.words; w++) if (((state[w] ?? 0) & (this.#acceptMask[w] as number)) !== 0) return true;
    return false;
  }

  dead(state: GlobState): boolean {
    for (let w = 0; w < this.words; w++) if ((state[w] ?? 0) !== 0) return false;
    return true;
  }

  /** advance() and closeOverStars() in one pass over the words, with a full mask for the code point. */
  #advanceDense(cur: Uint32Array, next: Uint32Array, lit: Uint32Array): boolean {
    const oneMask = this.#oneMask;
    const starMask = this.#starMask;
    const { words } = this;
    let carry = 0;
    let closeCarry = 0;
    let live = 0;
    for (let w = 0; w < words; w++) {
      const c = cur[w] as number;
      const star = starMask[w] as number;
      const moving = c & ((oneMask[w] as number) | (lit[w] as number));
      let v = (moving << 1) | carry | (c & star);
      carry = moving >>> 31;
      // a star reached (by a move, or from the word below) may match nothing: the position after it is live too
      const stars = v & star;
      v |= (stars << 1) | closeCarry;
      closeCarry = stars >>> 31;
      next[w] = v >>> 0;
      live |= v;
    }
    return live !== 0;
  }

  /** One code point: positions whose token accepts it move up one; stars also stay. False when nothing is live. */
  #advance(cur: Uint32Array, next: Uint32Array, cp: number): boolean {
    const moving = this.#moving;
    for (let w = 0; w < this.words; w++) moving[w] = (cur[w] as number) & (this.#oneMask[w] as number);
    const lit = this.#litMasks.get(cp);
    if (lit !== undefined) {
      for (let i = 0; i < lit.length; i += 2) {
        const w = lit[i] as number;
        moving[w] = ((moving[w] as number) | ((cur[w] as number) & (lit[i + 1] as number))) >>> 0;
      }
    }
    let carry = 0;
    let live = 0;
    for (let w = 0; w < this.words; w++) {
      const m = moving[w] as number;
      const v = ((m << 1) | carry | ((cur[w] as number) & (this.#starMask[w] as number))) >>> 0;
      carry = m >>> 31;
      next[w] = v;
      live |= v;
    }
    if (live === 0) return false;
    this.#closeOverStars(next);
    return true;
  }

  /** A live star may match nothing: the position after it is live too (stars are never adjacent). */
  #closeOverStars(s: Uint32Array): void {
    let carry = 0;
    for (let w = 0; w < this.words; w++) {
      const stars = (s[w] as number) & (this.#starMask[w] as number);
      s[w] = ((s[w] as number) | (stars << 1) | carry) >>> 0;
      carry = stars >>> 31;
    }
  }
}

function setBit(m: Uint32Array, pos: number): void {
  m[pos >>> 5] = ((m[pos >>> 5] as number) | (1 << (pos & 31))) >>> 0;
}

export class Glob {
  readonly #nfa: GlobNfa;
  /** Set when the pattern has no wildcard: matching is then string equality. */
  readonly #literal: string | undefined;
  /** The linear fast path for whole-string matching (or, when not exact, a quick head/tail check). */
  readonly #segments: SegmentMatcher;

  constructor(pattern: string, syntax: GlobSyntax = WILDCARD_SYNTAX) {
    const toks = tokenize(pattern, syntax);
    this.#nfa = new GlobNfa([toks]);
    if (toks.every((t) => t.kind === 'lit')) {
      this.#literal = toks.map((t) => (t.kind === 'lit' ? String.fromCodePoint(t.cp) : '')).join('');
    }
    this.#segments = SegmentMatcher.from(toks);
  }

  start(): GlobState {
    return this.#nfa.start();
  }

  step(state: GlobState, text: string): GlobState {
    return this.#nfa.step(state, text);
  }

  accepts(state: GlobState): boolean {
    return this.#nfa.accepts(state);
  }

  matches(text: string): boolean {
    if (this.#literal !== undefined) return text === this.#literal;
    chargeWork(text.length);
    if (!this.#segments.matches(text)) return false;
    return this.#segments.exact || this.#nfa.matches(text);
  }
}

/** Several patterns stepped together as one NFA; the state is dead when no pattern can still match. */
export class GlobSet {
  readonly #nfa: GlobNfa;

  constructor(patterns: readonly string[], syntax: GlobSyntax = WILDCARD_SYNTAX) {
    this.#nfa = new GlobNfa(patterns.map((p) => tokenize(p, syntax)));
  }

  start(): GlobState {
    return this.#nfa.start();
  }

  step(state: GlobState, text: string): GlobState {
    return this.#nfa.step(state, text);
  }

  accepts(state: GlobState): boolean {
    return this.#nfa.accepts(state);
  }

  dead(state: GlobState): boolean {
    return this.#nfa.dead(state);
  }

  matches(text: string): boolean {
    return this.#nfa.matches(text);
  }
}

/**
 * Longest wildcard pattern a query may use (UTF-16 units), like OpenSearch's `index.max_regex_length`
 * for regexps: it bounds the NFA's width, hence the work per character of every value matched.
 */
export const MAX_PATTERN_LENGTH = 1000;

/** A Glob for a pattern from a query, refused with a 400 when longer than MAX_PATTERN_LENGTH. */
export function queryGlob(pattern: string, where: string, syntax: GlobSyntax = WILDCARD_SYNTAX): Glob {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw illegalArgument(
      `The length of the wildcard pattern [${pattern.length}] used in ${where} has exceeded the allowed maximum of ` +
        `[${MAX_PATTERN_LENGTH}]. Use a shorter pattern.`,
    );
  }
  return new Glob(pattern, syntax);
}
