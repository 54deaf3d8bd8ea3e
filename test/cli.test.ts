/**
 * The `flowd` CLI against a live node (child processes, real HTTP), the typed client's SSE
 * reading, and the `_status?watch=true` event stream the CLI's --watch follows.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FlowdClient, FlowdClientError, SseParser } from '@flowd/client';
import type { WorkflowStatus } from '@flowd/client';
import { WatchView } from '../src/cli/watch-view.js';
import { ADMIN_PASSWORD, basic, FF, startTestNode } from './support/flowd-harness.js';
import type { TestNode } from './support/flowd-harness.js';
import { runCli } from './support/cli-runner.js';
import type { CliOptions, CliResult } from './support/cli-runner.js';

const UPPER = 'function process(input) { return { text: input.text.toUpperCase() }; }';

const SYNC_YAML = `
name: cli-demo
description: two noop steps, then a SYNC flow
workflows:
  provision:
    nodes:
      - id: first
        type: noop
        user_inputs: { delay: 50ms }
      - id: second
        type: noop
        previous_node_inputs: { first: x }
flow:
  mode: SYNC
  blocks:
    - id: upper
      type: js
      config:
        source: "${UPPER}"
  edges: []
`;

const ASYNC_JSON = JSON.stringify({
  name: 'cli-async',
  flow: { mode: 'ASYNC', autoscaling: { preset: 'disabled' }, blocks: [{ id: 'upper', type: 'js', config: { source: UPPER } }], edges: [] },
});

const FAILING_YAML = `
name: cli-failing
workflows:
  provision:
    nodes:
      - id: ok
        type: noop
      - id: call
        type: http_request
        previous_node_inputs: { ok: x }
        user_inputs: { method: POST, url: "http://127.0.0.1:9/x" }
`;

let node: TestNode;
let dir: string;
let env: Record<string, string>;
const cli = (args: string[], opts: CliOptions = {}): Promise<CliResult> => runCli(args, { ...opts, env: { ...env, ...(opts.env ?? {}) } });
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const ESC = String.fromCharCode(27);
const plain = (s: string): string => s.replace(new RegExp(`${ESC}\\[[0-9;]*[A-Za-z]`, 'g'), '');
const show = (r: CliResult): string => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
const noStack = (r: CliResult): void => assert.doesNotMatch(r.stderr + r.stdout, /\n\s+at .+:\d+:\d+/, show(r));

/** Applies ASYNC_JSON (saved as `fileName`) with --provision through the CLI and makes an API key for it. */
async function asyncFlowWithKey(fileName: string, keyName: string): Promise<{ id: string; rt: CliOptions }> {
  const applied = await cli(['apply', file(fileName, ASYNC_JSON), '--provision', '--watch']);
  assert.equal(applied.code, 0, show(applied));
  const id = applied.stdout.split('\n')[0] ?? '';
  const key = (await cli(['keys', 'create', '--name', keyName, '--workflow', id])).stdout.trim();
  return { id, rt: { env: { FLOWD_API_KEY: key } } };
}

before(async () => {
  node = await startTestNode();
  dir = mkdtempSync(join(tmpdir(), 'flowd-cli-'));
  env = { FLOWD_URL: node.url, FLOWD_PASSWORD: ADMIN_PASSWORD };
});
after(async () => {
  await node.close();
});

/** Reads `_status?watch=true` until `stop` holds for an event (or the stream ends). */
async function readStatusStream(
  url: string,
  id: string,
  stop: (e: { event: string; data: any }) => boolean,
  onOpen?: () => Promise<void>,
): Promise<Array<{ event: string; data: any }>> {
  const ac = new AbortController();
  const res = await fetch(`${url}${FF}/${id}/_status?watch=true`, {
    headers: { authorization: basic('admin', ADMIN_PASSWORD) },
    signal: ac.signal,
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const events: Array<{ event: string; data: any }> = [];
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let opened = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return events;
      for (const m of parser.push(decoder.decode(value, { stream: true }))) {
        const e = { event: m.event, data: JSON.parse(m.data) };
        events.push(e);
        if (stop(e)) return events;
        if (!opened && onOpen) {
          opened = true;
          await onOpen();
        }
      }
    }
  } finally {
    ac.abort();
  }
}

