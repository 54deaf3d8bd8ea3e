import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FlowdError } from '../src/errors.js';
import { isYamlContentType, parseBody, reindentQuotedContinuations } from '../src/template/body-parser.js';

const INVALID = 'IOException: template content invalid for specified Content-Type.';

function invalid(raw: string, ct: string | undefined): void {
  assert.throws(
    () => parseBody(raw, ct),
    (e: unknown) => e instanceof FlowdError && e.kind === 'validation' && e.status === 400 && e.message === INVALID,
  );
}

describe('isYamlContentType', () => {
  it('recognises the four YAML types, with parameters and any case', () => {
    for (const ct of ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml', 'Application/YAML; charset=utf-8']) {
      assert.equal(isYamlContentType(ct), true, ct);
    }
    for (const ct of [undefined, '', 'application/json', 'text/plain', 'application/yaml-ish']) {
      assert.equal(isYamlContentType(ct), false, String(ct));
    }
  });
});

describe('parseBody', () => {
  it('parses JSON by default and for JSON content types', () => {
    assert.deepEqual(parseBody('{"a":[1,{"b":null}]}', undefined), { a: [1, { b: null }] });
    assert.deepEqual(parseBody('\uFEFF{"a":1}', 'application/json; charset=utf-8'), { a: 1 });
  });

  it('parses YAML for YAML content types', () => {
    const text = 'name: t\nversion:\n  template: 1.0.0\n  compatibility: ["2.12.0", 3.0.0]\nn: 5\nb: true\nq: "5"\n';
    assert.deepEqual(parseBody(text, 'application/x-yaml'), {
      name: 't',
      version: { template: '1.0.0', compatibility: ['2.12.0', '3.0.0'] },
      n: 5,
      b: true,
      q: '5',
    });
  });

  it('gives one message for malformed JSON and YAML', () => {
    invalid('{"a":', undefined);
    invalid('', undefined);
    invalid('name: t', 'application/json');
    invalid('a: [1, 2', 'application/yaml');
    invalid('a: b\n c: d: e', 'text/yaml');
    invalid('--- a\n--- b\n', 'application/yaml');
  });

  it('refuses custom tags and non-JSON YAML values', () => {
    invalid('a: !!js/function "function () {}"', 'application/yaml');
    invalid('a: !custom x', 'application/yaml');
    invalid('a: .nan', 'application/yaml');
    invalid('a: .inf', 'application/yaml');
    invalid('%YAML 1.1\n---\na: !!binary aGVsbG8=\n', 'application/yaml');
    // Timestamps are not resolved (the core schema is used whatever the directive says).
    assert.deepEqual(parseBody('%YAML 1.1\n---\na: 2001-12-14\n', 'application/yaml'), { a: '2001-12-14' });
  });

  it('stops alias bombs (billion laughs)', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      lines.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const started = Date.now();
    invalid(lines.join('\n'), 'application/yaml');
    assert.ok(Date.now() - started < 2000);
  });

  it('allows a few aliases', () => {
    assert.deepEqual(parseBody('a: &x {k: v}\nb: *x\n', 'application/yaml'), { a: { k: 'v' }, b: { k: 'v' } });
  });

  it('keeps the last of duplicate keys, in YAML as in JSON', () => {
    assert.deepEqual(parseBody('{"a":1,"a":2}', undefined), { a: 2 });
    assert.deepEqual(parseBody('a: 1\na: 2\n', 'application/yaml'), { a: 2 });
  });

  it('accepts under-indented continuation lines of quoted scalars, as SnakeYAML does', () => {
    const text = [
      'actions:',
      '  - method: POST',
      '    request_body: \'{"prompt":"${parameters.prompt}",',
      '  "max": 5, "it\'\'s": 1',
      "  }'",
      '    action_type: predict',
      '  - body: "a',
      ' b \\"c\\"',
      ' d"',
      '',
    ].join('\n');
    assert.deepEqual(parseBody(text, 'application/yaml'), {
      actions: [
        { method: 'POST', request_body: '{"prompt":"${parameters.prompt}", "max": 5, "it\'s": 1 }', action_type: 'predict' },
        { body: 'a b "c" d' },
      ],
    });
    // Valid documents are never rewritten.
    const valid = "a: 'x\n  y'\n";
    assert.equal(reindentQuotedContinuations(valid), valid);
  });

  it('rejects very deep documents instead of overflowing the stack, naming the limit', () => {
    for (const ct of [undefined, 'application/yaml']) {
      assert.throws(
        () => parseBody('['.repeat(5000) + ']'.repeat(5000), ct),
        (e: unknown) =>
          e instanceof FlowdError &&
          e.status === 400 &&
          e.message === 'Request body is nested deeper than 128 levels (FLOWD_BODY_MAX_DEPTH).',
      );
    }
  });
});
