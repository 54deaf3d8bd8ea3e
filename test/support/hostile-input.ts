/**
 * fast-check arbitraries for what a hostile client sends over HTTP: bodies that are nested
 * (thousands of levels), huge (MB strings, 100k keys), odd-typed (numbers for strings, 1e999,
 * `__proto__`, NUL, lone surrogates) or malformed (truncated JSON, invalid YAML, alias bombs,
 * bytes that are not UTF-8), wrong content types, bad query strings and odd path ids.
 *
 * Bodies are generated as small descriptors and rendered to text only when sent, so a failing
 * case prints (and shrinks) as a few fields, not megabytes, and deep documents are never built
 * as objects (JSON.stringify of 100,000 levels would overflow this process's stack).
 */
import fc from 'fast-check';

/** A nasty JSON value, as a descriptor. */
export type Nasty =
  | { kind: 'deepArray' | 'deepObject' | 'deepMixed'; depth: number }
  | { kind: 'longString'; length: number; unit: string }
  | { kind: 'manyKeys'; count: number }
  | { kind: 'longArray'; count: number }
  | { kind: 'wildcard'; pairs: number }
  | { kind: 'backtrack'; length: number }
  | { kind: 'odd'; text: string }
  | { kind: 'json'; value: fc.JsonValue };

/** A whole body: a nasty value inside an envelope shaped like the route expects, or a malformed document. */
export type BodySpec =
  | { kind: 'none' }
  | { kind: 'enveloped'; envelope: string; value: Nasty }
  | { kind: 'truncated'; envelope: string; value: Nasty; keep: number }
  | { kind: 'yaml'; text: YamlSpec }
  | { kind: 'bytes'; bytes: number[] }
  | { kind: 'text'; text: string };

export type YamlSpec =
  | { kind: 'literal'; text: string }
  | { kind: 'laughs'; levels: number; fanout: number }
  | { kind: 'amplify'; anchorKb: number; aliases: number }
  | { kind: 'reindent'; spaces: number; lines: number }
  | { kind: 'deepFlow'; depth: number }
  | { kind: 'deepBlock'; depth: number };

/** Which envelopes fit a route's body (chosen by path and method). */
export type BodyFamily = 'template' | 'search' | 'input' | 'batch' | 'taskIds' | 'user' | 'apiKey' | 'predict' | 'generic';

const HOLE = '§';

