/** Users, roles, basic auth, backend-role filtering and secrets at rest. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { FF, pgSchemaText, startTestNode, template } from './support/flowd-harness.js';
import type { TestNode } from './support/flowd-harness.js';

const USERS = '/_plugins/_security/api/internalusers';
let node: TestNode;

before(async () => {
  node = await startTestNode({ filterByBackendRoles: true });
  const mk = async (name: string, roles: string[], backend: string[]): Promise<void> => {
    const r = await node.request('PUT', `${USERS}/${name}`, {
      body: { password: `${name}-password`, opendistro_security_roles: roles, backend_roles: backend },
    });
    assert.equal(r.status, 201, r.text);
  };
  await mk('alice', ['flow_framework_full_access'], ['team_a']);
  await mk('bob', ['flow_framework_full_access'], ['team_b']);
  await mk('reader', ['flow_framework_read_access'], ['team_a']);
  await mk('nobackend', ['flow_framework_full_access'], []);
});
after(async () => node.close());

const as = (u: string): [string, string] => [u, `${u}-password`];

void describe('authentication', () => {
  void it('requires basic auth on management routes', async () => {
    const none = await node.request('GET', `${FF}/_steps`, { auth: null });
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Basic realm="flowd"');
    assert.match(none.body.error, /Authentication required/);
    const wrong = await node.request('GET', `${FF}/_steps`, { auth: ['admin', 'not-it'] });
    assert.equal(wrong.status, 401);
    const unknown = await node.request('GET', `${FF}/_steps`, { auth: ['ghost', 'whatever1'] });
    assert.equal(unknown.status, 401);
  });

  void it('read-only users can read but not write', async () => {
    assert.equal((await node.request('GET', `${FF}/_steps`, { auth: as('reader') })).status, 200);
    const w = await node.request('POST', FF, { auth: as('reader'), body: template([{ id: 'a', type: 'noop' }]) });
    assert.equal(w.status, 403);
    assert.match(
      w.body.error,
      /^no permissions for \[cluster:admin\/opensearch\/flow_framework\/workflow\/create\] and User \[name=reader/,
    );
  });

  void it('only admins manage users', async () => {
    const r = await node.request('PUT', `${USERS}/mallory`, { auth: as('alice'), body: { password: 'mallory-pw-1' } });
    assert.equal(r.status, 403);
    const list = await node.request('GET', USERS);
    assert.deepEqual(Object.keys(list.body).sort(), ['admin', 'alice', 'bob', 'nobackend', 'reader']);
    assert.equal(list.body.alice.hash, '', 'hashes are never returned');
    const bad = await node.request('PUT', `${USERS}/x`, { body: { password: 'short' } });
    assert.equal(bad.status, 400);
    const badRole = await node.request('PUT', `${USERS}/x`, {
      body: { password: 'long-enough-1', opendistro_security_roles: ['superuser'] },
    });
    assert.equal(badRole.status, 400);
    assert.match(badRole.body.error, /Unknown roles \[superuser\]/);
  });
});

void describe('filter_by_backend_roles', () => {
  let aliceWf = '';
  before(async () => {
    const r = await node.request('POST', `${FF}?provision=true&wait_for_completion_timeout=5s`, {
      auth: as('alice'),
      body: template([{ id: 'a', type: 'noop' }]),
    });
    assert.equal(r.status, 202, r.text);
    aliceWf = r.body.workflow_id;
  });

  void it('stores the owner as Flow Framework shows it (to admins only)', async () => {
    const s = await node.request('GET', `${FF}/${aliceWf}/_status?all=true`);
    assert.deepEqual(s.body.user, {
      name: 'alice',
      backend_roles: ['team_a'],
      roles: ['flow_framework_full_access'],
      custom_attribute_names: [],
      user_requested_tenant: null,
    });
    const asAlice = await node.request('GET', `${FF}/${aliceWf}/_status?all=true`, { auth: as('alice') });
    assert.equal(asAlice.body.user, undefined);
    assert.equal((await node.request('GET', `${FF}/${aliceWf}`)).body.user.name, 'alice');
    assert.equal((await node.request('GET', `${FF}/${aliceWf}`, { auth: as('alice') })).body.user, undefined);
  });

  void it('users sharing a backend role may access; others get 403', async () => {
    assert.equal((await node.request('GET', `${FF}/${aliceWf}`, { auth: as('reader') })).status, 200);
    for (const [m, p] of [
      ['GET', `${FF}/${aliceWf}`],
      ['GET', `${FF}/${aliceWf}/_status`],
      ['POST', `${FF}/${aliceWf}/_deprovision`],
      ['DELETE', `${FF}/${aliceWf}`],
    ] as const) {
      const r = await node.request(m, p, { auth: as('bob') });
      assert.equal(r.status, 403, `${m} ${p}: ${r.text}`);
      assert.equal(r.body.error, `User does not have permissions to access workflow: ${aliceWf}`);
    }
    const search = await node.request('POST', `${FF}/_search`, { auth: as('bob'), body: { query: { match_all: {} } } });
    assert.ok(!search.body.hits.hits.some((h: any) => h._id === aliceWf), 'search hides other teams’ workflows');
    const mine = await node.request('POST', `${FF}/_search`, { auth: as('alice'), body: { query: { match_all: {} } } });
    assert.ok(mine.body.hits.hits.some((h: any) => h._id === aliceWf));
  });

  void it('a user without backend roles cannot create', async () => {
    const r = await node.request('POST', FF, { auth: as('nobackend'), body: template([{ id: 'a', type: 'noop' }]) });
    assert.equal(r.status, 403);
    assert.equal(r.body.error, 'Filter by backend roles is enabled, but User nobackend does not have any backend roles configured');
  });
});

void describe('secrets', () => {
  void it('credentials are encrypted at rest and never returned', async () => {
    const secret = 'sk-very-secret-value-12345';
    const t = template([
      {
        id: 'conn',
        type: 'create_connector',
        user_inputs: {
          name: 'c',
          description: 'd',
          version: '1',
          protocol: 'http',
          parameters: { endpoint: 'example.invalid' },
          credential: { openAI_key: secret },
          actions: [{ action_type: 'predict', method: 'POST', url: 'https://${parameters.endpoint}/v1' }],
        },
      },
    ]);
    const r = await node.request('POST', `${FF}?provision=true&wait_for_completion_timeout=5s`, { body: t });
    assert.equal(r.status, 202, r.text);
    const got = await node.request('GET', `${FF}/${r.body.workflow_id}`);
    assert.equal(got.body.workflows.provision.nodes[0].user_inputs.credential, undefined);
    const search = await node.request('POST', `${FF}/_search`, { body: { query: { ids: { values: [r.body.workflow_id] } } } });
    assert.ok(!search.text.includes(secret));
    assert.ok(!search.text.includes('credential'));
    const connectorId = r.body.resources_created[0].resource_id;
    const conn = await node.request('GET', `/_plugins/_ml/connectors/${connectorId}`);
    assert.equal(conn.status, 200, conn.text);
    assert.ok(!conn.text.includes(secret));
    if (node.pgSchema !== undefined) {
      // PostgreSQL (FLOWD_TEST_STORE=postgres): the rows are at rest in the node's schema, and the
      // master key comes from the configuration (FLOWD_MASTER_KEY), so there is no master.key file.
      const stored = await pgSchemaText(node.pgSchema);
      assert.ok(stored.includes(connectorId), 'the dump holds the connector');
      assert.ok(!stored.includes(secret), 'no table holds the plaintext secret');
      return;
    }
    for (const f of ['flowd.db', 'flowd.db-wal']) {
      const p = join(node.dataDir, f);
      if (existsSync(p)) assert.ok(!readFileSync(p).includes(secret), `${f} holds no plaintext secret`);
    }
    assert.equal(statSync(join(node.dataDir, 'master.key')).mode & 0o777, 0o600);
  });
});

void describe('bootstrap and insecure mode', () => {
  void it('generates an admin password once, in a 0600 file', async () => {
    const n = await startTestNode({ adminPassword: undefined });
    try {
      const file = join(n.dataDir, 'admin-password');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const pw = readFileSync(file, 'utf8').trim();
      assert.ok(pw.length >= 12);
      assert.equal((await n.request('GET', `${FF}/_steps`, { auth: ['admin', pw] })).status, 200);
    } finally {
      await n.close();
    }
  });

  void it('--insecure turns auth off', async () => {
    const n = await startTestNode({ securityEnabled: false });
    try {
      assert.equal((await n.request('GET', `${FF}/_steps`, { auth: null })).status, 200);
    } finally {
      await n.close();
    }
  });
});
