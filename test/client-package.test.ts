/**
 * The client as its own package (packages/client, `@flowd/client`): no dependencies, the same
 * version as flowd, ESM with a .d.ts beside every module, built output that imports nothing
 * outside itself (no server code, no Node built-ins: it must run in browsers too), and a real
 * round trip from that built output against a live node: create, provision and watch, status,
 * API key, analyze, an ASYNC task, and the errors it throws.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type * as ClientModule from '@flowd/client';
import { ADMIN_PASSWORD, startTestNode } from './support/flowd-harness.js';
import type { TestNode } from './support/flowd-harness.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PKG_DIR = join(ROOT, 'packages', 'client');
const readJson = (p: string): Record<string, any> => JSON.parse(readFileSync(p, 'utf8')) as Record<string, any>;
const pkg = readJson(join(PKG_DIR, 'package.json'));

const UPPER = 'function process(input) { return { text: input.text.toUpperCase() }; }';

/** Every `import … from '…'` / `export … from '…'` / `import('…')` specifier of a built file. */
function specifiers(code: string): string[] {
  const out: string[] = [];
  for (const m of code.matchAll(
    /\b(?:import|export)\s[^'"]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|\bimport\s*['"]([^'"]+)['"]/g,
  )) {
    out.push(m[1] ?? m[2] ?? m[3] ?? '');
  }
  return out;
}

// The package is built fresh into a temp folder with its own tsconfig (the same command as its
// `build` script), so the test checks the current source without touching packages/client/dist.
let out: string;
let client: typeof ClientModule;

before(() => {
  out = mkdtempSync(join(tmpdir(), 'flowd-client-build-'));
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(PKG_DIR, 'tsconfig.json'), '--outDir', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, `the client package builds on its own:\n${r.stdout}${r.stderr}`);
});

after(() => {
  rmSync(out, { recursive: true, force: true });
});

void describe('@flowd/client, the package', () => {
  void it('has no dependencies of any kind, and the version of flowd', () => {
    assert.equal(pkg['name'], '@flowd/client');
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'bundleDependencies', 'bundledDependencies']) {
      assert.equal(pkg[field], undefined, `package.json has no ${field}`);
    }
    assert.equal(
      pkg['version'],
      readJson(join(ROOT, 'package.json'))['version'],
      'packages/client/package.json keeps the version of the root package.json',
    );
    assert.equal(pkg['type'], 'module');
    assert.deepEqual(pkg['exports']['.'], { types: './dist/index.d.ts', default: './dist/index.js' });
    assert.ok(existsSync(join(PKG_DIR, 'README.md')), 'the package has its own README');
  });

  void it('builds ESM with a .d.ts beside every module, importing nothing outside itself', () => {
    const files = readdirSync(out);
    const js = files.filter((f) => f.endsWith('.js'));
    assert.ok(js.includes('index.js') && files.includes('index.d.ts'), `the exports' targets are built: ${files.join(', ')}`);
    for (const f of js) {
      assert.ok(files.includes(f.replace(/\.js$/, '.d.ts')), `${f} has its .d.ts`);
      // Comments may name anything; the code may not.
      const code = readFileSync(join(out, f), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, '');
      assert.doesNotMatch(code, /\brequire\s*\(|module\.exports/, `${f} is ESM`);
      // Browsers have none of these.
      assert.doesNotMatch(code, /\b(Buffer|process|__dirname|__filename)\b/, `${f} uses no Node-only global`);
      for (const s of specifiers(code)) {
        assert.match(s, /^\.\/[\w.-]+\.js$/, `${f} imports only files of the package (found '${s}')`);
        assert.ok(existsSync(join(out, s)), `${f}: ${s} is built`);
      }
    }
    for (const f of files.filter((x) => x.endsWith('.d.ts'))) {
      for (const s of specifiers(readFileSync(join(out, f), 'utf8')))
        assert.match(s, /^\.\/[\w.-]+\.js$/, `${f} refers only to the package's own types (found '${s}')`);
    }
  });

  void it('imports in Node from its built files alone', async () => {
    client = (await import(pathToFileURL(join(out, 'index.js')).href)) as typeof ClientModule;
    assert.equal(typeof client.FlowdClient, 'function');
    assert.equal(typeof client.FlowdClientError, 'function');
    assert.equal(typeof client.SseParser, 'function');
    assert.deepEqual(new client.SseParser().push('event: status\ndata: {"a":1}\n\n'), [{ event: 'status', data: '{"a":1}' }]);
  });

  void it(
    'is what `flowd/client` exports once flowd is built',
    { skip: existsSync(join(ROOT, 'dist', 'client', 'index.js')) ? false : 'dist/client is not built (npm run build)' },
    async () => {
      const spec = 'flowd/client';
      const viaRoot = (await import(spec)) as typeof ClientModule;
      assert.equal(typeof viaRoot.FlowdClient, 'function');
      assert.ok(existsSync(join(ROOT, 'dist', 'client', 'index.d.ts')));
    },
  );
});

