/**
 * The typed client's watch calls outlive the server's stream lifetime (streamMaxLifetimeMs):
 * a stream ended with `max_lifetime`, or whose connection broke off, is reopened by itself and
 * updates keep coming; a stream ended with `access_revoked` stops with a FlowdClientError of
 * kind `auth`, on every watch route, for API keys and users alike. The CLI explains it.
 */
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FlowdClient, FlowdClientError } from '@flowd/client';
import { explainError } from '../../src/cli/cli-errors.js';
import { ADMIN_PASSWORD, FF, startTestNode } from '../support/flowd-harness.js';
import type { TestNode } from '../support/flowd-harness.js';
import { apiKey } from '../support/runtime-client.js';

const USERS = '/_plugins/_security/api/internalusers';
const KEYS = '/_flowd/api_keys';
const UPPER = 'function process(input) { return { text: String(input.text).toUpperCase() }; }';
const FLOW = { mode: 'SYNC', blocks: [{ id: 'upper', type: 'js', config: { source: UPPER } }], edges: [] };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(pred: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Settles to 'pending' while `p` has not settled, else to its outcome. */
async function state(p: Promise<void>): Promise<unknown> {
  return Promise.race([
    p.then(
      () => 'resolved',
      (e: unknown) => e,
    ),
    sleep(0).then(() => 'pending'),
  ]);
}

/** A client whose event-stream requests are counted (each `?watch=true` fetch is one connection). */
function countingClient(
  url: string,
  opts: { password?: string; user?: string; apiKey?: string } = {},
): { client: FlowdClient; opens: () => number } {
  let n = 0;
  const client = new FlowdClient({
    url,
    ...opts,
    fetch: (input, init) => {
      if (String(input instanceof Request ? input.url : input).includes('watch=true')) n++;
      return fetch(input, init);
    },
  });
  return { client, opens: () => n };
}

async function createFlow(node: TestNode): Promise<string> {
  const r = await node.request('POST', FF, { body: { name: 'sr', description: 'stream reconnect', use_case: 'TEST', flow: FLOW } });
  assert.equal(r.status, 201, r.text);
  return r.body.workflow_id as string;
}

void describe('watch calls reconnect after the stream lifetime', { timeout: 60_000 }, () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ streamMaxLifetimeMs: 1_000 });
  });
  after(async () => node.close());

  void it('watchStatus keeps delivering changes across lifetime ends, without repeating the status', async () => {
    const id = await createFlow(node);
    const { client, opens } = countingClient(node.url, { password: ADMIN_PASSWORD });
    const states: string[] = [];
    const ac = new AbortController();
    const watched = client.watchStatus(
      id,
      (e) => {
        if (e.type !== 'status') return;
        states.push(e.status.state);
        if (e.status.state === 'COMPLETED') ac.abort();
      },
      ac.signal,
    );
    // Two lifetime ends: three connections.
    await until(() => opens() >= 3, 'two reconnects');
    assert.equal(await state(watched), 'pending', 'the watch goes on after the server ended its stream');
    assert.deepEqual(states, ['NOT_STARTED'], 'a reopened stream does not repeat an unchanged status');
    await client.provision(id);
    await until(() => states.includes('COMPLETED'), 'COMPLETED after the reconnects');
    await watched;
  });

  void it('watchWorkflowOverview and watchRuntimeStatus (key and basic) go on across lifetime ends', async () => {
    const id = await createFlow(node);
    await node.request('POST', `${FF}/${id}/_provision`);
    await node.waitForState(id);
    const key = await apiKey(node, [id]);
    const { client, opens } = countingClient(node.url, { password: ADMIN_PASSWORD, apiKey: key });
    const ac = new AbortController();
    let rows = 0;
    const runtime: Array<{ type: string }> = [];
    const basicRuntime: Array<{ type: string }> = [];
    const watches = [
      client.watchWorkflowOverview(() => rows++, ac.signal),
      client.watchRuntimeStatus(id, (e) => runtime.push(e), ac.signal),
      client.watchRuntimeStatus(id, (e) => basicRuntime.push(e), ac.signal, { auth: 'basic' }),
    ];
    await until(() => opens() >= 9, 'two reconnects of each stream');
    for (const w of watches) assert.equal(await state(w), 'pending');
    const before = rows;
    // A change after the reconnects still arrives: a new workflow shows in the overview.
    await createFlow(node);
    await until(() => rows > before, 'an overview update after the reconnects');
    assert.ok(runtime.length >= 1 && runtime.every((e) => e.type === 'status'), JSON.stringify(runtime));
    assert.ok(basicRuntime.length >= 1 && basicRuntime.every((e) => e.type === 'status'), JSON.stringify(basicRuntime));
    ac.abort();
    await Promise.all(watches);
  });
});

