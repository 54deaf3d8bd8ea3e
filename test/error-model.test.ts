/**
 * flowd's one error model: the kind table, and every kind keeping its status, code and
 * retryable flag across the boundaries an error crosses — a worker thread (a real Service of
 * worker-thread instances), a restart (the provisioning state read back by a new store / a new
 * node on the same data), and a cluster hop (two ClusterNodes on one PostgreSQL schema and
 * NATS). Plus the renderer: one body shape per API family.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { ERROR_KINDS, FlowdError, KINDS, isRetryable, serializeError, workflowNotFound } from '../src/errors.js';
import type { ErrorKind } from '../src/errors.js';
import type { Template } from '../src/template/types.js';
import type { JsonValue } from '../src/util/json.js';
import { renderError } from '../src/server/error-renderer.js';
import { searchError } from '../src/search/errors.js';
import { stepError } from '../src/engine/step-error-text.js';
import { Service } from '../src/runtime/instances/service.js';
import { ClusterNode } from '../src/cluster/cluster-node.js';
import { MessageBus } from '../src/cluster/message-bus.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { FF, TEST_ON_POSTGRES, postgresForNode, startTestNode, template } from './support/flowd-harness.js';
import { NATS_URL, clusterUnavailable, skipReason } from './support/cluster-harness.js';
import { freshPgSchema, openTestStore } from './support/store-matrix.js';

const logger = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'flowd-error-model-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The table every kind must keep: a change here is a change of the HTTP contract. */
const EXPECTED: Record<ErrorKind, { status: number; code: string; retryable: boolean }> = {
  validation: { status: 400, code: 'validation', retryable: false },
  unauthenticated: { status: 401, code: 'auth', retryable: false },
  forbidden: { status: 403, code: 'auth', retryable: false },
  not_found: { status: 404, code: 'not_found', retryable: false },
  conflict: { status: 409, code: 'conflict', retryable: false },
  too_large: { status: 413, code: 'too_large', retryable: false },
  unsupported_media_type: { status: 415, code: 'unsupported_media_type', retryable: false },
  rate_limited: { status: 429, code: 'rate_limited', retryable: true },
  step_failure: { status: 500, code: 'step_failure', retryable: false },
  not_implemented: { status: 501, code: 'not_implemented', retryable: false },
  unavailable: { status: 503, code: 'unavailable', retryable: true },
  timeout: { status: 504, code: 'timeout', retryable: true },
  internal: { status: 500, code: 'internal', retryable: false },
};

/**
 * One error of each kind, each with its own code and a flag against the kind's default where
 * that is allowed, and a step failure carrying an upstream's 503: what a boundary must keep.
 */
const SAMPLES: FlowdError[] = ERROR_KINDS.map((kind) =>
  kind === 'step_failure'
    ? new FlowdError('step_failure', 'the upstream answered 503', { status: 503, code: 'test.upstream_503', retryable: true })
    : new FlowdError(kind, `an error of kind ${kind}`, { code: `test.${kind}`, retryable: !KINDS[kind].retryable }),
);

/** The fields every boundary keeps. */
const essence = (e: FlowdError): { kind: ErrorKind; status: number; code: string; retryable: boolean } => ({
  kind: e.kind,
  status: e.status,
  code: e.code,
  retryable: e.retryable,
});