/** `§` marks where the nasty value goes; `$WF` becomes a real workflow id when sent. */
const ENVELOPES: Record<BodyFamily, string[]> = {
  template: [
    HOLE,
    `{"name":${HOLE},"workflows":{"provision":{"nodes":[{"id":"n1","type":"noop"}]}}}`,
    `{"name":"fz","description":${HOLE},"use_case":${HOLE}}`,
    `{"name":"fz","workflows":{"provision":{"nodes":[{"id":"n1","type":"noop","user_inputs":{"x":${HOLE}}}]}}}`,
    `{"name":"fz","workflows":{"provision":{"nodes":${HOLE},"edges":${HOLE}}}}`,
    `{"name":"fz","workflows":{"provision":{"nodes":[{"id":${HOLE},"type":${HOLE}}]}}}`,
    `{"name":"fz","workflows":${HOLE}}`,
    `{"name":"fz","flow":${HOLE}}`,
    `{"name":"fz","flow":{"mode":"SYNC","blocks":[{"id":"b","type":"js","config":{"source":${HOLE}}}]}}`,
    `{"name":"fz","flow":{"mode":"SYNC","input_schema":${HOLE},"blocks":[{"id":"b","type":"js","config":{"source":"function process(i) { return i; }"}}]}}`,
    `{"name":"fz","flow":{"mode":"ASYNC","blocks":[{"id":"b","type":"js","replicas":${HOLE},"timeout":${HOLE},"memory":${HOLE},"config":{"source":"function process(i) { return i; }"}}]}}`,
    `{"name":"fz","ui_metadata":${HOLE},"version":${HOLE}}`,
    `{"name":"fz","workflows":{"provision":{"user_params":${HOLE},"nodes":[{"id":"n1","type":"noop","previous_node_inputs":${HOLE}}]}}}`,
  ],
  search: [
    HOLE,
    `{"query":${HOLE}}`,
    `{"query":{"match":{"name":${HOLE}}}}`,
    `{"query":{"wildcard":{"description":${HOLE}}}}`,
    `{"query":{"regexp":{"description":${HOLE}}}}`,
    `{"query":{"query_string":{"query":${HOLE}}}}`,
    `{"query":{"bool":{"must":${HOLE},"should":${HOLE}}}}`,
    `{"query":{"term":{"user.name":${HOLE}}}}`,
    `{"query":{"range":{"created_time":{"gte":${HOLE}}}}}`,
    `{"size":${HOLE},"from":${HOLE}}`,
    `{"sort":${HOLE},"_source":${HOLE}}`,
    `{"aggs":${HOLE}}`,
  ],
  input: [HOLE, `{"text":${HOLE}}`, `{"code":${HOLE}}`, `{"text":"fuzz","extra":${HOLE}}`, `{"__proto__":${HOLE},"text":"x"}`],
  batch: [HOLE, `{"tasks":${HOLE}}`, `{"tasks":[{"input":${HOLE}}]}`, `{"tasks":[{"input":{"text":${HOLE}},"idempotencyKey":${HOLE}}]}`],
  taskIds: [HOLE, `{"taskIds":${HOLE}}`, `{"taskIds":["x",${HOLE}]}`],
  user: [
    HOLE,
    `{"password":${HOLE}}`,
    `{"password":"long-enough-pw-1","opendistro_security_roles":${HOLE}}`,
    `{"password":"long-enough-pw-1","backend_roles":${HOLE},"attributes":${HOLE}}`,
  ],
  apiKey: [
    HOLE,
    `{"name":${HOLE},"workflow_ids":["$WF"]}`,
    `{"name":"fz","workflow_ids":${HOLE}}`,
    `{"name":"fz","workflow_ids":["$WF"],"expires_in":${HOLE},"grace_period":${HOLE}}`,
  ],
  predict: [HOLE, `{"parameters":${HOLE}}`, `{"text_docs":${HOLE}}`, `{"parameters":{"text":${HOLE},"endpoint":${HOLE}}}`],
  generic: [HOLE, `{"x":${HOLE}}`],
};

/** Raw JSON fragments that are valid JSON text but odd for the field they land in. */
const ODD_TEXTS = [
  '1e999',
  '-1e999',
  '1e-400',
  '123456789012345678901234567890',
  '-0',
  '0.1',
  '-1',
  '2147483648',
  'null',
  'true',
  '""',
  '" "',
  '[]',
  '{}',
  '[null]',
  '[[]]',
  '{"":""}',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"__proto__":null,"toString":1,"hasOwnProperty":"x","valueOf":[]}',
  '"\\u0000"',
  '"a\\u0000b"',
  '"\\ud800"',
  '"\\udc00\\ud800"',
  '"\\u202eevil"',
  '"💥🧨"',
  '"${credential.key}"',
  '"${{ n1.x }}"',
  '"${parameters.endpoint}"',
  '"../../../../etc/passwd"',
  '"http://127.0.0.1:1/x"',
  '"file:///etc/passwd"',
  '"(a+)+$"',
  '"[a-z"',
  '"*"',
  '"\\\\"',
  '"1s"',
  '"-5s"',
  '"999999h"',
  '"30d"',
  '"SYNC"',
  '"ASYNC"',
  '"noop"',
  '"all_access"',
  '"function process(input) { return input; }"',
  '"while (true) {}"',
  '"<script>alert(1)</script>"',
];

const depthArb = fc.oneof(
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 200 }) },
  { weight: 3, arbitrary: fc.constantFrom(127, 128, 129, 1000, 1001, 3300, 3600, 6000, 20_000, 100_000) },
);

