/**
 * The OpenSearch API specification (OpenAPI 3.1 split over spec/namespaces/*.yaml and
 * spec/schemas/*.yaml) as response validators, read the way the official test runner reads it:
 *
 * - for one target server: anything marked `x-version-added` after its version, `x-version-removed`
 *   at or before it, or excluded for its distribution is gone (an operation, a response, a property,
 *   or a `$ref` to a component that is gone);
 * - strict: every object schema that declares something gets `unevaluatedProperties: false` at the
 *   point of use (a response's schema, a property, an item, a `$ref`), but not a component
 *   schema's own root nor anything under an `allOf` (the enclosing schema carries it);
 * - `$ref`s across files resolve to one ajv registry (draft 2020-12), each component once.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { satisfiesRange } from './story.js';

type Node = Record<string, unknown>;

export interface SpecTarget {
  version: string;
  distribution: string;
}

/** What the spec says a response of one operation, status and content type looks like. */
export type ResponseSpec =
  | { kind: 'no-operation' }
  | { kind: 'no-response' }
  /** Declared without a schema: any body passes. */
  | { kind: 'any' }
  | { kind: 'schema'; validate: (data: unknown) => string[] };

const ID_BASE = 'https://opensearch-api-spec.invalid/';
const ALL_TYPES: ReadonlySet<string> = new Set(['array', 'boolean', 'integer', 'null', 'number', 'object', 'string']);
const DROP = Symbol('dropped for the target version or distribution');

