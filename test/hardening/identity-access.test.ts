/**
 * Identity and access (issue 14, point 6): login throttling per user name and per address,
 * login timing that does not tell which users exist, the Basic scheme in any case, the last
 * admin kept, access decided before anything is deleted (clear_status and every other
 * route), streams ended when their credential is revoked and after a maximum lifetime,
 * `/_flowd/nodes` filtered by backend roles, and custom-block checks that do not probe files.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { resolveConfig } from '../../src/config.js';
import { startFlowd } from '../../src/server/flowd-node.js';
import type { FlowdNode } from '../../src/server/flowd-node.js';
import { ADMIN_PASSWORD, FF, basic, httpRequest, startTestNode } from '../support/flowd-harness.js';
import type { HttpResult, RequestOptions, TestNode } from '../support/flowd-harness.js';
import { RT, apiKey, rt } from '../support/runtime-client.js';

const USERS = '/_plugins/_security/api/internalusers';
const KEYS = '/_flowd/api_keys';
const UPPER = 'function process(input) { return { text: String(input.text).toUpperCase() }; }';
const FLOW = { mode: 'SYNC', blocks: [{ id: 'upper', type: 'js', config: { source: UPPER } }], edges: [] };

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function putUser(
  node: { request: TestNode['request'] },
  name: string,
  roles: string[],
  backend: string[] = [],
  password = `${name}-password`,
): Promise<HttpResult> {
  return node.request('PUT', `${USERS}/${name}`, { body: { password, opendistro_security_roles: roles, backend_roles: backend } });
}

/** Creates and provisions a published SYNC flow as `auth`; returns its id. */
async function publishedFlow(node: TestNode, auth?: [string, string]): Promise<string> {
  const r = await node.request('POST', `${FF}?provision=true&wait_for_completion_timeout=60s`, {
    ...(auth ? { auth } : {}),
    body: { name: 'ia', description: 'identity and access', use_case: 'TEST', flow: FLOW },
  });
  assert.ok([200, 201, 202].includes(r.status), r.text);
  assert.equal(r.body.state, 'COMPLETED', r.text);
  return r.body.workflow_id as string;
}

// ---- Server-Sent Events reader ----

interface SseEvent {
  event: string;
  data: string;
}

interface Sse {
  events: SseEvent[];
  /** Resolves with the first event. */
  first: Promise<SseEvent>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  isEnded(): boolean;
  close(): void;
}

async function openSse(url: string, headers: Record<string, string>): Promise<Sse> {
  const ac = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: ac.signal });
  assert.equal(res.status, 200, `${url}: ${res.status} ${res.status === 200 ? '' : await res.text()}`);
  assert.ok(res.body);
  const events: SseEvent[] = [];
  let onFirst: (e: SseEvent) => void = () => undefined;
  const first = new Promise<SseEvent>((r) => (onFirst = r));
  let done = false;
  const reader = res.body.getReader();
  const ended = (async () => {
    const dec = new TextDecoder();
    let buf = '';
    try {
      for (;;) {
        const { value, done: end } = await reader.read();
        if (end) break;
        buf += dec.decode(value, { stream: true });
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = '';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data = line.slice(6);
          }
          if (event === '') continue;
          const ev = { event, data };
          events.push(ev);
          if (events.length === 1) onFirst(ev);
        }
      }
    } catch {
      // aborted by close()
    }
    done = true;
  })();
  return { events, first, ended, isEnded: () => done, close: () => ac.abort() };
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The stream ended, promptly, with `event: end` giving `reason`. */
async function assertEndedFor(s: Sse, reason: string, what: string, ms = 5_000): Promise<void> {
  await within(s.ended, ms, what);
  const last = s.events[s.events.length - 1];
  assert.deepEqual(last, { event: 'end', data: JSON.stringify({ reason }) }, `${what}: ${JSON.stringify(s.events)}`);
}

// ---- F12, F13, F22: logins ----