void describe('the kind table', () => {
  void it('every kind has its status, default code and retryability, and nothing else is a kind', () => {
    assert.deepEqual([...ERROR_KINDS].sort(), Object.keys(EXPECTED).sort());
    for (const kind of ERROR_KINDS) {
      const e = new FlowdError(kind, 'm');
      assert.deepEqual({ status: e.status, code: e.code, retryable: e.retryable }, EXPECTED[kind], kind);
      assert.deepEqual(KINDS[kind], EXPECTED[kind], kind);
    }
  });

  void it('the status comes from the kind; only a step failure carries the status of what failed', () => {
    assert.equal(new FlowdError('step_failure', 'upstream', { status: 429 }).status, 429);
    // A serialized error claiming another status for a fixed kind gets the kind's.
    assert.equal(FlowdError.fromSerialized({ kind: 'validation', message: 'm', status: 418, code: 'c', retryable: false })?.status, 400);
    assert.equal(FlowdError.fromSerialized({ kind: 'bogus', message: 'm', status: 400, code: 'c', retryable: false }), undefined);
  });

  void it('retryable is the flag: the kind gives the default, the source may say otherwise; unknown errors are retryable', () => {
    assert.equal(isRetryable(new FlowdError('unavailable', 'm')), true);
    assert.equal(isRetryable(new FlowdError('unavailable', 'm', { retryable: false })), false);
    assert.equal(
      isRetryable(new FlowdError('step_failure', 'm', { status: 502 })),
      false,
      'a 5xx step failure is retried only when its source says so',
    );
    assert.equal(isRetryable(new FlowdError('step_failure', 'm', { status: 503, retryable: true })), true);
    assert.equal(isRetryable(new TypeError('x')), true);
  });

  void it('serializes to plain JSON and back to the same error', () => {
    for (const e of SAMPLES) {
      const back = FlowdError.fromSerialized(JSON.parse(JSON.stringify(e.toJSON())));
      assert.ok(back instanceof FlowdError);
      assert.deepEqual(back.toJSON(), e.toJSON());
    }
    // User code's errors (another copy of FlowdError, or none) are read duck-typed.
    assert.deepEqual(
      serializeError(Object.assign(new Error('x'), { kind: 'unavailable', code: 'mine.down', retryable: true }), 'block.failed'),
      {
        kind: 'unavailable',
        message: 'x',
        status: 503,
        code: 'mine.down',
        retryable: true,
      },
    );
    assert.deepEqual(serializeError(new Error('plain'), 'block.failed'), {
      kind: 'step_failure',
      message: 'plain',
      status: 500,
      code: 'block.failed',
      retryable: false,
    });
  });

  void it('one not-found error for a workflow', () => {
    const e = workflowNotFound('abc');
    assert.deepEqual(essence(e), { kind: 'not_found', status: 404, code: 'workflow.not_found', retryable: false });
    assert.equal(e.message, 'Failed to retrieve template (abc) from global context.');
  });
});

void describe('the renderer: one body shape per API family', () => {
  void it('answers every kind with its status, in the family’s shape', () => {
    for (const e of SAMPLES) {
      const ff = renderError(e, 'flow_framework');
      assert.equal(ff.status, e.status, e.kind);
      assert.deepEqual(ff.body, { error: e.message });
      const rt = renderError(
        new FlowdError(e.kind as 'step_failure', e.message, { status: e.status, code: e.code, retryable: e.retryable, node: 'b1' }),
        'runtime',
      );
      assert.equal(rt.status, e.status, e.kind);
      assert.deepEqual(rt.body, { errors: [{ message: e.message, node: 'b1', code: e.code, retryable: e.retryable }] });
      assert.equal(rt.internal, e.kind === 'internal');
    }
  });

  void it('a search error answers OpenSearch’s body; an unknown error a 500 that leaks nothing', () => {
    const s = renderError(searchError('parsing_exception', 'unknown query [x]'), 'flow_framework');
    assert.equal(s.status, 400);
    assert.deepEqual(s.body, {
      error: {
        root_cause: [{ type: 'parsing_exception', reason: 'unknown query [x]' }],
        type: 'parsing_exception',
        reason: 'unknown query [x]',
      },
      status: 400,
    });
    const u = renderError(new Error('secret detail'), 'runtime');
    assert.equal(u.status, 500);
    assert.equal(u.internal, true);
    assert.doesNotMatch(JSON.stringify(u.body), /secret detail/);
    assert.deepEqual(renderError(new Error('secret detail'), 'flow_framework').body, {
      error: 'Internal server error; the details are in the flowd log.',
    });
  });
});

