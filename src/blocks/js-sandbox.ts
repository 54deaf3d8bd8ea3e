/**
 * The sandbox a `js` block's script runs in: a fresh `node:vm` context per loaded block, with
 * only ECMAScript's built-ins (no require, process, module, timers, host globalThis), no code
 * generation from strings (eval, Function) nor WebAssembly, and the block timeout on every
 * evaluation.
 *
 * `node:vm` is not a security boundary by itself; what makes this one hold:
 * - The global object is backed by a null-prototype object, so `this.constructor` inside the
 *   script is the context's own Object/Function (code generation refused), not the host's.
 * - No host object ever reaches user code. The input enters as a JSON *string* and is parsed
 *   inside the context; the output is stringified inside the context and leaves as a string;
 *   errors are described inside the context and leave as strings. Host code never reads a
 *   property of a value the script made (a getter would run outside the timeout).
 * - `import()` is refused before compiling: in Node 20 its rejection reason is a host-realm
 *   error, whose `constructor.constructor` is the host's Function. `import` is a reserved word
 *   that cannot be written with escapes, so a textual check is sound (and conservative).
 * - Builtins that run code or block outside an evaluation are removed (FinalizationRegistry
 *   callbacks, Atomics, SharedArrayBuffer, WebAssembly).
 * - Stack traces list the script's frames only (a fixed Error.prepareStackTrace), never the
 *   host's, whose file names are install paths.
 * - A promise the script rejects without handling is reported by V8 to the whole process;
 *   a process-level guard drops those so a script cannot crash its instance that way.
 * Limits: memory is bounded by the instance (worker `resourceLimits`). Promise callbacks a
 * script schedules run after `process()` returned, outside the vm timeout: Node 20's
 * `microtaskMode: 'afterEvaluate'` would cover them, but a timeout inside such a callback
 * aborts the whole process when async hooks are on (nodejs/node#38503), so it is not used and
 * an endless loop there is left to the instance watchdog (no pong: the thread is ended).
 */
import { types } from 'node:util';
import type { Context } from 'node:vm';
import { Script, createContext } from 'node:vm';
import type { JsonValue } from '../util/json.js';

export type SandboxFailureKind = 'syntax' | 'forbidden' | 'no_process' | 'js_error' | 'invalid_output' | 'timeout';

/** Why a script could not be compiled, loaded or run; `line` is 1-based in the user's source. */
export class SandboxError extends Error {
  readonly kind: SandboxFailureKind;
  readonly line: number | undefined;
  readonly lineText: string | undefined;

  constructor(kind: SandboxFailureKind, message: string, line?: number, lineText?: string) {
    super(message);
    this.name = 'SandboxError';
    this.kind = kind;
    this.line = line;
    this.lineText = lineText;
  }
}

/** The file name the user's script gets in stack traces and syntax errors. */
const FILENAME = 'block.js';
const INPUT_SLOT = '__flowd_input';
const ERROR_SLOT = '__flowd_error';

/**
 * Runs first in every context, before any user code: captures the JSON functions and
 * `Promise.prototype.then` the script could otherwise replace, installs the run/describe
 * entry points as read-only globals, removes the builtins listed above, and returns the
 * context's `Promise.prototype` (only compared by identity on the host side) and its `run`
 * (called directly by the host when the instance enforces the time limit: a string in, a
 * string out, cheaper than evaluating a script that calls it). The host reads the
 * returned array at once, before any user code runs.
 */
