/**
 * A story's variables: chapters with an `id` and `output` keep values from their response
 * (`output: { workflow_id: payload.workflow_id }`), later requests and expected payloads use
 * them as `${chapter_id.output_name}`. A string that is one whole reference takes the value
 * with its type; a reference inside a longer string is spliced in as text.
 */
import type { Output } from './story.js';

const REFERENCE = /\$\{([^}]+)\}/g;
const WHOLE_REFERENCE = /^\$\{([^}]+)\}$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The value at a lodash-style path (`payload.hits.hits[0]._id`) of `root`, or undefined.
 */
export function valueAtPath(root: unknown, path: string): unknown {
  const keys = path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((k) => k !== '');
  let v = root;
  for (const k of keys) {
    if (Array.isArray(v) && /^\d+$/.test(k)) v = v[Number(k)];
    else if (isRecord(v)) v = v[k];
    else return undefined;
  }
  return v;
}

/** A `${chapter.output}` that names no output (yet): retrying the chapter cannot help. */
export class MissingOutputError extends Error {}

export class StoryOutputs {
  readonly #outputs = new Map<string, Map<string, unknown>>();

  set(chapterId: string, values: Map<string, unknown>): void {
    this.#outputs.set(chapterId, values);
  }

  #lookup(reference: string): unknown {
    const dot = reference.indexOf('.');
    const [chapterId, name] = dot < 0 ? [reference, ''] : [reference.slice(0, dot), reference.slice(dot + 1)];
    const chapter = this.#outputs.get(chapterId);
    if (chapter === undefined) throw new MissingOutputError(`\${${reference}}: no chapter "${chapterId}" has produced output (yet)`);
    if (!chapter.has(name)) throw new MissingOutputError(`\${${reference}}: chapter "${chapterId}" has no output "${name}"`);
    return chapter.get(name);
  }

  resolveString(text: string): unknown {
    const whole = WHOLE_REFERENCE.exec(text);
    if (whole?.[1] !== undefined) return this.#lookup(whole[1]);
    return text.replace(REFERENCE, (_m, ref: string) => String(this.#lookup(ref)));
  }

  /** `value` with every reference resolved, keys included (a fresh copy). */
  resolve(value: unknown): unknown {
    if (typeof value === 'string') return this.resolveString(value);
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (isRecord(value)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [String(this.resolveString(k)), this.resolve(v)]));
    }
    return value;
  }
}

/**
 * The outputs a chapter declares, read from its response payload; a message when one cannot be
 * read (only `payload…` sources exist, and a missing value without a default is an error).
 */
export function extractOutputs(payload: unknown, output: Output): { values: Map<string, unknown> } | { error: string } {
  const values = new Map<string, unknown>();
  for (const [name, spec] of Object.entries(output)) {
    const [path, fallback] = typeof spec === 'string' ? [spec, undefined] : [spec.path, spec.default];
    if (!(path === 'payload' || path.startsWith('payload.') || /^payload\[\d*\]/.test(path))) {
      return { error: `Unknown output source: ${path.split('.')[0] ?? path}.` };
    }
    if (payload === undefined) return { error: `No payload found in response, but expected output: ${path}` };
    const found = valueAtPath({ payload }, path);
    const value = found === undefined ? fallback : found;
    if (value === undefined) return { error: `Expected to find non undefined value at \`${path}\`.` };
    values.set(name, value);
  }
  return { values };
}
