/**
 * The dashboard's workflow list is paged on the server: bounded pages (size 1 to 1000, 50 by
 * default), newest first, filtered by state and text, with a cursor that stays put when
 * workflows are created or deleted before it; its stream sends the page, then only the rows
 * that changed, entered or left it. Runs on PostgreSQL with FLOWD_TEST_STORE=postgres.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FlowdClient } from '@flowd/client';
import type { OverviewUpdate, WorkflowOverviewRow } from '@flowd/client';
import { ADMIN_PASSWORD, FF, startTestNode, template } from './support/flowd-harness.js';
import type { TestNode } from './support/flowd-harness.js';

const LIST = '/_flowd/workflows';

/** Every page of a listing, following `next`; fails on a page over `size` or a repeated row. */
async function allPages(node: TestNode, query: string, size: number): Promise<any[]> {
  const rows: any[] = [];
  let next: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const r = await node.request('GET', `${LIST}?size=${size}${query}${next ? `&after=${encodeURIComponent(next)}` : ''}`);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body.workflows.length <= size, `a page holds at most size rows (${r.body.workflows.length} > ${size})`);
    rows.push(...r.body.workflows);
    next = r.body.next;
    if (next === undefined) break;
  }
  const ids = rows.map((w) => w.workflow_id);
  assert.equal(new Set(ids).size, ids.length, 'no row on two pages');
  return rows;
}

function assertNewestFirst(rows: any[]): void {
  for (let i = 1; i < rows.length; i++)
    assert.ok(
      rows[i - 1].created_time >= rows[i].created_time,
      `row ${i} is not older than row ${i - 1}: ${JSON.stringify(rows.slice(i - 1, i + 1))}`,
    );
}

async function create(node: TestNode, name: string, description = ''): Promise<string> {
  const r = await node.request('POST', FF, { body: template([{ id: 'a', type: 'noop' }], [], { name, description }) });
  assert.equal(r.status, 201, r.text);
  return r.body.workflow_id as string;
}

/** Watches one page through the client; each update is kept, and `waitFor` waits for one that satisfies a check. */
function watch(client: FlowdClient, opts: Parameters<FlowdClient['watchWorkflowOverview']>[2]) {
  const updates: Array<{ rows: WorkflowOverviewRow[]; update: OverviewUpdate }> = [];
  const waiters: Array<() => void> = [];
  const ac = new AbortController();
  const done = client.watchWorkflowOverview(
    (rows, update) => {
      updates.push({ rows, update });
      for (const w of waiters.splice(0)) w();
    },
    ac.signal,
    opts,
  );
  const waitFor = async (from: number, what: string, pred: (u: { rows: WorkflowOverviewRow[]; update: OverviewUpdate }) => boolean) => {
    for (;;) {
      const hit = updates.slice(from).find(pred);
      if (hit) return hit;
      await Promise.race([
        new Promise<void>((res) => waiters.push(res)),
        done.then(() => {
          throw new Error(`the stream ended before ${what}; updates: ${JSON.stringify(updates.map((u) => u.update))}`);
        }),
      ]);
    }
  };
  return { updates, waitFor, stop: () => ac.abort(), done };
}

