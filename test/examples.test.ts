/**
 * Runs every example under examples/ end to end, from its own files: a real flowd node, the
 * example's helper server spawned as the README tells people to run it, the template read
 * from disk (YAML), the example's input and params files, and assertions on the real output
 * of the built-in models, the model server, the mini OpenSearch and the REST API.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { TestNode } from './support/flowd-harness.js';
import { FF, httpRequest, startTestNode } from './support/flowd-harness.js';
import type { HelperServer } from './support/example-runner.js';
import { EXAMPLES_DIR, examplePath, postTemplate, readExampleJson, startHelperServer } from './support/example-runner.js';
import { apiKey, rt } from './support/runtime-client.js';

const PROVISION = 'provision=true&wait_for_completion_timeout=60s';

const resourcesOf = (status: any, type: string): string[] =>
  (status.resources_created as any[]).filter((r) => r.resource_type === type).map((r) => r.resource_id as string);

/** A GET on a helper server (no flowd auth). */
const peek = async (server: HelperServer, path: string): Promise<{ status: number; body: any }> =>
  httpRequest(server.url, 'GET', path, { auth: null });

void describe('examples/', () => {
  void it('every example has a README, a template and input or params files', () => {
    const dirs = readdirSync(EXAMPLES_DIR, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    assert.ok(dirs.length >= 4, `at least four examples, found ${dirs.join(', ')}`);
    for (const dir of dirs) {
      const files = readdirSync(examplePath(dir));
      assert.ok(files.includes('README.md'), `${dir}/README.md`);
      assert.ok(
        files.some((f) => /^template\.(ya?ml|json)$/.test(f)),
        `${dir} has a template`,
      );
      const inputs = files.filter((f) => f.endsWith('.json'));
      assert.ok(inputs.length > 0, `${dir} has input or params files`);
      const readme = readFileSync(examplePath(dir, 'README.md'), 'utf8');
      for (const f of [...inputs, ...files.filter((x) => x.endsWith('.mjs'))])
        assert.ok(readme.includes(f), `${dir}/README.md tells how to use ${f}`);
    }
  });
});

void describe('examples/ticket-triage (SYNC, three local models and a js router)', () => {
  let node: TestNode;
  let id: string;
  let key: string;
  before(async () => {
    node = await startTestNode();
    const r = await postTemplate(node, 'ticket-triage/template.yaml', PROVISION);
    assert.equal(r.body?.state, 'COMPLETED', r.text);
    assert.equal(resourcesOf(r.body, 'model_id').length, 6, 'three models registered and deployed');
    assert.equal(resourcesOf(r.body, 'service_id').length, 4, 'four blocks published');
    id = r.body.workflow_id;
    key = await apiKey(node, [id]);
  });
  after(() => node?.close());

  const triage = async (file: string): Promise<any> => {
    const r = await rt(node, key, 'POST', id, 'action/analyze', readExampleJson('ticket-triage', file));
    assert.equal(r.status, 200, r.text);
    return r.body;
  };

  void it('an angry English ticket goes to urgent-en with its names, date, email and amount', async () => {
    const out = await triage('input-en.json');
    assert.equal(out.ticket_id, 'T-1001');
    assert.equal(out.language, 'en');
    assert.ok(out.language_confidence > 0.5);
    assert.equal(out.sentiment, 'negative');
    assert.ok(out.sentiment_score < 0);
    assert.equal(out.queue, 'urgent-en');
    assert.equal(out.priority, 'high');
    const byType = Object.fromEntries(out.entities.map((e: any) => [e.type, e.text]));
    assert.equal(byType.PERSON, 'Maria Lopez');
    assert.equal(byType.EMAIL, 'maria@example.com');
    assert.equal(byType.DATE, '3 March 2024');
    assert.equal(byType.MONEY, '$120');
    assert.equal(out.reply_to, 'maria@example.com');
  });

  void it('a Spanish complaint goes to urgent-es (the sentiment lexicon extended through parameters)', async () => {
    const out = await triage('input-es.json');
    assert.equal(out.language, 'es');
    assert.equal(out.sentiment, 'negative');
    assert.equal(out.queue, 'urgent-es');
    assert.equal(out.reply_to, 'ana.garcia@example.es');
    assert.deepEqual(out.entities.map((e: any) => e.type).sort(), ['CARDINAL', 'EMAIL'], 'only language-independent entity types');
  });

  void it('a polite French request goes to support-fr', async () => {
    const out = await triage('input-fr.json');
    assert.equal(out.language, 'fr');
    assert.equal(out.sentiment, 'positive');
    assert.equal(out.queue, 'support-fr');
    assert.equal(out.priority, 'normal');
    assert.equal(out.reply_to, null);
  });

  void it('a ticket without text is refused by the input schema', async () => {
    const r = await rt(node, key, 'POST', id, 'action/analyze', { id: 'T-0' });
    assert.equal(r.status, 400, r.text);
    assert.match(JSON.stringify(r.body.errors), /text/);
  });
});

void describe('examples/document-splitter (ASYNC split → model → map → reduce)', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode();
  });
  after(() => node?.close());

  void it('a task returns one result per sentence, in order, with offsets into the document', async () => {
    const r = await postTemplate(node, 'document-splitter/template.yaml', PROVISION);
    assert.equal(r.body?.state, 'COMPLETED', r.text);
    const id: string = r.body.workflow_id;
    const key = await apiKey(node, [id]);
    const input = readExampleJson('document-splitter', 'input.json');
    const submitted = await rt(node, key, 'POST', id, 'task', input);
    assert.equal(submitted.status, 202, submitted.text);
    const taskId: string = submitted.body.taskId;
    const done = await rt(node, key, 'GET', id, `task/${taskId}?wait=30s`);
    assert.equal(done.body.status, 'COMPLETED', done.text);
    const result = await rt(node, key, 'GET', id, `task/${taskId}/result`);
    assert.equal(result.status, 200, result.text);
    const out = result.body;
    assert.equal(out.title, input.title);
    assert.equal(out.sentence_count, 5, 'the "Dr." abbreviation does not end a sentence');
    assert.equal(out.sentences.length, 5);
    out.sentences.forEach((s: any, i: number) => {
      assert.equal(s.index, i);
      assert.equal(input.text.slice(s.start, s.end), s.text);
      assert.ok(['positive', 'neutral', 'negative'].includes(s.label));
    });
    assert.deepEqual(
      out.sentences.map((s: any) => s.label),
      ['neutral', 'positive', 'negative', 'positive', 'neutral'],
    );
    assert.ok(out.sentences[2].negative_words.includes('disappointing'));
    assert.deepEqual(out.counts, { positive: 2, neutral: 2, negative: 1 });
    assert.equal(out.most_negative, 2);
  });
});

