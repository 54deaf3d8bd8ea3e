/**
 * ML Commons' connector and model-group REST API over flowd's native ML resources: the same
 * documents Flow Framework's create_connector / register_model_group steps create, so either
 * side sees and changes the other's. Connectors never show their credential (GET, search hits,
 * `_source` includes, queries on it: the search runs over the public view). Errors are
 * OpenSearch's nested body (family `ml`) with ML Commons' messages.
 */
import { tenantFilter, tenantOption } from '../tenancy.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { notFound } from '../../errors.js';
import { checkCreateConnectorBody } from '../../ml/connector-input.js';
import { CONNECTOR_KIND } from '../../ml/connectors.js';
import type { MlSearchKind } from '../../ml/ml-search.js';
import { ML_INDEX, searchMlResources } from '../../ml/ml-search.js';
import type { MlService } from '../../ml/ml-service.js';
import type { ModelGroupCaller } from '../../ml/model-group-rules.js';
import { registerBody, requireModelGroupName } from '../../ml/model-group-rules.js';
import { MODEL_GROUP_KIND } from '../../ml/models.js';
import type { SearchResponse } from '../../search/query-dsl.js';
import type { Store } from '../../store/store.js';
import { isAdmin } from '../auth/roles.js';
import { requireAction } from '../auth/request-auth.js';
import { MlConnectorContract as C, MlModelGroupContract as G } from '../contract/ml-connector-contract.js';
import { typed } from '../contract/route-schema.js';
import { errorHandlerFor } from '../error-renderer.js';
import { readGetBody } from './get-body.js';
import { mlObjectBody, mlSearchBody } from './ml-request-body.js';

const BASE = '/_plugins/_ml';

export interface MlConnectorRoutesOptions {
  ml: MlService;
  store: Store;
}

const connectorMissing = (id: string): Error =>
  notFound(`Failed to find connector with the provided connector id: ${id}`, { code: 'ml.connector_not_found' });
const groupMissing = (id: string): Error =>
  notFound(`Failed to find model group with the provided model group id: ${id}`, { code: 'ml.model_group_not_found' });

/**
 * OpenSearch's UpdateResponse / DeleteResponse for an ML document. flowd keeps no per-document
 * version for ML resources: `_version` and `_seq_no` are the placeholders its search hits report.
 */
function writeResponse(kind: MlSearchKind, id: string, result: 'updated' | 'deleted' | 'not_found') {
  return {
    _index: ML_INDEX[kind],
    _id: id,
    _version: 1,
    result,
    _shards: { total: 1, successful: 1, failed: 0 },
    _seq_no: 0,
    _primary_term: 1,
  };
}

/** Who asks, for the model-group access rules; undefined when flowd runs without security. */
function callerOf(req: FastifyRequest): ModelGroupCaller | undefined {
  const u = req.flowdUser;
  return u === undefined ? undefined : { backendRoles: u.backendRoles, admin: isAdmin(u) };
}

export async function mlConnectorRoutes(app: FastifyInstance, opts: MlConnectorRoutesOptions): Promise<void> {
  app.setErrorHandler(errorHandlerFor('ml'));
  const { ml, store } = opts;
  const r = typed(app);

  const search =
    (kind: MlSearchKind) =>
    async (req: FastifyRequest): Promise<SearchResponse> => {
      requireAction(req, 'ml:read');
      const started = performance.now(); // `took` covers loading the documents
      return searchMlResources(store, kind, mlSearchBody(req), { startedAt: started, filter: tenantFilter(req) });
    };

  // ------------------------------------------------------------------ connectors

  r.post(`${BASE}/connectors/_create`, { schema: C.create }, async (req) => {
    requireAction(req, 'ml:write');
    const body = mlObjectBody(req, 'Create Connector request has empty body');
    checkCreateConnectorBody(body);
    return { connector_id: await ml.createConnector(body, tenantOption(req)) };
  });

  r.get(`${BASE}/connectors/_search`, { schema: C.searchGet, preValidation: readGetBody }, search(CONNECTOR_KIND));
  r.post(`${BASE}/connectors/_search`, { schema: C.search }, search(CONNECTOR_KIND));

  r.get(`${BASE}/connectors/:connector_id`, { schema: C.get }, async (req) => {
    requireAction(req, 'ml:read');
    const id = req.params.connector_id;
    const doc = await ml.getConnector(id);
    if (!doc) throw connectorMissing(id);
    return doc;
  });

  r.put(`${BASE}/connectors/:connector_id`, { schema: C.update }, async (req) => {
    requireAction(req, 'ml:write');
    const id = req.params.connector_id;
    const body = mlObjectBody(req, 'Failed to update connector: Request body is empty');
    if (!(await ml.updateConnector(id, body))) throw connectorMissing(id);
    return writeResponse(CONNECTOR_KIND, id, 'updated');
  });

  r.delete(`${BASE}/connectors/:connector_id`, { schema: C.delete }, async (req, reply) => {
    requireAction(req, 'ml:write');
    const id = req.params.connector_id;
    if (await ml.deleteConnector(id)) return writeResponse(CONNECTOR_KIND, id, 'deleted');
    return reply.code(404).send(writeResponse(CONNECTOR_KIND, id, 'not_found'));
  });

  // ------------------------------------------------------------------ model groups

  r.post(`${BASE}/model_groups/_register`, { schema: G.register }, async (req) => {
    requireAction(req, 'ml:write');
    const body = mlObjectBody(req, 'Model group request has empty body');
    requireModelGroupName(body);
    return { model_group_id: await ml.registerModelGroup(registerBody(body, callerOf(req)), tenantOption(req)), status: 'CREATED' };
  });

  r.get(`${BASE}/model_groups/_search`, { schema: G.searchGet, preValidation: readGetBody }, search(MODEL_GROUP_KIND));
  r.post(`${BASE}/model_groups/_search`, { schema: G.search }, search(MODEL_GROUP_KIND));

  r.get(`${BASE}/model_groups/:model_group_id`, { schema: G.get }, async (req) => {
    requireAction(req, 'ml:read');
    const id = req.params.model_group_id;
    const doc = await ml.getModelGroup(id);
    if (!doc) throw groupMissing(id);
    return doc;
  });

  r.put(`${BASE}/model_groups/:model_group_id`, { schema: G.update }, async (req) => {
    requireAction(req, 'ml:write');
    const id = req.params.model_group_id;
    const body = mlObjectBody(req, 'Model group request has empty body');
    if (!(await ml.updateModelGroup(id, body, callerOf(req)))) throw groupMissing(id);
    return { status: 'Updated' };
  });

  r.delete(`${BASE}/model_groups/:model_group_id`, { schema: G.delete }, async (req, reply) => {
    requireAction(req, 'ml:write');
    const id = req.params.model_group_id;
    if (await ml.deleteModelGroup(id)) return writeResponse(MODEL_GROUP_KIND, id, 'deleted');
    return reply.code(404).send(writeResponse(MODEL_GROUP_KIND, id, 'not_found'));
  });
}
