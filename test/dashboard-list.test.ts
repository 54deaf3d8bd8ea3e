/**
 * The dashboard's workflow list in a real browser: it shows the server's first page (not every
 * workflow), pages older and newer, searches and filters by state on the server, and when one
 * workflow changes, only that workflow's row is touched: a MutationObserver on the table records
 * which rows any DOM change belongs to (the "N s ago" cells, which age on a timer, left out).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { browserSkip, launchChromium } from './support/browser.js';
import { ADMIN_PASSWORD, FF, startTestNode, template } from './support/flowd-harness.js';
import type { TestNode } from './support/flowd-harness.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const WEB_INDEX = join(ROOT, 'dist', 'web', 'index.html');

const ROWS = 'tbody tr[data-testid^="workflow-row-"]';

async function rowIds(page: Page): Promise<string[]> {
  return page.$$eval(ROWS, (trs) => trs.map((tr) => (tr.getAttribute('data-testid') ?? '').replace('workflow-row-', '')));
}

/** Waits until the table shows exactly `ids`, in order; fails saying what it shows. */
async function waitForRows(page: Page, ids: string[], what: string): Promise<void> {
  try {
    await page.waitForFunction(
      ([sel, want]) => {
        const got = [...document.querySelectorAll(sel)].map((tr) => (tr.getAttribute('data-testid') ?? '').replace('workflow-row-', ''));
        return got.length === want.length && got.every((id, i) => id === want[i]);
      },
      [ROWS, ids] as const,
      { timeout: 15_000 },
    );
  } catch (e) {
    throw new Error(`${what}: the table shows ${JSON.stringify(await rowIds(page))}, not ${JSON.stringify(ids)}`, { cause: e });
  }
}

/**
 * Starts recording which rows DOM changes in the table touch. Plain JavaScript text: the test's
 * TypeScript transform would add helpers (named functions) the page does not have.
 */
const RECORD_TOUCHED_ROWS = `(() => {
  const touched = new Set();
  const tbody = document.querySelector('[data-testid="workflow-list"] tbody');
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.target === tbody) {
        for (const n of [...r.addedNodes, ...r.removedNodes])
          touched.add((n instanceof Element && n.getAttribute('data-testid')) || '(not a row)');
        continue;
      }
      const el = r.target instanceof Element ? r.target : r.target.parentElement;
      if (el && el.closest('td[data-ago]')) continue; // time passing, not data
      const tr = el && el.closest('tr[data-testid^="workflow-row-"]');
      touched.add((tr && tr.getAttribute('data-testid')) || '(outside a row)');
    }
  }).observe(tbody, { subtree: true, childList: true, attributes: true, characterData: true });
  window.touchedRows = touched;
})()`;

async function recordTouchedRows(page: Page): Promise<void> {
  await page.evaluate(RECORD_TOUCHED_ROWS);
}

async function touchedRows(page: Page): Promise<string[]> {
  return page.evaluate(() => [...(window as unknown as { touchedRows: Set<string> }).touchedRows].sort());
}

void describe('web dashboard: the workflow list', { skip: browserSkip() }, () => {
  let node: TestNode;
  let browser: Browser;
  let context: BrowserContext;
  /** Oldest first. */
  const ids: string[] = [];

  before(async () => {
    assert.ok(existsSync(WEB_INDEX), `the dashboard is not built (${WEB_INDEX} is missing): run \`npm run build\` first`);
    browser = await launchChromium();
    node = await startTestNode();
    context = await browser.newContext({
      httpCredentials: { username: 'admin', password: ADMIN_PASSWORD },
      viewport: { width: 1280, height: 800 },
    });
    for (let i = 0; i < 60; i++) {
      const name = i % 10 === 5 ? `needle-${i}` : `listed-${i}`;
      const r = await node.request('POST', FF, { body: template([{ id: 'a', type: 'noop' }], [], { name, description: `row ${i}` }) });
      assert.equal(r.status, 201, r.text);
      ids.push(r.body.workflow_id as string);
      await new Promise((res) => setTimeout(res, 2)); // distinct creation times: one newest-first order
    }
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await node?.close();
  });

  void it('shows the first page, pages older and newer, searches and filters by state', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(node.url + '/');
    const newestFirst = [...ids].reverse();
    await waitForRows(page, newestFirst.slice(0, 50), 'the first page: the 50 newest');
    assert.equal(await page.getByTestId('list-newer').isDisabled(), true);

    await page.getByTestId('list-older').click();
    await waitForRows(page, newestFirst.slice(50), 'the second page: the 10 oldest');
    assert.equal(await page.getByTestId('list-older').isDisabled(), true, 'no page after the last');
    await page.getByTestId('list-newer').click();
    await waitForRows(page, newestFirst.slice(0, 50), 'back on the first page');

    await page.getByTestId('list-search').fill('NEEDLE');
    const needles = newestFirst.filter((_, i) => (59 - i) % 10 === 5);
    await waitForRows(page, needles, 'the search for "needle"');

    const done = needles[1] as string;
    assert.equal((await node.request('POST', `${FF}/${done}/_provision`)).status, 202);
    await node.waitForState(done, (s) => s.state === 'COMPLETED');
    await page.getByTestId('list-state').selectOption('COMPLETED');
    await waitForRows(page, [done], 'needle workflows in state COMPLETED');
    await page.getByTestId('list-search').fill('');
    await waitForRows(page, [done], 'every COMPLETED workflow');
    await page.getByTestId('list-state').selectOption('FAILED');
    await waitForRows(page, [], 'no FAILED workflow');
    assert.equal((await page.getByTestId('list-message').textContent())?.trim(), 'No workflows match.');
    assert.deepEqual(errors, []);
    await page.close();
  });

  void it('a state change touches only its row; a new workflow adds its row and pushes the last one out', async () => {
    const page = await context.newPage();
    await page.goto(node.url + '/');
    const first = [...ids].reverse().slice(0, 50);
    await waitForRows(page, first, 'the first page');
    await page.locator('[data-testid="connection"][data-mode="live"]').waitFor();
    await recordTouchedRows(page);

    const target = first[7] as string;
    assert.equal((await node.request('POST', `${FF}/${target}/_provision`)).status, 202);
    await page.locator(`[data-testid="workflow-row-${target}"][data-state="COMPLETED"]`).waitFor({ timeout: 15_000 });
    assert.deepEqual(await touchedRows(page), [`workflow-row-${target}`], 'only the provisioned workflow’s row changed in the DOM');
    await waitForRows(page, first, 'the page keeps its rows in order');

    await recordTouchedRows(page);
    const r = await node.request('POST', FF, { body: template([{ id: 'a', type: 'noop' }], [], { name: 'fresh' }) });
    const fresh = r.body.workflow_id as string;
    await waitForRows(page, [fresh, ...first.slice(0, 49)], 'the new workflow on top, the 50th row gone to the next page');
    assert.deepEqual(await touchedRows(page), [`workflow-row-${first[49]}`, `workflow-row-${fresh}`].sort());
    await page.close();
  });
});
