/** Small helpers for runtime tests: publish a flow through the management API, get an API key, call the runtime API. */
import type { HttpResult, TestNode } from './flowd-harness.js';
import { FF, httpRequest } from './flowd-harness.js';

export const RT = '/api/v1/runtime/workflow';

/** Creates and provisions (waiting) a workflow; returns its id and the final _status. */
export async function provisionFlow(
  node: TestNode,
  flow: unknown,
  nodes: unknown[] = [],
  extra: Record<string, unknown> = {},
): Promise<{ id: string; status: any }> {
  const r = await node.request('POST', `${FF}?provision=true&wait_for_completion_timeout=60s`, {
    body: {
      name: 'rt',
      description: 'runtime test',
      use_case: 'TEST',
      ...(nodes.length > 0 ? { workflows: { provision: { nodes } } } : {}),
      flow,
      ...extra,
    },
  });
  if (r.status !== 201 && r.status !== 200 && r.status !== 202) throw new Error(`provision answered ${r.status}: ${r.text}`);
  return { id: r.body.workflow_id, status: r.body };
}

export async function apiKey(node: TestNode, workflowIds: string[]): Promise<string> {
  const r = await node.request('POST', '/_flowd/api_keys', { body: { name: 'test', workflow_ids: workflowIds } });
  if (r.status !== 201) throw new Error(`api key answered ${r.status}: ${r.text}`);
  return r.body.key as string;
}

export function rt(
  node: TestNode,
  key: string | null,
  method: string,
  id: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  return httpRequest(node.url, method, `${RT}/${id}/${path}`, {
    auth: null,
    headers: { ...(key !== null ? { 'x-api-key': key } : {}), ...headers },
    ...(body !== undefined ? { body } : {}),
  });
}

export async function waitRuntime(node: TestNode, key: string, id: string, pred: (s: any) => boolean, timeoutMs = 20_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await rt(node, key, 'GET', id, 'action/status');
    if (r.status === 200 && pred(r.body)) return r.body;
    if (Date.now() > deadline) throw new Error(`timed out waiting for runtime status of ${id}; last ${r.status}: ${r.text}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}