const BOOTSTRAP_SOURCE = `(function (global) {
  'use strict';
  const parse = JSON.parse;
  const stringify = JSON.stringify;
  const then = Promise.prototype.then;
  const toText = String;
  const defineProperty = Object.defineProperty;
  const freeze = Object.freeze;
  const noop = function () {};
  function text(v) {
    try { return typeof v === 'string' ? v : toText(v); } catch (e) { return 'a value that cannot be turned into text'; }
  }
  function describe(e) {
    try {
      if (typeof e === 'object' && e !== null) {
        const message = e.message;
        if (typeof message === 'string') {
          const name = e.name;
          return (typeof name === 'string' && name !== '' ? name + ': ' : '') + message;
        }
        const json = stringify(e);
        if (typeof json === 'string') return json;
      }
      return text(e);
    } catch (x) {
      return 'an error value that cannot be described';
    }
  }
  function stackOf(e) {
    try {
      if (typeof e === 'object' && e !== null) { const s = e.stack; if (typeof s === 'string') return s; }
    } catch (x) {}
    return '';
  }
  // Stack traces show the script's own frames only: the host's frames would tell the script
  // (and whoever reads its errors) where flowd is installed. Every trace goes through
  // prepare() (fixed in place, with the global Error it hangs on); a formatter the script sets
  // gets the host's frames as an inert stand-in (a native frame with nothing to read).
  const nothing = function () { return null; };
  const no = function () { return false; };
  const hostFrame = freeze({
    getThis: function () { return undefined; }, getFunction: function () { return undefined; },
    getTypeName: nothing, getFunctionName: nothing, getMethodName: nothing, getFileName: nothing,
    getLineNumber: nothing, getColumnNumber: nothing, getEnclosingLineNumber: nothing, getEnclosingColumnNumber: nothing,
    getEvalOrigin: function () { return undefined; }, getScriptNameOrSourceURL: nothing, getScriptHash: function () { return ''; },
    getPosition: function () { return 0; }, getPromiseIndex: nothing,
    isToplevel: no, isEval: no, isNative: function () { return true; }, isConstructor: no, isAsync: no, isPromiseAll: no,
    toString: function () { return 'native'; },
  });
  let scriptPrepare;
  function header(e) {
    try {
      const name = e.name === undefined ? 'Error' : text(e.name);
      const message = e.message === undefined ? '' : text(e.message);
      return message === '' ? name : name === '' ? message : name + ': ' + message;
    } catch (x) {
      return 'Error';
    }
  }
  function prepare(e, sites) {
    const own = [];
    for (let i = 0; i < sites.length; i++) {
      const site = sites[i];
      own[i] = site.getFileName() === ${JSON.stringify(FILENAME)} ? site : hostFrame;
    }
    if (typeof scriptPrepare === 'function') return scriptPrepare(e, own);
    let out = header(e);
    for (let i = 0; i < own.length; i++) if (own[i] !== hostFrame) out += '\\n    at ' + own[i].toString();
    return out;
  }
  function envelope(kind, message, stack) {
    return '{"ok":false,"kind":' + stringify(kind) + ',"message":' + stringify(message) + ',"stack":' + stringify(stack) + '}';
  }
  function run(inputJson) {
    try {
      let output;
      try {
        // Resolved at call time in the global scope, so let/const/class declarations count too.
        if (typeof process !== 'function') return envelope('no_process', 'the script no longer defines function process(input)', '');
        output = process(parse(inputJson));
      } catch (e) {
        return envelope('js_error', describe(e), stackOf(e));
      }
      if (output === undefined) {
        return envelope('invalid_output', 'process() returned undefined; return a JSON value (object, array, string, number, boolean or null)', '');
      }
      if (typeof output === 'object' && output !== null && typeof output.then === 'function') {
        try { then.call(output, noop, noop); } catch (e) {}
        return envelope('invalid_output', 'process() returned a Promise; it must return its output synchronously (no async function, no await)', '');
      }
      let json;
      try { json = stringify(output); } catch (e) {
        return envelope('invalid_output', 'the output of process() is not JSON: ' + describe(e), '');
      }
      if (typeof json !== 'string') return envelope('invalid_output', 'process() returned a ' + typeof output + ', which is not a JSON value', '');
      return '{"ok":true,"output":' + json + '}';
    } catch (e) {
      return '{"ok":false,"kind":"js_error","message":"process() failed in a way that cannot be described","stack":""}';
    }
  }
  defineProperty(global, '__flowd_run', { value: run });
  defineProperty(global, '__flowd_describe', { value: function (e) { return envelope('js_error', describe(e), stackOf(e)); } });
  defineProperty(Error, 'prepareStackTrace', {
    get: function () { return prepare; },
    set: function (f) { scriptPrepare = f === prepare ? undefined : f; },
    enumerable: false,
    configurable: false,
  });
  defineProperty(global, 'Error', { value: Error, writable: false, enumerable: false, configurable: false });
  delete global.FinalizationRegistry;
  delete global.Atomics;
  delete global.SharedArrayBuffer;
  delete global.WebAssembly;
  return [Promise.prototype, run];
})(this)`;

// Compiled once, run in every context (a vm.Script is not bound to one).
let scripts: { bootstrap: Script; run: Script; describe: Script; kind: Script } | undefined;
function internalScripts(): NonNullable<typeof scripts> {
  scripts ??= {
    bootstrap: new Script(BOOTSTRAP_SOURCE, { filename: 'flowd-sandbox-bootstrap.js' }),
    run: new Script(`__flowd_run(${INPUT_SLOT})`, { filename: 'flowd-sandbox-run.js' }),
    describe: new Script(`__flowd_describe(${ERROR_SLOT})`, { filename: 'flowd-sandbox-describe.js' }),
    kind: new Script('typeof process', { filename: 'flowd-sandbox-kind.js' }),
  };
  return scripts;
}

// ------------------------------------------------------------------ unhandled rejections

const sandboxPromisePrototypes = new WeakSet<object>();
let guardInstalled = false;