/** A node whose warnings are kept in `lines` (one JSON object each), with login limits of 3 per name, 30 per address. */
async function loggedNode(): Promise<{ node: FlowdNode; lines: string[]; req: TestNode['request']; close: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'flowd-ia-'));
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((l) => l !== ''),
      );
      cb();
    },
  });
  const config = resolveConfig({
    env: {},
    flags: { port: 0, dataDir, adminPassword: ADMIN_PASSWORD, shutdownGraceMs: 200, authMaxFailures: 3, authFailureWindowMs: 60_000 },
  });
  const node = await startFlowd(config, { logger: pino({ level: 'warn' }, sink) });
  const req = (method: string, path: string, opts?: RequestOptions): Promise<HttpResult> => httpRequest(node.url, method, path, opts);
  for (const u of ['victim', 'bystander', 'mallory'])
    assert.equal((await putUser({ request: req }, u, ['flow_framework_read_access'])).status, 201);
  return {
    node,
    lines,
    req,
    close: async () => {
      await node.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

void describe('login throttling (per user name and per address)', () => {
  const steps = `${FF}/_steps`;

  void it('per user name: 429 with Retry-After past the limit, without running scrypt, logged without the password; others unaffected', async () => {
    const { req, lines: logLines, close } = await loggedNode();
    try {
      // A credential verified before the attack keeps working at full speed.
      const cachedHeader = basic('victim', 'victim-password');
      assert.equal((await req('GET', steps, { auth: null, headers: { authorization: cachedHeader } })).status, 200);

      const failed: number[] = [];
      for (let i = 0; i < 3; i++) {
        let r: HttpResult | undefined;
        failed.push(await timed(async () => (r = await req('GET', steps, { auth: ['victim', `Wrong-Guess-${i}`] }))));
        assert.equal(r?.status, 401, r?.text);
      }
      const throttled: number[] = [];
      for (let i = 0; i < 9; i++) {
        let r: HttpResult | undefined;
        throttled.push(await timed(async () => (r = await req('GET', steps, { auth: ['victim', `Wrong-Guess-x${i}`] }))));
        assert.equal(r?.status, 429, r?.text);
        const retry = Number(r?.headers.get('retry-after'));
        assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, `Retry-After ${r?.headers.get('retry-after')}`);
        assert.match(r?.body.error, /Too many failed logins for this user name/);
      }
      // Throttled attempts are refused before the password is hashed: far cheaper than a checked one.
      assert.ok(
        median(throttled) < median(failed) / 2,
        `throttled ${median(throttled).toFixed(1)} ms vs checked ${median(failed).toFixed(1)} ms`,
      );

      // Decided: while throttled, even the right password is refused (checking it would cost
      // the scrypt the throttle saves, and tell a guesser when it hit). Another spelling of the
      // scheme makes a header that was never cached.
      const right = await req('GET', steps, {
        auth: null,
        headers: { authorization: basic('victim', 'victim-password').replace('Basic', 'basic') },
      });
      assert.equal(right.status, 429, right.text);
      // ... but the credential verified before still works.
      assert.equal((await req('GET', steps, { auth: null, headers: { authorization: cachedHeader } })).status, 200);

      // Other users are unaffected, and their success does not reset the victim's counter.
      assert.equal((await req('GET', steps, { auth: ['bystander', 'bystander-password'] })).status, 200);
      assert.equal((await req('GET', steps, { auth: ['bystander', 'Wrong-Guess'] })).status, 401);
      assert.equal((await req('GET', steps, { auth: ['victim', 'Wrong-Guess-again'] })).status, 429);

      const lines = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const failures = lines.filter((l) => l['msg'] === 'login failed: wrong user name or password' && l['user'] === 'victim');
      assert.equal(failures.length, 3, 'each checked failure is logged once');
      assert.ok(
        failures.every((l) => typeof l['address'] === 'string' && l['address'] !== ''),
        'with the client address',
      );
      assert.equal(failures[0]?.['level'], 40, 'as a warning');
      const throttleLines = lines.filter((l) => String(l['msg']).startsWith('login throttled') && l['user'] === 'victim');
      assert.equal(throttleLines.length, 1, "the throttle is logged once per window, not at the attacker's rate");
      assert.ok(!logLines.some((l) => l.includes('Wrong-Guess') || l.includes('victim-password')), 'no password is ever logged');
    } finally {
      await close();
    }
  });

  void it('per address: many user names from one address are throttled too, and a successful login does not reset the address', async () => {
    const { req, lines: logLines, close } = await loggedNode();
    try {
      // 3 per name, 30 per address: 15 names x 1 failure, a success of the attacker's own
      // account (uncached), 15 more: the 31st failure is refused only if the success did not
      // reset the address counter.
      let n = 0;
      const fail = async (): Promise<HttpResult> => req('GET', steps, { auth: [`ghost-${n++}`, 'Wrong-Guess'] });
      for (let i = 0; i < 15; i++) assert.equal((await fail()).status, 401, `attempt ${i}`);
      assert.equal((await req('GET', steps, { auth: ['mallory', 'mallory-password'] })).status, 200);
      for (let i = 15; i < 30; i++) assert.equal((await fail()).status, 401, `attempt ${i}`);
      const r = await fail();
      assert.equal(r.status, 429, r.text);
      assert.match(r.body.error, /from this address/);
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
      // Uncached logins from the address wait too; cached ones do not.
      assert.equal((await req('GET', steps, { auth: ['bystander', 'bystander-password'] })).status, 429);
      assert.equal((await req('GET', steps, { auth: ['mallory', 'mallory-password'] })).status, 200, 'a verified credential keeps working');
      assert.ok(
        logLines.some((l) => l.includes('"scope":"address"')),
        'the address throttle is logged',
      );
    } finally {
      await close();
    }
  });
});

void describe('logins: timing, scheme, last admin', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ authMaxFailures: 10_000 });
  });
  after(async () => node.close());

  void it('take as long for unknown users as for existing ones (no enumeration by timing)', async () => {
    const steps = `${FF}/_steps`;
    const existing: number[] = [];
    const unknown: number[] = [];
    // Warm both paths, then alternate so load affects both alike.
    await node.request('GET', steps, { auth: ['admin', 'nope-warm'] });
    await node.request('GET', steps, { auth: ['nobody-warm', 'nope-warm'] });
    for (let i = 0; i < 9; i++) {
      existing.push(
        await timed(async () => assert.equal((await node.request('GET', steps, { auth: ['admin', `wrong-${i}`] })).status, 401)),
      );
      unknown.push(
        await timed(async () => assert.equal((await node.request('GET', steps, { auth: [`nobody-${i}`, `wrong-${i}`] })).status, 401)),
      );
    }
    const [e, u] = [median(existing), median(unknown)];
    assert.ok(u >= 0.5 * e, `unknown users answered in ${u.toFixed(1)} ms, existing in ${e.toFixed(1)} ms`);
    // Same answer, too.
    const a = await node.request('GET', steps, { auth: ['admin', 'wrong'] });
    const b = await node.request('GET', steps, { auth: ['nobody', 'wrong'] });
    assert.deepEqual([a.status, a.body], [b.status, b.body]);
  });

  void it('accept the Basic scheme in any case (RFC 7617)', async () => {
    const token = Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64');
    for (const scheme of ['Basic', 'basic', 'BASIC', 'bAsIc']) {
      const r = await node.request('GET', `${FF}/_steps`, { auth: null, headers: { authorization: `${scheme} ${token}` } });
      assert.equal(r.status, 200, `${scheme}: ${r.text}`);
    }
    const wrong = await node.request('GET', `${FF}/_steps`, { auth: null, headers: { authorization: `Bearer ${token}` } });
    assert.equal(wrong.status, 401);
  });

  void it('never lose the last all_access user: neither demoted (by itself or another) nor deleted', async () => {
    const demote = await node.request('PUT', `${USERS}/admin`, {
      body: { opendistro_security_roles: ['flow_framework_full_access'], backend_roles: ['admin'] },
    });
    assert.equal(demote.status, 409, demote.text);
    assert.match(demote.body.error, /last user with the all_access role/);
    const del = await node.request('DELETE', `${USERS}/admin`);
    assert.equal(del.status, 409, del.text);
    assert.equal((await node.request('GET', `${FF}/_steps`)).status, 200, 'admin still works');

    // With a second admin the first may go; then the second is the last one.
    assert.equal((await putUser(node, 'admin2', ['all_access'])).status, 201);
    const as2: [string, string] = ['admin2', 'admin2-password'];
    assert.equal(
      (await node.request('PUT', `${USERS}/admin`, { auth: as2, body: { opendistro_security_roles: ['flow_framework_full_access'] } }))
        .status,
      200,
    );
    const self = await node.request('PUT', `${USERS}/admin2`, {
      auth: as2,
      body: { opendistro_security_roles: ['flow_framework_read_access'] },
    });
    assert.equal(self.status, 409, self.text);
    assert.equal((await node.request('DELETE', `${USERS}/admin2`, { auth: as2 })).status, 409);
    assert.equal((await node.request('GET', `${USERS}/admin2`, { auth: as2 })).body.admin2.opendistro_security_roles[0], 'all_access');
    // Restore admin for whoever runs after.
    assert.equal(
      (
        await node.request('PUT', `${USERS}/admin`, {
          auth: as2,
          body: { password: ADMIN_PASSWORD, opendistro_security_roles: ['all_access'], backend_roles: ['admin'] },
        })
      ).status,
      200,
    );
  });
});

