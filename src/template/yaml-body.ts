/**
 * YAML request bodies, decoded within the body limits (body-limits.ts). The `yaml` parser is
 * thorough but costs microseconds per token and recurses per nesting level, on the main
 * thread; so before it runs, its own lexer (linear, iterative) counts the tokens and a lower
 * bound of the nesting, and stops at the first limit crossed. After it ran, the decoded value
 * is checked exactly (depth, values and size with aliases expanded).
 */
import { Lexer, parseDocument } from 'yaml';
import type { BodyLimits } from './body-limits.js';
import { checkDecoded, tooDeep, tooManyYamlTokens } from './body-limits.js';

/** Alias uses allowed per document (the parser's own guard against "billion laughs"). */
const MAX_ALIAS_COUNT = 100;

/**
 * Refuses, from the lexer's tokens alone, a document with more tokens than allowed (a line of a
 * multi-line scalar counts as one: the parser folds each) or whose nesting certainly exceeds
 * the limit. The nesting bound counts, at each token: the block lines above it with smaller
 * indentation (its ancestors), the collections its own line opens (`- `, `? `, a first
 * `key:`), and the open flow brackets. Each is a lower bound of the real depth, so nothing
 * within the limit is refused here (the exact check runs on the decoded value).
 */
export function guardYamlTokens(text: string, limits: BodyLimits): void {
  const { maxDepth, maxYamlTokens } = limits;
  let tokens = 0;
  let flow = 0;
  // Indentations of the block lines enclosing the current one, its own last.
  const indents: number[] = [];
  let lineStart = true;
  let lineIndent = 0;
  // Collections opened on the current line by block indicators.
  let opened = 0;
  let explicitKey = false;
  let keyed = false;
  for (const tok of new Lexer().lex(text)) {
    if (++tokens > maxYamlTokens) throw tooManyYamlTokens(limits);
    const c = tok[0];
    if (tok === '' || tok === '\n' || tok === '\r\n') {
      lineStart = true;
      lineIndent = 0;
      opened = 0;
      explicitKey = false;
      keyed = false;
      continue;
    }
    if (c === ' ' || c === '\t') {
      if (lineStart) lineIndent = tok.length;
      continue;
    }
    if (c === '#') continue;
    // Each line of a multi-line scalar costs the parser about as much as a token.
    for (let k = tok.indexOf('\n'); k !== -1; k = tok.indexOf('\n', k + 1)) {
      if (++tokens > maxYamlTokens) throw tooManyYamlTokens(limits);
    }
    if (lineStart && flow === 0) {
      while (indents.length > 0 && (indents[indents.length - 1] as number) >= lineIndent) indents.pop();
      indents.push(lineIndent);
    }
    lineStart = false;
    if (tok === '[' || tok === '{') flow++;
    else if (tok === ']' || tok === '}') flow = Math.max(0, flow - 1);
    else if (flow > 0) continue;
    else if (tok === '-') opened++;
    else if (tok === '?') {
      opened++;
      explicitKey = true;
    } else if (tok === ':' && !explicitKey && !keyed) {
      opened++;
      keyed = true;
    } else continue;
    if (indents.length - 1 + opened + flow > maxDepth) throw tooDeep(limits);
  }
}

type YamlResult = { ok: true; value: unknown } | { ok: false; error: unknown };

const isStackOverflow = (e: unknown): boolean =>
  e instanceof RangeError ||
  (typeof e === 'object' && e !== null && String((e as { message?: unknown }).message).includes('Maximum call stack size exceeded'));

/**
 * Strict YAML 1.2 (core schema) to plain data. A parser stack overflow can only come from
 * nesting far beyond any sane limit, so it is reported as the depth limit.
 */
function tryParseYaml(text: string, limits: BodyLimits): YamlResult {
  const overflow = (e: unknown): YamlResult => {
    if (isStackOverflow(e)) throw tooDeep(limits);
    return { ok: false, error: e };
  };
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, {
      version: '1.2',
      schema: 'core',
      // Last key wins, exactly like JSON.parse: keeps YAML and JSON bodies equivalent.
      uniqueKeys: false,
      merge: false,
      prettyErrors: false,
    });
  } catch (e) {
    return overflow(e);
  }
  const error = doc.errors.find(isStackOverflow) ?? doc.errors[0];
  if (error !== undefined) return overflow(error);
  // Warnings cover unknown tags and stringified collection keys: refuse rather than guess.
  if (doc.warnings.length > 0) return { ok: false, error: doc.warnings[0] };
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown };
  } catch (e) {
    return overflow(e);
  }
}

