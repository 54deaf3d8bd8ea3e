import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FlowdError } from '../src/errors.js';
import { parseBody } from '../src/template/body-parser.js';
import { parseTemplate } from '../src/template/template-parser.js';
import { serializeTemplate, templateToYaml } from '../src/template/template-serializer.js';

const CONTENT_TYPES = [undefined, 'application/json', 'application/yaml', 'text/x-yaml'] as const;
const keepAll = { includeUser: true, redact: () => false };

/** Runs `fn`; anything thrown must be a validation FlowdError. */
function onlyValidationErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof FlowdError) || e.kind !== 'validation') {
      assert.fail(`unexpected throw: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    }
  }
}

function parseAll(raw: string, ct: string | undefined): void {
  onlyValidationErrors(() => parseTemplate(parseBody(raw, ct)));
  onlyValidationErrors(() => parseTemplate(parseBody(raw, ct), { updateFields: true }));
}

const json = fc.jsonValue({ maxDepth: 4 });
const key = fc.oneof(
  fc.constantFrom('id', 'type', 'name', 'source', 'dest', '__proto__', 'constructor', 'credential', ''),
  fc.string({ maxLength: 8 }),
);

/** Documents shaped like templates, with random damage at every level. */
const nearTemplate = (() => {
  const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: json });
  const node = maybe(
    fc.record(
      {
        id: maybe(fc.string({ maxLength: 6 })),
        type: maybe(fc.constantFrom('noop', 'create_index', '')),
        previous_node_inputs: maybe(fc.dictionary(fc.string({ maxLength: 4 }), maybe(fc.string({ maxLength: 4 })))),
        user_inputs: maybe(fc.dictionary(key, json)),
        extra: json,
      },
      { requiredKeys: [] },
    ),
  );
  const edge = maybe(
    fc.record({ source: maybe(fc.string({ maxLength: 4 })), dest: maybe(fc.string({ maxLength: 4 })), x: json }, { requiredKeys: [] }),
  );
  const workflow = maybe(
    fc.record(
      {
        nodes: maybe(fc.array(node, { maxLength: 4 })),
        edges: maybe(fc.array(edge, { maxLength: 4 })),
        user_params: maybe(fc.dictionary(fc.string({ maxLength: 4 }), json)),
      },
      { requiredKeys: [] },
    ),
  );
  return fc.record(
    {
      name: maybe(fc.string({ maxLength: 6 })),
      description: json,
      use_case: json,
      version: maybe(fc.record({ template: maybe(fc.constantFrom('1.0.0', '1.0', 'x')), compatibility: json }, { requiredKeys: [] })),
      workflows: maybe(fc.dictionary(fc.constantFrom('provision', 'other', '__proto__'), workflow)),
      ui_metadata: json,
      flow: json,
      user: json,
      created_time: json,
      tenant_id: json,
      all_shared_principals: json,
      [`unknown`]: json,
    },
    { requiredKeys: [] },
  );
})();

/** Templates that must parse. */
const validTemplate = (() => {
  const id = fc.string({ minLength: 1, maxLength: 6 }).filter((s) => s.length > 0);
  const nonNullJson = json.filter((v) => v !== null);
  const node = fc.record(
    {
      id,
      type: fc.constantFrom('noop', 'create_connector', 'register_agent'),
      previous_node_inputs: fc.dictionary(id, fc.string({ maxLength: 6 }), { maxKeys: 3 }),
      user_inputs: fc.dictionary(key, nonNullJson, { maxKeys: 5 }),
    },
    { requiredKeys: ['id', 'type'] },
  );
  const workflow = fc.record(
    {
      nodes: fc.array(node, { minLength: 1, maxLength: 5 }),
      edges: fc.array(fc.record({ source: id, dest: id }), { maxLength: 4 }),
      user_params: fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 3 }),
    },
    { requiredKeys: ['nodes'] },
  );
  const version = fc.record(
    {
      template: fc.constantFrom('1.0.0', '2.12.0'),
      compatibility: fc.array(fc.constantFrom('2.12.0', '3.0.0', '3.1.0-SNAPSHOT'), { maxLength: 3 }),
    },
    { requiredKeys: [] },
  );
  return fc.record(
    {
      name: fc.string({ minLength: 1, maxLength: 10 }).filter((s) => s.trim().length > 0),
      description: fc.string({ maxLength: 10 }),
      use_case: fc.string({ maxLength: 10 }),
      version,
      workflows: fc.dictionary(fc.constantFrom('provision', 'other', 'third'), workflow, { maxKeys: 2 }),
      ui_metadata: fc.dictionary(key, json, { maxKeys: 3 }),
      flow: fc.dictionary(key, json, { maxKeys: 3 }),
      created_time: fc.nat(),
      last_updated_time: fc.nat(),
      tenant_id: fc.string({ maxLength: 5 }),
      all_shared_principals: fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 }),
    },
    { requiredKeys: ['name'] },
  );
})();

describe('template fuzzing', () => {
  it('arbitrary strings: only validation errors, whatever the content type', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.constantFrom(...CONTENT_TYPES), (raw, ct) => parseAll(raw, ct)),
      { numRuns: 1500 },
    );
  });

  it('YAML-ish and JSON-ish strings: only validation errors', () => {
    const piece = fc.constantFrom(
      '{',
      '}',
      '[',
      ']',
      ':',
      ' ',
      '\n',
      '  ',
      '- ',
      '"',
      "'",
      '&a ',
      '*a',
      '!!',
      '!t ',
      '#',
      ',',
      'name',
      'workflows',
      'nodes',
      '---',
      '? ',
      '|',
      '>',
      '%YAML 1.1\n',
      '1e999',
      '-0',
      '\\',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.constantFrom(...CONTENT_TYPES), (parts, ct) => parseAll(parts.join(''), ct)),
      { numRuns: 2000 },
    );
  });

  it('arbitrary JSON values: only validation errors', () => {
    fc.assert(
      fc.property(json, fc.constantFrom(...CONTENT_TYPES), (value, ct) => {
        onlyValidationErrors(() => parseTemplate(value));
        const raw = ct !== undefined && ct.includes('yaml') ? templateToYaml(value) : JSON.stringify(value);
        parseAll(raw, ct);
      }),
      { numRuns: 1000 },
    );
  });

  it('template-shaped documents with random damage: only validation errors', () => {
    fc.assert(
      fc.property(nearTemplate, (doc) => {
        onlyValidationErrors(() => parseTemplate(doc));
        onlyValidationErrors(() => parseTemplate(doc, { updateFields: true }));
        parseAll(JSON.stringify(doc), 'application/json');
        parseAll(templateToYaml(doc), 'application/yaml');
      }),
      { numRuns: 1500 },
    );
  });

  it('parse ∘ serialize is idempotent on valid templates (as data, JSON text and YAML text)', () => {
    fc.assert(
      fc.property(validTemplate, (doc) => {
        const t1 = parseTemplate(doc);
        const s1 = serializeTemplate(t1, keepAll);
        const t2 = parseTemplate(s1);
        assert.deepEqual(t2, t1);
        assert.deepEqual(serializeTemplate(t2, keepAll), s1);
        assert.deepEqual(parseTemplate(parseBody(JSON.stringify(s1), undefined)), t1);
        assert.deepEqual(parseTemplate(parseBody(templateToYaml(s1), 'application/yaml')), t1);
      }),
      { numRuns: 500 },
    );
  });
});
