/** API keys: the admin routes over HTTP, and verification as the runtime API uses it. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyRequest } from 'fastify';
import { FF, startTestNode, template } from './support/flowd-harness.js';
import type { TestNode } from './support/flowd-harness.js';
import { ApiKeyService, hashApiKey } from '../src/runtime/api-keys.js';
import { requireApiKey } from '../src/server/auth/api-key-auth.js';
import { isFlowdError } from '../src/errors.js';

const KEYS = '/_flowd/api_keys';
const USERS = '/_plugins/_security/api/internalusers';
let node: TestNode;
let wf1 = '';
let wf2 = '';

before(async () => {
  node = await startTestNode();
  const mkWf = async (): Promise<string> => {
    const r = await node.request('POST', FF, { body: template([{ id: 'a', type: 'noop' }]) });
    assert.equal(r.status, 201, r.text);
    return r.body.workflow_id as string;
  };
  wf1 = await mkWf();
  wf2 = await mkWf();
  const u = await node.request('PUT', `${USERS}/alice`, {
    body: { password: 'alice-password', opendistro_security_roles: ['flow_framework_full_access'] },
  });
  assert.equal(u.status, 201, u.text);
});
after(async () => node.close());

const alice: [string, string] = ['alice', 'alice-password'];
const apiKeys = (): ApiKeyService => node.node.apiKeys;

async function createKey(name: string, workflowIds: string[]): Promise<{ id: string; key: string }> {
  const r = await node.request('POST', KEYS, { body: { name, workflow_ids: workflowIds } });
  assert.equal(r.status, 201, r.text);
  return { id: r.body.id as string, key: r.body.key as string };
}

/** The FlowdError `fn` rejects with (fails the test when it resolves). */
async function rejection(fn: () => Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  try {
    await fn();
  } catch (e) {
    assert.ok(isFlowdError(e), `expected a FlowdError, got ${String(e)}`);
    return { status: e.status, code: e.code, message: e.message };
  }
  assert.fail('expected a rejection');
}

