/**
 * The route contract (src/server/contract): every route declares its schemas, which validate
 * requests, serialize responses and generate the OpenAPI document; a route without one is
 * refused when the app is built.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { installRouteContract, routeSchema } from '../src/server/contract/route-schema.js';
import { FLOW_FRAMEWORK_ERRORS } from '../src/server/contract/common-schemas.js';
import { errorHandlerFor } from '../src/server/error-renderer.js';
import { WIRE_SCHEMAS } from '../src/server/contract/wire-schemas.js';
import { startTestNode } from './support/flowd-harness.js';
import type { TestNode } from './support/flowd-harness.js';

let node: TestNode;
before(async () => {
  node = await startTestNode();
});
after(async () => {
  await node.close();
});

interface Operation {
  summary?: string;
  tags?: string[];
  parameters?: { in: string; name: string; schema?: unknown }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

const METHODS = new Set(['get', 'post', 'put', 'delete', 'patch']);

/** A bare server with the contract installed, as buildApp installs it before every route. */
function contractServer(): FastifyInstance {
  const app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.setErrorHandler(errorHandlerFor('flow_framework'));
  installRouteContract(app);
  return app;
}

void describe('OpenAPI', () => {
  void it('describes both APIs, with summaries and tags, without credentials', async () => {
    const r = await node.request('GET', '/_flowd/openapi.json', { auth: null });
    assert.equal(r.status, 200);
    assert.match(r.body.openapi, /^3\./);
    const paths = r.body.paths as Record<string, Record<string, Operation>>;
    const status = paths['/_plugins/_flow_framework/workflow/{workflow_id}/_status']?.['get'];
    assert.equal(status?.summary, 'Provisioning status');
    assert.deepEqual(status?.tags, ['workflows']);
    assert.equal(paths['/api/v1/runtime/workflow/{workflowId}/action/analyze']?.['post']?.tags?.[0], 'runtime');
    assert.ok(paths['/api/v1/runtime/workflow/{workflowId}/task/{taskId}']?.['get']);
    assert.ok(paths['/_flowd/api_keys']?.['post']);
    assert.ok(paths['/_plugins/_ml/models/{model_id}/_predict']?.['post']);
    // Every documented operation has a summary; internal asset routes are hidden.
    for (const [p, ops] of Object.entries(paths))
      for (const [m, op] of Object.entries(ops)) assert.ok(op.summary, `${m} ${p} has no summary`);
    assert.equal(paths['/_dashboard/assets/{file}'], undefined);
    assert.ok(r.body.components.securitySchemes.apiKey);
  });

  void it('gives every operation its request and response schemas', async () => {
    const r = await node.request('GET', '/_flowd/openapi.json', { auth: null });
    const paths = r.body.paths as Record<string, Record<string, Operation>>;
    let operations = 0;
    for (const [p, ops] of Object.entries(paths)) {
      for (const [m, op] of Object.entries(ops)) {
        if (!METHODS.has(m)) continue;
        operations++;
        const where = `${m.toUpperCase()} ${p}`;
        const ok = Object.entries(op.responses ?? {}).filter(([code]) => /^2/.test(code));
        assert.ok(ok.length > 0, `${where} declares no success response`);
        for (const [code, res] of ok) {
          const schemas = Object.values(res.content ?? {}).map((c) => c.schema);
          assert.ok(schemas.length > 0 && schemas.every((s) => s !== undefined), `${where} ${code} has no response schema`);
        }
        // Each path parameter is declared, with its schema.
        for (const name of [...p.matchAll(/\{(\w+)\}/g)].map((x) => x[1])) {
          const param = op.parameters?.find((x) => x.in === 'path' && x.name === name);
          assert.ok(param?.schema, `${where}: path parameter ${name} has no schema`);
        }
      }
    }
    assert.ok(operations >= 40, `only ${operations} operations documented`);
    // Bodies are described where routes take one.
    const create = paths['/_plugins/_flow_framework/workflow']?.['post'];
    assert.ok(create?.requestBody?.content?.['application/json']?.schema);
    const user = paths['/_plugins/_security/api/internalusers/{name}']?.['put'];
    assert.ok(user?.requestBody);
  });

  void it('names the wire types the clients are generated from', () => {
    for (const name of [
      'WorkflowStatus',
      'WorkflowAccepted',
      'Template',
      'FlowFrameworkError',
      'ClusterNodes',
      'MlTask',
      'InternalUsers',
      'Health',
    ]) {
      assert.ok(WIRE_SCHEMAS[name], `${name} is not in WIRE_SCHEMAS`);
    }
  });

  void it('serves a docs page', async () => {
    const r = await node.request('GET', '/_flowd/docs', { auth: null });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/html/);
    assert.match(r.text, /openapi\.json/);
  });

  void it('keeps the wire contracts: documentation adds no validation', async () => {
    const bad = await node.request('GET', '/_plugins/_flow_framework/workflow/_steps?workflow_step=nope');
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body, { error: 'Failed to retrieve workflow step json.' });
  });
});

