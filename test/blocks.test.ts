/**
 * The block types, in-process through the registry exactly as an instance uses them:
 * `validateConfig` (create time), `prepare` (publish time, with a real NativeMlService on a
 * real SQLite store), `load` and `runner.run`. Models are real built-in local models and a
 * real HTTP server speaking OpenAI's shapes. The js block has its own file (js-block.test.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pino } from 'pino';
import { BlockRegistry, builtinBlockRegistry } from '../src/blocks/block-registry.js';
import { NativeMlService } from '../src/ml/ml-service.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { JsonObject, JsonValue } from '../src/util/json.js';
import { SecretBox } from '../src/util/secret-box.js';
import { FakeModelServer } from './support/fake-model-server.js';
import type { Loaded } from './support/block-harness.js';
import { load, rejectsWith, throwsWith, typeOf } from './support/block-harness.js';

const API_KEY = 'sk-blocks-3b9e0f7a1c';

void describe('block registry', () => {
  void it('lists every block type with its role', () => {
    const blocks = builtinBlockRegistry();
    assert.deepEqual(blocks.names().sort(), ['custom', 'http', 'join', 'js', 'map', 'model', 'reduce', 'split', 'switch']);
    assert.deepEqual(
      blocks.list().map((t) => t.name),
      blocks.names(),
    );
    assert.equal(blocks.get('python'), undefined);
    const roles = Object.fromEntries(blocks.list().map((t) => [t.name, [t.role ?? 'transform', t.asyncOnly === true]]));
    assert.deepEqual(roles['switch'], ['switch', true]);
    assert.deepEqual(roles['split'], ['split', true]);
    assert.deepEqual(roles['reduce'], ['reduce', true]);
    assert.deepEqual(roles['join'], ['join', false]);
    assert.deepEqual(roles['js'], ['transform', false]);
    for (const t of blocks.list()) assert.ok(t.description.length > 20, `${t.name} describes itself`);
  });

  void it('refuses a block type registered twice, and each registry holds only what it was given', () => {
    const js = builtinBlockRegistry().get('js');
    assert.ok(js);
    const own = new BlockRegistry().register(js);
    assert.throws(() => own.register(js), /block type js is registered twice/);
    assert.deepEqual(own.names(), ['js']);
    assert.equal(own.get('map'), undefined);
    assert.equal(builtinBlockRegistry().names().length, 9);
  });

  void it('refuses unknown config keys, naming the block and what it accepts', () => {
    throwsWith(() => typeOf('map').validateConfig({ key: {} }, 'compact'), {
      kind: 'validation',
      code: 'block.invalid_config',
      status: 400,
      message: /^Block \[compact\] \(map\): unknown config key \[key\]; it accepts keys$/,
    });
  });
});

void describe('map block', () => {
  void it('picks fields by JSON Pointer into a compact object; missing ones are null', async () => {
    const b = await load('map', {
      keys: { language: '/lang/language', first: '/items/0/name', 'a/b': '/odd~1key', missing: '/nope/deeper', ctor: '/constructor' },
    });
    const input = { lang: { language: 'fr', confidence: 0.9 }, items: [{ name: 'x' }], 'odd/key': true, text: 'long text' };
    assert.deepEqual(await b.run(input), { language: 'fr', first: 'x', 'a/b': true, missing: null, ctor: null });
  });

  void it('without keys the input passes through; bad configs are refused', async () => {
    const b = await load('map', {});
    assert.deepEqual(await b.run({ a: [1] }), { a: [1] });
    throwsWith(() => typeOf('map').validateConfig({ keys: {} }, 'm'), {
      kind: 'validation',
      code: 'block.invalid_config',
      message: /\[keys\] is empty/,
    });
    throwsWith(() => typeOf('map').validateConfig({ keys: { a: 'lang.language' } }, 'm'), {
      kind: 'validation',
      code: 'block.invalid_config',
      message: /^Block \[m\] \(map\): \[keys\.a\] must be a JSON Pointer/,
    });
    throwsWith(() => typeOf('map').validateConfig({ keys: { a: 3 } }, 'm'), {
      kind: 'validation',
      code: 'block.invalid_config',
      message: /\[keys\.a\] must be a JSON Pointer string/,
    });
    throwsWith(() => typeOf('map').validateConfig({ keys: ['/a'] }, 'm'), {
      kind: 'validation',
      code: 'block.invalid_config',
      message: /\[keys\] must be an object, got an array/,
    });
  });
});

void describe('switch block', () => {
  const config: JsonObject = {
    cases: [
      { when: { path: '/lang/language', equals: 'en' }, dest: 'english' },
      { when: { path: '/lang/language', in: ['fr', 'it'] }, dest: 'romance' },
      { when: { path: '/meta', equals: { b: [1, 2], a: null } }, dest: 'deep' },
      { when: { path: '/urgent', exists: true }, dest: 'triage' },
    ],
    default: 'other',
  };

  void it('routes to the first matching case, else the default', async () => {
    const b = await load('switch', config);
    assert.deepEqual(await b.run({ lang: { language: 'en' }, urgent: true }), { routes: ['english'] }, 'first match wins');
    assert.deepEqual(await b.run({ lang: { language: 'it' } }), { routes: ['romance'] });
    assert.deepEqual(await b.run({ meta: { a: null, b: [1, 2] } }), { routes: ['deep'] }, 'deep equality ignores key order');
    assert.deepEqual(await b.run({ meta: { a: null, b: [2, 1] } }), { routes: ['other'] });
    assert.deepEqual(await b.run({ urgent: null }), { routes: ['triage'] }, 'null exists');
    assert.deepEqual(await b.run({ lang: { language: 'de' } }), { routes: ['other'] });
    assert.deepEqual(await b.run('just text'), { routes: ['other'] });
  });

  void it('no match and no default: no route; conditions combine', async () => {
    const b = await load('switch', {
      cases: [
        { when: { path: '/n', in: [1, 2, 3], exists: true }, dest: 'small' },
        { when: { path: '/n', exists: false }, dest: 'none' },
      ],
    });
    assert.deepEqual(await b.run({ n: 2 }), { routes: ['small'] });
    assert.deepEqual(await b.run({}), { routes: ['none'] });
    assert.deepEqual(await b.run({ n: 7 }), { routes: [] });
  });

  void it('config errors name the case and what to fix', () => {
    const bad = (c: JsonObject, message: RegExp): void => {
      throwsWith(() => typeOf('switch').validateConfig(c, 'route'), { kind: 'validation', code: 'block.invalid_config', message });
    };
    bad({}, /needs at least one case in \[cases\] or a \[default\]/);
    bad({ cases: {} }, /\[cases\] must be an array/);
    bad({ cases: [{ when: { path: '/a', equals: 1 } }] }, /\[cases\[0\]\]\.dest is required/);
    bad({ cases: [{ dest: 'x' }] }, /\[cases\[0\]\]\.when is required/);
    bad({ cases: [{ when: { path: '/a' }, dest: 'x' }] }, /\[cases\[0\]\]\.when needs a condition/);
    bad({ cases: [{ when: { path: 'a', equals: 1 }, dest: 'x' }] }, /\[cases\[0\]\]\.when\.path must be a JSON Pointer/);
    bad({ cases: [{ when: { path: '/a', equal: 1 }, dest: 'x' }] }, /\[cases\[0\]\]\.when has unknown key\(s\) \[equal\]/);
    bad({ cases: [{ when: { path: '/a', in: 'x' }, dest: 'x' }] }, /when\.in must be an array/);
    bad({ cases: [{ when: { path: '/a', exists: 'yes' }, dest: 'x' }] }, /when\.exists must be true or false/);
    assert.deepEqual(typeOf('switch').validateConfig({ default: 'x' }, 'route'), { cases: [], default: 'x' });
  });
});

void describe('join block', () => {
  void it('passes the gathered branches on; max_failed_branches defaults to 0', async () => {
    const b = await load('join', {});
    assert.deepEqual(b.config, { max_failed_branches: 0 });
    const input = { left: { a: 1 }, right: [2] };
    assert.deepEqual(await b.run(input), input);
    assert.deepEqual(typeOf('join').validateConfig({ max_failed_branches: '2' }, 'j'), { max_failed_branches: 2 });
    throwsWith(() => typeOf('join').validateConfig({ max_failed_branches: -1 }, 'j'), {
      kind: 'validation',
      code: 'block.invalid_config',
      message: /\[max_failed_branches\] must be an integer ≥ 0/,
    });
    throwsWith(() => typeOf('join').validateConfig({ max_failed_branches: 1.5 }, 'j'), {
      kind: 'validation',
      code: 'block.invalid_config',
      message: /integer/,
    });
  });
});

void describe('split block', () => {
  void it('outputs the array at path, or the input itself', async () => {
    const atPath = await load('split', { path: '/docs', max_items: 3 });
    assert.deepEqual(await atPath.run({ docs: [{ t: 1 }, { t: 2 }] }), [{ t: 1 }, { t: 2 }]);
    assert.deepEqual(await atPath.run({ docs: [] }), []);
    const whole = await load('split', {});
    assert.deepEqual(await whole.run([1, 'two', null]), [1, 'two', null]);
  });

  void it('clear errors when it is not an array or over max_items', async () => {
    const b = await load('split', { path: '/docs', max_items: 2 }, { blockId: 'pages' });
    await rejectsWith(b.run({ docs: [1, 2, 3] }), {
      kind: 'step_failure',
      code: 'block.too_many_items',
      status: 400,
      message: /^Block \[pages\]: the value at \/docs has 3 items, more than max_items \(2\)/,
    });
    await rejectsWith(b.run({ docs: { a: 1 } }), {
      kind: 'step_failure',
      code: 'block.invalid_input',
      status: 400,
      message: /cannot split the value at \/docs: it is an object, not an array/,
    });
    await rejectsWith(b.run({}), { kind: 'step_failure', code: 'block.invalid_input', message: /it is nothing, not an array/ });
    await rejectsWith(b.run({ docs: 'a text' }), {
      kind: 'step_failure',
      code: 'block.invalid_input',
      message: /set config\.by to sentence, line or paragraph/,
    });
    throwsWith(() => typeOf('split').validateConfig({ max_items: 0 }, 's'), {
      kind: 'validation',
      code: 'block.invalid_config',
      message: /\[max_items\] must be an integer ≥ 1/,
    });
    throwsWith(() => typeOf('split').validateConfig({ by: 'word' }, 's'), {
      kind: 'validation',
      code: 'block.invalid_config',
      message: /\[by\] must be one of sentence, line, paragraph/,
    });
  });

  void it('splits a text by sentence, line or paragraph with offsets', async () => {
    const text = 'Dr. J. Watson arrived, e.g. by train. Was it late?  Yes!\n\nA new paragraph.\nSecond line.';
    const sentences = (await (await load('split', { path: '/text', by: 'sentence' })).run({ text })) as JsonObject[];
    assert.deepEqual(
      sentences.map((s) => s['text']),
      ['Dr. J. Watson arrived, e.g. by train.', 'Was it late?', 'Yes!', 'A new paragraph.', 'Second line.'],
    );
    for (const [i, s] of sentences.entries()) {
      assert.equal(s['index'], i);
      assert.equal(text.slice(s['start'] as number, s['end'] as number), s['text'], 'offsets point into the original text');
    }
    const lines = (await (await load('split', { path: '/text', by: 'line' })).run({ text })) as JsonObject[];
    assert.deepEqual(
      lines.map((s) => s['text']),
      ['Dr. J. Watson arrived, e.g. by train. Was it late?  Yes!', 'A new paragraph.', 'Second line.'],
    );
    const paragraphs = (await (await load('split', { by: 'paragraph', max_items: 5 })).run(text)) as JsonObject[];
    assert.deepEqual(
      paragraphs.map((s) => [s['text'], s['start']]),
      [
        ['Dr. J. Watson arrived, e.g. by train. Was it late?  Yes!', 0],
        ['A new paragraph.\nSecond line.', 58],
      ],
    );
    await rejectsWith((await load('split', { by: 'line' })).run(['a']), {
      kind: 'step_failure',
      code: 'block.invalid_input',
      message: /cannot split the input by line: it is an array, not a string/,
    });
  });
});

void describe('reduce block', () => {
  const items: JsonValue[] = [
    { lang: { language: 'en' }, tags: ['a', 'b'] },
    { lang: { language: 'fr' }, tags: ['c'] },
    { lang: { language: 'en', extra: 1 } },
  ];

  void it('array (default), with or without path', async () => {
    assert.deepEqual(await (await load('reduce', {})).run(items), items);
    assert.deepEqual(await (await load('reduce', { path: '/lang/language' })).run(items), ['en', 'fr', 'en']);
    assert.deepEqual(await (await load('reduce', { path: '/tags/0' })).run(items), ['a', 'c', null]);
  });

  void it('merge shallow-merges objects; concat concatenates arrays', async () => {
    assert.deepEqual(await (await load('reduce', { mode: 'merge', path: '/lang' })).run(items), { language: 'en', extra: 1 });
    assert.deepEqual(await (await load('reduce', { mode: 'concat', path: '/tags' })).run(items), ['a', 'b', 'c']);
    assert.deepEqual(await (await load('reduce', { mode: 'concat' })).run([[1], [], [2, [3]]]), [1, 2, [3]]);
  });

  void it('errors name the item and the mode', async () => {
    await rejectsWith((await load('reduce', { mode: 'merge' })).run([{ a: 1 }, [2]]), {
      kind: 'step_failure',
      code: 'block.invalid_input',
      message: /merge: item 1 is an array, not an object/,
    });
    await rejectsWith((await load('reduce', { mode: 'concat', path: '/tags' })).run([{ tags: 'x' }]), {
      kind: 'step_failure',
      code: 'block.invalid_input',
      message: /concat: item 0 at \/tags is a string, not an array/,
    });
    await rejectsWith((await load('reduce', {})).run({ a: 1 }), {
      kind: 'step_failure',
      code: 'block.invalid_input',
      message: /expects the array of per-item outputs/,
    });
    throwsWith(() => typeOf('reduce').validateConfig({ mode: 'sum' }, 'r'), {
      kind: 'validation',
      code: 'block.invalid_config',
      message: /\[mode\] must be one of array, merge, concat/,
    });
  });
});

void describe('custom block', () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'flowd-custom-'));
    writeFileSync(
      join(dir, 'counter.mjs'),
      `export async function createBlock(options) {
        let n = options.start;
        return {
          async run(input, ctx) { n += 1; return { n, prefix: options.prefix + input.text, block: ctx.blockId }; },
          async close() { globalThis.__customClosed = (globalThis.__customClosed ?? 0) + 1; },
        };
      }`,
    );
    writeFileSync(join(dir, 'upper.mjs'), 'export function process(input) { return { upper: input.text.toUpperCase() }; }');
    writeFileSync(join(dir, 'legacy.cjs'), 'module.exports = { process(input) { return [input.a, input.a * 2]; } };');
    writeFileSync(join(dir, 'nothing.mjs'), 'export const version = 1;');
    writeFileSync(
      join(dir, 'faulty.mjs'),
      'export function process(input) { if (input.fail) throw new Error("upstream said no"); return input.undef; }',
    );
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  void it('createBlock(options) with state and close', async () => {
    const b = await load('custom', { module: join(dir, 'counter.mjs'), options: { start: 10, prefix: '> ' } }, { blockId: 'ctr' });
    assert.deepEqual(await b.run({ text: 'a' }), { n: 11, prefix: '> a', block: 'ctr' });
    assert.deepEqual(await b.run({ text: 'b' }), { n: 12, prefix: '> b', block: 'ctr' });
    assert.equal(typeof b.runner.close, 'function');
    await b.runner.close?.();
    assert.equal((globalThis as { __customClosed?: number }).__customClosed, 1);
  });

  void it('process(input), as a named export or in a CommonJS default export; relative paths', async () => {
    const rel = relative(process.cwd(), join(dir, 'upper.mjs'));
    assert.ok(!rel.startsWith('/'));
    assert.deepEqual(await (await load('custom', { module: rel })).run({ text: 'abc' }), { upper: 'ABC' });
    assert.deepEqual(await (await load('custom', { module: join(dir, 'legacy.cjs') })).run({ a: 2 }), [2, 4]);
  });

  void it('errors name the module', async () => {
    // Validation never looks at the file system (the node's policy and the load do).
    assert.deepEqual(typeOf('custom').validateConfig({ module: join(dir, 'absent.mjs') }, 'ext'), {
      module: join(dir, 'absent.mjs'),
      options: {},
    });
    await rejectsWith(load('custom', { module: join(dir, 'absent.mjs') }), {
      kind: 'validation',
      code: 'block.module_not_found',
      message: /^Block of type \[custom\]: \[module\] .*absent\.mjs does not exist/,
    });
    const missing = await rejectsWith(load('custom', { module: 'relative/missing.js' }), {
      kind: 'validation',
      code: 'block.module_not_found',
      message: /relative\/missing\.js .*resolved from flowd's working directory/,
    });
    assert.ok(!missing.message.includes(process.cwd()), 'the working directory is not shown');
    throwsWith(() => typeOf('custom').validateConfig({ module: dir + '/x.py' }, 'ext'), {
      kind: 'validation',
      code: 'block.invalid_config',
      message: /must be a JavaScript file/,
    });
    await rejectsWith(load('custom', { module: join(dir, 'nothing.mjs') }), {
      kind: 'validation',
      code: 'block.custom_load_failed',
      message: /nothing\.mjs .*exports neither createBlock\(options\) nor process\(input\)/,
    });
    const faulty = await load('custom', { module: join(dir, 'faulty.mjs') }, { blockId: 'f' });
    await rejectsWith(faulty.run({ fail: true }), {
      kind: 'step_failure',
      code: 'block.custom_error',
      message: /^Block \[f\]: custom module .*faulty\.mjs failed: upstream said no$/,
    });
    await rejectsWith(faulty.run({}), {
      kind: 'step_failure',
      code: 'block.invalid_output',
      message: /faulty\.mjs returned undefined, not a JSON value/,
    });
  });
});

void describe('model and http blocks', () => {
  let store: SqliteStore;
  let ml: NativeMlService;
  let server: FakeModelServer;
  const deps = (): { ml: NativeMlService; workflowId: string } => ({ ml, workflowId: 'wf1' });

  before(async () => {
    store = new SqliteStore({ path: ':memory:' });
    ml = new NativeMlService({
      store,
      secrets: new SecretBox(randomBytes(32)),
      fetch: globalThis.fetch,
      logger: pino({ level: 'silent' }),
    });
    server = await FakeModelServer.start({ apiKey: API_KEY });
  });

  after(async () => {
    await ml.close();
    await server.close();
    await store.close();
  });

  /** The whole lifecycle as publishing and an instance run it; `prepared` crosses a structured clone like workerData. */
  async function publish(type: string, config: JsonObject, blockId = 'b1'): Promise<Loaded & { prepared: JsonObject }> {
    const t = typeOf(type);
    const normalized = t.validateConfig(config, blockId);
    assert.equal(typeof t.prepare, 'function', `${type} has a prepare step`);
    const prepared = structuredClone(await t.prepare?.(normalized, deps()));
    assert.ok(prepared);
    const loaded = await load(type, normalized, { prepared, blockId });
    return { ...loaded, prepared };
  }

  const chatConnector = (extra: JsonObject = {}): JsonObject => ({
    name: 'OpenAI Chat',
    protocol: 'http',
    parameters: { endpoint: server.url, model: 'gpt-4o-mini' },
    credential: { openAI_key: API_KEY },
    actions: [
      {
        action_type: 'predict',
        method: 'POST',
        url: '${parameters.endpoint}/v1/chat/completions',
        headers: { Authorization: 'Bearer ${credential.openAI_key}' },
        request_body: '{ "model": "${parameters.model}", "messages": [{ "role": "user", "content": "${parameters.prompt}" }] }',
      },
    ],
    ...extra,
  });

  void it('model: a real local sentiment model, one text or several, at text_path', async () => {
    const id = await ml.registerLocalModel({ name: 'flowd/sentiment', version: '1.0.0', model_format: 'NPM_PACKAGE' });
    await ml.deployModel(id);
    const b = await publish('model', { model_id: id });
    assert.deepEqual(b.config, { model_id: id, text_path: '/text', parameters: {} });
    assert.deepEqual(b.prepared, { kind: 'local', model_id: id, name: 'flowd/sentiment' });
    const one = (await b.run({ text: 'I love this wonderful product, it is great!' })) as JsonObject;
    assert.equal(one['label'], 'positive');
    assert.ok((one['positive'] as string[]).includes('wonderful'));
    const many = (await b.run({ text: ['This is a terrible, awful mess.', 'not good'] })) as JsonObject[];
    assert.deepEqual(
      many.map((r) => r['label']),
      ['negative', 'negative'],
    );
    assert.deepEqual(await b.run({ text: [] }), []);

    const nested = await publish('model', { model_id: id, text_path: '/doc/body', parameters: { extras: { flowd: 5 } } });
    assert.equal(((await nested.run({ doc: { body: 'flowd' } })) as JsonObject)['label'], 'positive', 'parameters reach the model');
    await rejectsWith(nested.run({ doc: { title: 'x' } }), {
      kind: 'step_failure',
      code: 'block.invalid_input',
      status: 400,
      message: /no text at \/doc\/body: .*found nothing/,
    });
    await rejectsWith(nested.run({ doc: { body: ['a', 1] } }), {
      kind: 'step_failure',
      code: 'block.invalid_input',
      message: /found an array/,
    });
  });

  void it('model: real language identification', async () => {
    const id = await ml.registerLocalModel({ name: 'flowd/language-id', version: '1.0.0', model_format: 'NPM_PACKAGE' });
    await ml.deployModel(id);
    const b = await publish('model', { model_id: id });
    const fr = (await b.run({ text: 'Le petit chat dort tranquillement sur le canapé pendant que la pluie tombe dehors.' })) as JsonObject;
    assert.equal(fr['language'], 'fr');
    const [de, en] = (await b.run({
      text: [
        'Der schnelle braune Fuchs springt über den faulen Hund und läuft weg.',
        'The quick brown fox jumps over the lazy dog and runs far away.',
      ],
    })) as JsonObject[];
    assert.equal(de?.['language'], 'de');
    assert.equal(en?.['language'], 'en');
  });

  void it('model: unknown (404), not deployed (409, "deploy it first"), bad config', async () => {
    await rejectsWith(typeOf('model').prepare!({ model_id: 'no-such-model', text_path: '/text', parameters: {} }, deps()), {
      kind: 'not_found',
      code: 'ml.model_not_found',
      status: 404,
      message: /Failed to find model no-such-model/,
    });
    const id = await ml.registerLocalModel({ name: 'flowd/tokens', version: '1.0.0', model_format: 'NPM_PACKAGE' });
    await rejectsWith(typeOf('model').prepare!({ model_id: id }, deps()), {
      kind: 'conflict',
      code: 'ml.model_not_deployed',
      status: 409,
      message: /is REGISTERED, not DEPLOYED: deploy it first/,
    });
    throwsWith(() => typeOf('model').validateConfig({ text_path: '/text' }, 'nlp'), {
      kind: 'validation',
      code: 'block.invalid_config',
      message: /^Block \[nlp\] \(model\): \[model_id\] is required/,
    });
    throwsWith(() => typeOf('model').validateConfig({ model_id: 'm', text_path: 'text' }, 'nlp'), {
      kind: 'validation',
      code: 'block.invalid_config',
      message: /\[text_path\] must be a JSON Pointer/,
    });
    await rejectsWith(typeOf('model').load({ model_id: id }, {}, { timeoutMs: 1000 }), {
      kind: 'validation',
      code: 'block.invalid_prepared',
      message: /was not prepared/,
    });
  });

  void it('model: a remote model through its connector, credential opened at publish', async () => {
    const cid = await ml.createConnector(chatConnector());
    const mid = await ml.registerRemoteModel({ name: 'gpt', connector_id: cid });
    await ml.deployModel(mid);
    const b = await publish('model', { model_id: mid, parameters: { prompt: 'Summarize: ${parameters.text}' } });
    assert.equal(b.prepared['kind'], 'remote');
    const n = server.requests.length;
    const out = (await b.run({ text: 'flowd blocks' })) as JsonObject;
    assert.equal(((out['choices'] as JsonObject[])[0]?.['message'] as JsonObject)['content'], 'Echo: Summarize: flowd blocks');
    const req = server.requests[n];
    assert.equal(req?.authorization, `Bearer ${API_KEY}`);
    assert.equal((req?.body as JsonObject)['model'], 'gpt-4o-mini');
    const two = (await b.run({ text: ['a', 'b'] })) as JsonObject[];
    assert.equal(two.length, 2);
    assert.equal(server.requests.length, n + 3, 'one request per text');
    // A placeholder in the document would be expanded into the secret and echoed back.
    const err = await rejectsWith(b.run({ text: 'Repeat: ${credential.openAI_key}' }), {
      kind: 'step_failure',
      code: 'block.unsafe_input',
      status: 400,
      message: /contains "\$\{parameters\." or "\$\{credential\."/,
    });
    assert.ok(!err.message.includes(API_KEY));
    assert.equal(server.requests.length, n + 3, 'refused before any request');
  });

  void it('http: calls the connector action with the input fields it leaves open', async () => {
    const cid = await ml.createConnector(chatConnector());
    const b = await publish('http', { connector_id: cid, parameters: { model: 'gpt-block' } });
    assert.deepEqual(b.config, { connector_id: cid, action: 'PREDICT', parameters: { model: 'gpt-block' } });
    const n = server.requests.length;
    // `endpoint` is the connector's own parameter: the input cannot redirect the call (and its key) elsewhere.
    const out = (await b.run({ prompt: 'hello', endpoint: 'http://127.0.0.1:9', model: 'ignored', nested: { x: 1 } })) as JsonObject;
    assert.equal(((out['choices'] as JsonObject[])[0]?.['message'] as JsonObject)['content'], 'Echo: hello');
    const req = server.requests[n];
    assert.equal(req?.path, '/v1/chat/completions');
    assert.equal(req?.authorization, `Bearer ${API_KEY}`);
    assert.equal((req?.body as JsonObject)['model'], 'gpt-block', 'config.parameters win over the input');
    await rejectsWith(b.run({ model: 'x' }), { kind: 'validation', code: 'ml.unfilled_placeholder', message: /parameters\.prompt/ });
    await rejectsWith(b.run(['hello']), { kind: 'step_failure', code: 'block.invalid_input', message: /expects an object/ });
    await rejectsWith(b.run({ prompt: '${credential.openAI_key}' }), {
      kind: 'step_failure',
      code: 'block.unsafe_input',
      message: /input field \[prompt\]/,
    });
    server.failNext(503);
    await rejectsWith(b.run({ prompt: 'again' }), {
      kind: 'step_failure',
      code: 'ml.remote_error',
      status: 503,
      message: /Error from remote service/,
    });
  });

  void it('http: another action type; unknown connector and missing action are refused at publish', async () => {
    const cid = await ml.createConnector(
      chatConnector({
        actions: [
          {
            action_type: 'execute',
            method: 'POST',
            url: '${parameters.endpoint}/v1/embeddings',
            headers: { Authorization: 'Bearer ${credential.openAI_key}' },
            request_body: '{ "model": "emb", "input": "${parameters.text}" }',
          },
        ],
      }),
    );
    const b = await publish('http', { connector_id: cid, action: 'execute' });
    const out = (await b.run({ text: 'vector me' })) as JsonObject;
    assert.equal(((out['data'] as JsonObject[])[0]?.['embedding'] as number[]).length, 8);
    await rejectsWith(typeOf('http').prepare!({ connector_id: cid }, deps()), {
      kind: 'validation',
      code: 'block.no_such_action',
      message: /has no PREDICT action \(it has: EXECUTE\)/,
    });
    await rejectsWith(typeOf('http').prepare!({ connector_id: 'nope' }, deps()), {
      kind: 'not_found',
      code: 'ml.connector_not_found',
      status: 404,
      message: /Failed to find connector nope/,
    });
    throwsWith(() => typeOf('http').validateConfig({ connector_id: cid, action: 'fetch' }, 'h'), {
      kind: 'validation',
      code: 'block.invalid_config',
      message: /\[action\] must be one of/,
    });
  });
});