void describe('managing API keys over HTTP', () => {
  void it('creates a key shown once, and lists keys without any key material', async () => {
    const r = await node.request('POST', KEYS, { body: { name: 'billing', workflow_ids: [wf1, wf2, wf1] } });
    assert.equal(r.status, 201, r.text);
    const { id, key, prefix } = r.body;
    assert.match(key, /^flowd_[A-Za-z0-9_-]{43}$/);
    assert.ok(key.startsWith(prefix) && prefix.length < 16, 'the prefix is a short start of the key');
    assert.deepEqual(r.body.workflow_ids, [wf1, wf2], 'duplicates dropped');
    assert.equal(r.body.name, 'billing');
    assert.equal(r.body.created_by, 'admin');
    assert.equal(typeof r.body.created_at, 'number');

    const list = await node.request('GET', KEYS);
    assert.equal(list.status, 200);
    const entry = list.body.api_keys.find((k: { id: string }) => k.id === id);
    assert.deepEqual(entry, {
      id,
      name: 'billing',
      prefix,
      workflow_ids: [wf1, wf2],
      created_at: r.body.created_at,
      last_used_at: null,
      created_by: 'admin',
    });
    assert.ok(!list.text.includes(key), 'never the key');
    assert.ok(!list.text.includes(hashApiKey(key)), 'never its hash');
    const again = await node.request('GET', KEYS);
    assert.ok(!again.text.includes(key));
  });

  void it('is for admins only', async () => {
    const { id } = await createKey('admin-made', [wf1]);
    for (const [method, path, body] of [
      ['POST', KEYS, { name: 'x', workflow_ids: [wf1] }],
      ['GET', KEYS, undefined],
      ['DELETE', `${KEYS}/${id}`, undefined],
      ['POST', `${KEYS}/${id}/_rotate`, undefined],
    ] as const) {
      const r = await node.request(method, path, { auth: alice, ...(body ? { body } : {}) });
      assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
      assert.match(r.body.error, /no permissions for \[restapi:admin\/internalusers\]/);
      assert.equal((await node.request(method, path, { auth: null, ...(body ? { body } : {}) })).status, 401);
    }
    assert.ok(
      (await node.request('GET', KEYS)).body.api_keys.some((k: { id: string }) => k.id === id),
      'nothing was deleted',
    );
  });

  void it('refuses bad bodies with 400 and names the problem', async () => {
    const cases: Array<[opts: { body?: unknown; raw?: string }, message: RegExp]> = [
      [{ raw: '{not json' }, /not valid JSON/],
      [{ raw: '' }, /not valid JSON/],
      [{ body: [1, 2] }, /must be a JSON object with \[name, workflow_ids\]/],
      [{ body: { workflow_ids: [wf1] } }, /\[name\] must be a non-empty string/],
      [{ body: { name: '  ', workflow_ids: [wf1] } }, /\[name\] must be a non-empty string/],
      [{ body: { name: 'x'.repeat(101), workflow_ids: [wf1] } }, /at most 100 characters/],
      [{ body: { name: 'x' } }, /\[workflow_ids\] must be a non-empty array/],
      [{ body: { name: 'x', workflow_ids: [] } }, /\[workflow_ids\] must be a non-empty array/],
      [{ body: { name: 'x', workflow_ids: wf1 } }, /\[workflow_ids\] must be a non-empty array/],
      [{ body: { name: 'x', workflow_ids: [1] } }, /\[workflow_ids\] must be a non-empty array/],
      [{ body: { name: 'x', workflowIds: [wf1] } }, /Unknown field \[workflowIds\]/],
    ];
    for (const [opts, message] of cases) {
      const r = await node.request('POST', KEYS, opts);
      assert.equal(r.status, 400, `${JSON.stringify(opts)}: ${r.text}`);
      assert.match(r.body.error, message);
    }
  });

  void it('accepts YAML bodies like the rest of the management API', async () => {
    const r = await node.request('POST', KEYS, { raw: `name: from-yaml\nworkflow_ids:\n  - ${wf1}\n`, contentType: 'application/yaml' });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.body.workflow_ids, [wf1]);
  });

  void it('answers 404 naming the workflows that do not exist', async () => {
    const r = await node.request('POST', KEYS, { body: { name: 'x', workflow_ids: [wf1, 'nope-1', 'nope-2'] } });
    assert.equal(r.status, 404);
    assert.match(r.body.error, /Workflows \[nope-1, nope-2\] not found/);
  });

  void it('deletes a key: it stops working at once', async () => {
    const { id, key } = await createKey('to-delete', [wf1]);
    assert.equal((await apiKeys().verify(key, wf1)).id, id);
    const r = await node.request('DELETE', `${KEYS}/${id}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { id, deleted: true });
    assert.equal((await rejection(() => apiKeys().verify(key, wf1))).code, 'apikey.invalid');
    const again = await node.request('DELETE', `${KEYS}/${id}`);
    assert.equal(again.status, 404);
    assert.match(again.body.error, /API key \[.+\] not found/);
    assert.ok(!(await node.request('GET', KEYS)).body.api_keys.some((k: { id: string }) => k.id === id));
  });
});

void describe('rotating API keys', () => {
  void it('without a grace period: the new value works and the old one stops at once', async () => {
    const { id, key: oldKey } = await createKey('rotate-now', [wf1]);
    await apiKeys().verify(oldKey, wf1); // cached now: rotation must still take effect
    const r = await node.request('POST', `${KEYS}/${id}/_rotate`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.id, id);
    assert.equal(r.body.name, 'rotate-now');
    assert.notEqual(r.body.key, oldKey);
    assert.ok(r.body.key.startsWith(r.body.prefix));
    assert.equal(typeof r.body.rotated_at, 'number');
    assert.equal(r.body.previous_key_valid_until, undefined);
    assert.equal((await apiKeys().verify(r.body.key, wf1)).id, id);
    assert.equal((await rejection(() => apiKeys().verify(oldKey, wf1))).code, 'apikey.invalid');
    const listed = (await node.request('GET', KEYS)).body.api_keys.find((k: { id: string }) => k.id === id);
    assert.equal(listed.prefix, r.body.prefix);
    assert.ok(!JSON.stringify(listed).includes(r.body.key));
  });

  void it('with a grace period: the old value works until it ends, then stops', async () => {
    const { id, key: oldKey } = await createKey('rotate-grace', [wf1]);
    const r = await node.request('POST', `${KEYS}/${id}/_rotate`, { body: { grace_period: '400ms' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(typeof r.body.previous_key_valid_until, 'number');
    assert.equal((await apiKeys().verify(oldKey, wf1)).id, id, 'old value during the grace period');
    assert.equal((await apiKeys().verify(r.body.key, wf1)).id, id, 'new value');
    const wait = r.body.previous_key_valid_until - Date.now() + 50;
    await new Promise((res) => setTimeout(res, Math.max(0, wait)));
    assert.equal((await rejection(() => apiKeys().verify(oldKey, wf1))).code, 'apikey.invalid');
    assert.equal((await apiKeys().verify(r.body.key, wf1)).id, id);
    // A second rotation without grace retires both earlier values.
    const r2 = await node.request('POST', `${KEYS}/${id}/_rotate`, { raw: '' });
    assert.equal(r2.status, 200, r2.text);
    assert.equal((await rejection(() => apiKeys().verify(r.body.key, wf1))).code, 'apikey.invalid');
  });

  void it('refuses unknown keys and bad grace periods', async () => {
    const { id } = await createKey('rotate-bad', [wf1]);
    const unknown = await node.request('POST', `${KEYS}/nope/_rotate`);
    assert.equal(unknown.status, 404);
    const bad = await node.request('POST', `${KEYS}/${id}/_rotate`, { body: { grace_period: 'soon' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /grace_period/);
    const tooLong = await node.request('POST', `${KEYS}/${id}/_rotate`, { body: { grace_period: '30d' } });
    assert.equal(tooLong.status, 400);
    assert.match(tooLong.body.error, /at most 7d/);
    const notString = await node.request('POST', `${KEYS}/${id}/_rotate`, { body: { grace_period: 60 } });
    assert.equal(notString.status, 400);
    const unknownField = await node.request('POST', `${KEYS}/${id}/_rotate`, { body: { grace: '1m' } });
    assert.equal(unknownField.status, 400);
    assert.match(unknownField.body.error, /Unknown field \[grace\]/);
  });
});

void describe('ApiKeyService.verify', () => {
  void it('401 for a missing or unknown key, 403 for a key not linked to the workflow', async () => {
    const { id, key } = await createKey('verify', [wf1]);
    for (const missing of [undefined, '', '   ']) {
      const e = await rejection(() => apiKeys().verify(missing, wf1));
      assert.equal(e.status, 401);
      assert.equal(e.code, 'apikey.missing');
      assert.match(e.message, /X-API-KEY/);
    }
    const wrong = await rejection(() => apiKeys().verify(key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A'), wf1));
    assert.equal(wrong.status, 401);
    assert.equal(wrong.code, 'apikey.invalid');
    assert.match(wrong.message, /X-API-KEY/);
    const other = await rejection(() => apiKeys().verify(key, wf2));
    assert.equal(other.status, 403);
    assert.equal(other.code, 'apikey.forbidden');
    assert.ok(other.message.includes(wf2));
    assert.ok(!other.message.includes(key), 'errors never echo the key');
    const rec = await apiKeys().verify(key, wf1);
    assert.equal(rec.id, id);
    assert.deepEqual(rec.workflowIds, [wf1]);
  });

  void it('records last use in batches, written on flush', async () => {
    const { id, key } = await createKey('last-used', [wf1]);
    const before = Date.now();
    await apiKeys().flush();
    const stored = async () => (await node.node.store.listApiKeys()).find((k) => k.id === id);
    assert.equal((await stored())?.lastUsedAt, undefined);
    await apiKeys().verify(key, wf1);
    await apiKeys().verify(key, wf1);
    await apiKeys().flush();
    const used = (await stored())?.lastUsedAt;
    assert.ok(used !== undefined && used >= before, `lastUsedAt ${String(used)}`);
    const listed = (await node.request('GET', KEYS)).body.api_keys.find((k: { id: string }) => k.id === id);
    assert.equal(listed.last_used_at, used);
    await rejection(() => apiKeys().verify(key, wf2));
    await apiKeys().flush();
    assert.equal((await stored())?.lastUsedAt, used, 'a refused call is not a use');
  });

  void it('requireApiKey reads X-API-KEY, and asks for nothing when security is disabled', async () => {
    const { id, key } = await createKey('header', [wf1]);
    const req = (headers: Record<string, string>): FastifyRequest => ({ headers }) as unknown as FastifyRequest;
    assert.equal((await requireApiKey(req({ 'x-api-key': key }), wf1, apiKeys()))?.id, id);
    assert.equal((await rejection(() => requireApiKey(req({}), wf1, apiKeys()))).code, 'apikey.missing');
    assert.equal((await rejection(() => requireApiKey(req({ 'x-api-key': key }), wf2, apiKeys()))).code, 'apikey.forbidden');
    const open = new ApiKeyService({ store: node.node.store, required: false });
    try {
      assert.equal(await requireApiKey(req({}), wf1, open), undefined);
    } finally {
      await open.close();
    }
  });
});
