/**
 * The ML Commons-compatible slice of `/_plugins/_ml` that flowd's native ML resources answer:
 * `_predict` (models and ML tasks: ml-model-routes.ts; connectors and model groups:
 * ml-connector-routes.ts). Bodies arrive as raw strings (the server's catch-all parser);
 * errors are thrown as FlowdErrors and rendered centrally.
 */
import type { FastifyInstance } from 'fastify';
import type { MlService } from '../../ml/ml-service.js';
import { parseRequestBody } from '../bounded-body.js';
import { requireAction } from '../auth/request-auth.js';
import { rawBody } from './request-params.js';
import { errorHandlerFor } from '../error-renderer.js';
import { typed } from '../contract/route-schema.js';
import { MlContract as C } from '../contract/ml-contract.js';

const BASE = '/_plugins/_ml';

export async function mlRoutes(app: FastifyInstance, opts: { ml: MlService }): Promise<void> {
  app.setErrorHandler(errorHandlerFor('ml'));
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
}
