/**
 * The web dashboard end to end: a real flowd node, the built page (dist/web) in headless
 * Chromium with basic auth, a workflow provisioned while the page watches. The graph must
 * change under the page's eyes (NOT_STARTED → RUNNING → COMPLETED, blocks turning GREEN)
 * without a reload, or the test fails. Takes a screenshot (FLOWD_DASHBOARD_SCREENSHOT says where).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { browserSkip, launchChromium } from './support/browser.js';
import { ADMIN_PASSWORD, FF, startTestNode } from './support/flowd-harness.js';
import type { TestNode } from './support/flowd-harness.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const WEB_INDEX = join(ROOT, 'dist', 'web', 'index.html');
// Into a temp dir by default (a test run must not dirty the tree); the README's picture is
// refreshed with FLOWD_DASHBOARD_SCREENSHOT=docs/dashboard.png.
const SCREENSHOT = process.env['FLOWD_DASHBOARD_SCREENSHOT'] ?? join(mkdtempSync(join(tmpdir(), 'flowd-shot-')), 'dashboard.png');

const UPPER = 'function process(input) { return { text: input.text.toUpperCase() }; }';
const COUNT = 'function process(input) { return { text: input.text, length: input.text.length }; }';

/** Four noop steps with delays (so states visibly change) and a small SYNC flow of js blocks. */
const DEMO = {
  name: 'ticket-pipeline',
  description: 'prepares a corpus (noop steps with delays), then publishes a SYNC flow of js blocks',
  use_case: 'DASHBOARD_DEMO',
  workflows: {
    provision: {
      nodes: [
        { id: 'fetch_docs', type: 'noop', user_inputs: { delay: '700ms' } },
        { id: 'embed', type: 'noop', user_inputs: { delay: '900ms' } },
        { id: 'build_index', type: 'noop', user_inputs: { delay: '600ms' } },
        { id: 'notify', type: 'noop', user_inputs: { delay: '500ms' } },
      ],
      edges: [
        { source: 'fetch_docs', dest: 'embed' },
        { source: 'fetch_docs', dest: 'build_index' },
        { source: 'embed', dest: 'notify' },
        { source: 'build_index', dest: 'notify' },
      ],
    },
  },
  flow: {
    mode: 'SYNC',
    blocks: [
      { id: 'upper', type: 'js', replicas: 2, config: { source: UPPER } },
      { id: 'count', type: 'js', config: { source: COUNT } },
    ],
    edges: [{ source: 'upper', dest: 'count' }],
  },
};

const BROKEN = {
  name: 'broken-pipeline',
  description: 'its second step cannot run',
  use_case: 'DASHBOARD_DEMO',
  workflows: {
    provision: {
      nodes: [
        { id: 'prepare', type: 'noop', user_inputs: { delay: '300ms' } },
        { id: 'broken', type: 'noop', user_inputs: { delay: 'whenever' } },
        { id: 'after_broken', type: 'noop' },
      ],
      edges: [
        { source: 'prepare', dest: 'broken' },
        { source: 'broken', dest: 'after_broken' },
      ],
    },
  },
};

/** data-state of every node whose data-testid starts with `prefix`, by node id. */
async function states(page: Page, prefix: string): Promise<Record<string, string>> {
  return page.evaluate((p) => {
    const out: Record<string, string> = {};
    for (const el of document.querySelectorAll(`[data-testid^="${p}-"]`))
      out[el.getAttribute('data-node-id') ?? ''] = el.getAttribute('data-state') ?? '';
    return out;
  }, prefix);
}

async function allInState(page: Page, prefix: string, state: string, timeout = 15_000): Promise<void> {
  try {
    await page.waitForFunction(
      ([p, s]) => {
        const nodes = [...document.querySelectorAll(`[data-testid^="${p}-"]`)];
        return nodes.length > 0 && nodes.every((n) => n.getAttribute('data-state') === s);
      },
      [prefix, state] as const,
      { timeout },
    );
  } catch (e) {
    const now = await states(page, prefix).catch(() => ({}));
    throw new Error(
      `the graph's ${prefix} nodes did not all turn ${state} within ${timeout} ms (the page did not update); they show ${JSON.stringify(now)}`,
      { cause: e },
    );
  }
}