const isRecord = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);
const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `1.2` → `1.2.0` (semver.coerce for the spec's x-version values). */
const coerce = (v: unknown): string | undefined => {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const m = /(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(String(v));
  return m ? `${m[1]}.${m[2] ?? 0}.${m[3] ?? 0}` : undefined;
};

function pointerGet(doc: unknown, pointer: string): unknown {
  let v = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    v = isRecord(v) ? v[key] : undefined;
  }
  return v;
}

function intersect(a: ReadonlySet<string>, b: ReadonlySet<string>): Set<string> {
  return new Set([...a].filter((t) => b.has(t)));
}

export function formatSchemaErrors(errors: readonly ErrorObject[]): string[] {
  const lines = errors.map((e) => {
    const at = e.instancePath === '' ? '(root)' : e.instancePath;
    if (e.keyword === 'unevaluatedProperties') {
      return `${e.instancePath}/${String((e.params as { unevaluatedProperty?: string }).unevaluatedProperty)}: property is not defined in the spec`;
    }
    if (e.keyword === 'enum')
      return `${at}: ${e.message ?? 'enum'} (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})`;
    return `${at}: ${e.message ?? e.keyword}`;
  });
  return [...new Set(lines)];
}

export class OpenApiSpec {
  readonly #root: string;
  readonly #target: SpecTarget;
  readonly #docs = new Map<string, Node>();
  readonly #ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false, logger: false });
  /** Component id → its raw schema and file (for type checks), or DROP when gone for the target. */
  readonly #components = new Map<string, { raw: Node; file: string } | typeof DROP>();
  readonly #responses = new Map<string, ResponseSpec>();
  readonly #operations = new Map<string, { op: Node; file: string } | undefined>();

  /** `root`: the spec repository's `spec/` folder. */
  constructor(root: string, target: SpecTarget) {
    this.#root = resolve(root);
    this.#target = target;
  }

  #doc(file: string): Node {
    let doc = this.#docs.get(file);
    if (!doc) {
      const parsed: unknown = parseYaml(readFileSync(file, 'utf8'), { maxAliasCount: -1 });
      if (!isRecord(parsed)) throw new Error(`${file}: not an OpenAPI document`);
      doc = parsed;
      this.#docs.set(file, doc);
    }
    return doc;
  }

  /** Gone for the target version or distribution (OpenApiVersionExtractor's rules). */
  #excluded(o: Node): boolean {
    const added = coerce(o['x-version-added']);
    const removed = coerce(o['x-version-removed']);
    if (added !== undefined && !satisfiesRange(this.#target.version, `>=${added}`)) return true;
    if (removed !== undefined && !satisfiesRange(this.#target.version, `<${removed}`)) return true;
    const included = o['x-distributions-included'];
    if (Array.isArray(included) && included.length > 0 && !included.includes(this.#target.distribution)) return true;
    const excluded = o['x-distributions-excluded'];
    return Array.isArray(excluded) && excluded.includes(this.#target.distribution);
  }

  /** A `$ref` written in `file` → the file and JSON pointer it names. */
  #locate(file: string, ref: string): { file: string; pointer: string } {
    const hash = ref.indexOf('#');
    const filePart = hash < 0 ? ref : ref.slice(0, hash);
    return { file: filePart === '' ? file : resolve(dirname(file), filePart), pointer: hash < 0 ? '' : ref.slice(hash + 1) };
  }

  /** The ajv id of the component schema a `$ref` in `file` names (registered on first use), or DROP when it is gone. */
  #schemaId(file: string, ref: string): string | typeof DROP {
    if (ref.startsWith(ID_BASE)) return ref;
    const at = this.#locate(file, ref);
    const m = /^\/components\/schemas\/([^/]+)$/.exec(at.pointer);
    if (!m?.[1]) throw new Error(`${relative(this.#root, file)}: $ref ${ref} does not name a component schema`);
    const name = decodeURIComponent(m[1]);
    const id = `${ID_BASE}${relative(this.#root, at.file)}/${encodeURIComponent(name)}`;
    const known = this.#components.get(id);
    if (known === DROP) return DROP;
    if (known) return id;
    const raw = pointerGet(this.#doc(at.file), at.pointer);
    if (!isRecord(raw)) throw new Error(`${relative(this.#root, file)}: $ref ${ref} resolves to nothing`);
    if (this.#excluded(raw)) {
      this.#components.set(id, DROP);
      return DROP;
    }
    this.#components.set(id, { raw, file: at.file }); // before pruning: cycles find it
    const pruned = this.#prune(raw, at.file);
    if (pruned === DROP || !isRecord(pruned)) throw new Error(`component ${id} vanished while pruning`);
    this.#strict(pruned, ['#', 'components', 'schemas', name], at.file);
    this.#ajv.addSchema({ ...pruned, $id: id });
    return id;
  }

  /** A copy of `node` without what is gone for the target, its `$ref`s rewritten to ajv ids. */
  #prune(node: unknown, file: string): unknown {
    if (Array.isArray(node)) return node.map((v) => this.#prune(v, file)).filter((v) => v !== DROP);
    if (!isRecord(node)) return node;
    if (this.#excluded(node)) return DROP;
    const out: Node = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') {
        const id = this.#schemaId(file, v);
        if (id === DROP) return DROP;
        out[k] = id;
        continue;
      }
      const p = this.#prune(v, file);
      if (p !== DROP) out[k] = p;
    }
    return out;
  }

  /** The JSON types a schema admits (determine_possible_schema_types), following `$ref`s. */
  #types(schema: Node, file: string): ReadonlySet<string> {
    let s = schema;
    let f = file;
    for (let hops = 0; typeof s['$ref'] === 'string'; hops++) {
      if (hops > 50) return ALL_TYPES;
      const ref = s['$ref'];
      const id = ref.startsWith(ID_BASE) ? ref : this.#schemaId(f, ref);
      const c = id === DROP ? undefined : this.#components.get(id);
      if (!c || c === DROP) return ALL_TYPES;
      s = c.raw;
      f = c.file;
    }
    const type = s['type'];
    if (typeof type === 'string') return new Set([type]);
    if (Array.isArray(type)) return new Set(type.map(String));
    const sub = (k: string): Node[] => (Array.isArray(s[k]) ? (s[k] as unknown[]).filter(isRecord) : []);
    if (sub('allOf').length > 0)
      return sub('allOf')
        .map((x) => this.#types(x, f))
        .reduce(intersect);
    for (const k of ['anyOf', 'oneOf']) {
      if (sub(k).length > 0) return new Set(sub(k).flatMap((x) => [...this.#types(x, f)]));
    }
    return ALL_TYPES;
  }

  /** Adds `unevaluatedProperties: false` where the official runner does (see the file comment). */
  #strict(schema: Node, keys: string[], file: string): void {
    if (!('$ref' in schema)) {
      const at = (k: string, v: unknown, ...more: string[]): void => {
        if (isRecord(v)) this.#strict(v, [...keys, k, ...more], file);
      };
      if (schema['type'] === 'array') at('items', schema['items']);
      at('additionalProperties', schema['additionalProperties']);
      if (isRecord(schema['properties'])) for (const [k, v] of Object.entries(schema['properties'])) at('properties', v, k);
      for (const k of ['allOf', 'anyOf', 'oneOf']) {
        const list = schema[k];
        if (Array.isArray(list)) list.forEach((v, i) => at(k, v, String(i)));
      }
      at('not', schema['not']);
    }
    if ('unevaluatedProperties' in schema) return;
    const parent = keys.slice(0, -1);
    if (parent.join('/') === '#/components/schemas' || parent.includes('allOf')) return;
    const types = this.#types(schema, file);
    if (types.size !== 1 || !types.has('object')) return;
    if (Object.keys(schema).filter((k) => k !== 'type' && k !== 'description').length === 0) return;
    schema['type'] = 'object';
    schema['unevaluatedProperties'] = false;
  }

  /** The namespace file that declares `path` (found by text first: parsing every namespace is slow). */
  #operation(method: string, path: string): { op: Node; file: string } | undefined {
    const key = `${method.toLowerCase()} ${path}`;
    if (!this.#operations.has(key)) this.#operations.set(key, this.#findOperation(method, path));
    return this.#operations.get(key);
  }

  #findOperation(method: string, path: string): { op: Node; file: string } | undefined {
    const dir = join(this.#root, 'namespaces');
    const key = new RegExp(`^  ['"]?${escapeRegExp(path)}['"]?:\\s*$`, 'm');
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
      const file = join(dir, name);
      if (!key.test(readFileSync(file, 'utf8'))) continue;
      const item = (this.#doc(file)['paths'] as Node | undefined)?.[path];
      const op = isRecord(item) ? item[method.toLowerCase()] : undefined;
      if (isRecord(op) && !this.#excluded(op)) return { op, file };
    }
    return undefined;
  }

  /** Whether the spec (for the target) has the operation `method path`. */
  hasOperation(method: string, path: string): boolean {
    return this.#operation(method, path) !== undefined;
  }

  /** The spec's response for `method path` (the spec's path, with `{params}`) at `status` and `contentType`. */
  response(method: string, path: string, status: number, contentType: string): ResponseSpec {
    const cacheKey = `${method} ${path} ${status} ${contentType}`;
    let found = this.#responses.get(cacheKey);
    if (!found) {
      found = this.#lookupResponse(method, path, status, contentType);
      this.#responses.set(cacheKey, found);
    }
    return found;
  }

  #lookupResponse(method: string, path: string, status: number, contentType: string): ResponseSpec {
    const operation = this.#operation(method, path);
    if (!operation) return { kind: 'no-operation' };
    let file = operation.file;
    const declared = (operation.op['responses'] as Node | undefined)?.[String(status)];
    if (!isRecord(declared) || this.#excluded(declared)) return { kind: 'no-response' };
    let response: Node = declared;
    for (let hops = 0; typeof response['$ref'] === 'string' && hops < 10; hops++) {
      const at = this.#locate(file, response['$ref']);
      const target = pointerGet(this.#doc(at.file), at.pointer);
      if (!isRecord(target) || this.#excluded(target)) return { kind: 'no-response' };
      file = at.file;
      response = target;
    }
    const content = (response['content'] as Node | undefined)?.[contentType];
    if (!isRecord(content)) return { kind: 'no-response' };
    if (!isRecord(content['schema'])) return { kind: 'any' };
    const schema = this.#prune(content['schema'], file);
    if (schema === DROP || !isRecord(schema)) return { kind: 'any' };
    this.#strict(schema, ['#', 'paths', path, method.toLowerCase(), 'responses', String(status), 'content', contentType, 'schema'], file);
    const compiled: ValidateFunction = this.#ajv.compile(schema);
    return {
      kind: 'schema',
      validate: (data) => (compiled(data) ? [] : formatSchemaErrors(compiled.errors ?? [])),
    };
  }
}