void describe('GET _status?watch=true (Server-Sent Events)', { timeout: 20_000 }, () => {
  void it('sends the current status first, then one event per change, ending in COMPLETED with every step', async () => {
    const c = await node.request('POST', FF, { raw: SYNC_YAML, contentType: 'application/yaml' });
    assert.equal(c.status, 201, c.text);
    const id = c.body.workflow_id as string;
    const events = await readStatusStream(
      node.url,
      id,
      (e) => e.event === 'status' && (e.data.state === 'COMPLETED' || e.data.state === 'FAILED'),
      async () => {
        const p = await node.request('POST', `${FF}/${id}/_provision`);
        assert.equal(p.status, 202, p.text);
      },
    );
    assert.ok(events.every((e) => e.event === 'status'));
    assert.equal(events[0]?.data.state, 'NOT_STARTED');
    assert.ok(
      events.some((e) => e.data.state === 'PROVISIONING'),
      JSON.stringify(events.map((e) => e.data.state)),
    );
    const last = events[events.length - 1]?.data;
    assert.equal(last.state, 'COMPLETED');
    // The same body as _status?all=true.
    const all = await node.request('GET', `${FF}/${id}/_status?all=true`);
    assert.deepEqual(last, all.body);
    assert.deepEqual(
      last.steps.map((s: any) => [s.id, s.state]),
      [
        ['first', 'COMPLETED'],
        ['second', 'COMPLETED'],
        ['publish_flow', 'COMPLETED'],
      ],
    );
    // Events are sent only on change: no two consecutive bodies are equal.
    for (let i = 1; i < events.length; i++) assert.notDeepEqual(events[i]?.data, events[i - 1]?.data);
  });

  void it('answers an unknown workflow with the usual 404 error, not a stream', async () => {
    const r = await node.request('GET', `${FF}/no-such-workflow/_status?watch=true`);
    assert.equal(r.status, 404);
    assert.match(r.body.error, /no-such-workflow/);
  });

  void it('sends `deleted` and ends the stream when the workflow and its status are deleted', async () => {
    const c = await node.request('POST', FF, { raw: FAILING_YAML, contentType: 'application/yaml' });
    const id = c.body.workflow_id as string;
    const events = await readStatusStream(
      node.url,
      id,
      () => false,
      async () => {
        const d = await node.request('DELETE', `${FF}/${id}?clear_status=true`);
        assert.equal(d.status, 200, d.text);
      },
    );
    assert.equal(events[0]?.event, 'status');
    assert.deepEqual(events[events.length - 1], { event: 'deleted', data: { workflow_id: id } });
  });

  void it('does not keep the server from closing while a watcher is connected', async () => {
    const other = await startTestNode();
    const c = await other.request('POST', FF, { raw: FAILING_YAML, contentType: 'application/yaml' });
    const client = new FlowdClient({ url: other.url, password: ADMIN_PASSWORD });
    const seen: WorkflowStatus[] = [];
    const ac = new AbortController();
    const closing: Array<Promise<void>> = [];
    // Close the server once the first event is in; the stream must end because the server ended it.
    const watched = client.watchStatus(
      c.body.workflow_id,
      (e) => {
        if (e.type === 'status') seen.push(e.status);
        if (closing.length === 0) closing.push(other.close());
      },
      ac.signal,
    );
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      watched.then(async () => {
        await closing[0];
        return true;
      }),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 5000))),
    ]);
    clearTimeout(timer);
    if (!ended) {
      ac.abort(); // let the close finish so the test process can exit
      await closing[0];
    }
    assert.ok(ended, 'closing the server waited for the watcher to leave');
    assert.equal(seen[0]?.state, 'NOT_STARTED');
  });
});