/** Decodes a YAML body within `limits`; `invalid(cause)` is the error for anything not YAML or not JSON-like. */
export function decodeYaml(text: string, limits: BodyLimits, invalid: (cause?: unknown) => Error): unknown {
  guardYamlTokens(text, limits);
  let result = tryParseYaml(text, limits);
  if (!result.ok) {
    // SnakeYAML (what Flow Framework uses) accepts continuation lines of quoted scalars that are
    // indented less than their key; several published sample templates rely on it. Re-indenting
    // those lines does not change the value (leading whitespace of a folded line is discarded).
    const repaired = reindentQuotedContinuations(text);
    if (repaired === text) throw invalid(result.error);
    guardYamlTokens(repaired, limits);
    const second = tryParseYaml(repaired, limits);
    if (!second.ok) throw invalid(result.error);
    result = second;
  }
  checkDecoded(result.value, limits, invalid);
  return result.value;
}

const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);

/** Index just past the closing quote on `line` from `from`, or -1 when it stays open. */
function findClosingQuote(line: string, from: number, quote: string): number {
  for (let i = from; i < line.length; i++) {
    const c = line[i];
    if (quote === '"' && c === '\\') {
      i++;
      continue;
    }
    if (c === quote) {
      if (quote === "'" && line[i + 1] === "'") {
        i++;
        continue;
      }
      return i + 1;
    }
  }
  return -1;
}

/** Index just past `: ` (a colon, then whitespace) and more whitespace from `i`, or -1. */
function afterSeparator(line: string, i: number): number {
  let j = i;
  while (isSpace(line[j])) j++;
  if (line[j] !== ':' || !isSpace(line[j + 1])) return -1;
  j++;
  while (isSpace(line[j])) j++;
  return j;
}

/**
 * Where a value on `line` opens a quote (after optional `- ` markers and an optional `key: `):
 * the column of the key (or value), the quote, and the index just past it. A single left-to-
 * right scan: linear in the line, whatever it holds.
 */
export function quotedValueStart(line: string): { keyCol: number; quote: string; end: number } | undefined {
  let i = 0;
  while (isSpace(line[i])) i++;
  while (line[i] === '-' && isSpace(line[i + 1])) {
    i++;
    while (isSpace(line[i])) i++;
  }
  const keyCol = i;
  const first = line[i];
  if (first === undefined) return undefined;
  const valueQuote = (j: number): { keyCol: number; quote: string; end: number } | undefined => {
    const q = line[j];
    return q === '"' || q === "'" ? { keyCol, quote: q, end: j + 1 } : undefined;
  };
  if (first === '"' || first === "'") {
    // A quoted key followed by `: "value`, else the quote opens the value itself.
    const keyEnd = findClosingQuote(line, i + 1, first);
    const sep = keyEnd === -1 ? -1 : afterSeparator(line, keyEnd);
    return (sep === -1 ? undefined : valueQuote(sep)) ?? { keyCol, quote: first, end: i + 1 };
  }
  if (first === '#' || isSpace(first)) return undefined;
  // A plain key runs to the first `: ` (it may hold other colons, never `#`).
  for (let j = i + 1; j < line.length; j++) {
    const c = line[j];
    if (c === '#') return undefined;
    if (c === ':' && isSpace(line[j + 1])) {
      const sep = afterSeparator(line, j);
      return sep === -1 ? undefined : valueQuote(sep);
    }
  }
  return undefined;
}

/**
 * Re-indents the under-indented continuation lines of quoted values. Linear in the text; gives
 * up (returns the text unchanged) rather than let indentation grow the document past twice
 * its size.
 */
export function reindentQuotedContinuations(text: string): string {
  const lines = text.split(/\r?\n/);
  let added = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const m = quotedValueStart(line);
    if (m === undefined) continue;
    if (findClosingQuote(line, m.end, m.quote) !== -1) continue;
    for (let j = i + 1; j < lines.length; j++) {
      const next = lines[j] ?? '';
      const body = next.trimStart();
      const indent = next.length - body.length;
      if (body.length > 0 && indent <= m.keyCol) {
        added += m.keyCol + 2 - indent;
        if (added > text.length) return text;
        lines[j] = ' '.repeat(m.keyCol + 2) + body;
      }
      i = j;
      if (findClosingQuote(next, 0, m.quote) !== -1) break;
    }
  }
  return lines.join('\n');
}