void describe('watch calls reconnect after a broken connection', { timeout: 60_000 }, () => {
  let node: TestNode;
  const sockets = new Set<Socket>();
  const proxy = createServer((c) => {
    // A plain TCP relay to the node, whose connections the test can cut.
    const u = connect(Number(new URL(node.url).port), new URL(node.url).hostname);
    for (const s of [c, u]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    c.pipe(u).pipe(c);
    c.on('close', () => u.destroy());
    u.on('close', () => c.destroy());
  });
  before(async () => {
    node = await startTestNode();
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => proxy.close(() => r()));
    await node.close();
  });

  void it('watchStatus reopens a stream whose connection was cut, and changes keep coming', async () => {
    const id = await createFlow(node);
    const { client, opens } = countingClient(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, { password: ADMIN_PASSWORD });
    const states: string[] = [];
    const ac = new AbortController();
    const watched = client.watchStatus(
      id,
      (e) => {
        if (e.type !== 'status') return;
        states.push(e.status.state);
        if (e.status.state === 'COMPLETED') ac.abort();
      },
      ac.signal,
    );
    await until(() => states.length === 1, 'the first status');
    for (const s of sockets) s.destroy();
    await until(() => opens() >= 2, 'a reconnect after the cut');
    assert.equal(await state(watched), 'pending', 'a cut connection does not end the watch');
    await node.request('POST', `${FF}/${id}/_provision`);
    await until(() => states.includes('COMPLETED'), 'COMPLETED after the reconnect');
    await watched;
  });
});

void describe('watch calls stop with an auth error when the credential is revoked', { timeout: 60_000 }, () => {
  let node: TestNode;
  let id = '';
  before(async () => {
    node = await startTestNode({ streamMaxLifetimeMs: 1_000 });
    id = await createFlow(node);
    await node.request('POST', `${FF}/${id}/_provision`);
    await node.waitForState(id);
  });
  after(async () => node.close());

  const assertRevoked = async (p: Promise<void>, api: 'management' | 'runtime', what: string): Promise<void> => {
    await assert.rejects(
      p,
      (e: unknown) => {
        assert.ok(e instanceof FlowdClientError, `${what}: ${String(e)}`);
        assert.equal(e.kind, 'auth', `${what}: ${e.message}`);
        assert.equal(e.status, 401);
        assert.equal(e.api, api);
        assert.match(e.message, /revoked/);
        return true;
      },
      what,
    );
  };

  void it('deleting the API key ends watchRuntimeStatus with kind auth, even after lifetime ends', async () => {
    const key = await apiKey(node, [id]);
    const { client, opens } = countingClient(node.url, { apiKey: key });
    const watched = client.watchRuntimeStatus(id, () => undefined);
    await until(() => opens() >= 2, 'a reconnect');
    const keys = await node.request('GET', KEYS);
    const k = keys.body.api_keys.find((x: { prefix: string }) => key.startsWith(x.prefix)) as { id: string };
    // The stream may end before the DELETE's answer is in: expect it first.
    const revoked = assertRevoked(watched, 'runtime', 'watchRuntimeStatus of a deleted key');
    assert.equal((await node.request('DELETE', `${KEYS}/${k.id}`)).status, 200);
    await revoked;
  });

  void it('deleting the user ends each of its watches with kind auth', async () => {
    const put = await node.request('PUT', `${USERS}/watcher`, {
      body: { password: 'watcher-password-1', opendistro_security_roles: ['flow_framework_read_access'] },
    });
    assert.ok([200, 201].includes(put.status), put.text);
    const { client, opens } = countingClient(node.url, { user: 'watcher', password: 'watcher-password-1' });
    const watches = [
      client.watchStatus(id, () => undefined),
      client.watchWorkflowOverview(() => undefined),
      client.watchRuntimeStatus(id, () => undefined, undefined, { auth: 'basic' }),
    ];
    await until(() => opens() >= 6, 'a reconnect of each stream');
    const revoked = Promise.all(watches.map((w, i) => assertRevoked(w, 'management', `watch ${i} of a deleted user`)));
    assert.equal((await node.request('DELETE', `${USERS}/watcher`)).status, 200);
    await revoked;
  });

  void it('the CLI explains a revoked credential and how to watch again', () => {
    for (const api of ['management', 'runtime'] as const) {
      const e = new FlowdClientError({
        status: 401,
        kind: 'auth',
        message: 'the API key (X-API-KEY) was revoked while watching',
        api,
        method: 'GET',
        url: node.url,
      });
      const x = explainError(e, { url: node.url, user: 'admin', passwordGiven: true, apiKeyGiven: true });
      assert.equal(x.exitCode, 1);
      assert.match(x.message, /revoked/);
      assert.match(x.hint ?? '', api === 'runtime' ? /--api-key/ : /--password/);
    }
  });
});