export const nastyArb: fc.Arbitrary<Nasty> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constantFrom('deepArray' as const, 'deepObject' as const, 'deepMixed' as const), depth: depthArb }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('longString' as const),
      length: fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.constantFrom(100_000, 1_000_000, 3_000_000)),
      unit: fc.constantFrom('a', 'é', '💥', '\\u0000', '\\ud800', '*', ' '),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('manyKeys' as const),
      count: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.constantFrom(100_000, 250_000)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('longArray' as const),
      count: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.constantFrom(100_000, 1_100_000)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('wildcard' as const),
      pairs: fc.oneof(fc.integer({ min: 1, max: 50 }), fc.constantFrom(300, 1000, 5000)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('backtrack' as const),
      length: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(100, 5000)),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('odd' as const), text: fc.constantFrom(...ODD_TEXTS) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('json' as const), value: fc.jsonValue({ maxDepth: 3 }) }) },
);

const YAML_LITERALS = [
  'a: b: c',
  '\t- tab indented',
  'key: "unclosed',
  "key: 'unclosed",
  'name: !!js/function "function () { return 1; }"',
  'name: !!binary aGVsbG8=',
  'name: !!timestamp 2001-12-14',
  'a: &x [*x]',
  '{[',
  '? [a, b]\n: complex key',
  '---\nname: one\n---\nname: two',
  'name: fz\nname: twice',
  '- a\nb: c',
  '%YAML 9.9\n---\nname: x',
  'name: .nan',
  'name: 0x1F',
  '<<: {a: 1}',
  'name: "\\x00"',
];

export const yamlArb: fc.Arbitrary<YamlSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('literal' as const), text: fc.constantFrom(...YAML_LITERALS) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('laughs' as const),
      levels: fc.integer({ min: 2, max: 12 }),
      fanout: fc.integer({ min: 2, max: 12 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('amplify' as const),
      anchorKb: fc.constantFrom(1, 16, 64),
      aliases: fc.constantFrom(10, 50, 99),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('reindent' as const),
      spaces: fc.constantFrom(100, 2000, 8000),
      lines: fc.constantFrom(1, 4, 8),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deepFlow' as const), depth: depthArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deepBlock' as const), depth: fc.constantFrom(10, 200, 1000, 5000) }) },
);

const MALFORMED_TEXTS = [
  '',
  '   ',
  '\ufeff{}',
  '{"a":1,}',
  '{"a":1}{"b":2}',
  '// comment\n{}',
  '{"a":"raw\u0000nul"}',
  '{"a":"raw\ttab"}',
  "{'a':1}",
  '{"a":NaN}',
  '{"a":Infinity}',
  '{"a":undefined}',
  '{"name":"a","name":"b"}',
  '[',
  ']',
  '"',
  'nul',
  'name=fz&flow=x',
  '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--',
];

export function bodyArb(family: BodyFamily): fc.Arbitrary<BodySpec> {
  const envelope = fc.constantFrom(...ENVELOPES[family]);
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
    { weight: 10, arbitrary: fc.record({ kind: fc.constant('enveloped' as const), envelope, value: nastyArb }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('truncated' as const),
        envelope,
        value: nastyArb,
        keep: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
    },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('yaml' as const), text: yamlArb }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('bytes' as const), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 512 }) }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('text' as const), text: fc.constantFrom(...MALFORMED_TEXTS) }) },
  );
}

const repeatText = (unit: string, n: number): string => unit.repeat(n);

