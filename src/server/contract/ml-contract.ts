/**
 * The ML Commons-compatible slice of /_plugins/_ml (route-schema.ts explains the contract).
 * Model, connector and agent documents and model answers are ML Commons' own shapes, kept
 * open; `_predict` decodes its body itself (JSON or YAML, empty = {}).
 */
import { Type } from 'typebox';
import { routeSchema } from './route-schema.js';
import { AnyJson, FLOW_FRAMEWORK_ERRORS, OpenObject, pathParams } from './common-schemas.js';

const TAGS = ['ml'] as const;
const ModelId = pathParams('model_id');

export const PredictResponse = AnyJson('ML Commons predict answer: inference_results with the model output.');
export const MlTask = Type.Object({ task_id: Type.String(), task_type: Type.String(), status: Type.String() }, { title: 'MlTask' });
export const UndeployResult = Type.Record(
  Type.String({ description: 'the node id' }),
  Type.Object({ stats: Type.Record(Type.String(), Type.String(), { description: 'model id -> UNDEPLOYED' }) }),
  { title: 'UndeployResult' },
);
/** OpenSearch's answer to an update or delete of one document (ML Commons passes it through). */
export const MlWriteResponse = Type.Object(
  {
    _index: Type.String(),
    _id: Type.String(),
    _version: Type.Integer(),
    result: Type.String({ description: 'updated, deleted or not_found' }),
    _shards: Type.Object({ total: Type.Integer(), successful: Type.Integer(), failed: Type.Integer() }),
    _seq_no: Type.Integer(),
    _primary_term: Type.Integer(),
  },
  { title: 'MlWriteResponse' },
);
/** Every ML `_search` body: the OpenSearch query DSL. */
export const MlSearchRequest = OpenObject({
  title: 'MlSearchRequest',
  description: 'OpenSearch query DSL body (query, size, from, sort, _source).',
});
export const MlModel = OpenObject({ title: 'MlModel', description: 'ML Commons model document.' });
export const MlConnector = OpenObject({ title: 'MlConnector', description: 'ML Commons connector document, without its credential.' });
export const MlAgent = OpenObject({ title: 'MlAgent', description: 'ML Commons agent document.' });

export const PredictRequest = OpenObject({ title: 'PredictRequest', description: 'ML Commons predict body, e.g. {"parameters": {...}}.' });

export const MlContract = {
  predict: routeSchema({
    summary: 'Run a deployed model (ML Commons shape)',
    tags: TAGS,
    params: ModelId,
    body: PredictRequest,
    response: { 200: PredictResponse, ...FLOW_FRAMEWORK_ERRORS },
  }),
  getConnector: routeSchema({
    summary: 'Get a connector (no credential)',
    tags: TAGS,
    params: pathParams('connector_id'),
    response: { 200: MlConnector, ...FLOW_FRAMEWORK_ERRORS },
  }),
  getAgent: routeSchema({
    summary: 'Get an agent',
    tags: TAGS,
    params: pathParams('agent_id'),
    response: { 200: MlAgent, ...FLOW_FRAMEWORK_ERRORS },
  }),
};

export const ML_WIRE = { MlTask, UndeployResult, MlModel, MlConnector, MlAgent, PredictRequest, MlWriteResponse, MlSearchRequest };