void describe('typed client', () => {
  void it('parses SSE split at any point, with comments and CRLF', () => {
    const text = ': keep-alive\r\n\r\nevent: status\r\ndata: {"a":\r\ndata: 1}\r\n\r\nevent: deleted\ndata: {}\n\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const p = new SseParser();
      const got = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      assert.deepEqual(got, [
        { event: 'status', data: '{"a":\n1}' },
        { event: 'deleted', data: '{}' },
      ]);
    }
  });

  void it("throws FlowdClientError with the server's message and status", async () => {
    const c = new FlowdClient({ url: node.url, password: 'wrong' });
    await assert.rejects(
      c.status('x'),
      (e: unknown) => e instanceof FlowdClientError && e.status === 401 && /wrong user name or password/.test(e.message),
    );
    const ok = new FlowdClient({ url: node.url, password: ADMIN_PASSWORD });
    await assert.rejects(
      ok.getWorkflow('nope'),
      (e: unknown) => e instanceof FlowdClientError && e.status === 404 && e.kind === 'http' && e.body !== undefined,
    );
    await assert.rejects(ok.analyze('x', {}), (e: unknown) => e instanceof FlowdClientError && e.kind === 'missing_credentials');
  });
});

void describe('watch view on a terminal', () => {
  void it('redraws one block in place: spinner while a step runs, ✓ and duration when done, the bar at 100 %', () => {
    let out = '';
    const sink = { write: (s: string): boolean => ((out += s), true), columns: 200 } as unknown as NodeJS.WritableStream;
    const view = new WatchView({
      workflowId: 'w1',
      expected: [
        { id: 'a', type: 'noop' },
        { id: 'b', type: 'noop' },
      ],
      tty: true,
      color: true,
      out: sink,
      now: () => 1_500,
    });
    const base = { workflow_id: 'w1', provision_start_time: 1_000 };
    view.update({ ...base, state: 'PROVISIONING', steps: [{ id: 'a', type: 'noop', state: 'RUNNING', attempt: 1, start_time: 1_000 }] });
    view.stop();
    const first = out;
    assert.ok(first.includes('\u001b[36m'), 'a coloured spinner');
    assert.match(plain(first), /^ {2}[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] a\s+noop\s+500ms$/m);
    assert.match(first, /· b/);
    assert.match(first, /0% 0\/2 steps/);
    out = '';
    view.finish({
      ...base,
      state: 'COMPLETED',
      provision_end_time: 1_400,
      steps: [
        { id: 'a', type: 'noop', state: 'COMPLETED', attempt: 1, start_time: 1_000, end_time: 1_200, duration_ms: 200 },
        { id: 'b', type: 'noop', state: 'COMPLETED', attempt: 1, start_time: 1_200, end_time: 1_400, duration_ms: 200 },
      ],
      resources_created: [{ workflow_step_name: 'noop', workflow_step_id: 'a', resource_type: 'thing_id', resource_id: 't1' }],
    });
    const lines = first.split('\n').length - 1;
    assert.ok(out.startsWith(`\u001b[${lines}F\u001b[J`), 'moves up over the previous frame and clears it');
    assert.ok(out.includes('\u001b[32m✓'), 'a green check');
    assert.match(plain(out), /^ {2}✓ a\s+noop\s+200ms$/m);
    assert.match(out, /100% 2\/2 steps/);
    assert.match(out, /thing_id {2}t1/);
    assert.match(out, /COMPLETED in 400ms/);
  });
});

