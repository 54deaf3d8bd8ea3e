/**
 * The ML Commons-compatible slice of `/_plugins/_ml` that flowd's native ML resources answer:
 * get a model / connector / agent, deploy and undeploy a model, and `_predict`. Bodies arrive
 * as raw strings (the server's catch-all parser); errors are thrown as FlowdErrors and
 * rendered centrally. Connectors are returned without their credential.
 */
import type { FastifyInstance } from 'fastify';
import { connectorNotFound, modelNotFound, notFound } from '../../errors.js';
import type { MlService } from '../../ml/ml-service.js';
import { newId } from '../../util/ids.js';
import { parseRequestBody } from '../bounded-body.js';
import { requireAction } from '../auth/request-auth.js';
import { rawBody } from './request-params.js';
import { errorHandlerFor } from '../error-renderer.js';
import { typed } from '../contract/route-schema.js';
import { MlContract as C } from '../contract/ml-contract.js';

const BASE = '/_plugins/_ml';
/** The "node" ML Commons names in undeploy answers; flowd serves every model from each node. */
const NODE_NAME = 'flowd';

export async function mlRoutes(app: FastifyInstance, opts: { ml: MlService }): Promise<void> {
  app.setErrorHandler(errorHandlerFor('flow_framework'));
  const { ml } = opts;
  const r = typed(app);

  r.post(`${BASE}/models/:model_id/_predict`, { schema: C.predict }, async (req, reply) => {
    requireAction(req, 'ml:write');
    const raw = rawBody(req);
    const body = raw.trim() === '' ? {} : parseRequestBody(req, raw);
    // A client that goes away stops the upstream call (or the local batch) it was waiting for.
    const ac = new AbortController();
    const onClose = (): void => {
      if (!reply.raw.writableEnded) ac.abort(new Error('client disconnected'));
    };
    reply.raw.once('close', onClose);
    try {
      return await ml.predict(req.params.model_id, body, ac.signal);
    } finally {
      reply.raw.off('close', onClose);
    }
  });

  r.post(`${BASE}/models/:model_id/_deploy`, { schema: C.deploy }, async (req) => {
    requireAction(req, 'ml:write');
    await ml.deployModel(req.params.model_id);
    return { task_id: newId(), task_type: 'DEPLOY_MODEL', status: 'COMPLETED' };
  });

  r.post(`${BASE}/models/:model_id/_undeploy`, { schema: C.undeploy }, async (req) => {
    requireAction(req, 'ml:write');
    const id = req.params.model_id;
    if (!(await ml.undeployModel(id))) throw modelNotFound();
    return { [NODE_NAME]: { stats: { [id]: 'UNDEPLOYED' } } };
  });

  r.get(`${BASE}/models/:model_id`, { schema: C.getModel }, async (req) => {
    requireAction(req, 'ml:read');
    const doc = await ml.getModel(req.params.model_id);
    if (!doc) throw modelNotFound();
    return doc;
  });

  r.get(`${BASE}/connectors/:connector_id`, { schema: C.getConnector }, async (req) => {
    requireAction(req, 'ml:read');
    const doc = await ml.getConnector(req.params.connector_id);
    if (!doc) throw connectorNotFound();
    return doc;
  });

  r.get(`${BASE}/agents/:agent_id`, { schema: C.getAgent }, async (req) => {
    requireAction(req, 'ml:read');
    const id = req.params.agent_id;
    const doc = await ml.getAgent(id);
    if (!doc) throw notFound(`Failed to find agent with the provided agent id: ${id}`, { code: 'ml.agent_not_found' });
    return doc;
  });
}
