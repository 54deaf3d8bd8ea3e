/**
 * ML Commons' connector and model-group routes (route-schema.ts explains the contract). The
 * connector and model-group documents are ML Commons' shapes, kept open; bodies are decoded by
 * the handlers (JSON or YAML, bounded). Errors are OpenSearch's nested body (family `ml`).
 */
import { Type } from 'typebox';
import { routeSchema } from './route-schema.js';
import { FLOW_FRAMEWORK_ERRORS, FlowFrameworkError, OpenObject, pathParams, queryParams } from './common-schemas.js';
import { SearchResponse } from './workflow-contract.js';
import { MlConnector } from './ml-contract.js';
import { MlSearchRequest, MlWriteResponse } from './ml-contract.js';

const TAGS = ['ml'] as const;
const ERRORS = FLOW_FRAMEWORK_ERRORS;
const ConnectorId = pathParams('connector_id');
const ModelGroupId = pathParams('model_group_id');

export const MlConnectorRequest = OpenObject({
  title: 'MlConnectorRequest',
  description:
    'ML Commons connector body: name, description, version, protocol (http or aws_sigv4), parameters, credential, actions, client_config. On update every field is optional.',
});
export const MlConnectorCreated = Type.Object({ connector_id: Type.String() }, { title: 'MlConnectorCreated' });
export const MlModelGroupRequest = OpenObject({
  title: 'MlModelGroupRequest',
  description: 'ML Commons model group body: name, description, access_mode, backend_roles, add_all_backend_roles.',
});
export const MlModelGroupRegistered = Type.Object(
  { model_group_id: Type.String(), status: Type.String({ description: 'CREATED' }) },
  { title: 'MlModelGroupRegistered' },
);
export const MlModelGroup = OpenObject({
  title: 'MlModelGroup',
  description:
    'ML Commons model group document: name, latest_version, description, backend_roles, access, created_time, last_updated_time.',
});
export const MlModelGroupUpdated = Type.Object({ status: Type.String({ description: 'Updated' }) }, { title: 'MlModelGroupUpdated' });

const SEARCH_QUERY = queryParams({
  source: 'The search body, URL-encoded (instead of a request body).',
  source_content_type: 'Its content type.',
});
const SEARCH_RESPONSES = { 200: SearchResponse, ...ERRORS } as const;
/** DELETE of an unknown id answers OpenSearch's DeleteResponse (result not_found) with 404, as ML Commons does. */
const DELETE_RESPONSES = { 200: MlWriteResponse, 404: Type.Union([MlWriteResponse, FlowFrameworkError]), ...ERRORS } as const;

export const MlConnectorContract = {
  create: routeSchema({
    summary: 'Create a connector',
    tags: TAGS,
    body: MlConnectorRequest,
    response: { 200: MlConnectorCreated, ...ERRORS },
  }),
  get: routeSchema({
    summary: 'Get a connector (never its credential)',
    tags: TAGS,
    params: ConnectorId,
    response: { 200: MlConnector, ...ERRORS },
  }),
  update: routeSchema({
    summary: 'Update a connector (refused while a deployed model uses it)',
    tags: TAGS,
    params: ConnectorId,
    body: MlConnectorRequest,
    response: { 200: MlWriteResponse, ...ERRORS },
  }),
  delete: routeSchema({
    summary: 'Delete a connector (refused while a model uses it)',
    tags: TAGS,
    params: ConnectorId,
    response: DELETE_RESPONSES,
  }),
  searchGet: routeSchema({ summary: 'Search connectors', tags: TAGS, querystring: SEARCH_QUERY, response: SEARCH_RESPONSES }),
  search: routeSchema({
    summary: 'Search connectors',
    tags: TAGS,
    querystring: SEARCH_QUERY,
    body: MlSearchRequest,
    response: SEARCH_RESPONSES,
  }),
};

export const MlModelGroupContract = {
  register: routeSchema({
    summary: 'Register a model group',
    tags: TAGS,
    body: MlModelGroupRequest,
    response: { 200: MlModelGroupRegistered, ...ERRORS },
  }),
  get: routeSchema({ summary: 'Get a model group', tags: TAGS, params: ModelGroupId, response: { 200: MlModelGroup, ...ERRORS } }),
  update: routeSchema({
    summary: 'Update a model group',
    tags: TAGS,
    params: ModelGroupId,
    body: MlModelGroupRequest,
    response: { 200: MlModelGroupUpdated, ...ERRORS },
  }),
  delete: routeSchema({
    summary: 'Delete a model group (refused while it has models)',
    tags: TAGS,
    params: ModelGroupId,
    response: DELETE_RESPONSES,
  }),
  searchGet: routeSchema({ summary: 'Search model groups', tags: TAGS, querystring: SEARCH_QUERY, response: SEARCH_RESPONSES }),
  search: routeSchema({
    summary: 'Search model groups',
    tags: TAGS,
    querystring: SEARCH_QUERY,
    body: MlSearchRequest,
    response: SEARCH_RESPONSES,
  }),
};

/** For the lead to merge into wire-schemas.ts (and regenerate the client types). */
export const ML_CONNECTOR_WIRE = {
  MlConnectorRequest,
  MlConnectorCreated,
  MlModelGroupRequest,
  MlModelGroupRegistered,
  MlModelGroup,
  MlModelGroupUpdated,
};
