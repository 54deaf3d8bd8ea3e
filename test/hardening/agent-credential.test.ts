/**
 * A credential nested in register_agent's inputs (`llm.credential`, `model.credential`, also in
 * a `model` given as JSON text, as Flow Framework passes it) is a secret like a connector's
 * `credential`: sealed in the stored template, never returned by a read route, never logged,
 * and still handed to the agent (which keeps `model.credential` sealed in its document).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { SecretBox } from '../../src/util/secret-box.js';
import { FF, pgSchemaText, startTestNode, template } from '../support/flowd-harness.js';
import type { TestNode } from '../support/flowd-harness.js';

const unique = (prefix: string): string => `${prefix}-${randomBytes(8).toString('hex')}`;

type Status = { state: string; error?: string; resources_created?: Array<{ resource_type: string; resource_id: string }> };

async function provision(node: TestNode, t: unknown): Promise<{ id: string; state: Status }> {
  const created = await node.request('POST', FF, { body: t });
  const id = created.body?.workflow_id as string;
  assert.ok(id, created.text);
  const r = await node.request('POST', `${FF}/${id}/_provision?wait_for_completion_timeout=20s`);
  assert.ok(r.status < 500, r.text);
  return { id, state: (await node.waitForState(id)) as Status };
}

async function assertNowhere(node: TestNode, ids: string[], secrets: string[], log: string[]): Promise<void> {
  const reads: Array<[string, string, unknown?]> = [
    ['GET', '/_flowd/workflows'],
    ['POST', `${FF}/_search`, { query: { match_all: {} }, size: 100 }],
    ['POST', `${FF}/state/_search`, { query: { match_all: {} }, size: 100 }],
  ];
  for (const id of ids) reads.push(['GET', `${FF}/${id}`], ['GET', `${FF}/${id}/_status?all=true`], ['GET', `${FF}/${id}/_status`]);
  const texts: Array<[string, string]> = [];
  for (const [method, path, body] of reads) {
    const r = await node.request(method, path, body !== undefined ? { body } : {});
    assert.equal(r.status, 200, `${method} ${path}: ${r.text}`);
    texts.push([`${method} ${path}`, r.text]);
  }
  texts.push(['the log', log.join('')]);
  if (node.pgSchema !== undefined) texts.push(['PostgreSQL', await pgSchemaText(node.pgSchema)]);
  for (const f of ['flowd.db', 'flowd.db-wal']) {
    const p = join(node.dataDir, f);
    if (existsSync(p)) texts.push([f, readFileSync(p).toString('latin1')]);
  }
  for (const [where, text] of texts) {
    for (const s of secrets) assert.ok(!text.includes(s), `${where} shows ${s}: ${text.slice(0, 2000)}`);
  }
}

void describe('a credential nested in register_agent inputs is a secret', () => {
  let node: TestNode;
  const log: string[] = [];
  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        log.push(chunk.toString());
        cb();
      },
    });
    node = await startTestNode({}, { logger: pino({ level: 'debug' }, sink) });
  });
  after(async () => {
    await node?.close();
  });

  void it('llm.credential, model.credential and a JSON-text model: sealed, redacted, not logged, given to the agent', async () => {
    const llmKey = unique('LlmKey');
    const modelKey = unique('ModelKey');
    const textKey = unique('TextKey');
    const objectAgent = {
      id: 'agent',
      type: 'register_agent',
      user_inputs: {
        name: 'a',
        type: 'conversational',
        llm: { model_id: 'm-1', parameters: { max_iteration: '5' }, credential: { api_key: llmKey } },
        model: { model_id: 'm-1', model_provider: 'openai/v1/chat/completions', credential: { api_key: modelKey } },
      },
    };
    const textAgent = {
      id: 'agent',
      type: 'register_agent',
      user_inputs: {
        name: 'b',
        type: 'flow',
        model: JSON.stringify({ model_id: 'm-2', model_provider: 'bedrock/converse', credential: { access_key: textKey } }),
      },
    };
    const a = await provision(node, template([objectAgent]));
    const b = await provision(node, template([textAgent]));
    for (const { state } of [a, b]) assert.equal(state.state, 'COMPLETED', JSON.stringify(state));

    // What is not secret is still returned.
    const got = await node.request('GET', `${FF}/${a.id}`);
    const inputs = got.body?.workflows?.provision?.nodes?.[0]?.user_inputs as Record<string, Record<string, unknown>>;
    assert.deepEqual(inputs['llm'], { model_id: 'm-1', parameters: { max_iteration: '5' } });
    assert.deepEqual(inputs['model'], { model_id: 'm-1', model_provider: 'openai/v1/chat/completions' });

    // The agent got the model credential (sealed in its document, opened with the node's key:
    // its configured master key on PostgreSQL, the data dir's master.key on SQLite).
    const box = SecretBox.fromDataDir(node.dataDir, node.node.config.masterKey);
    const opened: string[] = [];
    for (const { id, state } of [a, b]) {
      const agentId = state.resources_created?.find((r) => r.resource_type === 'agent_id')?.resource_id;
      assert.ok(agentId, `${id}: ${JSON.stringify(state)}`);
      const pub = await node.request('GET', `/_plugins/_ml/agents/${agentId}`);
      assert.equal(pub.status, 200, pub.text);
      const rec = await node.node.store.getMlResource('agent', agentId);
      const model = rec?.doc['model'] as Record<string, unknown> | undefined;
      assert.ok(model && SecretBox.isSealed(model['credential']), JSON.stringify(rec?.doc));
      opened.push(JSON.stringify(box.openJson(model['credential'] as string)));
    }
    assert.ok(opened[0]?.includes(modelKey) && opened[1]?.includes(textKey), opened.join(' '));

    await assertNowhere(node, [a.id, b.id], [llmKey, modelKey, textKey], log);
  });

  void it('a failing register_agent keeps the nested credential out of its error, the state and the log', async () => {
    const key = unique('FailKey');
    const failing = {
      id: 'agent',
      type: 'register_agent',
      // A wrong agent type fails in the service, after the credential was opened.
      user_inputs: { name: 'c', type: 'nope', model: { model_id: 'm', credential: { api_key: key } } },
    };
    const { id, state } = await provision(node, template([failing]));
    assert.equal(state.state, 'FAILED', JSON.stringify(state));
    assert.match(state.error ?? '', /Wrong Agent type/);
    await assertNowhere(node, [id], [key], log);
  });
});