void describe('examples/remote-model (a connector to model-server.mjs)', () => {
  let server: HelperServer;
  let node: TestNode;
  before(async () => {
    server = await startHelperServer('remote-model/model-server.mjs');
    node = await startTestNode();
  });
  after(async () => {
    await node?.close();
    await server?.close();
  });

  void it('the SYNC flow answers with the model server reply; the credential stays secret', async () => {
    const r = await postTemplate(node, 'remote-model/template.yaml', `${PROVISION}&model_server_url=${encodeURIComponent(server.url)}`);
    assert.equal(r.body?.state, 'COMPLETED', r.text);
    assert.equal(resourcesOf(r.body, 'connector_id').length, 1);
    const id: string = r.body.workflow_id;
    const key = await apiKey(node, [id]);
    const input = readExampleJson('remote-model', 'input.json');
    assert.match(input.question, /"/, 'the example question has quotes, which the prepare block escapes');
    const out = await rt(node, key, 'POST', id, 'action/analyze', input);
    assert.equal(out.status, 200, out.text);
    assert.equal(out.body.answer, `Echo: ${input.question}`);
    assert.equal(out.body.model, 'local-echo-1');
    assert.ok(out.body.total_tokens > 0);
    assert.ok(server.output.includes('POST /v1/chat/completions 200'), server.output.join('\n'));
    const template = await node.request('GET', `${FF}/${id}`);
    assert.ok(!template.text.includes('local-demo-key'), 'GET never returns the credential');
  });
});

void describe('examples/semantic-search (the built-in use case against mini-opensearch.mjs)', () => {
  let server: HelperServer;
  let node: TestNode;
  before(async () => {
    server = await startHelperServer('semantic-search/mini-opensearch.mjs');
    node = await startTestNode({ opensearchUrl: server.url });
  });
  after(async () => {
    await node?.close();
    await server?.close();
  });

  void it('provisions the ingest pipeline and the k-NN index, lists them, and deprovisions them', async () => {
    const params = readExampleJson('semantic-search', 'params.json');
    const r = await node.request('POST', `${FF}?use_case=semantic_search&${PROVISION}`, { body: params });
    assert.equal(r.body?.state, 'COMPLETED', r.text);
    const id: string = r.body.workflow_id;
    const status = await node.request('GET', `${FF}/${id}/_status`);
    assert.deepEqual(resourcesOf(status.body, 'pipeline_id'), ['faq-ingest-pipeline']);
    assert.deepEqual(resourcesOf(status.body, 'index_name'), ['faq-index']);

    const index = (await peek(server, '/faq-index')).body['faq-index'];
    assert.equal(index.settings.index.default_pipeline, 'faq-ingest-pipeline');
    assert.equal(index.settings.index.knn, 'true');
    assert.equal(index.mappings.properties.question_embedding.type, 'knn_vector');
    assert.equal(index.mappings.properties.question.type, 'text');
    const pipeline = (await peek(server, '/_ingest/pipeline/faq-ingest-pipeline')).body['faq-ingest-pipeline'];
    assert.deepEqual(pipeline.processors[0].text_embedding, {
      model_id: params['create_ingest_pipeline.model_id'],
      field_map: { question: 'question_embedding' },
    });
    assert.deepEqual(
      (await peek(server, '/_cat/indices?format=json')).body.map((i: any) => i.index),
      ['faq-index'],
    );

    // template.yaml is what the use case expands to with params.json.
    const written = await postTemplate(node, 'semantic-search/template.yaml');
    assert.equal(written.status, 201, written.text);
    const fromUseCase = (await node.request('GET', `${FF}/${id}`)).body;
    const fromFile = (await node.request('GET', `${FF}/${written.body.workflow_id}`)).body;
    assert.deepEqual(fromFile.workflows, fromUseCase.workflows);
    assert.equal(fromFile.name, fromUseCase.name);

    // Indexes and pipelines hold data: Flow Framework deletes them only when named in allow_delete.
    const refused = await node.request('POST', `${FF}/${id}/_deprovision`);
    assert.equal(refused.status, 403, refused.text);
    assert.match(refused.body.error, /require the allow_delete parameter/);
    assert.equal((await peek(server, '/faq-index')).status, 200);
    const d = await node.request('POST', `${FF}/${id}/_deprovision?allow_delete=faq-index,faq-ingest-pipeline`);
    assert.equal(d.status, 200, d.text);
    assert.equal((await peek(server, '/faq-index')).status, 404);
    assert.equal((await peek(server, '/_ingest/pipeline/faq-ingest-pipeline')).status, 404);
  });
});

void describe('examples/http-resources (http_request steps, rollback, deprovision)', () => {
  let server: HelperServer;
  let node: TestNode;
  before(async () => {
    // Any free port: the template takes the API's address as the provision param `api`.
    server = await startHelperServer('http-resources/rest-server.mjs', { PORT: '0' });
    node = await startTestNode();
  });
  after(async () => {
    await node?.close();
    await server?.close();
  });

  void it('a refused webhook rolls back the team and queue; the fixed params provision; deprovision deletes all', async () => {
    const created = await postTemplate(node, 'http-resources/template.yaml');
    assert.equal(created.status, 201, created.text);
    const id: string = created.body.workflow_id;
    const provision = (file: string): Promise<any> =>
      node.request('POST', `${FF}/${id}/_provision?on_failure=rollback&wait_for_completion_timeout=20s`, {
        body: { ...readExampleJson('http-resources', file), api: server.url },
      });

    const bad = await provision('params-bad.json');
    assert.equal(bad.body.state, 'NOT_STARTED', bad.text);
    assert.match(bad.body.error, /during step webhook.*must start with https:\/\/.*\(rolled back\)/s);
    let api = (await peek(server, '/')).body;
    assert.deepEqual([api.teams, api.queues, api.webhooks], [[], [], []]);
    assert.deepEqual(
      api.log.map((l: string) => l.split(' ')[0] + ' ' + l.split(' ')[1]!.split('-')[0]),
      ['created team', 'created queue', 'deleted queue', 'deleted team'],
      'created in dependency order, rolled back newest first',
    );

    const good = await provision('params-good.json');
    assert.equal(good.body.state, 'COMPLETED', good.text);
    assert.equal(resourcesOf(good.body, 'http_resource_id').length, 3);
    api = (await peek(server, '/')).body;
    assert.equal(api.webhooks.length, 1);
    assert.equal(api.webhooks[0].url, 'https://hooks.example.com/support');
    assert.equal(api.webhooks[0].queue, api.queues[0].id);
    assert.equal(api.queues[0].team, api.teams[0].id);

    const d = await node.request('POST', `${FF}/${id}/_deprovision`);
    assert.equal(d.status, 200, d.text);
    api = (await peek(server, '/')).body;
    assert.deepEqual([api.teams, api.queues, api.webhooks], [[], [], []]);
  });
});