void describe('web dashboard', { skip: browserSkip() }, () => {
  let node: TestNode;
  let browser: Browser;
  let context: BrowserContext;

  before(async () => {
    assert.ok(existsSync(WEB_INDEX), `the dashboard is not built (${WEB_INDEX} is missing): run \`npm run build\` first`);
    browser = await launchChromium();
    node = await startTestNode();
    context = await browser.newContext({
      httpCredentials: { username: 'admin', password: ADMIN_PASSWORD },
      viewport: { width: 1280, height: 800 },
    });
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await node?.close();
  });

  void it('serves the page to browsers, JSON to other clients, hashed assets for a year; data needs basic auth', async () => {
    const page = await node.request('GET', '/', { auth: null, headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const root = await node.request('GET', '/', { auth: null, headers: { accept: 'application/json' } });
    assert.equal(root.body.cluster_name, 'flowd', 'OpenSearch clients probing / still get the JSON root');

    const script = /src="(\/_dashboard\/assets\/[^"]+\.js)"/.exec(page.text)?.[1];
    assert.ok(script, 'index.html loads its bundle from /_dashboard/assets/');
    const asset = await node.request('GET', script, { auth: null });
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type') ?? '', /javascript/);
    assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
    assert.equal((await node.request('GET', '/_dashboard/assets/..%2Fpackage.json', { auth: null })).status, 404);
    assert.equal((await node.request('GET', '/_dashboard/', { auth: null, headers: { accept: '*/*' } })).status, 200);

    const anonymous = await node.request('GET', '/_flowd/workflows', { auth: null });
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic realm="flowd"/);
    const created = await node.request('POST', FF, { body: { ...BROKEN, name: 'never-provisioned' } });
    const id = created.body.workflow_id as string;
    assert.equal(
      (await node.request('GET', `/_flowd/workflows/${id}/runtime`)).status,
      404,
      'a flow never published has no runtime status',
    );
    const analyze = await node.request('POST', `/_flowd/workflows/${id}/analyze`, { body: { text: 'x' } });
    assert.equal(analyze.status, 404);
    assert.match(analyze.body.errors[0].message, /not published/);
    const list = await node.request('GET', '/_flowd/workflows');
    const row = list.body.workflows.find((w: any) => w.workflow_id === id);
    assert.deepEqual([row.name, row.state, row.steps_completed, row.steps_total], ['never-provisioned', 'NOT_STARTED', 0, 3]);
    await node.request('DELETE', `${FF}/${id}?clear_status=true`);
  });

  void it('draws the provision DAG and the flow, updates them live as provisioning runs, and analyzes a document', async () => {
    const created = await node.request('POST', FF, { body: DEMO });
    assert.equal(created.status, 201, created.text);
    const id = created.body.workflow_id as string;
    const page = await context.newPage();
    // Script errors and console errors (a Content-Security-Policy violation is one) fail the
    // test; HTTP error statuses are expected (the bad analyze input below answers 400).
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
    });

    // The list shows it; a click opens its page.
    await page.goto(node.url + '/');
    const row = page.getByTestId(`workflow-row-${id}`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-state'), 'NOT_STARTED');
    await row.click();
    await page.getByTestId('step-node-publish_flow').waitFor();
    assert.deepEqual(await states(page, 'step-node'), {
      fetch_docs: 'NOT_STARTED',
      embed: 'NOT_STARTED',
      build_index: 'NOT_STARTED',
      notify: 'NOT_STARTED',
      publish_flow: 'NOT_STARTED',
    });
    assert.deepEqual(await states(page, 'block-node'), { upper: 'UNPUBLISHED', count: 'UNPUBLISHED' });

    // Record every state each node shows from now on, then provision from the page.
    await page.evaluate(() => {
      const log: Record<string, string[]> = {};
      const nodes = document.querySelectorAll('[data-testid^="step-node-"]');
      for (const n of nodes) log[n.getAttribute('data-node-id') ?? ''] = [n.getAttribute('data-state') ?? ''];
      new MutationObserver((records) => {
        for (const r of records) {
          const el = r.target as Element;
          const seq = log[el.getAttribute('data-node-id') ?? ''];
          const s = el.getAttribute('data-state') ?? '';
          if (seq && seq[seq.length - 1] !== s) seq.push(s);
        }
      }).observe(document.querySelector('[data-testid="provision-graph"]') as Element, {
        subtree: true,
        attributes: true,
        attributeFilter: ['data-state'],
      });
      (window as unknown as { stateLog: typeof log }).stateLog = log;
    });
    await page.getByTestId('provision-button').click();
    await allInState(page, 'step-node', 'COMPLETED');
    const log = (await page.evaluate(() => (window as unknown as { stateLog: Record<string, string[]> }).stateLog)) as Record<
      string,
      string[]
    >;
    for (const [nodeId, seq] of Object.entries(log)) {
      assert.equal(seq[0], 'NOT_STARTED', `${nodeId} starts NOT_STARTED: ${seq.join(' → ')}`);
      assert.equal(seq[seq.length - 1], 'COMPLETED', `${nodeId} ends COMPLETED: ${seq.join(' → ')}`);
    }
    const sawRunning = Object.entries(log)
      .filter(([, seq]) => seq.includes('RUNNING'))
      .map(([n]) => n);
    assert.ok(
      sawRunning.length >= 2,
      `the page showed steps RUNNING while they ran (saw it for: ${sawRunning.join(', ') || 'none'}); log: ${JSON.stringify(log)}`,
    );
    assert.equal(await page.getByTestId('workflow-state').getAttribute('data-state'), 'COMPLETED');
    assert.match(
      (await page.getByTestId('step-row-embed').textContent()) ?? '',
      /COMPLETED.*\d+(\.\d+)? (ms|s)/,
      'the steps table shows each step with its duration',
    );

    // The published flow: both blocks GREEN, the replicas counted, the legend shown.
    await allInState(page, 'block-node', 'GREEN');
    assert.equal(await page.getByTestId('runtime-status').getAttribute('data-state'), 'GREEN');
    assert.equal((await page.getByTestId('service-upper-instances').textContent())?.replace(/\s+/g, ' ').trim(), '2 / 2');
    assert.equal((await page.getByTestId('service-count-instances').textContent())?.trim(), '1 / 1');
    assert.match((await page.getByTestId('legend').textContent()) ?? '', /GREEN.*YELLOW.*ORANGE.*RED/);
    assert.match((await page.getByTestId('resources-table').textContent()) ?? '', /publish_flow.*service_id/);

    // Analyze: a document through the form, the flow's output back.
    await page.getByTestId('analyze-input').fill('{"text": "hello dashboard"}');
    await page.getByTestId('analyze-send').click();
    const output = page.locator('[data-testid="analyze-output"][data-status="200"]');
    await output.waitFor();
    assert.deepEqual(JSON.parse((await output.textContent()) ?? ''), { text: 'HELLO DASHBOARD', length: 15 });
    await page.getByTestId('analyze-input').fill('["not", "an", "object"]');
    await page.getByTestId('analyze-send').click();
    await page.locator('[data-testid="analyze-output"][data-status="400"]').waitFor();
    assert.match((await page.getByTestId('analyze-output').textContent()) ?? '', /must be a JSON object/);
    await page.getByTestId('analyze-input').fill('{"text": "hello dashboard"}');
    await page.getByTestId('analyze-send').click();
    await output.waitFor();

    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: SCREENSHOT });
    assert.deepEqual([...readFileSync(SCREENSHOT).subarray(1, 4)].map((b) => String.fromCharCode(b)).join(''), 'PNG');

    // Back on the list, the row says COMPLETED, all steps done, the flow GREEN.
    await page.getByRole('link', { name: '← Workflows' }).click();
    const done = page.locator(`[data-testid="workflow-row-${id}"][data-state="COMPLETED"]`);
    await done.waitFor();
    assert.match((await done.textContent()) ?? '', /5\/5.*GREEN/);
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  void it('shows a failed run with the failing step highlighted and its error', async () => {
    const created = await node.request('POST', FF, { body: BROKEN });
    const id = created.body.workflow_id as string;
    const page = await context.newPage();
    await page.goto(`${node.url}/#/workflows/${id}`);
    await page.getByTestId('step-node-broken').waitFor();
    assert.equal(await page.getByTestId('workflow-error').isVisible(), false);

    // Provisioned through the API: the open page follows on its own.
    assert.equal((await node.request('POST', `${FF}/${id}/_provision`)).status, 202);
    await page.locator('[data-testid="workflow-state"][data-state="FAILED"]').waitFor({ timeout: 15_000 });
    const broken = page.getByTestId('step-node-broken');
    await page.locator('[data-testid="step-node-broken"][data-state="FAILED"]').waitFor();
    assert.match((await broken.getAttribute('class')) ?? '', /failing/);
    const s = await states(page, 'step-node');
    assert.equal(s['prepare'], 'COMPLETED');
    assert.notEqual(s['after_broken'], 'COMPLETED');
    const error = page.getByTestId('workflow-error');
    assert.ok(await error.isVisible());
    assert.equal(await error.getAttribute('data-step'), 'broken');
    assert.match((await error.textContent()) ?? '', /Failed at step broken.*whenever/s);
    assert.equal(await page.getByTestId('step-row-broken').getAttribute('data-state'), 'FAILED');
    await page.close();
  });
});
