/**
 * The `js` block: process(input) in its node:vm sandbox, attacked with the known escapes
 * (constructor chains to the host Function, require/process, import(), stack-trace call
 * sites, hijacking the runner), plus its time limit, error reporting and JSON output rule.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { JsonObject } from '../src/util/json.js';
import { js as loadJs, rejectsWith, throwsWith, typeOf } from './support/block-harness.js';

// Twice: as loaded on its own (each run timed by vm), and as an instance loads it (the instance
// enforces the time limit, and runs call the sandbox's entry point directly).
for (const hostTimes of [false, true]) {
  const js = (source: string, timeoutMs = 2000): ReturnType<typeof loadJs> => loadJs(source, timeoutMs, hostTimes);
  void describe(hostTimes ? 'js block, loaded as an instance loads it' : 'js block', () => {
    void it('runs process(input) and keeps top-level state for the life of the instance', async () => {
      const b = await js(`
        let calls = 0;
        function words(text) { return text.split(/\\s+/).filter(Boolean); }
        function process(input) {
          calls++;
          return { count: words(input.text).length, upper: input.text.toUpperCase(), calls, nothing: null };
        }`);
      assert.deepEqual(await b.run({ text: 'hello big world' }), { count: 3, upper: 'HELLO BIG WORLD', calls: 1, nothing: null });
      assert.deepEqual(await b.run({ text: 'again' }), { count: 1, upper: 'AGAIN', calls: 2, nothing: null });
      const scalar = await js('const process = (input) => (input.length > 2 ? "long" : 0);');
      assert.equal(await scalar.run([1, 2, 3]), 'long');
      assert.equal(await scalar.run([]), 0);
    });

    void it('a syntax error is refused at create time with the block and the line', () => {
      const err = throwsWith(
        () => typeOf('js').validateConfig({ source: 'function process(input) {\n  const x = 1;\n  return { a: x +* 2 };\n}\n' }, 'enrich'),
        {
          kind: 'validation',
          code: 'block.js_syntax_error',
          status: 400,
          message: /^Block \[enrich\] \(js\): syntax error in \[source\] at line 3: SyntaxError: Unexpected token/,
        },
      );
      assert.equal(err.node, 'enrich');
      assert.match(err.message, /return \{ a: x \+\* 2 \};/);
    });

    void it('a script without process(input) is refused, at create time or at load', async () => {
      throwsWith(() => typeOf('js').validateConfig({ source: 'function main(input) { return input; }' }, 'b'), {
        kind: 'validation',
        code: 'block.js_no_process',
        message: /must define function process\(input\)/,
      });
      throwsWith(() => typeOf('js').validateConfig({ source: '   ' }, 'b'), {
        kind: 'validation',
        code: 'block.invalid_config',
        message: /\[source\] is required/,
      });
      await rejectsWith(js('var process = 42;'), { kind: 'validation', code: 'block.js_no_process', message: /process is number/ });
    });

    // In an instance the watchdog ends a thread stuck in a loop (runtime tests); a top-level
    // loop is still timed here in both modes.
    void it('an endless loop hits the block timeout; the instance keeps serving', { skip: hostTimes }, async () => {
      const b = await js('function process(input) { if (input.spin) { while (true) {} } return "ok"; }', 150);
      const err = await rejectsWith(b.run({ spin: true }), {
        kind: 'step_failure',
        code: 'block.timeout',
        status: 504,
        message: /^Block \[b1\]: process\(\) did not finish within 150 ms/,
      });
      assert.equal(err.node, 'b1');
      assert.equal(await b.run({ spin: false }), 'ok');
      await rejectsWith(js('for (;;) {}\nfunction process(input) { return input; }', 150), {
        kind: 'validation',
        code: 'block.timeout',
        message: /top-level code did not finish/,
      });
    });

    void it('a user error fails the step with the user message and line', async () => {
      const b = await js(
        'function process(input) {\n  if (!input.id) {\n    throw new TypeError("input.id is required");\n  }\n  return input.id;\n}',
      );
      const err = await rejectsWith(b.run({}), {
        kind: 'step_failure',
        code: 'block.js_error',
        message: /TypeError: input\.id is required \(line 3: throw new TypeError/,
      });
      assert.equal(err.node, 'b1');
      const thrown = await js('function process(input) { throw { reason: "bad input" }; }');
      await rejectsWith(thrown.run({}), { kind: 'step_failure', code: 'block.js_error', message: /\{"reason":"bad input"\}/ });
      await rejectsWith(js('throw new Error("broken setup");\nfunction process(input) { return 1; }'), {
        kind: 'validation',
        code: 'block.js_error',
        message: /top-level code\): Error: broken setup/,
      });
    });

    void it('the output must be JSON', async () => {
      const cases: Array<[string, RegExp]> = [
        ['return undefined;', /returned undefined/],
        ['return function () {};', /returned a function, which is not a JSON value/],
        ['return 10n;', /not JSON: TypeError: Do not know how to serialize a BigInt/],
        ['const a = {}; a.self = a; return a;', /not JSON: TypeError: Converting circular structure/],
      ];
      for (const [body, message] of cases) {
        const b = await js(`function process(input) { ${body} }`);
        await rejectsWith(b.run({}), { kind: 'step_failure', code: 'block.invalid_output', message });
      }
      const asyncFn = await js('async function process(input) { throw new Error("later"); }');
      await rejectsWith(asyncFn.run({}), {
        kind: 'step_failure',
        code: 'block.invalid_output',
        message: /returned a Promise; it must return its output synchronously/,
      });
    });

    void describe('sandbox', () => {
      const codegen = /EvalError: Code generation from strings disallowed/;

      void it('this.constructor.constructor("return process")() reaches no host', async () => {
        const inside = await js('function process(input) { return this.constructor.constructor("return process")().pid; }');
        await rejectsWith(inside.run({}), { kind: 'step_failure', code: 'block.js_error', message: codegen });
        await rejectsWith(
          js('const host = this.constructor.constructor("return process")();\nfunction process(input) { return host.pid; }'),
          {
            kind: 'validation',
            code: 'block.js_error',
            message: codegen,
          },
        );
      });

      void it('input.constructor.constructor(...) and error constructors reach no host', async () => {
        const viaInput = await js('function process(input) { return input.constructor.constructor("return process")().env; }');
        await rejectsWith(viaInput.run({ a: 1 }), { kind: 'step_failure', code: 'block.js_error', message: codegen });
        const viaArray = await js(
          'function process(input) { return input.list.constructor.constructor("return globalThis")().process.pid; }',
        );
        await rejectsWith(viaArray.run({ list: [] }), { kind: 'step_failure', code: 'block.js_error', message: codegen });
        const viaError = await js(
          'function process(input) { try { null.x; } catch (e) { return e.constructor.constructor("return process")().pid; } }',
        );
        await rejectsWith(viaError.run({}), { kind: 'step_failure', code: 'block.js_error', message: codegen });
        const viaEval = await js('function process(input) { return eval("1 + 1"); }');
        await rejectsWith(viaEval.run({}), { kind: 'step_failure', code: 'block.js_error', message: codegen });
      });

      void it('require, the host process, timers and module globals do not exist', async () => {
        const req = await js('function process(input) { return require("node:fs").readFileSync("/etc/passwd", "utf8"); }');
        await rejectsWith(req.run({}), { kind: 'step_failure', code: 'block.js_error', message: /ReferenceError: require is not defined/ });
        const probe = await js(`function process(input) {
          const names = ['require', 'module', 'exports', 'Buffer', 'setTimeout', 'setImmediate', 'queueMicrotask', 'fetch',
            'SharedArrayBuffer', 'Atomics', 'WebAssembly', 'FinalizationRegistry', '__filename'];
          const out = {};
          for (const n of names) out[n] = typeof globalThis[n];
          out.processIsMine = globalThis.process === process;
          out.env = typeof process.env;
          out.hostProcess = typeof process.binding;
          return out;
        }`);
        const out = (await probe.run({})) as JsonObject;
        for (const [k, v] of Object.entries(out)) {
          if (k === 'processIsMine') assert.equal(v, true);
          else assert.equal(v, 'undefined', `${k} must not exist in the sandbox`);
        }
      });

      void it('import() is refused before any code runs', async () => {
        throwsWith(() => typeOf('js').validateConfig({ source: 'function process(input) {\n  return import("node:fs");\n}' }, 'loader'), {
          kind: 'validation',
          code: 'block.js_forbidden',
          message: /^Block \[loader\] \(js\): \[source\] line 2: the word "import" is not allowed/,
        });
        // load checks again (a config that skipped validation), and a dynamic import in a catch handler is caught too
        const source =
          'function process(input) { import("node:child_process").catch(e => e.constructor.constructor("return process")()); return 1; }';
        await rejectsWith(typeOf('js').load({ source }, {}, { timeoutMs: 500 }), {
          kind: 'validation',
          code: 'block.js_forbidden',
          message: /"import" is not allowed/,
        });
      });

      void it('stack-trace call sites expose no host function or receiver', async () => {
        const b = await js(`function process(input) {
          Error.prepareStackTrace = function (e, sites) { return sites; };
          const sites = new Error('probe').stack;
          Error.prepareStackTrace = undefined;
          let reached = 0;
          for (const s of sites) {
            for (const v of [s.getThis(), s.getFunction()]) {
              if (v === undefined || v === null) continue;
              try { v.constructor.constructor('return process')(); reached++; } catch (e) {}
            }
          }
          return { frames: sites.length, reached };
        }`);
        const out = (await b.run({})) as JsonObject;
        assert.ok((out['frames'] as number) >= 2);
        assert.equal(out['reached'], 0);
      });

      void it('the script cannot hijack the runner or the input channel', async () => {
        const b = await js(`let round = 0;
          function process(input) {
            round++;
            if (round === 1) Object.defineProperty(globalThis, '__flowd_input', { get() { return '{"x":1}'; } });
            if (round === 2) globalThis.__flowd_run = function () { return 'hijacked'; };
            return input;
          }`);
        await rejectsWith(b.run({ n: 1 }), {
          kind: 'step_failure',
          code: 'block.js_error',
          message: /Cannot redefine property: __flowd_input/,
        });
        assert.deepEqual(await b.run({ n: 2 }), { n: 2 }, 'assigning the runner is ignored');
        assert.deepEqual(await b.run({ n: 3 }), { n: 3 });
      });

      void it('a fresh context per loaded block: no state shared between blocks', async () => {
        const a = await js('var shared = 0; function process(input) { shared += 1; Array.prototype.polluted = true; return shared; }');
        const b = await js('var shared = 100; function process(input) { return { shared, polluted: [].polluted === true }; }');
        assert.equal(await a.run({}), 1);
        assert.deepEqual(await b.run({}), { shared: 100, polluted: false });
        assert.equal(([] as unknown as { polluted?: boolean }).polluted, undefined, 'host prototypes untouched');
      });
    });
  });
}

void describe('isolation from the host process', () => {
  void it('importing the registry loads no heavy package; a stray rejection in a script does not crash the process', async () => {
    // A child process: the test runner's own unhandledRejection listener must not be in the way.
    const script = `
      import { createRequire } from 'node:module';
      import { builtinBlockRegistry } from './src/blocks/block-registry.ts';
      const cache = () => Object.keys(createRequire(import.meta.url).cache);
      const heavy = cache().filter((k) => /node_modules\\/(pino|sentiment|compromise|wink-nlp)\\//.test(k));
      const t = builtinBlockRegistry().get('js');
      const source = 'function process(input) { Promise.reject(new Error("stray")); (async () => { throw 1; })(); return input.n + 1; }';
      const runner = await t.load(t.validateConfig({ source }, 'b'), {}, { timeoutMs: 1000 });
      const out = await runner.run({ n: 1 }, { blockId: 'b', signal: new AbortController().signal });
      await new Promise((r) => setTimeout(r, 50));
      console.log(JSON.stringify({ heavy, out }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.cwd(),
      timeout: 15_000,
    });
    assert.deepEqual(JSON.parse(stdout.trim()), { heavy: [], out: 2 });
  });
});
