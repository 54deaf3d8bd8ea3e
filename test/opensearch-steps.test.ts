/**
 * The OpenSearch-backed steps and deleters, driven against a fake OpenSearch HTTP server that
 * speaks the real wire shapes (test/support/fake-opensearch.ts).
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FlowdError } from '../src/errors.js';
import type { JsonObject, JsonValue } from '../src/util/json.js';
import type { DeleteContext, StepContext, StepDefinition } from '../src/steps/step.js';
import type { StepServices } from '../src/steps/services.js';
import { createOpenSearchClient, openSearchDeleters, openSearchSteps } from '../src/steps/opensearch/index.js';
import type { OpenSearchClient } from '../src/steps/opensearch/opensearch-client.js';
import { removeQuotesAroundArrays } from '../src/steps/opensearch/configurations.js';
import { FakeOpenSearch } from './support/fake-opensearch.js';

const step = (name: string): StepDefinition => {
  const found = openSearchSteps.find((s) => s.name === name);
  assert.ok(found, `step ${name} is registered`);
  return found;
};
const deleter = (createdBy: string) => {
  const found = openSearchDeleters.find((d) => d.createdBy === createdBy);
  assert.ok(found, `deleter for ${createdBy} is registered`);
  return found;
};

// The steps only touch `opensearch` (and `fetch` is the other outbound dependency); store,
// secrets, logger and ml are deliberately absent, hence the cast through unknown.
const servicesWith = (client: OpenSearchClient | undefined): StepServices => ({ opensearch: client, fetch }) as unknown as StepServices;

function stepCtx(inputs: JsonObject, client: OpenSearchClient | undefined, signal: AbortSignal = AbortSignal.timeout(5000)): StepContext {
  return {
    workflowId: 'wf1',
    nodeId: 'node1',
    inputs,
    previousOutputs: {},
    previousNodeInputs: {},
    idempotencyKey: 'wf1/node1/1',
    signal,
    services: servicesWith(client),
  };
}

function deleteCtx(resourceId: string, resourceType: string, client: OpenSearchClient): DeleteContext {
  return {
    workflowId: 'wf1',
    nodeId: 'node1',
    resourceId,
    resourceType,
    nodeInputs: undefined,
    signal: AbortSignal.timeout(5000),
    services: servicesWith(client),
  };
}

/** Asserts a FlowdError step_failure whose message matches. */
async function rejectsStepFailure(p: Promise<unknown>, message: RegExp, status?: number): Promise<FlowdError> {
  let caught: unknown;
  await assert.rejects(p, (e) => {
    caught = e;
    return true;
  });
  assert.ok(caught instanceof FlowdError, `expected FlowdError, got ${String(caught)}`);
  assert.equal(caught.kind, 'step_failure');
  assert.match(caught.message, message);
  if (status !== undefined) assert.equal(caught.status, status);
  return caught;
}

