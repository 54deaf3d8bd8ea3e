/**
 * workflow/_search and workflow/state/_search over HTTP answer what the evaluator gives on a scan
 * of every stored document (query-dsl.ts), for the query shapes the store's indexes answer
 * (search/query-plan.ts) and for ones they cannot: same hits, order, sort values and totals.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FF, startTestNode } from './support/flowd-harness.js';
import type { TestNode } from './support/flowd-harness.js';
import { searchDocuments } from '../src/search/query-dsl.js';
import { serializeTemplate } from '../src/template/template-serializer.js';
import { stateDocument } from '../src/server/views/status-view.js';

const SOURCE = ['name', 'use_case', 'created_time', 'workflow_id', 'state', 'provision_start_time'];
const NAMES = ['alpha', 'beta', 'alpha beta', 'gamma', 'Delta'];
const USE_CASES = ['SEMANTIC_SEARCH', 'RAG', 'HYBRID_SEARCH'];

describe('indexed search over HTTP', () => {
  let node: TestNode;
  const ids: string[] = [];
  let t0 = 0;

  before(async () => {
    node = await startTestNode();
    for (let i = 0; i < 30; i++) {
      const r = await node.request('POST', FF, {
        body: {
          name: NAMES[i % NAMES.length],
          description: `workflow ${i} ${i % 2 === 0 ? 'vector search' : 'chat'}`,
          use_case: USE_CASES[i % USE_CASES.length],
          workflows: {},
        },
      });
      assert.equal(r.status, 201, r.text);
      ids.push(r.body.workflow_id as string);
    }
    const store = node.node.store;
    t0 = (await store.getWorkflow(ids[0] as string))?.template.created_time ?? 0;
    // Some states move on: provisioning, completed, failed (through the store, as a run would).
    for (let i = 0; i < 12; i++) {
      const id = ids[i] as string;
      const begun = await store.beginRun({
        workflowId: id,
        runId: `${id}_r`,
        kind: 'provision',
        plan: { nodes: [] },
        params: 'p',
        owner: 'search-test',
        leaseMs: 600_000,
        startTime: t0 + (i % 4),
        allowedStates: ['NOT_STARTED'],
        keepResources: false,
      });
      assert.ok(begun.ok);
      if (i % 3 !== 0) {
        await store.finishRun({ runId: `${id}_r`, workflowId: id, state: i % 3 === 1 ? 'COMPLETED' : 'FAILED', endTime: t0 + 10 + i });
      }
    }
  });
  after(() => node.close());

  const templateBodies = (): Record<string, unknown>[] => [
    {},
    { size: 3 },
    { query: { match_all: {} }, size: 5, from: 2 },
    { query: { term: { 'name.keyword': 'alpha' } } },
    { query: { term: { name: 'alpha' } } },
    { query: { terms: { 'use_case.keyword': ['RAG', 'HYBRID_SEARCH'] } }, size: 4, track_total_hits: 3 },
    { query: { prefix: { 'name.keyword': 'al' } }, sort: [{ created_time: 'desc' }], size: 4 },
    { query: { ids: { values: [ids[3], ids[7], 'missing'] } } },
    { query: { range: { created_time: { gte: t0 } } }, sort: [{ created_time: 'asc' }], size: 7 },
    { query: { range: { created_time: { lt: 'now+1d' } } }, size: 2 },
    { sort: [{ created_time: 'desc' }], size: 10 },
    { sort: [{ created_time: 'desc' }], size: 5, search_after: [t0 + 1_000_000_000] },
    { query: { bool: { filter: [{ exists: { field: 'created_time' } }], must_not: [{ term: { 'name.keyword': 'beta' } }] } }, size: 20 },
    { query: { bool: { should: [{ term: { 'name.keyword': 'gamma' } }, { term: { 'use_case.keyword': 'RAG' } }] } } },
    { query: { match: { description: 'vector' } }, size: 3, track_total_hits: false },
    { query: { bool: { must: [{ match: { description: 'chat' } }, { term: { 'name.keyword': 'Delta' } }] } }, sort: ['name.keyword'] },
  ];

  const stateBodies = (): Record<string, unknown>[] => [
    {},
    { query: { term: { state: 'NOT_STARTED' } }, size: 3 },
    { query: { term: { state: 'completed' } } },
    { query: { terms: { 'state.keyword': ['FAILED', 'PROVISIONING'] } } },
    { query: { term: { provisioning_progress: 'IN_PROGRESS' } } },
    { query: { prefix: { state: 'fail' } } },
    { query: { exists: { field: 'provision_end_time' } }, sort: [{ provision_end_time: 'desc' }], size: 3 },
    { query: { range: { provision_start_time: { gte: t0 + 1 } } }, sort: [{ provision_start_time: 'asc' }] },
    { query: { ids: { values: [ids[0], ids[5]] } } },
    { query: { bool: { must_not: [{ term: { state: 'NOT_STARTED' } }] } }, size: 20 },
  ];

  const strip = (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, took: 0 });

  it('workflow/_search answers as a scan of every template', async () => {
    const store = node.node.store;
    for (const b of templateBodies()) {
      const body = { ...b, _source: SOURCE };
      const got = await node.request('POST', `${FF}/_search`, { body });
      assert.equal(got.status, 200, got.text);
      const docs = (await store.listWorkflows()).map((w) => ({
        _id: w.id,
        _source: serializeTemplate(w.template, { includeUser: true, redact: () => false }),
        _version: w.version,
        _seq_no: w.version - 1,
        _primary_term: 1,
      }));
      const want = await searchDocuments(
        docs,
        { ...body, version: true, seq_no_primary_term: true },
        { index: '.plugins-flow-framework-templates' },
      );
      assert.deepEqual(strip(got.body), strip(want as unknown as Record<string, unknown>), JSON.stringify(b));
    }
  });

  it('workflow/state/_search answers as a scan of every state', async () => {
    const store = node.node.store;
    for (const b of stateBodies()) {
      const body = { ...b, _source: SOURCE };
      const got = await node.request('POST', `${FF}/state/_search`, { body });
      assert.equal(got.status, 200, got.text);
      const docs = (await store.listStates()).map((s) => ({
        _id: s.workflowId,
        _source: stateDocument(s, '2.19.0'),
        _version: s.version,
        _seq_no: s.version - 1,
        _primary_term: 1,
      }));
      const want = await searchDocuments(
        docs,
        { ...body, version: true, seq_no_primary_term: true },
        { index: '.plugins-flow-framework-state' },
      );
      assert.deepEqual(strip(got.body), strip(want as unknown as Record<string, unknown>), JSON.stringify(b));
    }
  });

  it('a bad body is refused as before', async () => {
    const r = await node.request('POST', `${FF}/_search`, { body: { query: { term: { a: 1, b: 2 } } } });
    assert.equal(r.status, 400);
    assert.match(r.text, /\[term\] query doesn't support multiple fields/);
  });
});
