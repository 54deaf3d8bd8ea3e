/**
 * Wildcard patterns (`*` any run, optionally `?` one character and `\` escapes, as Lucene's wildcard
 * query has them) run as a small NFA, one code point at a time. Two reasons not to build a RegExp:
 * a user-supplied pattern like `*a*a*a*a*b` would backtrack exponentially, and source filtering
 * needs to step a pattern key by key through a document, like OpenSearch's automata do.
 */

type Tok = { kind: 'star' } | { kind: 'one' } | { kind: 'lit'; cp: number };

/** A set of NFA positions; position `toks.length` is the accepting one. */
export type GlobState = readonly number[];

export interface GlobSyntax {
  /** `?` matches exactly one character (wildcard query); otherwise it is literal (source filtering). */
  question: boolean;
  /** `\` escapes the next character (wildcard query). */
  escape: boolean;
}

export class Glob {
  private readonly toks: Tok[] = [];
  /** Set when the pattern has no wildcard: states are then offsets into this string (the common case). */
  private readonly literal: string | undefined;

  constructor(pattern: string, syntax: GlobSyntax = { question: true, escape: true }) {
    const cps = Array.from(pattern);
    for (let i = 0; i < cps.length; i++) {
      const c = cps[i] as string;
      if (c === '*') {
        // consecutive stars are one star; keeps the NFA small
        if (this.toks.at(-1)?.kind !== 'star') this.toks.push({ kind: 'star' });
      } else if (c === '?' && syntax.question) {
        this.toks.push({ kind: 'one' });
      } else if (c === '\\' && syntax.escape && i + 1 < cps.length) {
        i++;
        this.toks.push({ kind: 'lit', cp: (cps[i] as string).codePointAt(0) ?? 0 });
      } else {
        this.toks.push({ kind: 'lit', cp: c.codePointAt(0) ?? 0 });
      }
    }
    if (this.toks.every((t) => t.kind === 'lit')) {
      this.literal = this.toks.map((t) => (t.kind === 'lit' ? String.fromCodePoint(t.cp) : '')).join('');
    }
  }

  start(): GlobState {
    const out: number[] = [];
    this.add(out, 0);
    return out;
  }

  /** Advance over every code point of `text`. */
  step(state: GlobState, text: string): GlobState {
    if (this.literal !== undefined) {
      const at = state[0];
      return at !== undefined && this.literal.startsWith(text, at) ? [at + text.length] : [];
    }
    let cur = state;
    for (const ch of text) {
      if (cur.length === 0) return cur;
      const cp = ch.codePointAt(0) ?? 0;
      const next: number[] = [];
      for (const i of cur) {
        const t = this.toks[i];
        if (t === undefined) continue;
        if (t.kind === 'star') this.add(next, i);
        else if (t.kind === 'one' || t.cp === cp) this.add(next, i + 1);
      }
      cur = next;
    }
    return cur;
  }

  accepts(state: GlobState): boolean {
    return state.includes(this.literal?.length ?? this.toks.length);
  }

  matches(text: string): boolean {
    return this.accepts(this.step(this.start(), text));
  }

  /** Add position i and, through stars (which may match nothing), the positions after it. */
  private add(set: number[], i: number): void {
    let j = i;
    for (;;) {
      if (!set.includes(j)) set.push(j);
      if (this.toks[j]?.kind !== 'star') return;
      j++;
    }
  }
}

/** Several patterns stepped together; the state is dead when no pattern can still match. */
export class GlobSet {
  private readonly globs: Glob[];

  constructor(patterns: readonly string[], syntax?: GlobSyntax) {
    this.globs = patterns.map((p) => new Glob(p, syntax));
  }

  start(): GlobState[] {
    return this.globs.map((g) => g.start());
  }

  step(state: readonly GlobState[], text: string): GlobState[] {
    return this.globs.map((g, i) => g.step(state[i] ?? [], text));
  }

  accepts(state: readonly GlobState[]): boolean {
    return this.globs.some((g, i) => g.accepts(state[i] ?? []));
  }

  dead(state: readonly GlobState[]): boolean {
    return state.every((s) => s.length === 0);
  }

  matches(text: string): boolean {
    return this.accepts(this.step(this.start(), text));
  }
}