void describe('OpenSearch steps', () => {
  let fake: FakeOpenSearch;
  let server: { url: string; close(): Promise<void> };
  let client: OpenSearchClient;

  before(async () => {
    fake = new FakeOpenSearch();
    server = await fake.start();
    client = createOpenSearchClient({ url: server.url });
  });
  after(async () => server.close());
  beforeEach(() => {
    fake.indices.clear();
    fake.ingestPipelines.clear();
    fake.searchPipelines.clear();
    fake.requests.length = 0;
    fake.delayMs = 0;
  });

  void it('declares the Flow Framework step contracts', () => {
    const contracts = openSearchSteps.map((s) => [s.name, s.inputs, s.outputs, s.resourceType ?? null]);
    assert.deepEqual(contracts, [
      ['create_index', ['index_name', 'configurations'], ['index_name'], 'index_name'],
      ['update_index', ['index_name', 'configurations'], ['index_name'], null],
      ['reindex', ['source_index', 'destination_index'], ['reindex'], null],
      ['create_ingest_pipeline', ['pipeline_id', 'configurations'], ['pipeline_id'], 'pipeline_id'],
      ['update_ingest_pipeline', ['pipeline_id', 'configurations'], ['pipeline_id'], null],
      ['create_search_pipeline', ['pipeline_id', 'configurations'], ['pipeline_id'], 'pipeline_id'],
      ['update_search_pipeline', ['pipeline_id', 'configurations'], ['pipeline_id'], null],
    ]);
    for (const s of openSearchSteps) assert.deepEqual(s.requiredPlugins, ['opensearch']);
    assert.deepEqual(
      openSearchDeleters.map((d) => [d.createdBy, d.deleteStep, d.requiresAllowDelete]),
      [
        ['create_index', 'delete_index', true],
        ['create_ingest_pipeline', 'delete_ingest_pipeline', true],
        ['create_search_pipeline', 'delete_search_pipeline', true],
      ],
    );
    for (const name of ['create_index', 'create_ingest_pipeline', 'create_search_pipeline']) {
      assert.equal(typeof step(name).update, 'function', `${name} supports reprovision`);
    }
  });

  void describe('create_index', () => {
    const mappings = { properties: { passage_text: { type: 'text' } } };

    void it('creates from object configurations and records the index', async () => {
      const configurations = { settings: { index: { number_of_shards: 2, knn: true } }, mappings };
      const res = await step('create_index').execute(stepCtx({ index_name: 'my-index', configurations }, client));
      assert.deepEqual(res.outputs, { index_name: 'my-index' });
      assert.deepEqual(res.resources, [{ workflow_step_name: 'create_index', resource_type: 'index_name', resource_id: 'my-index' }]);
      const index = fake.indices.get('my-index');
      assert.equal(index?.settings['index.number_of_shards'], '2');
      assert.equal(index?.settings['index.knn'], 'true');
      assert.deepEqual(index?.mappings, mappings);
    });

    void it('accepts configurations as a JSON string (Flow Framework style)', async () => {
      const configurations = JSON.stringify({ settings: { 'index.number_of_replicas': '0' }, mappings });
      await step('create_index').execute(stepCtx({ index_name: 'str-index', configurations }, client));
      assert.equal(fake.indices.get('str-index')?.settings['index.number_of_replicas'], '0');
      assert.deepEqual(fake.indices.get('str-index')?.mappings, mappings);
    });

    void it('sends no body for an empty configurations string', async () => {
      await step('create_index').execute(stepCtx({ index_name: 'bare', configurations: '' }, client));
      assert.ok(fake.indices.has('bare'));
      assert.equal(fake.requests.at(-1)?.body, undefined);
    });

    void it('rejects typed mappings before calling OpenSearch', async () => {
      const configurations = { mappings: { _doc: mappings } };
      const ctx = stepCtx({ index_name: 'typed', configurations }, client);
      const typed = /^The mapping definition cannot be nested under a type$/;
      await rejectsStepFailure(step('create_index').execute(ctx), typed, 400);
      assert.equal(fake.requests.length, 0);
    });

    void it("relays OpenSearch's reason and status when the index exists", async () => {
      fake.addIndex('taken');
      const ctx = stepCtx({ index_name: 'taken', configurations: '' }, client);
      const exists = /index \[taken\/\w+\] already exists/;
      const err = await rejectsStepFailure(step('create_index').execute(ctx), exists, 400);
      assert.equal(err.code, 'opensearch.resource_already_exists_exception');
    });

    void it('reports missing required inputs in Flow Framework wording', async () => {
      const ctx = stepCtx({ configurations: '' }, client);
      await rejectsStepFailure(
        step('create_index').execute(ctx),
        /^Missing required inputs \[index_name\] in workflow \[wf1\] node \[node1\]$/,
        400,
      );
    });

    void it('fails clearly when no cluster is configured', async () => {
      const ctx = stepCtx({ index_name: 'x', configurations: '' }, undefined);
      await rejectsStepFailure(
        step('create_index').execute(ctx),
        /requires the following plugins to be installed : \[opensearch\].*FLOWD_OPENSEARCH_URL/,
      );
    });

    void it('updates settings on reprovision and refuses a rename', async () => {
      fake.addIndex('idx');
      const configurations = { settings: { index: { number_of_replicas: 3 } } };
      const res = await step('create_index').update!(stepCtx({ index_name: 'idx', configurations }, client), 'idx');
      assert.deepEqual(res.outputs, { index_name: 'idx' });
      assert.equal(fake.indices.get('idx')?.settings['index.number_of_replicas'], '3');
      const renamed = stepCtx({ index_name: 'other', configurations }, client);
      const refused = /Changing index_name from \[idx\] to \[other\]/;
      await rejectsStepFailure(step('create_index').update!(renamed, 'idx'), refused, 400);
    });
  });

  void describe('update_index', () => {
    void it('sends only the settings that changed', async () => {
      fake.addIndex('idx');
      const configurations = JSON.stringify({
        settings: { index: { number_of_replicas: 2, number_of_shards: '1', refresh_interval: '1s' } },
        mappings: { properties: { ignored: { type: 'text' } } },
      });
      const res = await step('update_index').execute(stepCtx({ index_name: 'idx', configurations }, client));
      assert.deepEqual(res.outputs, { index_name: 'idx' });
      assert.deepEqual(res.resources, undefined);
      const put = fake.requests.find((r) => r.method === 'PUT' && r.path === '/idx/_settings');
      // shards equal the current value and refresh_interval the default: neither is sent.
      assert.deepEqual(put?.body, { 'index.number_of_replicas': '2' });
      assert.equal(fake.indices.get('idx')?.settings['index.number_of_replicas'], '2');
    });

    void it('fails when nothing would change, without a PUT', async () => {
      fake.addIndex('idx');
      const configurations = { settings: { 'index.number_of_replicas': 1 } };
      await rejectsStepFailure(
        step('update_index').execute(stepCtx({ index_name: 'idx', configurations }, client)),
        /^Failed to update index settings for index idx, no settings have been updated$/,
        400,
      );
      assert.ok(!fake.requests.some((r) => r.method === 'PUT'));
    });

    void it('fails when the configuration has no settings', async () => {
      fake.addIndex('idx');
      const configurations = { mappings: { properties: {} } };
      await rejectsStepFailure(
        step('update_index').execute(stepCtx({ index_name: 'idx', configurations }, client)),
        /^Failed to update index settings for index idx, settings are not found in the index configuration$/,
        400,
      );
    });

    void it("relays OpenSearch's refusal of a static setting", async () => {
      fake.addIndex('idx');
      const configurations = { settings: { index: { number_of_shards: 3 } } };
      await rejectsStepFailure(
        step('update_index').execute(stepCtx({ index_name: 'idx', configurations }, client)),
        /^Can't update non dynamic settings \[\[index\.number_of_shards\]\] for open indices \[\[idx\/\w+\]\]$/,
        400,
      );
    });

    void it('relays a missing index as a 404 step failure', async () => {
      const configurations = { settings: { number_of_replicas: 2 } };
      await rejectsStepFailure(
        step('update_index').execute(stepCtx({ index_name: 'nope', configurations }, client)),
        /no such index \[nope\]/,
        404,
      );
    });
  });

  void describe('reindex', () => {
    void it('copies documents, unlimited rate by default, and outputs both indices', async () => {
      fake.addIndex('src', [{ a: 1 }, { a: 2 }]);
      fake.addIndex('dst');
      const res = await step('reindex').execute(stepCtx({ source_index: 'src', destination_index: 'dst' }, client));
      assert.deepEqual(res.outputs, { reindex: { destination_index: 'dst', source_index: 'src' } });
      assert.equal(res.resources, undefined);
      assert.equal(fake.indices.get('dst')?.docs.length, 2);
      const req = fake.requests.at(-1);
      assert.equal(req?.query.requests_per_second, '-1');
      assert.deepEqual(req?.body, { source: { index: 'src' }, dest: { index: 'dst' } });
    });

    void it('passes the optional inputs, coercing Flow Framework strings', async () => {
      fake.addIndex('src', [{ a: 1 }, { a: 2 }]);
      const inputs = {
        source_index: 'src',
        destination_index: 'dst',
        refresh: 'true',
        requests_per_second: '-5',
        slices: 2,
        max_docs: '1',
      };
      await step('reindex').execute(stepCtx(inputs, client));
      const req = fake.requests.at(-1);
      assert.equal(req?.query.refresh, 'true');
      assert.equal(req?.query.requests_per_second, '-1');
      assert.equal(req?.query.slices, '2');
      assert.deepEqual(req?.body, { source: { index: 'src' }, dest: { index: 'dst' }, max_docs: 1 });
      assert.equal(fake.indices.get('dst')?.docs.length, 1);
    });

    void it('names the indices when OpenSearch fails, keeping its status', async () => {
      const ctx = stepCtx({ source_index: 'gone', destination_index: 'dst' }, client);
      await rejectsStepFailure(step('reindex').execute(ctx), /^Failed to reindex from source gone to dst: no such index \[gone\]$/, 404);
    });

    void it('fails on bulk failures reported in a 200 answer', async () => {
      fake.addIndex('src', [{ a: 1 }]);
      const cause = { type: 'mapper_parsing_exception', reason: 'bad doc' };
      fake.nextReindexFailures = [{ index: 'dst', id: '1', cause }];
      const ctx = stepCtx({ source_index: 'src', destination_index: 'dst' }, client);
      await rejectsStepFailure(step('reindex').execute(ctx), /1 failure\(s\), first: bad doc/);
    });

    void it('rejects invalid optional inputs', async () => {
      const ctx = stepCtx({ source_index: 'a', destination_index: 'b', refresh: 'yes' }, client);
      await rejectsStepFailure(step('reindex').execute(ctx), /\[refresh\] must be true or false/, 400);
      assert.equal(fake.requests.length, 0);
    });
  });

  void describe('pipelines', () => {
    void it('creates an ingest pipeline from a string, expanding array strings', async () => {
      const configurations = '{"description":"d","processors":[{"text_chunking":{"field_map":{"a":"b"},"fields":"[\\"x\\", \\"y\\"]"}}]}';
      const res = await step('create_ingest_pipeline').execute(stepCtx({ pipeline_id: 'p1', configurations }, client));
      assert.deepEqual(res.outputs, { pipeline_id: 'p1' });
      assert.deepEqual(res.resources, [{ workflow_step_name: 'create_ingest_pipeline', resource_type: 'pipeline_id', resource_id: 'p1' }]);
      assert.deepEqual(fake.ingestPipelines.get('p1'), {
        description: 'd',
        processors: [{ text_chunking: { field_map: { a: 'b' }, fields: ['x', 'y'] } }],
      });
    });

    void it('creates a search pipeline from an object, expanding "[0.7, 0.3]"', async () => {
      const processor = (weights: JsonValue) => ({
        'normalization-processor': { combination: { parameters: { weights } } },
      });
      const configurations = { phase_results_processors: [processor('[0.7, 0.3]')] };
      await step('create_search_pipeline').execute(stepCtx({ pipeline_id: 'sp', configurations }, client));
      assert.deepEqual(fake.searchPipelines.get('sp'), { phase_results_processors: [processor([0.7, 0.3])] });
    });

    void it("relays OpenSearch's validation reason", async () => {
      const ctx = stepCtx({ pipeline_id: 'bad', configurations: { description: 'no processors' } }, client);
      const missing = /\[processors\] required property is missing/;
      const err = await rejectsStepFailure(step('create_ingest_pipeline').execute(ctx), missing, 400);
      assert.equal(err.code, 'opensearch.parse_exception');
    });

    void it('updates by putting again (update steps and reprovision)', async () => {
      fake.searchPipelines.set('sp', { description: 'old' });
      const ctx = stepCtx({ pipeline_id: 'sp', configurations: { description: 'new' } }, client);
      const res = await step('update_search_pipeline').execute(ctx);
      assert.deepEqual(res, { outputs: { pipeline_id: 'sp' } });
      assert.deepEqual(fake.searchPipelines.get('sp'), { description: 'new' });

      const ingest = stepCtx({ pipeline_id: 'p', configurations: '{"processors":[]}' }, client);
      await step('update_ingest_pipeline').execute(ingest);
      assert.deepEqual(fake.ingestPipelines.get('p'), { processors: [] });
      await step('create_ingest_pipeline').update!(ingest, 'p');
      const renamed = stepCtx({ pipeline_id: 'q', configurations: '{"processors":[]}' }, client);
      const refused = /Changing pipeline_id from \[p\] to \[q\]/;
      await rejectsStepFailure(step('create_ingest_pipeline').update!(renamed, 'p'), refused, 400);
    });
  });

  void describe('deleters', () => {
    void it('delete indices and pipelines, and treat "already gone" as success', async () => {
      fake.addIndex('idx');
      fake.ingestPipelines.set('ip', { processors: [] });
      fake.searchPipelines.set('sp', {});
      const cases = [
        ['create_index', 'idx', 'index_name', () => fake.indices.has('idx')],
        ['create_ingest_pipeline', 'ip', 'pipeline_id', () => fake.ingestPipelines.has('ip')],
        ['create_search_pipeline', 'sp', 'pipeline_id', () => fake.searchPipelines.has('sp')],
      ] as const;
      for (const [createdBy, id, type, exists] of cases) {
        await deleter(createdBy).remove(deleteCtx(id, type, client));
        assert.equal(exists(), false, `${id} deleted`);
        await deleter(createdBy).remove(deleteCtx(id, type, client)); // 404 → resolves
      }
      assert.deepEqual(
        fake.requests.map((r) => `${r.method} ${r.path}`),
        [
          'DELETE /idx',
          'DELETE /idx',
          'DELETE /_ingest/pipeline/ip',
          'DELETE /_ingest/pipeline/ip',
          'DELETE /_search/pipeline/sp',
          'DELETE /_search/pipeline/sp',
        ],
      );
    });
  });

  void describe('client', () => {
    void it('reports an unreachable cluster with its URL', async () => {
      const gone = new FakeOpenSearch();
      const stopped = await gone.start();
      await stopped.close();
      const url = stopped.url;
      const dead = createOpenSearchClient({ url });
      const err = await rejectsStepFailure(
        step('create_index').execute(stepCtx({ index_name: 'x', configurations: '' }, dead)),
        new RegExp(`OpenSearch cluster at ${url.replace(/\./g, '\\.')} is unreachable`),
      );
      assert.equal(err.code, 'opensearch.unreachable');
      assert.equal(err.retryable, true);
    });

    void it('aborts with the signal, before and during a request', async () => {
      const pre = stepCtx({ index_name: 'x', configurations: '' }, client, AbortSignal.abort());
      await assert.rejects(step('create_index').execute(pre), { name: 'AbortError' });
      fake.delayMs = 1000;
      const controller = new AbortController();
      const ctx = { ...stepCtx({ index_name: 'y', configurations: '' }, client), signal: controller.signal };
      const started = Date.now();
      setTimeout(() => controller.abort(), 50);
      await assert.rejects(step('create_index').execute(ctx), { name: 'AbortError' });
      assert.ok(Date.now() - started < 800, 'did not wait for the slow answer');
    });

    void it('sends basic auth and relays a 401', async () => {
      const secured = new FakeOpenSearch({ username: 'admin', password: 's3cret' });
      const srv = await secured.start();
      try {
        const good = createOpenSearchClient({ url: `${srv.url}/`, username: 'admin', password: 's3cret' });
        await good.createIndex('a', undefined, AbortSignal.timeout(5000));
        assert.ok(secured.indices.has('a'));
        const bad = createOpenSearchClient({ url: srv.url, username: 'admin', password: 'wrong' });
        await rejectsStepFailure(bad.deleteIndex('a', AbortSignal.timeout(5000)), /status 401: Unauthorized/, 401);
      } finally {
        await srv.close();
      }
    });
  });

  void it("matches Flow Framework's removingBackslashesAndQuotesInArrayInJsonString vectors", () => {
    assert.equal(
      removeQuotesAroundArrays('normalization-processor.combination.parameters.weights: "[0.3, 0.7]"'),
      'normalization-processor.combination.parameters.weights: [0.3, 0.7]',
    );
    assert.equal(removeQuotesAroundArrays('context_field_list: "[\\"text\\", \\"hello\\"]"'), 'context_field_list: ["text", "hello"]');
  });
});
