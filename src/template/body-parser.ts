/**
 * Request-body decoding: JSON by default, YAML for the YAML content types (reference §1.0).
 * Every failure becomes the one Flow Framework message, so a client cannot tell (or care)
 * which decoder rejected its body.
 */
import { parseDocument } from 'yaml';
import { validationError } from '../errors.js';

export const INVALID_CONTENT_MESSAGE = 'IOException: template content invalid for specified Content-Type.';

const YAML_TYPES = new Set(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml']);

/** Hard cap on nesting while checking a decoded body; it also stops on cyclic YAML aliases. */
const MAX_BODY_DEPTH = 1000;
/** YAML alias expansions allowed per document: stops "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;

export function isYamlContentType(ct: string | undefined): boolean {
  if (ct === undefined) return false;
  const base = ct.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return YAML_TYPES.has(base);
}

const invalidContent = (cause?: unknown) =>
  validationError(INVALID_CONTENT_MESSAGE, { code: 'template.invalid_content', cause });

/**
 * Decode a request body. Returns plain JSON data (objects, arrays, strings, finite numbers,
 * booleans, null); anything else a YAML document can express (dates, binary, NaN, cycles) is
 * rejected rather than silently converted.
 */
export function parseBody(raw: string, contentType: string | undefined): unknown {
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  let value: unknown;
  if (isYamlContentType(contentType)) {
    value = parseYaml(text);
  } else {
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw invalidContent(e);
    }
  }
  assertPlainJson(value);
  return value;
}

function parseYaml(text: string): unknown {
  const strict = tryParseYaml(text);
  if (strict.ok) return strict.value;
  // SnakeYAML (what Flow Framework uses) accepts continuation lines of quoted scalars that are
  // indented less than their key; several published sample templates rely on it. Re-indenting
  // those lines does not change the value (leading whitespace of a folded line is discarded).
  const repaired = reindentQuotedContinuations(text);
  if (repaired !== text) {
    const second = tryParseYaml(repaired);
    if (second.ok) return second.value;
  }
  throw invalidContent(strict.error);
}

type YamlResult = { ok: true; value: unknown } | { ok: false; error: unknown };

function tryParseYaml(text: string): YamlResult {
  try {
    const doc = parseDocument(text, {
      version: '1.2',
      schema: 'core',
      // Last key wins, exactly like JSON.parse: keeps YAML and JSON bodies equivalent.
      uniqueKeys: false,
      merge: false,
      prettyErrors: false,
    });
    if (doc.errors.length > 0) return { ok: false, error: doc.errors[0] };
    // Warnings cover unknown tags and stringified collection keys: refuse rather than guess.
    if (doc.warnings.length > 0) return { ok: false, error: doc.warnings[0] };
    return { ok: true, value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown };
  } catch (e) {
    return { ok: false, error: e };
  }
}

/** Opening quote of a value (after optional `- ` markers and an optional `key: `). */
const QUOTED_VALUE_START =
  /^(\s*(?:-\s+)*)(?:(?:[^\s#'"](?:[^:#]|:(?!\s))*?|'(?:[^']|'')*'|"(?:[^"\\]|\\.)*")\s*:\s+)?(['"])/;

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

export function reindentQuotedContinuations(text: string): string {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const m = QUOTED_VALUE_START.exec(line);
    if (m === null) continue;
    const quote = m[2] ?? '"';
    const keyCol = (m[1] ?? '').length;
    if (findClosingQuote(line, m[0].length, quote) !== -1) continue;
    for (let j = i + 1; j < lines.length; j++) {
      const next = lines[j] ?? '';
      const body = next.trimStart();
      const indent = next.length - body.length;
      if (body.length > 0 && indent <= keyCol) lines[j] = ' '.repeat(keyCol + 2) + body;
      i = j;
      if (findClosingQuote(next, 0, quote) !== -1) break;
    }
  }
  return lines.join('\n');
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Iterative (no recursion) so that a hostile, deeply nested body cannot overflow the stack. */
function assertPlainJson(root: unknown): void {
  const stack: Array<{ v: unknown; depth: number }> = [{ v: root, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop() as { v: unknown; depth: number };
    if (v === null || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw invalidContent();
      continue;
    }
    if (typeof v !== 'object') throw invalidContent();
    if (depth >= MAX_BODY_DEPTH) throw invalidContent();
    if (Array.isArray(v)) {
      for (const item of v as unknown[]) stack.push({ v: item, depth: depth + 1 });
    } else if (isPlainObject(v)) {
      for (const item of Object.values(v)) stack.push({ v: item, depth: depth + 1 });
    } else {
      throw invalidContent();
    }
  }
}