void describe('@flowd/client against a live node', () => {
  let node: TestNode;
  let admin: ClientModule.FlowdClient;

  before(async () => {
    client ??= (await import(pathToFileURL(join(out, 'index.js')).href)) as typeof ClientModule;
    node = await startTestNode();
    admin = new client.FlowdClient({ url: node.url, password: ADMIN_PASSWORD });
  });
  after(async () => {
    await node?.close();
  });

  void it('creates a workflow, provisions it, follows its status to COMPLETED and analyzes a document', async () => {
    const { workflow_id: id } = await admin.createWorkflow({
      name: 'client-package',
      workflows: { provision: { nodes: [{ id: 'prepare', type: 'noop', user_inputs: { delay: '50ms' } }] } },
      flow: { mode: 'SYNC', blocks: [{ id: 'upper', type: 'js', config: { source: UPPER } }], edges: [] },
    });
    assert.equal((await admin.status(id)).state, 'NOT_STARTED');

    await admin.provision(id);
    const seen: string[] = [];
    const stop = new AbortController();
    await admin.watchStatus(
      id,
      (e) => {
        if (e.type !== 'status') return;
        seen.push(e.status.state);
        if (e.status.state === 'COMPLETED' || e.status.state === 'FAILED') stop.abort();
      },
      AbortSignal.any([stop.signal, AbortSignal.timeout(20_000)]),
    );
    assert.equal(seen.at(-1), 'COMPLETED', `states seen on the stream: ${seen.join(' → ')}`);
    const all = await admin.status(id, { all: true });
    assert.equal(all.state, 'COMPLETED');
    assert.ok(all.steps?.some((s) => s.id === 'prepare' && s.state === 'COMPLETED'));
    assert.ok((await admin.workflowOverview()).some((w) => w.workflow_id === id && w.state === 'COMPLETED'));

    const { key } = await admin.createApiKey({ name: 'client-package', workflowIds: [id] });
    const runtime = new client.FlowdClient({ url: node.url, apiKey: key });
    assert.equal((await runtime.runtimeStatus(id))?.publishingMode, 'SYNC');
    assert.deepEqual(await runtime.analyze(id, { text: 'hello' }), { text: 'HELLO' });
    // The same through flowd's basic-auth routes, as the dashboard calls them.
    assert.equal((await admin.runtimeStatus(id, { auth: 'basic' }))?.publishingMode, 'SYNC');
    assert.deepEqual(await admin.analyze(id, { text: 'dashboard' }, { auth: 'basic' }), { text: 'DASHBOARD' });
  });

  void it('submits a task to an ASYNC flow and waits for its result', async () => {
    const created = await admin.createWorkflow(
      {
        name: 'client-package-async',
        flow: {
          mode: 'ASYNC',
          autoscaling: { preset: 'disabled' },
          blocks: [{ id: 'upper', type: 'js', config: { source: UPPER } }],
          edges: [],
        },
      },
      { provision: true, waitForCompletionTimeout: '20s' },
    );
    assert.equal(created.state, 'COMPLETED');
    const { key } = await admin.createApiKey({ name: 'client-package-async', workflowIds: [created.workflow_id] });
    const runtime = new client.FlowdClient({ url: node.url, apiKey: key });
    const task = await runtime.submitTask(created.workflow_id, { text: 'task' });
    assert.ok(task.status === 'QUEUED' || task.status === 'RUNNING' || task.status === 'COMPLETED');
    const done = await runtime.taskStatus(created.workflow_id, task.taskId, { wait: '20s' });
    assert.equal(done.status, 'COMPLETED');
    assert.deepEqual(await runtime.taskResult(created.workflow_id, task.taskId), { status: 'COMPLETED', output: { text: 'TASK' } });
  });

  void it('throws FlowdClientError with the server message, the status and what kind of failure it was', async () => {
    const missing = await admin.getWorkflow('no-such-workflow').catch((e: unknown) => e);
    assert.ok(missing instanceof client.FlowdClientError);
    assert.equal(missing.kind, 'http');
    assert.equal(missing.status, 404);
    assert.match(missing.message, /no-such-workflow/);

    const wrongPassword = await new client.FlowdClient({ url: node.url, password: 'not-the-password' })
      .status('x')
      .catch((e: unknown) => e);
    assert.ok(wrongPassword instanceof client.FlowdClientError);
    assert.equal(wrongPassword.status, 401);

    const noKey = await admin.analyze('x', {}).catch((e: unknown) => e);
    assert.ok(noKey instanceof client.FlowdClientError);
    assert.equal(noKey.kind, 'missing_credentials');

    // Port 9 (discard) on loopback: nothing listens there.
    const down = await new client.FlowdClient({ url: 'http://127.0.0.1:9' }).status('x').catch((e: unknown) => e);
    assert.ok(down instanceof client.FlowdClientError);
    assert.equal(down.kind, 'connection');
    assert.equal(down.status, 0);

    assert.throws(() => new client.FlowdClient({ url: 'ftp://example.org' }), TypeError);
  });

  void it('calls fetch as a plain function, as browsers require of window.fetch', async () => {
    const receivers: unknown[] = [];
    const strictFetch = function (this: unknown, input: string | URL | Request, init?: RequestInit): Promise<Response> {
      receivers.push(this);
      return fetch(input, init);
    };
    const viaCustom = new client.FlowdClient({ url: node.url, password: ADMIN_PASSWORD, fetch: strictFetch });
    assert.ok(Array.isArray(await viaCustom.workflowOverview()));
    assert.deepEqual(receivers, [undefined], 'a `this` other than undefined makes browsers throw "Illegal invocation"');
  });
});
