/**
 * Prometheus metrics at /metrics and request/correlation ids, through a real node over HTTP:
 * the exposition format, workflow states, provisioning runs and step durations, HTTP latency
 * by route pattern, published flows' instances, ASYNC task queues and latency, and the ids
 * on responses and in log lines.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { FF, httpRequest, startTestNode, template } from './support/flowd-harness.js';
import type { TestNode } from './support/flowd-harness.js';
import { apiKey, provisionFlow, rt, waitRuntime } from './support/runtime-client.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = l[2] as string;
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the sample with exactly these labels; undefined when there is none. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const keys = Object.keys(labels);
  const s = samples.find(
    (x) => x.name === name && Object.keys(x.labels).length === keys.length && keys.every((k) => x.labels[k] === labels[k]),
  );
  return s?.value;
}

let node: TestNode;

async function scrape(): Promise<Sample[]> {
  const r = await node.request('GET', '/metrics', { auth: null });
  assert.equal(r.status, 200, r.text);
  return parseExposition(r.text);
}

/** Scrapes until `pred` holds (counters updated just after a response are seen on a later scrape). */
async function scrapeUntil(pred: (s: Sample[]) => boolean, what: string): Promise<Sample[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const s = await scrape();
    if (pred(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function createAndProvision(body: unknown): Promise<{ id: string; state: any }> {
  const r = await node.request('POST', `${FF}?provision=true&wait_for_completion_timeout=10s`, { body });
  assert.ok(r.status === 201 || r.status === 202 || r.status === 200, r.text);
  const id = r.body.workflow_id as string;
  return { id, state: await node.waitForState(id) };
}

before(async () => {
  node = await startTestNode();
});
after(async () => {
  await node.close();
});

void describe('/metrics', () => {
  void it('serves the text format without credentials, with HELP, TYPE and process metrics', async () => {
    const r = await node.request('GET', '/metrics', { auth: null });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(r.text, /^# HELP flowd_workflows .+$/m);
    assert.match(r.text, /^# TYPE flowd_workflows gauge$/m);
    assert.match(r.text, /^# TYPE flowd_provisioning_runs_total counter$/m);
    assert.match(r.text, /^# TYPE flowd_step_duration_seconds histogram$/m);
    assert.match(r.text, /^# TYPE flowd_http_request_duration_seconds histogram$/m);
    const s = parseExposition(r.text);
    assert.ok(valueOf(s, 'flowd_process_cpu_user_seconds_total') !== undefined, 'default process metrics with the flowd_ prefix');
    const info = s.find((x) => x.name === 'flowd_build_info');
    assert.equal(info?.value, 1);
    assert.equal(info?.labels['version'], '0.1.0');
    assert.ok((info?.labels['node'] ?? '').length > 0);
    for (const state of ['NOT_STARTED', 'PROVISIONING', 'COMPLETED', 'FAILED'])
      assert.ok(valueOf(s, 'flowd_workflows', { state }) !== undefined, state);
  });

  void it('counts workflows by state, finished runs and step durations', async () => {
    const before = await scrape();
    const completed0 = valueOf(before, 'flowd_workflows', { state: 'COMPLETED' }) ?? 0;
    const runs0 = valueOf(before, 'flowd_provisioning_runs_total', { kind: 'provision', result: 'completed' }) ?? 0;
    const noop0 = valueOf(before, 'flowd_step_duration_seconds_count', { type: 'noop', result: 'completed' }) ?? 0;
    const { state } = await createAndProvision(
      template([
        { id: 'a', type: 'noop' },
        { id: 'b', type: 'noop', previous_node_inputs: { a: 'x' } },
      ]),
    );
    assert.equal(state.state, 'COMPLETED', JSON.stringify(state));
    const s = await scrapeUntil(
      (x) => (valueOf(x, 'flowd_provisioning_runs_total', { kind: 'provision', result: 'completed' }) ?? 0) > runs0,
      'the run counter',
    );
    assert.equal(valueOf(s, 'flowd_workflows', { state: 'COMPLETED' }), completed0 + 1);
    assert.equal(valueOf(s, 'flowd_provisioning_runs_total', { kind: 'provision', result: 'completed' }), runs0 + 1);
    assert.equal(valueOf(s, 'flowd_step_duration_seconds_count', { type: 'noop', result: 'completed' }), noop0 + 2);
    assert.equal(valueOf(s, 'flowd_step_duration_seconds_bucket', { type: 'noop', result: 'completed', le: '+Inf' }), noop0 + 2);
    assert.equal(valueOf(s, 'flowd_provisioning_runs_active'), 0);
  });

  void it('counts a failed run and its failed step', async () => {
    const before = await scrape();
    const failed0 = valueOf(before, 'flowd_workflows', { state: 'FAILED' }) ?? 0;
    const c = await node.request('POST', FF, {
      body: template([{ id: 'slow', type: 'noop', user_inputs: { delay: '5s', node_timeout: '50ms' } }]),
    });
    assert.equal(c.status, 201, c.text);
    assert.equal((await node.request('POST', `${FF}/${c.body.workflow_id}/_provision`)).status, 202);
    const state = await node.waitForState(c.body.workflow_id as string);
    assert.equal(state.state, 'FAILED', JSON.stringify(state));
    const s = await scrapeUntil(
      (x) => (valueOf(x, 'flowd_provisioning_runs_total', { kind: 'provision', result: 'failed' }) ?? 0) >= 1,
      'the failed run',
    );
    assert.equal(valueOf(s, 'flowd_workflows', { state: 'FAILED' }), failed0 + 1);
    assert.equal(valueOf(s, 'flowd_step_duration_seconds_count', { type: 'noop', result: 'failed' }), 1);
  });

  void it('times HTTP requests by route pattern, never by raw URL', async () => {
    const { id } = await createAndProvision(template([{ id: 'a', type: 'noop' }]));
    const route = `${FF}/:workflow_id/_status`;
    const before = await scrape();
    const n0 = valueOf(before, 'flowd_http_request_duration_seconds_count', { method: 'GET', route, status_class: '2xx' }) ?? 0;
    for (let i = 0; i < 3; i++) assert.equal((await node.request('GET', `${FF}/${id}/_status`)).status, 200);
    assert.equal((await node.request('GET', `${FF}/${id}/_status`, { auth: null })).status, 401);
    assert.equal((await node.request('GET', '/no/such/path')).status, 404);
    assert.equal((await node.request('GET', '/no/such/path', { auth: null })).status, 401);
    const r = await node.request('GET', '/metrics', { auth: null });
    const s = parseExposition(r.text);
    assert.equal(valueOf(s, 'flowd_http_request_duration_seconds_count', { method: 'GET', route, status_class: '2xx' }), n0 + 3);
    assert.ok(
      (valueOf(s, 'flowd_http_request_duration_seconds_count', { method: 'GET', route, status_class: '4xx' }) ?? 0) >= 1,
      'the 401 is counted under its route',
    );
    assert.ok(
      (valueOf(s, 'flowd_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status_class: '4xx' }) ?? 0) >= 2,
      'unmatched requests, authenticated or not',
    );
    assert.equal(
      valueOf(s, 'flowd_http_request_duration_seconds_bucket', { method: 'GET', route, status_class: '2xx', le: '+Inf' }),
      n0 + 3,
    );
    const httpLines = r.text.split('\n').filter((l) => l.startsWith('flowd_http_request_duration_seconds'));
    assert.ok(httpLines.length > 0);
    assert.ok(!httpLines.some((l) => l.includes(id) || l.includes('/no/such/path')), 'no raw URL in any label');
  });

  void it('reports the desired and actual instances of a published SYNC flow, and drops them when unpublished', async () => {
    const flow = {
      mode: 'SYNC',
      blocks: [
        {
          id: 'upper',
          type: 'js',
          replicas: 2,
          config: { source: 'function process(input) { return { text: String(input.text).toUpperCase() }; }' },
        },
      ],
      edges: [],
    };
    const p = await provisionFlow(node, flow);
    assert.equal(p.status.state, 'COMPLETED', JSON.stringify(p.status));
    const key = await apiKey(node, [p.id]);
    await waitRuntime(node, key, p.id, (st) => st.actualStatus === 'GREEN');
    const s = await scrape();
    assert.equal(valueOf(s, 'flowd_service_instances', { workflow_id: p.id, service: 'upper', kind: 'desired' }), 2);
    assert.equal(valueOf(s, 'flowd_service_instances', { workflow_id: p.id, service: 'upper', kind: 'actual' }), 2);
    assert.equal(valueOf(s, 'flowd_task_queue_depth', { workflow_id: p.id, status: 'queued' }), undefined, 'a SYNC flow has no task queue');
    const d = await node.request('POST', `${FF}/${p.id}/_deprovision`);
    assert.equal(d.status, 200, d.text);
    const gone = await scrapeUntil(
      (x) => valueOf(x, 'flowd_service_instances', { workflow_id: p.id, service: 'upper', kind: 'desired' }) === undefined,
      'the unpublished flow to disappear',
    );
    assert.ok(!gone.some((x) => x.labels['workflow_id'] === p.id));
  });

  void it('reports the task queue of an ASYNC flow and task wait and run times', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowd-metrics-'));
    const file = join(dir, 'sleepy.mjs');
    writeFileSync(
      file,
      'export async function process(input) { await new Promise((r) => setTimeout(r, input.ms ?? 0)); return { slept: input.ms ?? 0 }; }\n',
    );
    try {
      const p = await provisionFlow(node, {
        mode: 'ASYNC',
        autoscaling: { preset: 'disabled' },
        blocks: [{ id: 'sleepy', type: 'custom', replicas: 1, consumers: 1, config: { module: file } }],
        edges: [],
      });
      assert.equal(p.status.state, 'COMPLETED', JSON.stringify(p.status));
      const key = await apiKey(node, [p.id]);
      const s0 = await scrape();
      assert.equal(valueOf(s0, 'flowd_task_queue_depth', { workflow_id: p.id, status: 'queued' }), 0);
      assert.equal(valueOf(s0, 'flowd_task_queue_depth', { workflow_id: p.id, status: 'running' }), 0);
      assert.equal(valueOf(s0, 'flowd_service_instances', { workflow_id: p.id, service: '$executor', kind: 'actual' }), 1);
      const wait0 = valueOf(s0, 'flowd_task_latency_seconds_count', { phase: 'wait' }) ?? 0;
      const run0 = valueOf(s0, 'flowd_task_latency_seconds_count', { phase: 'run' }) ?? 0;
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const sub = await rt(node, key, 'POST', p.id, 'task', { ms: 300 });
        assert.equal(sub.status, 202, sub.text);
        ids.push(sub.body.taskId as string);
      }
      // One consumer: while the first task sleeps the others wait in the queue.
      await scrapeUntil(
        (x) =>
          valueOf(x, 'flowd_task_queue_depth', { workflow_id: p.id, status: 'running' }) === 1 &&
          (valueOf(x, 'flowd_task_queue_depth', { workflow_id: p.id, status: 'queued' }) ?? 0) >= 1,
        'a running task and queued ones',
      );
      for (const t of ids) assert.equal((await rt(node, key, 'GET', p.id, `task/${t}?wait=20s`)).body.status, 'COMPLETED');
      const s = await scrapeUntil(
        (x) =>
          valueOf(x, 'flowd_task_queue_depth', { workflow_id: p.id, status: 'running' }) === 0 &&
          (valueOf(x, 'flowd_task_latency_seconds_count', { phase: 'run' }) ?? 0) >= run0 + 4,
        'the queue to drain',
      );
      assert.equal(valueOf(s, 'flowd_task_queue_depth', { workflow_id: p.id, status: 'queued' }), 0);
      assert.equal(valueOf(s, 'flowd_task_latency_seconds_count', { phase: 'wait' }), wait0 + 4);
      assert.equal(valueOf(s, 'flowd_task_latency_seconds_count', { phase: 'run' }), run0 + 4);
      assert.ok((valueOf(s, 'flowd_task_latency_seconds_sum', { phase: 'run' }) ?? 0) >= 4 * 0.3 * 0.9, 'run time covers the sleeps');
      assert.ok((valueOf(s, 'flowd_tasks_finished_total', { result: 'COMPLETED' }) ?? 0) >= 4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

void describe('request ids', () => {
  void it('echoes X-Request-Id on every response, keeping a plausible caller id', async () => {
    const own = await node.request('GET', '/_flowd/health', { headers: { 'x-request-id': 'caller-id-123' } });
    assert.equal(own.headers.get('x-request-id'), 'caller-id-123');
    const fresh = await node.request('GET', '/_flowd/health');
    assert.match(fresh.headers.get('x-request-id') ?? '', /^[a-z0-9]+$/);
    const other = await node.request('GET', '/_flowd/health');
    assert.notEqual(other.headers.get('x-request-id'), fresh.headers.get('x-request-id'));
    const bad = await node.request('GET', '/_flowd/health', { headers: { 'x-request-id': 'has spaces "and quotes"' } });
    assert.notEqual(bad.headers.get('x-request-id'), 'has spaces "and quotes"');
    assert.ok((bad.headers.get('x-request-id') ?? '').length > 0);
    const long = 'x'.repeat(300);
    assert.notEqual((await node.request('GET', '/_flowd/health', { headers: { 'x-request-id': long } })).headers.get('x-request-id'), long);
    // Errors too: auth failure, not found, a validation error.
    assert.equal(
      (await node.request('GET', `${FF}/_steps`, { auth: null, headers: { 'x-request-id': 'r-401' } })).headers.get('x-request-id'),
      'r-401',
    );
    assert.equal((await node.request('GET', '/nope', { headers: { 'x-request-id': 'r-404' } })).headers.get('x-request-id'), 'r-404');
    const invalid = await node.request('POST', FF, { raw: '{not json', headers: { 'x-request-id': 'r-400' } });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.headers.get('x-request-id'), 'r-400');
  });

  void it('puts the request id and the correlation id on request-scoped log lines', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    const logged = await startTestNode({ logLevel: 'debug' }, { logger: pino({ level: 'debug' }, sink) });
    try {
      const r = await httpRequest(logged.url, 'POST', FF, {
        raw: '{not json',
        headers: { 'x-request-id': 'log-req-1', 'x-correlation-id': 'corr-77' },
      });
      assert.equal(r.status, 400);
      const line = lines.find((l) => l['msg'] === 'request failed' && l['reqId'] === 'log-req-1');
      assert.ok(line, `no 'request failed' line with the request id in ${JSON.stringify(lines.map((l) => l['msg']))}`);
      assert.equal(line['correlationId'], 'corr-77');
      assert.equal(line['status'], 400);
      await httpRequest(logged.url, 'POST', FF, { raw: '{not json', headers: { 'x-request-id': 'log-req-2' } });
      const plain = lines.find((l) => l['reqId'] === 'log-req-2');
      assert.ok(plain);
      assert.equal('correlationId' in plain, false, 'no correlationId without the header');
    } finally {
      await logged.close();
    }
  });
});