void describe('across a worker thread', () => {
  const services: Service[] = [];
  after(async () => {
    await Promise.all(services.map((s) => s.stop()));
  });

  void it('a block that throws each kind in its thread rejects with the same kind, status, code and flag', async () => {
    // A custom block module that throws flowd's own errors, as a built-in block would.
    const errorsUrl = pathToFileURL(resolve('src/errors.ts')).href;
    const file = join(dir, 'thrower.mjs');
    writeFileSync(
      file,
      `import { FlowdError } from ${JSON.stringify(errorsUrl)};
const samples = ${JSON.stringify(SAMPLES.map((e) => e.toJSON()))};
export function process(input) {
  throw FlowdError.fromSerialized(samples.find((s) => s.kind === input.kind));
}
`,
    );
    const svc = new Service(
      {
        serviceId: 'svc-errors',
        blockId: 'thrower',
        blockType: 'custom',
        config: { module: file },
        prepared: {},
        limits: { timeoutMs: 5000 },
        version: 1,
      },
      { logger, restartBackoff: { initialMs: 20, maxMs: 200 }, waitReadyMs: 15_000, heartbeatMs: 100, desired: 1 },
    );
    services.push(svc);
    svc.start();
    for (const sample of SAMPLES) {
      const err = await svc.dispatch({ kind: sample.kind }).then(
        () => assert.fail(`${sample.kind}: expected a rejection`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof FlowdError, `${sample.kind}: ${String(err)}`);
      assert.deepEqual(essence(err), essence(sample), sample.kind);
      assert.equal(err.node, 'thrower');
      assert.match(err.message, new RegExp(`${sample.message}$`));
    }
  });
});

void describe('across a restart', () => {
  void it('the error a run failed with is read back from the store with its kind, status, code and flag', async () => {
    const ts = await openTestStore(TEST_ON_POSTGRES ? 'postgres' : 'sqlite');
    let store = ts.store;
    try {
      const ids: string[] = [];
      for (const sample of SAMPLES) {
        const id = `wf-${sample.kind}`;
        ids.push(id);
        const tpl: Template = { name: id, description: '', use_case: '', workflows: {} };
        assert.equal(await store.createWorkflow({ id, template: tpl, maxWorkflows: 1000 }), 'ok');
        const runId = `run-${sample.kind}`;
        const begun = await store.beginRun({
          workflowId: id,
          runId,
          kind: 'provision',
          plan: {},
          params: '',
          owner: 'n1',
          leaseMs: 60_000,
          startTime: Date.now(),
          allowedStates: ['NOT_STARTED'],
          keepResources: false,
        });
        assert.deepEqual(begun, { ok: true });
        const failed = stepError('step_1', sample);
        assert.ok(
          await store.finishRun({
            runId,
            workflowId: id,
            state: 'FAILED',
            error: failed.text,
            errorDetail: failed.error,
            endTime: Date.now(),
          }),
        );
      }
      await store.close();
      store = await ts.reopen();
      for (const [i, sample] of SAMPLES.entries()) {
        const s = await store.getState(ids[i]!);
        const back = FlowdError.fromSerialized(s?.errorDetail);
        assert.ok(back, `${sample.kind}: no error detail read back`);
        assert.deepEqual(essence(back), essence(sample), sample.kind);
        assert.equal(s?.error, stepError('step_1', sample).text, 'Flow Framework’s text is stored unchanged beside it');
      }
    } finally {
      await store.close().catch(() => undefined);
      await ts.cleanup().catch(() => undefined);
    }
  });

  void it('a step failing with an upstream 503 answers 503, and after the node restarts its state still says 503', async () => {
    // The "OpenSearch cluster" the create_index step calls answers 503 to everything.
    const upstream = createServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { type: 'cluster_block_exception', reason: 'the cluster is recovering' }, status: 503 }));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const opensearchUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const dataDir = mkdtempSync(join(tmpdir(), 'flowd-error-restart-'));
    const pg = TEST_ON_POSTGRES ? postgresForNode() : undefined;
    const config = { dataDir, opensearchUrl, ...pg?.config };
    let node = await startTestNode(config);
    try {
      const t = template([{ id: 'make_index', type: 'create_index', user_inputs: { index_name: 'idx', configurations: {} } }]);
      const created = await node.request('POST', `${FF}?provision=true&wait_for_completion_timeout=10s`, { body: t });
      assert.equal(created.status, 503, created.text);
      const text = (created.body as { error: string }).error;
      assert.match(text, /^WorkflowStepException during step make_index, the cluster is recovering, restStatus: SERVICE_UNAVAILABLE$/);
      const id = (await node.node.store.listWorkflows())[0]!.id;
      await node.close();

      node = await startTestNode(config);
      const st = await node.request('GET', `${FF}/${id}/_status`);
      assert.equal(st.status, 200);
      assert.deepEqual([(st.body as { state: string }).state, (st.body as { error: string }).error], ['FAILED', text]);
      const detail = FlowdError.fromSerialized((await node.node.store.getState(id))?.errorDetail);
      assert.ok(detail);
      assert.deepEqual(essence(detail), { kind: 'step_failure', status: 503, code: 'opensearch.cluster_block_exception', retryable: true });
    } finally {
      await node.close();
      await pg?.drop();
      rmSync(dataDir, { recursive: true, force: true });
      await new Promise((r) => upstream.close(r));
    }
  });
});

