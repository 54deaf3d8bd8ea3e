/**
 * `flowd list` pages: one page (50 by default, --size), newest first, the command for the next
 * page on stderr (stdout stays the table, or the JSON array with --json), --after to go on,
 * and --state / --query filtering on the server.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, FF, startTestNode, template } from './support/flowd-harness.js';
import type { TestNode } from './support/flowd-harness.js';
import { runCli } from './support/cli-runner.js';
import type { CliResult } from './support/cli-runner.js';

const show = (r: CliResult): string => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
/** The workflow ids of a plain listing, in the order printed. */
const idsOf = (r: CliResult): string[] =>
  r.stdout
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(/\s+/)[0] ?? '');
const afterOf = (r: CliResult): string | undefined => /--after (\S+)/.exec(r.stderr)?.[1];

void describe('flowd list: paged', () => {
  let node: TestNode;
  const ids: string[] = [];
  const cli = (args: string[]): Promise<CliResult> => runCli(args, { env: { FLOWD_URL: node.url, FLOWD_PASSWORD: ADMIN_PASSWORD } });

  before(async () => {
    node = await startTestNode();
    for (let i = 0; i < 7; i++) {
      const name = i % 3 === 0 ? `report-${i}` : `job-${i}`;
      const r = await node.request('POST', FF, { body: template([{ id: 'a', type: 'noop' }], [], { name }) });
      assert.equal(r.status, 201, r.text);
      ids.push(r.body.workflow_id as string);
      await new Promise((res) => setTimeout(res, 2)); // distinct creation times
    }
    assert.equal((await node.request('POST', `${FF}/${ids[1]}/_provision`)).status, 202);
    await node.waitForState(ids[1] as string, (s) => s.state === 'COMPLETED');
  });

  after(async () => {
    await node?.close();
  });

  void it('--size pages newest first and prints how to get the next page; --after goes on', async () => {
    const newest = [...ids].reverse();
    const first = await cli(['list', '--size', '3']);
    assert.equal(first.code, 0, show(first));
    assert.deepEqual(idsOf(first), newest.slice(0, 3));
    assert.match(first.stderr, /^more: flowd list --size 3 --after \S+$/m);
    const second = await cli(['list', '--size', '3', '--after', afterOf(first) ?? '']);
    assert.deepEqual(idsOf(second), newest.slice(3, 6), show(second));
    const last = await cli(['list', '--size', '3', '--after', afterOf(second) ?? '']);
    assert.deepEqual(idsOf(last), newest.slice(6));
    assert.doesNotMatch(last.stderr, /more:/, 'no next page after the last');

    const json = await cli(['--json', 'list', '--size', '2']);
    assert.deepEqual(
      JSON.parse(json.stdout).map((w: { id: string }) => w.id),
      newest.slice(0, 2),
      '--json prints the page as an array',
    );
    const bad = await cli(['list', '--size', '5000']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--size must be an integer from 1 to 1000/);
  });

  void it('--state and --query filter on the server', async () => {
    const completed = await cli(['list', '--state', 'completed']);
    assert.equal(completed.code, 0, show(completed));
    assert.deepEqual(idsOf(completed), [ids[1]]);
    assert.match(completed.stdout, /\sjob-1\s+COMPLETED\s/);
    const reports = await cli(['list', '--query', 'REPORT', '--size', '2']);
    assert.deepEqual(idsOf(reports), [ids[6], ids[3]], show(reports));
    assert.match(reports.stderr, /^more: flowd list --size 2 --query REPORT --after \S+$/m);
    const rest = await cli(['list', '--query', 'REPORT', '--size', '2', '--after', afterOf(reports) ?? '']);
    assert.deepEqual(idsOf(rest), [ids[0]]);
    const both = await cli(['list', '--state', 'NOT_STARTED', '--query', 'job']);
    assert.deepEqual(idsOf(both), [ids[5], ids[4], ids[2]]);
    const none = await cli(['list', '--state', 'FAILED']);
    assert.equal(none.code, 0);
    assert.equal(none.stdout, 'no workflows match\n');
    const unknown = await cli(['list', '--state', 'RUNNING']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown --state RUNNING/);
  });
});