void describe('route contract', () => {
  void it('refuses a route without a schema when the app is built', async () => {
    const app = contractServer();
    assert.throws(() => app.get('/undeclared', async () => ({ ok: true })), /declares no schema summary/);
    assert.throws(
      () => app.get('/no-response', { schema: { summary: 'x', tags: ['t'] } }, async () => ({ ok: true })),
      /declares no response schema/,
    );
    const Ok = Type.Object({ ok: Type.Boolean() });
    assert.throws(
      () =>
        app.get('/thing/:id', { schema: routeSchema({ summary: 'x', tags: ['t'], response: { 200: Ok } }) }, async () => ({ ok: true })),
      /path parameters but no params schema/,
    );
    await app.close();
  });

  void it('an undeclared route in a route plugin fails the app at startup', async () => {
    // buildApp installs the contract before any route plugin: a plugin's undeclared route
    // fails the registration, so the app never becomes ready.
    const app = contractServer();
    await assert.rejects(async () => {
      await app.register(async (plugin: FastifyInstance) => {
        plugin.get('/plugin-route', async () => ({}));
      });
      await app.ready();
    }, /route GET \/plugin-route declares no schema summary/);
    await app.close();
  });

  void it('validates decoded bodies and params, and renders the failure through the error renderer', async () => {
    const app = contractServer();
    const schema = routeSchema({
      summary: 'Count',
      tags: ['t'],
      params: Type.Object({ n: Type.Integer({ minimum: 1 }) }),
      body: Type.Object({ items: Type.Array(Type.String()) }),
      response: { 200: Type.Object({ n: Type.Integer(), count: Type.Integer() }), ...FLOW_FRAMEWORK_ERRORS },
    });
    app.post('/count/:n', { schema, config: { decodeBody: (req) => JSON.parse(String(req.body)) as unknown } }, async (req) => {
      const { n } = req.params as { n: number };
      const { items } = req.body as { items: string[] };
      return { n, count: items.length, extra: 'dropped by the response schema' };
    });
    const ok = await app.inject({
      method: 'POST',
      url: '/count/2',
      payload: '{"items":["a","b"]}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.body, '{"n":2,"count":2}'); // params converted to the declared integer; undeclared keys dropped
    const bad = await app.inject({
      method: 'POST',
      url: '/count/2',
      payload: '{"items":[1]}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(bad.json(), { error: 'The request body is invalid: [items.0] must be string' });
    const badParam = await app.inject({
      method: 'POST',
      url: '/count/0',
      payload: '{"items":[]}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(badParam.statusCode, 400);
    assert.deepEqual(badParam.json(), { error: 'The path is invalid: [n] must be >= 1' });
    await app.close();
  });

  void it('leaves a raw body to its handler (the handler decodes it with its own messages)', async () => {
    const app = contractServer();
    const schema = routeSchema({
      summary: 'Raw',
      tags: ['t'],
      body: Type.Object({ items: Type.Array(Type.String()) }),
      response: { 200: Type.Object({ text: Type.String() }) },
    });
    app.post('/raw', { schema }, async (req) => ({ text: String(req.body) }));
    const r = await app.inject({ method: 'POST', url: '/raw', payload: 'not json', headers: { 'content-type': 'application/json' } });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { text: 'not json' });
    await app.close();
  });
});