/** Whether `promise` was created by a js block's script (for a host `unhandledRejection` handler). */
export function isSandboxPromise(promise: unknown): boolean {
  if (typeof promise !== 'object' || promise === null || types.isProxy(promise) || !types.isPromise(promise)) return false;
  return sandboxPromisePrototypes.has(Object.getPrototypeOf(promise) as object);
}

/** True unless Node was told to treat unhandled rejections differently from its default (crash). */
function defaultRejectionsCrash(): boolean {
  const flags = [...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)];
  const mode = flags.find((f) => f.startsWith('--unhandled-rejections'));
  return mode === undefined || mode === '--unhandled-rejections=throw';
}

function onUnhandledRejection(reason: unknown, promise: Promise<unknown>): void {
  // A script's stray promise is its own business: process() is synchronous, nothing awaits it.
  if (isSandboxPromise(promise)) return;
  // Any listener turns Node's default crash off; keep it for everything else when this one is alone.
  if (process.listenerCount('unhandledRejection') === 1 && defaultRejectionsCrash()) throw reason;
}

function installRejectionGuard(): void {
  if (guardInstalled) return;
  guardInstalled = true;
  process.on('unhandledRejection', onUnhandledRejection);
}

// ------------------------------------------------------------------ compile-time checks

/** Line (1-based) of character offset `at` in `source`. */
const lineAt = (source: string, at: number): number => source.slice(0, at).split('\n').length;
const lineTextOf = (source: string, line: number): string | undefined => source.split('\n')[line - 1]?.trim();

