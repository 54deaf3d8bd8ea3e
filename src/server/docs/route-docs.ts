/**
 * What each route is, for the OpenAPI document: an `onRoute` hook puts `summary`, `tags` and
 * `description` into every route's schema (documentation-only keys: request validation and
 * the error messages the wire contracts fix stay untouched), and @fastify/swagger turns the
 * route schemas into `/_flowd/openapi.json`.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';

interface RouteDoc {
  summary: string;
  tag: string;
  description?: string;
}

const FF = '/_plugins/_flow_framework/workflow';
const RT = '/api/v1/runtime/workflow/:workflowId';
const ML = '/_plugins/_ml';
const KEYS = '/_flowd/api_keys';
const USERS = '/_plugins/_security/api/internalusers';

const DOCS: Record<string, RouteDoc> = {
  [`POST ${FF}`]: { tag: 'workflows', summary: 'Create a workflow', description: 'Query: provision, use_case, validation, wait_for_completion_timeout, on_failure, substitution params. Body: a template (JSON or YAML).' },
  [`PUT ${FF}/:workflow_id`]: { tag: 'workflows', summary: 'Update a workflow', description: 'Query: update_fields, reprovision, provision, wait_for_completion_timeout.' },
  [`GET ${FF}/:workflow_id`]: { tag: 'workflows', summary: 'Get a workflow template (secrets never returned)' },
  [`DELETE ${FF}/:workflow_id`]: { tag: 'workflows', summary: 'Delete a workflow template', description: 'Query: clear_status (409 while the workflow still has resources or published services: deprovision first).' },
  [`POST ${FF}/:workflow_id/_provision`]: { tag: 'workflows', summary: 'Provision a workflow', description: 'Query and body params; wait_for_completion_timeout; on_failure=rollback.' },
  [`POST ${FF}/:workflow_id/_deprovision`]: { tag: 'workflows', summary: 'Deprovision a workflow', description: 'Query: allow_delete (resource ids or types).' },
  [`GET ${FF}/:workflow_id/_status`]: { tag: 'workflows', summary: 'Provisioning status', description: 'Query: all=true for steps, times, user_outputs; watch=true streams it as Server-Sent Events.' },
  [`GET ${FF}/_steps`]: { tag: 'workflows', summary: 'List step types', description: 'Query: workflow_step=a,b.' },
  [`GET ${FF}/_search`]: { tag: 'workflows', summary: 'Search templates (OpenSearch query DSL)' },
  [`POST ${FF}/_search`]: { tag: 'workflows', summary: 'Search templates (OpenSearch query DSL)' },
  [`GET ${FF}/state/_search`]: { tag: 'workflows', summary: 'Search provisioning states (OpenSearch query DSL)' },
  [`POST ${FF}/state/_search`]: { tag: 'workflows', summary: 'Search provisioning states (OpenSearch query DSL)' },
  [`GET ${RT}/action/status`]: { tag: 'runtime', summary: 'Runtime status of a published workflow (NL Flow)', description: 'Header X-API-KEY. 404 with no body when never published; watch=true streams Server-Sent Events.' },
  [`POST ${RT}/action/analyze`]: { tag: 'runtime', summary: 'Analyze a document (SYNC; ASYNC all-in-one)', description: 'Header X-API-KEY, optional X-Correlation-Id; query verboseErrorOutput.' },
  [`POST ${RT}/task`]: { tag: 'tasks', summary: 'Submit a task (202 + Location)', description: 'Optional Idempotency-Key header.' },
  [`GET ${RT}/task`]: { tag: 'tasks', summary: 'List tasks', description: 'Query: status=QUEUED,RUNNING,…, limit, cursor.' },
  [`DELETE ${RT}/task`]: { tag: 'tasks', summary: 'Delete tasks (all, or by status=…); running ones are canceled' },
  [`POST ${RT}/task/status`]: { tag: 'tasks', summary: 'Status of many tasks', description: 'Body: {"taskIds": [...]}.' },
  [`POST ${RT}/task/batch`]: {
    tag: 'tasks',
    summary: 'Submit many tasks (202 when any was created, 200 when all already existed)',
    description:
      'Body: {"tasks": [{"input": {...}, "idempotencyKey": "optional"}, ...]} with 1 to 1000 items. Optional Idempotency-Key header: an item without its own key gets "<header>#<index>", so a retried batch returns the same tasks. Answers {"tasks": [...], "created": n}, in order.',
  },
  [`GET ${RT}/task/:taskId`]: { tag: 'tasks', summary: 'Task status', description: 'Query: wait=30s long-polls until the task ends.' },
  [`GET ${RT}/task/:taskId/result`]: { tag: 'tasks', summary: 'Task result (the output, or the errors body)' },
  [`GET ${RT}/task/:taskId/input`]: { tag: 'tasks', summary: 'Task input as submitted' },
  [`DELETE ${RT}/task/:taskId`]: { tag: 'tasks', summary: 'Cancel (if running) and delete a task' },
  [`POST ${KEYS}`]: { tag: 'api keys', summary: 'Create an API key bound to workflows (the key is shown once)' },
  [`GET ${KEYS}`]: { tag: 'api keys', summary: 'List API keys (never the key)' },
  [`DELETE ${KEYS}/:id`]: { tag: 'api keys', summary: 'Revoke an API key' },
  [`POST ${KEYS}/:id/_rotate`]: { tag: 'api keys', summary: 'Rotate an API key', description: 'Body: optional {"grace_period": "1h"}.' },
  [`POST ${ML}/models/:model_id/_predict`]: { tag: 'ml', summary: 'Run a deployed model (ML Commons shape)' },
  [`POST ${ML}/models/:model_id/_deploy`]: { tag: 'ml', summary: 'Deploy a model' },
  [`POST ${ML}/models/:model_id/_undeploy`]: { tag: 'ml', summary: 'Undeploy a model' },
  [`GET ${ML}/models/:model_id`]: { tag: 'ml', summary: 'Get a model' },
  [`GET ${ML}/connectors/:connector_id`]: { tag: 'ml', summary: 'Get a connector (no credential)' },
  [`GET ${ML}/agents/:agent_id`]: { tag: 'ml', summary: 'Get an agent' },
  [`GET ${USERS}`]: { tag: 'security', summary: 'List users (admin)' },
  [`GET ${USERS}/:name`]: { tag: 'security', summary: 'Get a user' },
  [`PUT ${USERS}/:name`]: { tag: 'security', summary: 'Create or update a user (admin)' },
  [`DELETE ${USERS}/:name`]: { tag: 'security', summary: 'Delete a user (admin)' },
  ['GET /']: { tag: 'node', summary: 'Node info (JSON), or the dashboard for browsers' },
  ['GET /_flowd/health']: { tag: 'node', summary: 'Health', description: '200 {"status":"green"}; 503 {"status":"red","reason":…} once the store reported damage (SQLite quick_check at start, or a corruption error since).' },
  ['GET /_flowd/nodes']: { tag: 'node', summary: 'Cluster nodes', description: 'Every node (one on the embedded store): heartbeat, alive, capacity, and which service instances run on it.' },
  ['GET /metrics']: { tag: 'node', summary: 'Prometheus metrics' },
  ['GET /_flowd/workflows']: { tag: 'dashboard', summary: 'Workflow list for the dashboard', description: 'watch=true streams changes.' },
  ['GET /_flowd/workflows/:workflowId/runtime']: { tag: 'dashboard', summary: 'Runtime status with basic auth (dashboard)' },
  ['POST /_flowd/workflows/:workflowId/analyze']: { tag: 'dashboard', summary: 'Analyze with basic auth (dashboard)' },
};

const HIDDEN = new Set(['GET /_dashboard/', 'GET /_dashboard/assets/:file', 'GET /_flowd/openapi.json', 'GET /_flowd/docs', 'HEAD /_dashboard/', 'HEAD /_dashboard/assets/:file']);

/** Must run before the routes are registered (and before @fastify/swagger collects them). */
export function installRouteDocs(app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const key = `${methods[0] ?? 'GET'} ${route.url}`;
    const doc = DOCS[key];
    const schema = { ...(route.schema ?? {}) } as Record<string, unknown>;
    if (HIDDEN.has(key) || methods.includes('HEAD')) schema['hide'] = true;
    if (doc) {
      schema['summary'] = doc.summary;
      schema['tags'] = [doc.tag];
      if (doc.description) schema['description'] = doc.description;
    }
    route.schema = schema;
  });
}