/** The JSON text of a nasty value. */
export function renderNasty(n: Nasty): string {
  switch (n.kind) {
    case 'deepArray':
      return repeatText('[', n.depth) + repeatText(']', n.depth);
    case 'deepObject':
      return repeatText('{"a":', n.depth) + '1' + repeatText('}', n.depth);
    case 'deepMixed':
      return repeatText('{"a":[', n.depth) + '"x"' + repeatText(']}', n.depth);
    case 'longString':
      return `"${repeatText(n.unit, n.length)}"`;
    case 'manyKeys': {
      const parts: string[] = [];
      for (let i = 0; i < n.count; i++) parts.push(`"k${i}":${i % 3 === 0 ? 'null' : i}`);
      if (n.count > 0) parts.push('"__proto__":{"polluted":1}', '"constructor":{}');
      return `{${parts.join(',')}}`;
    }
    case 'longArray':
      return `[${new Array<string>(n.count).fill('0').join(',')}]`;
    case 'wildcard':
      return `"${repeatText('*a', n.pairs)}*b"`;
    case 'backtrack':
      return `"${repeatText('a', n.length)}!"`;
    case 'odd':
      return n.text;
    case 'json':
      return JSON.stringify(n.value);
  }
}

export function renderYaml(y: YamlSpec): string {
  switch (y.kind) {
    case 'literal':
      return y.text;
    case 'laughs': {
      const lines = ['a0: &a0 "lol"'];
      for (let i = 1; i < y.levels; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: y.fanout }, () => `*a${i - 1}`).join(', ')}]`);
      lines.push(`name: *a${y.levels - 1}`);
      return lines.join('\n');
    }
    case 'amplify': {
      const lines = ['name: amplified', `description: &big "${'x'.repeat(y.anchorKb * 1024)}"`, 'workflows:', '  provision:', '    nodes:'];
      for (let i = 0; i < y.aliases; i++) lines.push(`      - {id: n${i}, type: noop, user_inputs: {d: *big}}`);
      return lines.join('\n');
    }
    case 'reindent':
      return 'a: b: c\n' + repeatText('b' + ' '.repeat(y.spaces) + 'x\n', y.lines);
    case 'deepFlow':
      return 'name: ' + repeatText('[', y.depth) + repeatText(']', y.depth);
    case 'deepBlock': {
      const lines: string[] = ['name: fz', 'x:'];
      for (let i = 1; i <= y.depth; i++) lines.push(`${' '.repeat(i)}k${i}:`);
      lines.push(`${' '.repeat(y.depth + 1)}v`);
      return lines.join('\n');
    }
  }
}

/** The bytes of a body (undefined: no body); `$WF` in envelopes becomes `workflowId`. */
export function renderBody(b: BodySpec, workflowId: string): string | Buffer | undefined {
  switch (b.kind) {
    case 'none':
      return undefined;
    case 'enveloped':
      return b.envelope.replaceAll(HOLE, renderNasty(b.value)).replaceAll('$WF', workflowId);
    case 'truncated': {
      const full = b.envelope.replaceAll(HOLE, renderNasty(b.value)).replaceAll('$WF', workflowId);
      return full.slice(0, Math.floor(full.length * b.keep));
    }
    case 'yaml':
      return renderYaml(b.text);
    case 'bytes':
      return Buffer.from(b.bytes);
    case 'text':
      return b.text;
  }
}

/** Content types: mostly the right ones, plus wrong, malformed and missing ones. */
export const contentTypeArb: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  { weight: 3, arbitrary: fc.constantFrom('application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml; charset=utf-8') },
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json; charset=utf-16',
      'application/json; charset=latin1',
      'APPLICATION/JSON',
      'application/json, application/yaml',
      'a/b/c;;=',
      ';',
      'application/octet-stream',
      'application/xml',
    ),
  },
);

/** Query parameter names flowd knows (on some route), and names no route knows. */
const PARAM_NAMES = [
  'provision',
  'reprovision',
  'update_fields',
  'use_case',
  'validation',
  'wait_for_completion_timeout',
  'on_failure',
  'clear_status',
  'allow_delete',
  'all',
  'watch',
  'workflow_step',
  'source',
  'source_content_type',
  'size',
  'from',
  'verboseErrorOutput',
  'limit',
  'cursor',
  'status',
  'wait',
  'pretty',
  'filter_path',
  '__proto__',
  'constructor',
  'a[b][c]',
  '',
];

const PARAM_VALUES = [
  '',
  'true',
  'false',
  'TRUE',
  '-1',
  '0',
  '1',
  '1e999',
  'abc',
  '%ZZ',
  '%',
  '%00',
  '1nanos',
  '-5s',
  '2s',
  '999999h',
  '2147483648ms',
  '30d',
  '1e309s',
  'rollback',
  'QUEUED,RUNNING,NOPE',
  'COMPLETED',
  'create_connector',
  'semantic_search',
  'all',
  '%7B%22query%22%3A%7B%22match_all%22%3A%7B%7D%7D%7D',
  '%7B%22query%22%3A%7B%22wildcard%22%3A%7B%22description%22%3A%22*a*a*a*a*a*a*a*a*a*a*b%22%7D%7D%7D',
  'application%2Fyaml',
  '__proto__',
  '%E2%80%AE',
  '%F0%9F%92%A5',
  "'%20OR%201=1--",
];

export interface QuerySpec {
  pairs: Array<{ name: string; value: string; encoded: boolean }>;
  /** Raw text appended as is: malformed separators and escapes. */
  tail: string;
}

export const queryArb: fc.Arbitrary<QuerySpec> = fc.record({
  pairs: fc.array(
    fc.record({
      name: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...PARAM_NAMES) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }),
      value: fc.oneof(
        { weight: 5, arbitrary: fc.constantFrom(...PARAM_VALUES) },
        { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
        { weight: 1, arbitrary: fc.constantFrom('x'.repeat(5000), '9'.repeat(400)) },
      ),
      encoded: fc.boolean(),
    }),
    { maxLength: 4 },
  ),
  tail: fc.constantFrom('', '', '', '&', '&&=&', '=x', '&%', '&a=%E0%A4%A', '&x=1&x=2&x=3', '#frag', '?again=1'),
});

export function renderQuery(q: QuerySpec): string {
  const enc = (s: string, encoded: boolean): string => (encoded ? encodeURIComponent(s) : s);
  const parts = q.pairs.map((p) => `${enc(p.name, p.encoded)}=${p.value}`);
  const text = parts.join('&') + q.tail;
  return text === '' ? '' : `?${text}`;
}

/** A path id: the real one (0), an unknown one, or an odd one (already percent-encoded where needed). */
export const ODD_IDS = [
  'fzUnknownId000000000',
  'doesnotexist',
  '%00',
  '..%2F..%2Fetc%2Fpasswd',
  '%ZZ',
  '%',
  'a'.repeat(201),
  'a'.repeat(3000),
  '%F0%9F%92%A5',
  '%E2%80%AE',
  "'%20OR%201=1--",
  '__proto__',
  'constructor',
  'null',
  '-1',
  '%2e%2e',
  'x%2Fy',
  '*',
];

/** 'real' = the fixture id for that parameter; 'other' = a real id of another kind; else an odd id. */
export const idChoiceArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constant('real') },
  { weight: 1, arbitrary: fc.constant('other') },
  { weight: 3, arbitrary: fc.constantFrom(...ODD_IDS) },
);

/** Extra request headers a hostile client adds. */
export const headersArb: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Record<string, string>>({}) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Record<string, string>>(
      { 'x-correlation-id': 'c'.repeat(10_000) },
      { 'x-correlation-id': '' },
      { 'x-correlation-id': 'ünïcödé' },
      { 'idempotency-key': 'k'.repeat(201) },
      { 'idempotency-key': '' },
      { accept: 'text/html' },
      { accept: 'text/event-stream' },
      { 'x-request-id': 'r'.repeat(5000) },
      { 'content-encoding': 'gzip' },
      { 'transfer-encoding-x': 'chunked' },
    ),
  },
);

/** A short description of a body for failure messages: its kind, size and first characters. */
export function describeBody(body: string | Buffer | undefined): string {
  if (body === undefined) return '(no body)';
  const text = typeof body === 'string' ? body : body.toString('latin1');
  const head = text.slice(0, 160).replace(/\s+/g, ' ');
  return `${Buffer.byteLength(body)} bytes: ${head}${text.length > 160 ? '…' : ''}`;
}