void describe('flowd CLI', () => {
  let syncId: string;

  void it('apply --provision --watch (non-TTY): a ✓ line with a duration per step, progress to 100 %, the resources, exit 0', async () => {
    const r = await cli(['apply', file('demo.yaml', SYNC_YAML), '--provision', '--watch']);
    assert.equal(r.code, 0, show(r));
    const lines = r.stdout.split('\n');
    syncId = lines[0] ?? '';
    assert.match(syncId, /^[\w-]{20}$/, show(r));
    for (const [step, type] of [
      ['first', 'noop'],
      ['second', 'noop'],
      ['publish_flow', 'publish_flow'],
    ]) {
      assert.ok(
        lines.some((l) => new RegExp(`^✓ ${step} \\(${type}\\) \\d+(ms|\\.\\ds)$`).test(l)),
        `no ✓ line for ${step}\n${show(r)}`,
      );
    }
    assert.ok(
      lines.some((l) => /^\[#{24}\] 100% 3\/3 steps$/.test(l)),
      show(r),
    );
    const res = lines.indexOf('resources created:');
    assert.ok(res > 0, show(r));
    assert.match(lines[res + 1] ?? '', /^ {2}service_id {2}upper-\w+ {2}\(publish_flow\)$/);
    assert.match(r.stdout, /^COMPLETED in \d/m);
    assert.ok(!r.stdout.includes('\u001b'), 'no ANSI codes when stdout is not a terminal');
    assert.doesNotMatch(r.stdout, /\r/);
  });

  void it('apply --watch of a failing workflow: ✗ on the step, the error, a non-zero exit', async () => {
    const r = await cli(['apply', file('failing.yaml', FAILING_YAML), '--provision', '--watch']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stdout, /^✓ ok \(noop\)/m);
    assert.match(r.stdout, /^✗ call \(http_request\) \d+(ms|\.\ds)$/m);
    assert.match(r.stdout, /^FAILED/m);
    assert.match(r.stderr, /failed: WorkflowStepException during step call, http_request POST http:\/\/127\.0\.0\.1:9\/x failed/);
    assert.match(r.stderr, /hint: .*flowd deprovision/);
    noStack(r);
  });

  void it('list, get, status (plain and --all), steps', async () => {
    const [list, get, status, all, steps] = await Promise.all([
      cli(['list']),
      cli(['get', syncId]),
      cli(['status', syncId]),
      cli(['status', syncId, '--all']),
      cli(['steps', 'noop', 'http_request']),
    ]);
    assert.equal(list.code, 0, show(list));
    assert.match(list.stdout, /^ID\s+NAME\s+STATE\s+LAST CHANGE$/m);
    assert.match(list.stdout, new RegExp(`^${syncId}\\s+cli-demo\\s+COMPLETED\\s`, 'm'));
    assert.match(list.stdout, /\s+cli-failing\s+FAILED\s/);
    assert.equal(get.code, 0, show(get));
    assert.match(get.stdout, /^name: cli-demo$/m);
    assert.match(get.stdout, /type: js/);
    assert.equal(status.code, 0, show(status));
    assert.match(status.stdout, new RegExp(`^workflow ${syncId}: COMPLETED$`, 'm'));
    assert.match(status.stdout, /service_id {2}upper-/);
    assert.equal(all.code, 0, show(all));
    assert.match(all.stdout, /✓ first\s+noop\s+\d+ms/);
    assert.match(all.stdout, /100% 3\/3 steps/);
    assert.equal(steps.code, 0, show(steps));
    assert.match(steps.stdout, /^http_request\s+url\s+method, headers/m);
    assert.match(steps.stdout, /^noop\s+-\s+delay\s+-$/m);
  });

  void it('--json prints the raw JSON', async () => {
    const [status, list, watch] = await Promise.all([
      cli(['status', syncId, '--json']),
      cli(['--json', 'list']),
      cli(['status', syncId, '--watch', '--json']),
    ]);
    const s = JSON.parse(status.stdout);
    assert.equal(s.workflow_id, syncId);
    assert.equal(s.state, 'COMPLETED');
    const rows = JSON.parse(list.stdout);
    assert.ok(rows.some((x: any) => x.id === syncId && x.name === 'cli-demo' && x.state === 'COMPLETED'));
    assert.equal(watch.code, 0, show(watch));
    const events = watch.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(events[events.length - 1].state, 'COMPLETED');
    assert.ok(Array.isArray(events[0].steps));
  });

  void it('keys create / list / revoke, and analyze with the key', async () => {
    const created = await cli(['keys', 'create', '--name', 'cli-key', '--workflow', syncId]);
    assert.equal(created.code, 0, show(created));
    const key = created.stdout.trim();
    assert.match(key, /^flowd_/);
    assert.match(created.stderr, /shown only this once/);
    const list = await cli(['keys', 'list']);
    const row = list.stdout.split('\n').find((l) => l.includes('cli-key'));
    assert.ok(row?.includes(syncId), show(list));
    const keyId = row?.split(/\s+/)[0] ?? '';

    const out = await cli(['analyze', syncId, '--api-key', key], { input: '{"text":"hello"}' });
    assert.equal(out.code, 0, show(out));
    assert.deepEqual(JSON.parse(out.stdout), { text: 'HELLO' });
    const bad = await cli(['analyze', syncId], { input: '{"nottext":1}', env: { FLOWD_API_KEY: key } });
    assert.equal(bad.code, 1, show(bad));
    assert.match(bad.stderr, /upper/);
    noStack(bad);

    const revoked = await cli(['keys', 'revoke', keyId]);
    assert.equal(revoked.code, 0, show(revoked));
    assert.match(revoked.stdout, new RegExp(`revoked key ${keyId}`));
    const after = await cli(['analyze', syncId, '--api-key', key], { input: '{"text":"hello"}' });
    assert.equal(after.code, 1, show(after));
    assert.match(after.stderr, /API key/);
    assert.match(after.stderr, /hint: check --api-key or FLOWD_API_KEY/);
  });

  void it('task submit / status / result / list / delete on an ASYNC flow', async () => {
    const { id, rt } = await asyncFlowWithKey('async.json', 'async');

    const waited = await cli(['task', 'submit', id, '--wait'], { ...rt, input: '{"text":"abc"}' });
    assert.equal(waited.code, 0, show(waited));
    assert.deepEqual(JSON.parse(waited.stdout), { text: 'ABC' });

    const sub = await cli(['task', 'submit', id], { ...rt, input: '{"text":"xyz"}' });
    assert.equal(sub.code, 0, show(sub));
    const taskId = sub.stdout.trim();
    assert.match(taskId, /^[\w-]{20}$/);
    const st = await cli(['task', 'status', id, taskId, '--wait', '10s'], rt);
    assert.match(st.stdout, /^status:\s+COMPLETED$/m, show(st));
    const [res, list] = await Promise.all([
      cli(['task', 'result', id, taskId], rt),
      cli(['task', 'list', id, '--status', 'completed'], rt),
    ]);
    assert.deepEqual(JSON.parse(res.stdout), { text: 'XYZ' });
    assert.match(list.stdout, new RegExp(`^${taskId}\\s+COMPLETED\\s`, 'm'));
    const del = await cli(['task', 'delete', id, taskId], rt);
    assert.match(del.stdout, /deleted task/, show(del));
    const gone = await cli(['task', 'result', id, taskId], rt);
    assert.equal(gone.code, 1, show(gone));
    assert.match(gone.stderr, /not found/);

    const failed = await cli(['task', 'submit', id, '--wait'], { ...rt, input: '{"other":1}' });
    assert.equal(failed.code, 1, show(failed));
    assert.match(failed.stdout, /"errors"/);
    assert.match(failed.stderr, /ended in ERROR/);
  });

  void it('task submit-many: one task per stdin line, in batches; the same key submits once', async () => {
    const { id, rt } = await asyncFlowWithKey('async-many.json', 'many');
    const lines = ['{"text":"a"}', '', '{"text":"bb"}', '{"text":"ccc"}', ''].join('\n');
    const args = ['task', 'submit-many', id, '--batch-size', '2', '--idempotency-key', 'load-1'];
    const sub = await cli(args, { ...rt, input: lines });
    assert.equal(sub.code, 0, show(sub));
    const ids = sub.stdout.trim().split('\n');
    assert.equal(ids.length, 3, show(sub));
    assert.match(sub.stderr, /3 task\(s\) submitted, 3 new/);
    for (const [i, want] of ['A', 'BB', 'CCC'].entries()) {
      const st = await cli(['task', 'status', id, ids[i] ?? '', '--wait', '10s'], rt);
      assert.match(st.stdout, /^status:\s+COMPLETED$/m, show(st));
      const res = await cli(['task', 'result', id, ids[i] ?? ''], rt);
      assert.deepEqual(JSON.parse(res.stdout), { text: want });
    }
    const again = await cli(args, { ...rt, input: lines });
    assert.equal(again.code, 0, show(again));
    assert.deepEqual(again.stdout.trim().split('\n'), ids, 'the same key finds the same tasks');
    assert.match(again.stderr, /3 task\(s\) submitted, 0 new/);
    const bad = await cli(['task', 'submit-many', id], { ...rt, input: '{"text":"ok"}\nnot json\n' });
    assert.notEqual(bad.code, 0, show(bad));
    assert.match(bad.stderr, /line 2 is not valid JSON/);
    const listed = await cli(['task', 'list', id, '--json'], rt);
    assert.equal((JSON.parse(listed.stdout) as { tasks: unknown[] }).tasks.length, 3, 'a bad line submits nothing');
  });

  void it('delete (with --clear-status), then the workflow is gone', async () => {
    const c = await node.request('POST', FF, { raw: FAILING_YAML, contentType: 'application/yaml' });
    const id = c.body.workflow_id as string;
    const del = await cli(['delete', id, '--clear-status']);
    assert.equal(del.code, 0, show(del));
    assert.match(del.stdout, new RegExp(`deleted ${id}`));
    const st = await cli(['status', id]);
    assert.equal(st.code, 1, show(st));
    assert.match(st.stderr, new RegExp(`Fail to find workflow status of ${id}`));
    assert.match(st.stderr, /hint: check the id; flowd list shows the workflows/);
  });

  void it('a wrong password: the server message and what to do, exit 1, no stack trace', async () => {
    const r = await cli(['list', '--password', 'not-the-password']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /wrong user name or password/);
    assert.match(r.stderr, /check --user\/--password or FLOWD_USER\/FLOWD_PASSWORD/);
    noStack(r);
    const none = await cli(['list'], { env: { FLOWD_PASSWORD: '' } });
    assert.equal(none.code, 1, show(none));
    assert.match(none.stderr, /no password given: pass --password or set FLOWD_PASSWORD/);
  });

  void it('no server at the URL: says so and how to start one', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const url = `http://127.0.0.1:${port}`;
    const r = await cli(['status', 'x', '--url', url]);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, new RegExp(`cannot reach flowd at ${url}`));
    assert.match(r.stderr, new RegExp(`is flowd running at ${url}\\? Start it with npx flowd serve`));
    noStack(r);
  });

  void it('usage errors exit 2', async () => {
    const [missing, noFile, paramNoProvision, noKey, badParam] = await Promise.all([
      cli(['status']),
      cli(['apply', join(dir, 'does-not-exist.yaml')]),
      cli(['apply', file('p.yaml', SYNC_YAML), '--param', 'a=b']),
      cli(['analyze', 'some-id'], { input: '{"text":"x"}' }),
      cli(['provision', 'some-id', '--param', 'novalue']),
    ]);
    for (const r of [missing, noFile, paramNoProvision, noKey, badParam]) {
      assert.equal(r.code, 2, show(r));
      noStack(r);
    }
    assert.match(missing.stderr, /missing required argument 'id'/);
    assert.match(noFile.stderr, /cannot read .*does-not-exist\.yaml \(ENOENT\)/);
    assert.match(paramNoProvision.stderr, /add --provision/);
    assert.match(noKey.stderr, /pass --api-key or set FLOWD_API_KEY/);
    assert.match(badParam.stderr, /--param expects name=value/);
  });
});