void describe('the dashboard workflow list: paged on the server', () => {
  let node: TestNode;
  let client: FlowdClient;
  const ids: string[] = [];

  before(async () => {
    node = await startTestNode();
    client = new FlowdClient({ url: node.url, password: ADMIN_PASSWORD });
    for (let i = 0; i < 56; i++) {
      const name = i % 7 === 0 ? `Beta report ${i}` : `alpha-${i}`;
      ids.push(await create(node, name, i === 3 ? 'Weekly SUMMARY of tickets' : `workflow number ${i}`));
      // Distinct creation times, so "newest first" names one order (ties go by id).
      await new Promise((res) => setTimeout(res, 2));
    }
  });

  after(async () => {
    await node?.close();
  });

  void it('answers one bounded page, newest first: 50 by default, size from 1 to 1000', async () => {
    const first = await node.request('GET', LIST);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.workflows.length, 50, 'the default page is 50 rows, not every workflow');
    assert.equal(typeof first.body.next, 'string');
    assertNewestFirst(first.body.workflows);
    assert.equal(first.body.workflows[0].workflow_id, ids[ids.length - 1], 'the newest workflow first');
    for (const bad of ['0', '1001', 'x', '2.5']) {
      const r = await node.request('GET', `${LIST}?size=${bad}`);
      assert.equal(r.status, 400, `size=${bad}: ${r.text}`);
      assert.match(r.text, /size must be an integer from 1 to 1000/);
    }
    assert.equal((await node.request('GET', `${LIST}?size=1000`)).body.workflows.length, 56);
    const oldest = await node.request('GET', `${LIST}?size=2&order=asc`);
    assert.deepEqual(
      oldest.body.workflows.map((w: any) => w.workflow_id),
      ids.slice(0, 2),
      'order=asc: oldest first',
    );
    assert.equal((await node.request('GET', `${LIST}?after=not-a-cursor`)).status, 400);
    assert.equal((await node.request('GET', `${LIST}?sise=10`)).status, 400, 'an unknown parameter is refused, not ignored');
    const search = await node.request('POST', `${FF}/_search`, { body: { query: { match_all: {} }, size: 10_001 } });
    assert.equal(search.status, 400, '_search past the result window is refused as OpenSearch refuses it');
  });

  void it('pages with a cursor: every workflow once, in order, and a page stays put when newer ones come and go', async () => {
    const rows = await allPages(node, '', 7);
    assert.deepEqual(new Set(rows.map((w) => w.workflow_id)), new Set(ids));
    assertNewestFirst(rows);

    const p1 = await node.request('GET', `${LIST}?size=10`);
    const p2 = await node.request('GET', `${LIST}?size=10&after=${encodeURIComponent(p1.body.next)}`);
    // A workflow created and one deleted on page 1 do not move page 2.
    const extra = await create(node, 'newcomer');
    const gone = p1.body.workflows[4].workflow_id as string;
    assert.equal((await node.request('DELETE', `${FF}/${gone}`)).status, 200);
    const again = await node.request('GET', `${LIST}?size=10&after=${encodeURIComponent(p1.body.next)}`);
    assert.deepEqual(
      again.body.workflows.map((w: any) => w.workflow_id),
      p2.body.workflows.map((w: any) => w.workflow_id),
    );
    const top = await node.request('GET', `${LIST}?size=10`);
    assert.equal(top.body.workflows[0].workflow_id, extra);
    assert.ok(!top.body.workflows.some((w: any) => w.workflow_id === gone));
    await node.request('DELETE', `${FF}/${extra}`);
    ids.splice(ids.indexOf(gone), 1);
  });

  void it('filters by text (name or description, any case, or the id) and by state, on the server', async () => {
    const beta = await allPages(node, '&query=BETA', 3);
    assert.deepEqual(
      beta.map((w) => w.name).sort(),
      [
        'Beta report 0',
        'Beta report 14',
        'Beta report 21',
        'Beta report 28',
        'Beta report 35',
        'Beta report 42',
        'Beta report 49',
        'Beta report 7',
      ].sort(),
    );
    assertNewestFirst(beta);
    const byDescription = await node.request('GET', `${LIST}?query=${encodeURIComponent('weekly summary')}`);
    assert.deepEqual(
      byDescription.body.workflows.map((w: any) => w.name),
      ['alpha-3'],
    );
    const byId = await node.request('GET', `${LIST}?query=${ids[10]}`);
    assert.deepEqual(
      byId.body.workflows.map((w: any) => w.workflow_id),
      [ids[10]],
    );
    assert.deepEqual((await node.request('GET', `${LIST}?query=no-such-words`)).body, { workflows: [] });

    // Three workflows run to COMPLETED; the state filter finds exactly those.
    const done = [ids[1], ids[20], ids[40]] as string[];
    for (const id of done) assert.equal((await node.request('POST', `${FF}/${id}/_provision`)).status, 202);
    for (const id of done) await node.waitForState(id, (s) => s.state === 'COMPLETED');
    const completed = await allPages(node, '&state=COMPLETED', 2);
    assert.deepEqual(
      completed.map((w) => w.workflow_id),
      [ids[40], ids[20], ids[1]],
    );
    assert.ok(completed.every((w) => w.state === 'COMPLETED' && w.steps_completed === w.steps_total));
    const mixed = await allPages(node, '&state=completed,NOT_STARTED&query=alpha-', 10);
    assert.equal(mixed.length, ids.length - 8, 'every alpha workflow, completed or not');
    const notStarted = await allPages(node, '&state=NOT_STARTED&query=beta', 10);
    assert.equal(notStarted.length, 8);
    const bad = await node.request('GET', `${LIST}?state=RUNNING`);
    assert.equal(bad.status, 400);
    assert.match(bad.text, /Unknown state \[RUNNING\]/);
  });

  void it('streams the page, then only the rows that changed, entered or left it', async () => {
    const w = watch(client, { size: 5 });
    const first = await w.waitFor(0, 'the first page', (u) => u.update.type === 'page');
    assert.equal(first.rows.length, 5);
    const shown = first.rows.map((r) => r.workflow_id);
    const nextBefore = first.update.type === 'page' ? first.update.page.next : undefined;
    assert.equal(typeof nextBefore, 'string');

    // A row on the page changes state: only that row comes.
    const target = shown[2] as string;
    let from = w.updates.length;
    assert.equal((await node.request('POST', `${FF}/${target}/_provision`)).status, 202);
    const done = await w.waitFor(from, `${target} COMPLETED`, (u) => u.rows.find((r) => r.workflow_id === target)?.state === 'COMPLETED');
    for (const u of w.updates.slice(from)) {
      assert.equal(u.update.type, 'changes');
      if (u.update.type === 'changes') {
        assert.deepEqual(
          u.update.changes.workflows.map((r) => r.workflow_id),
          [target],
          'a change event carries the changed row only',
        );
        assert.deepEqual(u.update.changes.removed, []);
      }
    }
    assert.deepEqual(
      done.rows.map((r) => r.workflow_id),
      shown,
      'the page keeps its rows and order',
    );

    // A new workflow enters at the top and pushes the last row to the next page.
    from = w.updates.length;
    const newcomer = await create(node, 'streamed newcomer');
    const entered = await w.waitFor(from, 'the newcomer', (u) => u.rows[0]?.workflow_id === newcomer);
    assert.deepEqual(
      entered.rows.map((r) => r.workflow_id),
      [newcomer, ...shown.slice(0, 4)],
    );
    const enteredChanges = w.updates.slice(from).flatMap((u) => (u.update.type === 'changes' ? [u.update.changes] : []));
    assert.deepEqual(
      enteredChanges.flatMap((c) => c.workflows.map((r) => r.workflow_id)),
      [newcomer],
    );
    assert.deepEqual(
      enteredChanges.flatMap((c) => c.removed),
      [shown[4]],
    );

    // A deleted row leaves, and the next row after the page takes the free place.
    from = w.updates.length;
    assert.equal((await node.request('DELETE', `${FF}/${shown[0]}`)).status, 200);
    const left = await w.waitFor(from, 'the deletion', (u) => !u.rows.some((r) => r.workflow_id === shown[0]));
    assert.deepEqual(
      left.rows.map((r) => r.workflow_id),
      [newcomer, ...shown.slice(1, 5)],
    );
    w.stop();
    await w.done;
    ids.splice(ids.indexOf(shown[0] as string), 1);
    ids.push(newcomer);
  });

  void it('a filtered stream: a row whose state leaves the filter leaves the page', async () => {
    const w = watch(client, { size: 3, state: 'NOT_STARTED', query: 'beta' });
    const first = await w.waitFor(0, 'the first page', (u) => u.update.type === 'page');
    assert.ok(first.rows.every((r) => r.state === 'NOT_STARTED' && /beta/i.test(r.name)));
    const target = first.rows[0]?.workflow_id as string;
    const from = w.updates.length;
    assert.equal((await node.request('POST', `${FF}/${target}/_provision`)).status, 202);
    const after = await w.waitFor(from, `${target} leaving`, (u) => !u.rows.some((r) => r.workflow_id === target));
    assert.equal(after.rows.length, 3, 'the next NOT_STARTED beta workflow filled the page');
    assert.ok(after.rows.every((r) => r.state === 'NOT_STARTED'));
    w.stop();
    await w.done;
  });

  void it('the client pages the same way', async () => {
    const page = await client.listWorkflows({ size: 4, query: 'alpha-' });
    assert.equal(page.workflows.length, 4);
    assert.ok(page.workflows.every((w) => w.name.startsWith('alpha-')));
    const next = await client.listWorkflows({ size: 4, query: 'alpha-', after: page.next as string });
    assert.equal(next.workflows.length, 4);
    assert.ok(next.workflows.every((w) => !page.workflows.some((p) => p.id === w.id)));
    const completed = await client.workflowOverviewPage({ state: ['COMPLETED'], size: 1000 });
    assert.ok(completed.workflows.length >= 3 && completed.workflows.every((w) => w.state === 'COMPLETED'));
    assert.equal(completed.next, undefined);
  });
});