// ---- F9, F20: access before data ----

void describe('access is decided before anything is touched (filter_by_backend_roles)', () => {
  let node: TestNode;
  const alice: [string, string] = ['alice', 'alice-password'];
  const bob: [string, string] = ['bob', 'bob-password'];
  const carol: [string, string] = ['carol', 'carol-password']; // reads team_a
  before(async () => {
    node = await startTestNode({ filterByBackendRoles: true });
    assert.equal((await putUser(node, 'alice', ['flow_framework_full_access'], ['team_a'])).status, 201);
    assert.equal((await putUser(node, 'bob', ['flow_framework_full_access'], ['team_b'])).status, 201);
    assert.equal((await putUser(node, 'carol', ['flow_framework_read_access'], ['team_a'])).status, 201);
  });
  after(async () => node.close());

  /** What an admin sees of a workflow: template, state, resources, runtime. */
  const snapshot = async (id: string): Promise<unknown> => {
    const t = await node.request('GET', `${FF}/${id}`);
    const s = await node.request('GET', `${FF}/${id}/_status?all=true`);
    const r = await node.request('GET', `/_flowd/workflows/${id}/runtime`);
    return {
      template: [t.status, t.body?.last_updated_time, t.body?.name],
      state: [s.status, s.body?.state, s.body?.resources_created],
      runtime: [r.status, r.body?.desiredStatus],
    };
  };

  void it('another team gets 403 from every route, and nothing changed (template present, then only the state left)', async () => {
    const id = await publishedFlow(node, alice);
    const before0 = await snapshot(id);
    const attempts: Array<[string, string, RequestOptions?]> = [
      ['DELETE', `${FF}/${id}?clear_status=true`],
      ['DELETE', `${FF}/${id}`],
      ['PUT', `${FF}/${id}`, { body: { name: 'taken', flow: FLOW } }],
      ['PUT', `${FF}/${id}?update_fields=true`, { body: { name: 'taken' } }],
      ['PUT', `${FF}/${id}?reprovision=true`, { body: { name: 'taken', flow: FLOW } }],
      ['POST', `${FF}/${id}/_provision`],
      ['POST', `${FF}/${id}/_deprovision`],
      ['GET', `${FF}/${id}`],
      ['GET', `${FF}/${id}/_status`],
      ['GET', `/_flowd/workflows/${id}/runtime`],
      ['POST', `/_flowd/workflows/${id}/analyze`, { body: { text: 'x' } }],
    ];
    for (const [method, path, opts] of attempts) {
      const r = await node.request(method, path, { ...opts, auth: bob });
      assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
    }
    assert.deepEqual(await snapshot(id), before0, 'nothing changed');

    // The owner deletes the template; the state (with the published services) stays.
    assert.equal((await node.request('DELETE', `${FF}/${id}`, { auth: alice })).status, 200);
    const stateOnly = await node.request('GET', `${FF}/${id}/_status?all=true`);
    assert.equal(stateOnly.status, 200);
    // Now the state's owner decides: still 403 for the other team, and nothing deleted.
    const clear = await node.request('DELETE', `${FF}/${id}?clear_status=true`, { auth: bob });
    assert.equal(clear.status, 403, clear.text);
    assert.equal((await node.request('POST', `${FF}/${id}/_deprovision`, { auth: bob })).status, 403);
    assert.equal((await node.request('DELETE', `${FF}/${id}`, { auth: bob })).status, 404, 'no template: 404, and nothing touched');
    assert.deepEqual((await node.request('GET', `${FF}/${id}/_status?all=true`)).body, stateOnly.body);
    assert.equal((await node.request('GET', `/_flowd/workflows/${id}/runtime`)).status, 404, 'the dashboard route needs the template');
    assert.ok((await node.request('GET', `${FF}/${id}/_status?all=true`, { auth: carol })).status === 200, 'the owner team still sees it');

    // Clearing the status of a workflow whose services still run is refused, for everyone.
    for (const auth of [alice, undefined]) {
      const r = await node.request('DELETE', `${FF}/${id}?clear_status=true`, auth ? { auth } : {});
      assert.equal(r.status, 409, r.text);
      assert.match(r.body.error, /Deprovision it first/);
    }
    // Deprovisioning removes the services, then the state (its template is gone).
    const dep = await node.request('POST', `${FF}/${id}/_deprovision`, { auth: alice });
    assert.equal(dep.status, 200, dep.text);
    assert.equal((await node.request('GET', `${FF}/${id}/_status`)).status, 404);
  });

  void it('clear_status with live services is refused even with the template present; after deprovision it works', async () => {
    const id = await publishedFlow(node, alice);
    const key = await apiKey(node, [id]);
    const r = await node.request('DELETE', `${FF}/${id}?clear_status=true`, { auth: alice });
    assert.equal(r.status, 409, r.text);
    assert.match(r.body.error, /still has \d+ created resource/);
    assert.equal((await node.request('GET', `${FF}/${id}`)).status, 200, 'the template was not deleted');
    const served = await rt(node, key, 'POST', id, 'action/analyze', { text: 'still here' });
    assert.deepEqual([served.status, served.body], [200, { text: 'STILL HERE' }], 'the services still serve');

    assert.equal((await node.request('POST', `${FF}/${id}/_deprovision`, { auth: alice })).status, 200);
    const d = await node.request('DELETE', `${FF}/${id}?clear_status=true`, { auth: alice });
    assert.equal(d.status, 200, d.text);
    assert.equal(d.body.result, 'deleted');
    assert.equal((await node.request('GET', `${FF}/${id}/_status`)).status, 404);
  });

  void it('/_flowd/nodes lists only the instances of workflows the caller may see', async () => {
    const id = await publishedFlow(node, alice);
    const idsSeenBy = async (auth?: [string, string]): Promise<string[]> => {
      const r = await node.request('GET', '/_flowd/nodes', auth ? { auth } : {});
      assert.equal(r.status, 200, r.text);
      assert.ok(r.body.nodes.length >= 1, 'nodes are listed');
      return r.body.nodes.flatMap((n: any) => n.instances.map((i: any) => i.workflow_id as string));
    };
    assert.ok((await idsSeenBy()).includes(id), 'admin sees it');
    assert.ok((await idsSeenBy(alice)).includes(id), 'the owner sees it');
    assert.ok((await idsSeenBy(carol)).includes(id), 'its team sees it');
    assert.ok(!(await idsSeenBy(bob)).includes(id), 'another team does not');
    assert.equal((await node.request('POST', `${FF}/${id}/_deprovision`, { auth: alice })).status, 200);
  });
});