const IMPORT_WORD = /\bimport\b/;
const DEFINES_PROCESS = /\bfunction\s*\*?\s*process\s*\(|\bprocess\s*=(?!=)/;

/**
 * Compiles `source` without running it: syntax errors (with their line), the forbidden
 * `import`, and a script that obviously defines no `process`.
 */
export function checkSource(source: string): void {
  const imp = IMPORT_WORD.exec(source);
  if (imp !== null) {
    const line = lineAt(source, imp.index);
    throw new SandboxError(
      'forbidden',
      'the word "import" is not allowed anywhere in a js block, not even in a comment or a string (modules cannot be imported in the sandbox); ' +
        'remove or rename it (write obj["imp" + "ort"] for a property of that name)',
      line,
      lineTextOf(source, line),
    );
  }
  try {
    new Script(source, { filename: FILENAME });
  } catch (e) {
    // A host SyntaxError (compiling runs no user code); its stack starts with "block.js:<line>".
    const err = e instanceof Error ? e : new Error(String(e));
    const m = /^block\.js:(\d+)/.exec(err.stack ?? '');
    const line = m?.[1] === undefined ? undefined : Number(m[1]);
    throw new SandboxError('syntax', `${err.name}: ${err.message}`, line, line === undefined ? undefined : lineTextOf(source, line));
  }
  if (!DEFINES_PROCESS.test(source)) {
    throw new SandboxError('no_process', 'the script must define function process(input) { … return output; }');
  }
}

// ------------------------------------------------------------------ the sandbox

const isTimeout = (e: unknown): boolean => {
  if (typeof e !== 'object' || e === null || types.isProxy(e)) return false;
  const d = Object.getOwnPropertyDescriptor(e, 'code');
  return d !== undefined && d.value === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
};

/** Whether `v` was made by the host (its prototype chain reaches the host's Object.prototype), checked without running any trap. */
function isHostObject(v: object): boolean {
  let cur: object | null = v;
  for (let depth = 0; cur !== null && depth < 64; depth++) {
    if (types.isProxy(cur)) return false;
    if (cur === Object.prototype) return true;
    cur = Object.getPrototypeOf(cur) as object | null;
  }
  return false;
}

interface Envelope {
  ok: boolean;
  output?: JsonValue;
  kind?: string;
  message?: string;
  stack?: string;
}

const KINDS: readonly SandboxFailureKind[] = ['no_process', 'js_error', 'invalid_output'];

function lineFromStack(stack: string | undefined): number | undefined {
  const m = /\bblock\.js:(\d+)/.exec(stack ?? '');
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

export class JsSandbox {
  readonly #context: Context;
  readonly #slots: Record<string, unknown>;
  readonly #timeoutMs: number;
  readonly #source: string;
  /** False when the host enforces the time limit of `run` (see BlockLimits.hostEnforcesTimeout). */
  readonly #timeRuns: boolean;
  /** The context's own `run` (a function the bootstrap made, before any user code). */
  readonly #run: (inputJson: string) => unknown;
  #running = false;

  private constructor(
    context: Context,
    slots: Record<string, unknown>,
    source: string,
    timeoutMs: number,
    timeRuns: boolean,
    run: (inputJson: string) => unknown,
  ) {
    this.#run = run;
    this.#context = context;
    this.#slots = slots;
    this.#source = source;
    this.#timeoutMs = timeoutMs;
    this.#timeRuns = timeRuns;
  }

  /** Checks and runs the script's top level (under the timeout); ready to `run` when it returns. */
  static create(source: string, timeoutMs: number, timeRuns = true): JsSandbox {
    checkSource(source);
    const slots = Object.create(null) as Record<string, unknown>;
    // Non-configurable: the script can neither turn them into accessors nor shadow them.
    for (const slot of [INPUT_SLOT, ERROR_SLOT])
      Object.defineProperty(slots, slot, { value: '', writable: true, configurable: false, enumerable: false });
    const context = createContext(slots, { name: 'flowd js block', codeGeneration: { strings: false, wasm: false } });
    const { bootstrap } = internalScripts();
    const [promiseProto, run] = bootstrap.runInContext(context) as [object, (inputJson: string) => unknown];
    sandboxPromisePrototypes.add(promiseProto);
    installRejectionGuard();
    const sandbox = new JsSandbox(context, slots, source, timeoutMs, timeRuns, run);
    sandbox.#evaluate(new Script(source, { filename: FILENAME }), 'the script failed while loading (top-level code)');
    const kind = sandbox.#evaluate(internalScripts().kind, 'checking that process is defined failed');
    if (kind !== 'function') {
      throw new SandboxError(
        'no_process',
        `the script must define function process(input) { … return output; } (process is ${String(kind)})`,
      );
    }
    return sandbox;
  }

  /** Runs `process(input)` once; throws a SandboxError for anything but a JSON result. */
  run(input: JsonValue): JsonValue {
    let raw: unknown;
    if (this.#timeRuns) {
      this.#slots[INPUT_SLOT] = JSON.stringify(input);
      this.#running = true;
      try {
        raw = this.#evaluate(internalScripts().run, 'process() failed');
      } finally {
        this.#running = false;
        this.#slots[INPUT_SLOT] = '';
      }
    } else {
      // The host enforces the time limit: call the context's run directly.
      try {
        raw = this.#run(JSON.stringify(input));
      } catch (e) {
        throw this.#thrown(e, 'process() failed');
      }
    }
    const env = this.#envelope(raw);
    if (env.ok) return env.output ?? null;
    const kind = KINDS.find((k) => k === env.kind) ?? 'js_error';
    const line = lineFromStack(env.stack);
    throw new SandboxError(kind, env.message ?? 'process() failed', line, line === undefined ? undefined : lineTextOf(this.#source, line));
  }

  /** Runs one script in the context under the timeout; anything thrown becomes a SandboxError. */
  #evaluate(script: Script, what: string): unknown {
    try {
      // vm's `timeout` arms a watchdog thread per call (costlier than the work of most
      // blocks); inside a service instance the instance itself kills a run past its limit.
      if (this.#running && !this.#timeRuns) return script.runInContext(this.#context, { displayErrors: false, breakOnSigint: false });
      return script.runInContext(this.#context, { timeout: this.#timeoutMs, displayErrors: false, breakOnSigint: false });
    } catch (e) {
      throw this.#thrown(e, what);
    }
  }

  #thrown(e: unknown, what: string): SandboxError {
    if (isTimeout(e)) return new SandboxError('timeout', `did not finish within ${this.#timeoutMs} ms`);
    if (typeof e === 'object' && e !== null && isHostObject(e)) {
      return new SandboxError('js_error', `${what}: ${e instanceof Error ? e.message : 'unknown error'}`);
    }
    // A value the script threw (top-level code): describe it inside the context, where its getters run under the timeout.
    this.#slots[ERROR_SLOT] = e;
    let raw: unknown;
    try {
      raw = internalScripts().describe.runInContext(this.#context, { timeout: this.#timeoutMs, displayErrors: false });
    } catch {
      return new SandboxError('js_error', `${what}: it threw a value that could not be described within ${this.#timeoutMs} ms`);
    } finally {
      this.#slots[ERROR_SLOT] = '';
    }
    const env = this.#envelope(raw);
    const line = lineFromStack(env.stack);
    return new SandboxError(
      'js_error',
      `${what}: ${env.message ?? 'unknown error'}`,
      line,
      line === undefined ? undefined : lineTextOf(this.#source, line),
    );
  }

  /** The run/describe result; a string the context produced, parsed on the host side only. */
  #envelope(raw: unknown): Envelope {
    if (typeof raw !== 'string') return { ok: false, kind: 'js_error', message: 'the sandbox returned no result' };
    try {
      const v = JSON.parse(raw) as unknown;
      if (typeof v === 'object' && v !== null && typeof (v as Envelope).ok === 'boolean') return v as Envelope;
    } catch {
      // fall through: the output's toJSON produced something that is not JSON
    }
    return { ok: false, kind: 'invalid_output', message: 'the output of process() is not valid JSON' };
  }
}
