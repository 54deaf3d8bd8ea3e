/**
 * ML Commons' agent and tool API over flowd's native agents: register, get, update, delete,
 * search and execute agents (agent-executor.ts runs flow agents); list and get the tools flowd
 * runs (ml-tools.ts). Reads need `ml:read`, everything else `ml:write`. Errors answer ML
 * Commons' nested OpenSearch body, except what an agent's run raises: `_execute` answers that
 * in ML Commons' execute shape (RestMLExecuteAction's `{"status", "error": {"type", "reason",
 * "details"}}`). No answer ever holds a secret parameter (agent-secrets.ts).
 */
import { tenantFilter, tenantOption } from '../tenancy.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isFlowdError, notFound } from '../../errors.js';
import { agentBodyObject, checkRegisterBody, checkUpdateBody } from '../../ml/agent-input.js';
import { AgentExecutor, agentNotFound, executeParams } from '../../ml/agent-executor.js';
import { AGENT_KIND } from '../../ml/agents.js';
import { isObject } from '../../ml/json-util.js';
import { ML_INDEX, searchMlResources } from '../../ml/ml-search.js';
import type { MlService } from '../../ml/ml-service.js';
import { getTool, listTools } from '../../ml/ml-tools.js';
import type { SearchResponse } from '../../search/query-dsl.js';
import type { Store } from '../../store/store.js';
import { parseRequestBody } from '../bounded-body.js';
import { requireAction } from '../auth/request-auth.js';
import { rawBody } from './request-params.js';
import { readGetBody } from './get-body.js';
import { errorHandlerFor, renderError } from '../error-renderer.js';
import { typed } from '../contract/route-schema.js';
import { MlAgentContract as C } from '../contract/ml-agent-contract.js';

const BASE = '/_plugins/_ml';
const AGENT_INDEX = ML_INDEX[AGENT_KIND];

export interface MlAgentRoutesOptions {
  ml: MlService;
  store: Store;
}

/** The decoded body; undefined when there is none. */
function bodyOf(req: FastifyRequest): unknown {
  const raw = rawBody(req);
  return raw.trim() === '' ? undefined : parseRequestBody(req, raw);
}

/** OpenSearch's answer to a write on the agent index. */
function writeAnswer(
  id: string,
  result: 'updated' | 'deleted',
): {
  _index: string;
  _id: string;
  _version: number;
  result: string;
  _shards: { total: number; successful: number; failed: number };
  _seq_no: number;
  _primary_term: number;
} {
  return {
    _index: AGENT_INDEX,
    _id: id,
    _version: 2,
    result,
    _shards: { total: 1, successful: 1, failed: 0 },
    _seq_no: 1,
    _primary_term: 1,
  };
}

/** RestMLExecuteAction's error body: the exception's class, "Invalid Request" for a 400, its message. */
function executeError(err: unknown, req: FastifyRequest): { status: number; body: Record<string, unknown> } {
  const r = renderError(err, 'ml');
  if (r.internal) req.log.error({ err, url: req.url }, 'internal error');
  const e = isFlowdError(err) ? err : undefined;
  const type =
    e === undefined || r.internal ? 'Exception' : e.kind === 'validation' ? 'IllegalArgumentException' : 'OpenSearchStatusException';
  const details = e !== undefined && !r.internal ? e.message : 'Internal server error; the details are in the flowd log.';
  const reason = r.status === 400 ? 'Invalid Request' : 'System Error';
  return { status: r.status, body: { status: r.status, error: { type, reason, details } } };
}

export async function mlAgentRoutes(app: FastifyInstance, opts: MlAgentRoutesOptions): Promise<void> {
  app.setErrorHandler(errorHandlerFor('ml'));
  const { ml, store } = opts;
  const executor = new AgentExecutor(ml);
  const r = typed(app);

  r.post(`${BASE}/agents/_register`, { schema: C.register }, async (req) => {
    requireAction(req, 'ml:write');
    const body = agentBodyObject(bodyOf(req));
    checkRegisterBody(body);
    return { agent_id: await ml.registerAgent(body, tenantOption(req)) };
  });

  r.get(`${BASE}/agents/:agent_id`, { schema: C.get }, async (req) => {
    requireAction(req, 'ml:read');
    const doc = await ml.getAgent(req.params.agent_id);
    if (!doc) throw agentNotFound(req.params.agent_id);
    return doc;
  });

  r.put(`${BASE}/agents/:agent_id`, { schema: C.update }, async (req) => {
    requireAction(req, 'ml:write');
    const id = req.params.agent_id;
    const body = agentBodyObject(bodyOf(req));
    checkUpdateBody(body);
    if (!(await ml.updateAgent(id, body))) throw notFound(`Failed to get agent with ID ${id}`, { code: 'ml.agent_not_found' });
    return writeAnswer(id, 'updated');
  });

  r.delete(`${BASE}/agents/:agent_id`, { schema: C.delete }, async (req) => {
    requireAction(req, 'ml:write');
    const id = req.params.agent_id;
    if (!(await ml.deleteAgent(id))) throw notFound('Fail to find ml agent', { code: 'ml.agent_not_found' });
    return writeAnswer(id, 'deleted');
  });

  const search = async (req: FastifyRequest): Promise<SearchResponse> => {
    requireAction(req, 'ml:read');
    const startedAt = performance.now(); // `took` covers loading the documents
    const body = bodyOf(req) ?? {};
    // ML Commons asks for versions and sequence numbers in every agent search.
    const query = isObject(body) ? { ...body, seq_no_primary_term: true, version: true } : body;
    return searchMlResources(store, AGENT_KIND, query, { startedAt, filter: tenantFilter(req) });
  };
  r.get(`${BASE}/agents/_search`, { schema: C.searchGet, preValidation: readGetBody }, search);
  r.post(`${BASE}/agents/_search`, { schema: C.search }, search);

  r.post(`${BASE}/agents/:agent_id/_execute`, { schema: C.execute }, async (req, reply: FastifyReply) => {
    requireAction(req, 'ml:write');
    const body = agentBodyObject(bodyOf(req));
    // A client that goes away stops the model calls it was waiting for.
    const ac = new AbortController();
    const onClose = (): void => {
      if (!reply.raw.writableEnded) ac.abort(new Error('client disconnected'));
    };
    reply.raw.once('close', onClose);
    try {
      return await executor.execute(req.params.agent_id, executeParams(body), ac.signal);
    } catch (e) {
      const { status, body: errorBody } = executeError(e, req);
      return reply.code(status).send(errorBody);
    } finally {
      reply.raw.off('close', onClose);
    }
  });

  r.get(`${BASE}/tools`, { schema: C.listTools }, async (req) => {
    requireAction(req, 'ml:read');
    return listTools();
  });

  r.get(`${BASE}/tools/:tool_name`, { schema: C.getTool }, async (req) => {
    requireAction(req, 'ml:read');
    const name = req.params.tool_name;
    const tool = getTool(name);
    if (!tool) throw notFound(`Failed to find tool information with the provided tool name: ${name}`, { code: 'ml.tool_not_found' });
    return tool;
  });
}