void describe('custom block checks do not probe the host', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowd-ia-custom-'));
  const allowed = join(dir, 'allowed');
  const outside = join(dir, 'outside');
  let disabled: TestNode;
  let enabled: TestNode;
  before(async () => {
    for (const d of [allowed, outside]) {
      rmSync(d, { recursive: true, force: true });
      writeFileSync(join(dir, '.keep'), '');
    }
    const { mkdirSync } = await import('node:fs');
    mkdirSync(allowed);
    mkdirSync(outside);
    writeFileSync(join(allowed, 'echo.mjs'), 'export function process(input) { return input; }\n');
    writeFileSync(join(outside, 'echo.mjs'), 'export function process(input) { return input; }\n');
    disabled = await startTestNode({ customBlockDirs: [] });
    enabled = await startTestNode({ customBlockDirs: [allowed] });
  });
  after(async () => {
    await Promise.all([disabled.close(), enabled.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const flowWith = (module: string): unknown => ({ mode: 'SYNC', blocks: [{ id: 'c', type: 'custom', config: { module } }], edges: [] });
  /** Status and body of create (validation only) and of create+provision, with the module path masked. */
  const answers = async (node: TestNode, module: string): Promise<unknown> => {
    const mask = (t: string): string => t.split(module).join('<module>');
    const created = await node.request('POST', FF, { body: { name: 'c', flow: flowWith(module) } });
    const provisioned = await node.request('POST', `${FF}?provision=true&wait_for_completion_timeout=30s`, {
      body: { name: 'c', flow: flowWith(module) },
    });
    for (const r of [created, provisioned]) assert.ok(!r.text.includes(process.cwd()), `the working directory is not revealed: ${r.text}`);
    return { created: created.status, provisioned: [provisioned.status, mask(provisioned.body?.error ?? provisioned.body?.state ?? '')] };
  };

  void it('disabled: the same 403 for existing and missing files, absolute or relative', async () => {
    const modules = [
      join(outside, 'echo.mjs'),
      join(outside, 'missing.mjs'),
      '/root/.ssh/id_rsa.js',
      'relative/missing.js',
      'package.json.js',
    ];
    const seen = await Promise.all(modules.map((m) => answers(disabled, m)));
    for (const s of seen) assert.deepEqual(s, seen[0], JSON.stringify(seen));
    const p = await disabled.request('POST', `${FF}?provision=true&wait_for_completion_timeout=30s`, {
      body: { name: 'c', flow: flowWith(join(outside, 'echo.mjs')) },
    });
    assert.match(p.text, /custom blocks are disabled on this node/);
  });

  void it('enabled: outside the allowed folders, the same 403 whether the file exists or not', async () => {
    const a = await answers(enabled, join(outside, 'echo.mjs'));
    const b = await answers(enabled, join(outside, 'missing.mjs'));
    const c = await answers(enabled, join(allowed, '..', 'outside', 'echo.mjs'));
    assert.deepEqual(a, b);
    assert.deepEqual(a, c);
    const p = await enabled.request('POST', `${FF}?provision=true&wait_for_completion_timeout=30s`, {
      body: { name: 'c', flow: flowWith(join(outside, 'echo.mjs')) },
    });
    assert.match(p.text, /outside the folders allowed by FLOWD_CUSTOM_BLOCK_DIRS/);
    const missing = await enabled.request('POST', `${FF}?provision=true&wait_for_completion_timeout=30s`, {
      body: { name: 'c', flow: flowWith(join(allowed, 'missing.mjs')) },
    });
    assert.match(missing.text, /does not exist/, 'inside an allowed folder a missing module is named as such');
  });
});

// ---- F10: streams ----

void describe('event streams end when their credential is revoked', () => {
  let node: TestNode;
  let id = '';
  const watcher: [string, string] = ['watcher', 'watcher-password'];
  before(async () => {
    node = await startTestNode();
    id = await publishedFlow(node);
  });
  after(async () => node.close());

  const runtimeStream = async (key: string): Promise<Sse> => {
    const s = await openSse(`${node.url}${RT}/${id}/action/status?watch=true`, { 'x-api-key': key });
    await within(s.first, 10_000, 'first runtime event');
    return s;
  };
  /** Every basic-auth stream route, opened as `auth`. */
  const basicStreams = async (auth: [string, string]): Promise<Sse[]> => {
    const h = { authorization: basic(auth[0], auth[1]) };
    const streams = await Promise.all([
      openSse(`${node.url}${FF}/${id}/_status?watch=true`, h),
      openSse(`${node.url}/_flowd/workflows?watch=true`, h),
      openSse(`${node.url}/_flowd/workflows/${id}/runtime?watch=true`, h),
    ]);
    await Promise.all(streams.map((s, i) => within(s.first, 10_000, `first event of stream ${i}`)));
    return streams;
  };
  const keyIdOf = async (key: string): Promise<string> => {
    const list = await node.request('GET', KEYS);
    const k = list.body.api_keys.find((x: any) => key.startsWith(x.prefix));
    assert.ok(k);
    return k.id as string;
  };

  void it('deleting a key ends its runtime streams at once; streams of other keys go on', async () => {
    const key = await apiKey(node, [id]);
    const other = await apiKey(node, [id]);
    const [s, keep] = [await runtimeStream(key), await runtimeStream(other)];
    assert.equal((await node.request('DELETE', `${KEYS}/${await keyIdOf(key)}`)).status, 200);
    await assertEndedFor(s, 'access_revoked', 'stream of the deleted key');
    await sleep(1_500);
    assert.equal(keep.isEnded(), false, "the other key's stream is still open");
    keep.close();
  });

  void it('rotating a key ends its streams at once, or when the grace period ends', async () => {
    const now = await apiKey(node, [id]);
    const s1 = await runtimeStream(now);
    assert.equal((await node.request('POST', `${KEYS}/${await keyIdOf(now)}/_rotate`)).status, 200);
    await assertEndedFor(s1, 'access_revoked', 'stream of a key rotated without grace');

    const graced = await apiKey(node, [id]);
    const s2 = await runtimeStream(graced);
    const t0 = Date.now();
    assert.equal((await node.request('POST', `${KEYS}/${await keyIdOf(graced)}/_rotate`, { body: { grace_period: '2s' } })).status, 200);
    await sleep(1_000);
    assert.equal(s2.isEnded(), false, 'open during the grace period');
    await assertEndedFor(s2, 'access_revoked', 'stream of a key after its grace period', 8_000);
    assert.ok(Date.now() - t0 >= 1_900, 'not before the grace period ended');
  });

  void it("deleting a user, changing its roles or its password ends all its streams; other users' go on", async () => {
    const admin = await basicStreams(['admin', ADMIN_PASSWORD]);
    for (const change of [
      { what: 'roles changed', run: () => putUser(node, 'watcher', ['flow_framework_full_access']) },
      { what: 'password changed', run: () => putUser(node, 'watcher', ['flow_framework_read_access'], [], 'another-password-1') },
      { what: 'user deleted', run: () => node.request('DELETE', `${USERS}/watcher`) },
    ]) {
      const p = await putUser(node, 'watcher', ['flow_framework_read_access']);
      assert.ok([200, 201].includes(p.status), p.text);
      const streams = await basicStreams(watcher);
      const r = await change.run();
      assert.ok([200, 201].includes(r.status), r.text);
      await Promise.all(streams.map((s, i) => assertEndedFor(s, 'access_revoked', `${change.what}: stream ${i}`)));
    }
    assert.ok(
      admin.every((s) => !s.isEnded()),
      "the admin's streams are still open",
    );
    for (const s of admin) s.close();
  });

  void it("changes made behind this node's back (as another node of a cluster would) end streams within about a second", async () => {
    const key = await apiKey(node, [id]);
    const s = await runtimeStream(key);
    assert.ok(await node.node.store.deleteApiKey(await keyIdOf(key)));
    await assertEndedFor(s, 'access_revoked', 'stream of a key deleted in the store');

    assert.equal((await putUser(node, 'watcher', ['flow_framework_read_access'])).status, 201);
    const streams = await basicStreams(watcher);
    assert.ok(await node.node.store.deleteUser('watcher'));
    await Promise.all(streams.map((st, i) => assertEndedFor(st, 'access_revoked', `stream ${i} of a user deleted in the store`)));
    // Plain requests with the cached credential stop working within seconds too (not after the cache's minute).
    const t0 = Date.now();
    let status = 0;
    while ((status = (await node.request('GET', `${FF}/_steps`, { auth: watcher })).status) === 200 && Date.now() - t0 < 15_000)
      await sleep(200);
    assert.equal(status, 401, 'a user deleted elsewhere is refused here');
    assert.ok(Date.now() - t0 < 10_000, `refused after ${Date.now() - t0} ms`);
  });
});

void describe('event streams have a maximum lifetime', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ streamMaxLifetimeMs: 1_000 });
  });
  after(async () => node.close());

  void it('every stream ends cleanly after streamMaxLifetimeMs, and a reconnect works', async () => {
    const id = await publishedFlow(node);
    const key = await apiKey(node, [id]);
    const h = { authorization: basic('admin', ADMIN_PASSWORD) };
    const t0 = Date.now();
    const streams = await Promise.all([
      openSse(`${node.url}${RT}/${id}/action/status?watch=true`, { 'x-api-key': key }),
      openSse(`${node.url}${FF}/${id}/_status?watch=true`, h),
      openSse(`${node.url}/_flowd/workflows?watch=true`, h),
      openSse(`${node.url}/_flowd/workflows/${id}/runtime?watch=true`, h),
    ]);
    await Promise.all(streams.map((s, i) => assertEndedFor(s, 'max_lifetime', `stream ${i}`, 10_000)));
    assert.ok(Date.now() - t0 >= 900, 'not before the lifetime');
    assert.ok(
      streams.every((s) => s.events.length >= 2),
      'the current state came first',
    );
    const again = await openSse(`${node.url}${FF}/${id}/_status?watch=true`, h);
    assert.equal((await within(again.first, 10_000, 'reconnect')).event, 'status');
    again.close();
    assert.equal((await node.request('POST', `${FF}/${id}/_deprovision`)).status, 200);
  });
});
