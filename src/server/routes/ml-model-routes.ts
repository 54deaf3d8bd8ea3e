/**
 * ML Commons' model and ML task API over flowd's native models (ml-model-api.ts has the
 * semantics): register, get, update, delete, deploy, undeploy and search models; get, delete
 * and search the tasks registering and deploying leave. Errors answer ML Commons' nested
 * OpenSearch body. Reads need `ml:read`, everything else `ml:write`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { notFound } from '../../errors.js';
import type { MlService } from '../../ml/ml-service.js';
import { MlModelApi, writeAnswer } from '../../ml/ml-model-api.js';
import { TASK_KIND, searchMlResources } from '../../ml/ml-search.js';
import { tenantFilter } from '../tenancy.js';
import type { MlSearchKind } from '../../ml/ml-search.js';
import { MlTasks, taskNotFound } from '../../ml/ml-tasks.js';
import { MODEL_KIND } from '../../ml/models.js';
import type { Store } from '../../store/store.js';
import { requireAction } from '../auth/request-auth.js';
import { boolParam, queryOf, rejectUnknownParams } from './request-params.js';
import { mlObjectBody, mlSearchBody } from './ml-request-body.js';
import { readGetBody } from './get-body.js';
import { errorHandlerFor } from '../error-renderer.js';
import { typed } from '../contract/route-schema.js';
import { MlModelContract as C } from '../contract/ml-model-contract.js';

const BASE = '/_plugins/_ml';

export interface MlModelRoutesOptions {
  ml: MlService;
  store: Store;
  /** This node's id: the `worker_node` of the tasks it runs and the node undeploy answers name. */
  nodeId: string;
}

export async function mlModelRoutes(app: FastifyInstance, opts: MlModelRoutesOptions): Promise<void> {
  app.setErrorHandler(errorHandlerFor('ml'));
  const { ml, store } = opts;
  const tasks = new MlTasks({ store, nodeId: opts.nodeId, logger: app.log });
  const api = new MlModelApi({ ml, store, tasks });
  // Work still running (a local model loading) ends before the store closes.
  app.addHook('onClose', async () => tasks.close());
  const r = typed(app);

  r.post(`${BASE}/models/_register`, { schema: C.register }, async (req) => {
    requireAction(req, 'ml:write');
    const q = queryOf(req);
    rejectUnknownParams(req, q, ['deploy']);
    return api.register(mlObjectBody(req, 'request body is required'), boolParam(q, 'deploy'), req.flowdTenant);
  });

  r.get(`${BASE}/models/:model_id`, { schema: C.getModel }, async (req) => {
    requireAction(req, 'ml:read');
    const id = req.params.model_id;
    const doc = await ml.getModel(id);
    if (!doc) throw notFound(`Failed to find model with the provided model id: ${id}`, { code: 'ml.model_not_found' });
    return doc;
  });

  r.put(`${BASE}/models/:model_id`, { schema: C.updateModel }, async (req) => {
    requireAction(req, 'ml:write');
    return api.update(req.params.model_id, mlObjectBody(req, 'Update model request has empty body'), req.flowdTenant);
  });

  r.delete(`${BASE}/models/:model_id`, { schema: C.deleteModel }, async (req) => {
    requireAction(req, 'ml:write');
    return api.delete(req.params.model_id);
  });

  r.post(`${BASE}/models/:model_id/_deploy`, { schema: C.deploy }, async (req) => {
    requireAction(req, 'ml:write');
    return api.deploy(req.params.model_id);
  });

  r.post(`${BASE}/models/:model_id/_undeploy`, { schema: C.undeploy }, async (req) => {
    requireAction(req, 'ml:write');
    return api.undeploy(req.params.model_id);
  });

  const search = (kind: MlSearchKind) => async (req: FastifyRequest) => {
    requireAction(req, 'ml:read');
    const startedAt = performance.now(); // `took` covers loading the documents
    return searchMlResources(store, kind, mlSearchBody(req), { startedAt, filter: tenantFilter(req) });
  };
  r.get(`${BASE}/models/_search`, { schema: C.searchModelsGet, preValidation: readGetBody }, search(MODEL_KIND));
  r.post(`${BASE}/models/_search`, { schema: C.searchModels }, search(MODEL_KIND));

  r.get(`${BASE}/tasks/:task_id`, { schema: C.getTask }, async (req) => {
    requireAction(req, 'ml:read');
    const doc = await tasks.get(req.params.task_id);
    if (!doc) throw taskNotFound();
    return doc;
  });

  r.delete(`${BASE}/tasks/:task_id`, { schema: C.deleteTask }, async (req) => {
    requireAction(req, 'ml:write');
    const id = req.params.task_id;
    await tasks.delete(id);
    return writeAnswer('.plugins-ml-task', id, 'deleted');
  });

  r.get(`${BASE}/tasks/_search`, { schema: C.searchTasksGet, preValidation: readGetBody }, search(TASK_KIND));
  r.post(`${BASE}/tasks/_search`, { schema: C.searchTasks }, search(TASK_KIND));
}