void describe('across a cluster hop', async () => {
  const skip = skipReason(await clusterUnavailable());
  void it('a request served by another node fails with the same kind, status, code and flag', { skip }, async () => {
    const schema = await freshPgSchema();
    const clusterKey = `errors-${randomBytes(4).toString('hex')}`;
    const parts: Array<{ store: PostgresStore; bus: MessageBus; node: ClusterNode }> = [];
    try {
      for (const nodeId of ['a', 'b']) {
        const store = await PostgresStore.open(schema.url);
        const bus = await MessageBus.connect(NATS_URL, `flowd-test-${nodeId}`, logger);
        const node = new ClusterNode({
          store,
          bus,
          logger,
          nodeId,
          url: () => `http://127.0.0.1/${nodeId}`,
          heartbeatMs: 200,
          nodeTtlMs: 2000,
          maxInstances: 4,
          version: 'test',
          clusterKey,
          reports: () => ({}),
        });
        await node.start();
        parts.push({ store, bus, node });
      }
      const [a, b] = [parts[0]!.node, parts[1]!.node];
      // A subscription reaches the NATS server a moment after serve() returns: until then a send finds no responder.
      const failureOf = async (serviceId: string, input: JsonValue): Promise<unknown> => {
        for (let i = 0; ; i++) {
          const e = await a.send(serviceId, input, { timeoutMs: 5000 }).then(
            () => assert.fail(`${serviceId}: expected a rejection`),
            (err: unknown) => err,
          );
          if (!(e instanceof FlowdError && e.code === 'bus.no_responders') || i >= 50) return e;
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      const stopServing = b.serve('svc-errors', (input) => {
        const kind = (input as { kind: ErrorKind }).kind;
        return Promise.reject(SAMPLES.find((s) => s.kind === kind) ?? new Error('no sample'));
      });
      try {
        for (const sample of SAMPLES) {
          const err = await failureOf('svc-errors', { kind: sample.kind });
          assert.ok(err instanceof FlowdError, `${sample.kind}: ${String(err)}`);
          assert.deepEqual(essence(err), essence(sample), sample.kind);
          assert.equal(err.message, sample.message);
        }
        // An error that is no FlowdError is the block's failure on the far side too.
        const stopPlain = b.serve('svc-plain', () => Promise.reject(new Error('boom')));
        const plain = await failureOf('svc-plain', {});
        stopPlain();
        assert.ok(plain instanceof FlowdError);
        assert.deepEqual(essence(plain), { kind: 'step_failure', status: 422, code: 'block.failed', retryable: false });
      } finally {
        stopServing();
      }
    } finally {
      for (const p of parts.reverse()) {
        await p.node.stop();
        await p.bus.close();
        await p.store.close();
      }
      await schema.drop();
    }
  });
});
