/**
 * ML Commons' model and ML task routes (route-schema.ts explains the contract): register,
 * get, update, delete, deploy, undeploy and search models; get, delete and search tasks.
 * Model and task documents are ML Commons' own shapes, kept open; bodies are decoded by the
 * handlers (JSON or YAML, bounded).
 */
import { Type } from 'typebox';
import { routeSchema } from './route-schema.js';
import { FLOW_FRAMEWORK_ERRORS, OpenObject, pathParams, queryParams, stringEnum } from './common-schemas.js';
import { SearchResponse } from './workflow-contract.js';
import { MlModel, MlSearchRequest, MlTask, MlWriteResponse, UndeployResult } from './ml-contract.js';

const TAGS = ['ml'] as const;
const ModelId = pathParams('model_id');
const TaskId = pathParams('task_id');
const ERRORS = FLOW_FRAMEWORK_ERRORS;

const TASK_STATES = ['CREATED', 'RUNNING', 'COMPLETED', 'FAILED'] as const;

export const MlRegisterModelRequest = OpenObject({
  title: 'MlRegisterModelRequest',
  description:
    'ML Commons register body: name, function_name ("remote" with connector_id or an inline connector; else one of flowd\'s built-in local models by name), model_group_id, description, …',
});
export const MlRegisterModelResponse = Type.Object(
  { task_id: Type.String(), status: Type.String(), model_id: Type.Optional(Type.String()) },
  { title: 'MlRegisterModelResponse' },
);
export const MlTaskDocument = Type.Object(
  {
    model_id: Type.Optional(Type.String()),
    task_type: Type.String({ description: 'REGISTER_MODEL or DEPLOY_MODEL' }),
    function_name: Type.String(),
    state: stringEnum(TASK_STATES),
    worker_node: Type.Array(Type.String()),
    create_time: Type.Integer(),
    last_update_time: Type.Integer(),
    error: Type.Optional(Type.String()),
    is_async: Type.Boolean(),
  },
  { title: 'MlTaskDocument', additionalProperties: true },
);
export const MlUpdateModelRequest = OpenObject({
  title: 'MlUpdateModelRequest',
  description: 'Fields to change: name, description, is_enabled, connector_id, model_group_id, model_config, rate_limiter, …',
});

const SEARCH_RESPONSES = { 200: SearchResponse, ...ERRORS } as const;

export const MlModelContract = {
  register: routeSchema({
    summary: 'Register a model (remote or built-in local)',
    tags: TAGS,
    querystring: queryParams({ deploy: 'Deploy the model once registered (true/false).' }),
    body: MlRegisterModelRequest,
    response: { 200: MlRegisterModelResponse, ...ERRORS },
  }),
  getModel: routeSchema({ summary: 'Get a model', tags: TAGS, params: ModelId, response: { 200: MlModel, ...ERRORS } }),
  updateModel: routeSchema({
    summary: 'Update a model',
    tags: TAGS,
    params: ModelId,
    body: MlUpdateModelRequest,
    response: { 200: MlWriteResponse, ...ERRORS },
  }),
  deleteModel: routeSchema({
    summary: 'Delete a model (refused while deployed)',
    tags: TAGS,
    params: ModelId,
    response: { 200: MlWriteResponse, ...ERRORS },
  }),
  deploy: routeSchema({
    summary: 'Deploy a model (answers its DEPLOY_MODEL task)',
    tags: TAGS,
    params: ModelId,
    response: { 200: MlTask, ...ERRORS },
  }),
  undeploy: routeSchema({
    summary: 'Undeploy a model',
    tags: TAGS,
    params: ModelId,
    response: { 200: UndeployResult, ...ERRORS },
  }),
  searchModelsGet: routeSchema({ summary: 'Search models', tags: TAGS, response: SEARCH_RESPONSES }),
  searchModels: routeSchema({ summary: 'Search models', tags: TAGS, body: MlSearchRequest, response: SEARCH_RESPONSES }),
  getTask: routeSchema({ summary: 'Get an ML task', tags: TAGS, params: TaskId, response: { 200: MlTaskDocument, ...ERRORS } }),
  deleteTask: routeSchema({
    summary: 'Delete an ML task (refused while running)',
    tags: TAGS,
    params: TaskId,
    response: { 200: MlWriteResponse, ...ERRORS },
  }),
  searchTasksGet: routeSchema({ summary: 'Search ML tasks', tags: TAGS, response: SEARCH_RESPONSES }),
  searchTasks: routeSchema({ summary: 'Search ML tasks', tags: TAGS, body: MlSearchRequest, response: SEARCH_RESPONSES }),
};

/** For the lead to merge into wire-schemas.ts (and regenerate the client types). */
export const ML_MODEL_WIRE = {
  MlRegisterModelRequest,
  MlRegisterModelResponse,
  MlTaskDocument,
  MlUpdateModelRequest,
};