void describe('the dashboard workflow list under filter_by_backend_roles', () => {
  let node: TestNode;
  const mine: string[] = [];

  before(async () => {
    node = await startTestNode({ filterByBackendRoles: true });
    for (const [name, backend] of [
      ['alice', ['team_a']],
      ['bob', ['team_b']],
    ] as const) {
      const r = await node.request('PUT', `/_plugins/_security/api/internalusers/${name}`, {
        body: { password: `${name}-password`, opendistro_security_roles: ['flow_framework_full_access'], backend_roles: backend },
      });
      assert.equal(r.status, 201, r.text);
    }
    // Alice's 5 workflows among 300 of bob's, spread out: her pages must skip his rows and still fill.
    for (let i = 0; i < 305; i++) {
      const user: [string, string] = i % 61 === 0 ? ['alice', 'alice-password'] : ['bob', 'bob-password'];
      const r = await node.request('POST', FF, { body: template([{ id: 'a', type: 'noop' }], [], { name: `w-${i}` }), auth: user });
      assert.equal(r.status, 201, r.text);
      if (user[0] === 'alice') mine.push(r.body.workflow_id as string);
    }
  });

  after(async () => {
    await node?.close();
  });

  void it('pages only the caller’s workflows, full pages across hidden ones', async () => {
    const alice: [string, string] = ['alice', 'alice-password'];
    const first = await node.request('GET', `${LIST}?size=3`, { auth: alice });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.workflows.length, 3);
    const second = await node.request('GET', `${LIST}?size=3&after=${encodeURIComponent(first.body.next)}`, { auth: alice });
    assert.equal(second.body.next, undefined);
    const seen = [...first.body.workflows, ...second.body.workflows].map((w: any) => w.workflow_id);
    assert.deepEqual(new Set(seen), new Set(mine));
    assert.equal(seen.length, mine.length);
    const admin = await node.request('GET', `${LIST}?size=1000`);
    assert.equal(admin.body.workflows.length, 305, 'the admin sees every workflow');
  });
});
