/**
 * The Flow Framework management API under /_plugins/_flow_framework/workflow: one schema per
 * route (route-schema.ts explains the contract). Bodies stay raw: Flow Framework's messages for
 * bad templates and parameters are part of the wire contract (workflow-routes.ts decodes them).
 */
import { Type } from 'typebox';
import type { Static } from 'typebox';
import type { SearchResponse as SearchResult } from '../../search/types.js';
import { routeSchema } from './route-schema.js';
import { AnyJson, FLOW_FRAMEWORK_ERRORS, OpenObject, OsUser, pathParams, queryParams, stringEnum } from './common-schemas.js';

const TAGS = ['workflows'] as const;

export const ResourceCreated = Type.Object(
  { workflow_step_name: Type.String(), workflow_step_id: Type.String(), resource_type: Type.String(), resource_id: Type.String() },
  { title: 'ResourceCreated' },
);

export const StepStatus = Type.Object(
  {
    id: Type.String(),
    type: Type.String(),
    state: stringEnum(['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELED']),
    attempt: Type.Integer(),
    start_time: Type.Optional(Type.Number({ description: 'epoch ms' })),
    end_time: Type.Optional(Type.Number({ description: 'epoch ms' })),
    duration_ms: Type.Optional(Type.Number()),
    error: Type.Optional(Type.String()),
  },
  { title: 'StepStatus' },
);

/** `_status` (views/status-view.ts builds it in this order). */
export const WorkflowStatus = Type.Object(
  {
    workflow_id: Type.String(),
    error: Type.Optional(Type.String()),
    state: stringEnum(['NOT_STARTED', 'PROVISIONING', 'COMPLETED', 'FAILED']),
    provisioning_progress: Type.Optional(stringEnum(['NOT_STARTED', 'IN_PROGRESS', 'DONE', 'FAILED'], { description: 'with all=true' })),
    provision_start_time: Type.Optional(Type.Number({ description: 'epoch ms, with all=true' })),
    provision_end_time: Type.Optional(Type.Number({ description: 'epoch ms, with all=true' })),
    user: Type.Optional(OsUser),
    resources_created: Type.Optional(Type.Array(ResourceCreated, { description: 'in creation order; absent when empty' })),
    user_outputs: Type.Optional(Type.Record(Type.String(), OpenObject(), { description: 'step id -> its outputs, with all=true' })),
    steps: Type.Optional(Type.Array(StepStatus, { description: 'flowd extension, with all=true' })),
  },
  { title: 'WorkflowStatus' },
);
export type WorkflowStatus = Static<typeof WorkflowStatus>;

/**
 * Create, update and provision answers: `{workflow_id}`; after a sync wait
 * (wait_for_completion_timeout) the `_status` body, or `state: UNKNOWN` with an error when
 * the state could not be read.
 */
export const WorkflowAccepted = Type.Object(
  {
    workflow_id: Type.String(),
    error: Type.Optional(Type.String()),
    state: Type.Optional(Type.String({ description: 'after a sync wait: the state, or UNKNOWN' })),
    resources_created: Type.Optional(Type.Array(ResourceCreated)),
  },
  { title: 'WorkflowAccepted' },
);

export const WorkflowNode = Type.Object(
  { id: Type.String(), type: Type.String(), previous_node_inputs: Type.Record(Type.String(), Type.String()), user_inputs: OpenObject() },
  { title: 'WorkflowNode' },
);

export const WorkflowGraph = Type.Object(
  {
    user_params: Type.Record(Type.String(), Type.String()),
    nodes: Type.Array(WorkflowNode),
    edges: Type.Array(Type.Object({ source: Type.String(), dest: Type.String() })),
  },
  { title: 'WorkflowGraph' },
);

/** A template as GET returns it (template-serializer.ts builds it in this order; secrets dropped). */
export const Template = Type.Object(
  {
    name: Type.String(),
    description: Type.String(),
    use_case: Type.String(),
    version: Type.Optional(
      Type.Object({ template: Type.Optional(Type.String()), compatibility: Type.Optional(Type.Array(Type.String())) }),
    ),
    workflows: Type.Record(Type.String(), WorkflowGraph),
    ui_metadata: Type.Optional(OpenObject()),
    flow: Type.Optional(OpenObject({ description: 'flowd extension: the published flow' })),
    user: Type.Optional(OsUser),
    created_time: Type.Optional(Type.Number()),
    last_updated_time: Type.Optional(Type.Number()),
    last_provisioned_time: Type.Optional(Type.Number()),
    tenant_id: Type.Optional(Type.String()),
    all_shared_principals: Type.Optional(Type.Array(Type.String())),
  },
  { title: 'Template' },
);
export type TemplateDocument = Static<typeof Template>;

/** What create and update accept (JSON or YAML): Flow Framework's template, checked by template-parser.ts. */
const TemplateInput = OpenObject({ title: 'TemplateInput', description: 'A Flow Framework template (JSON or YAML).' });

export const DeleteResult = Type.Object(
  {
    _index: Type.String(),
    _id: Type.String(),
    _version: Type.Integer(),
    result: stringEnum(['deleted', 'not_found']),
    _shards: Type.Object({ total: Type.Integer(), successful: Type.Integer(), failed: Type.Integer() }),
    _seq_no: Type.Integer(),
    _primary_term: Type.Integer(),
  },
  { title: 'DeleteResult' },
);

/** One step type of `_steps`: exactly what Flow Framework's WorkflowStepValidator writes. */
export const FlowFrameworkStepListing = Type.Object(
  {
    inputs: Type.Array(Type.String()),
    outputs: Type.Array(Type.String()),
    required_plugins: Type.Array(Type.String()),
    timeout: Type.Optional(Type.String({ description: 'only when not the default (10s)' })),
  },
  { title: 'FlowFrameworkStepListing' },
);
export type FlowFrameworkStepListing = Static<typeof FlowFrameworkStepListing>;
const FlowFrameworkStepListings = Type.Record(Type.String(), FlowFrameworkStepListing, { title: 'FlowFrameworkStepListings' });

/** One step type of flowd's `/_flowd/steps`: the `_steps` fields and flowd's own. */
export const StepListing = Type.Object(
  {
    inputs: Type.Array(Type.String()),
    outputs: Type.Array(Type.String()),
    required_plugins: Type.Array(Type.String()),
    timeout: Type.Optional(Type.String()),
    optional_inputs: Type.Optional(Type.Array(Type.String())),
    secret_inputs: Type.Optional(Type.Array(Type.String())),
    resource_type: Type.Optional(Type.String()),
  },
  { title: 'StepListing' },
);
const StepListings = Type.Record(Type.String(), StepListing, { title: 'StepListings' });

/** `_provision`'s body: substitution params. */
const ProvisionParams = Type.Record(Type.String(), Type.String(), {
  title: 'ProvisionParams',
  description: 'Substitution params (string values).',
});
/** `_deprovision`: done, or 202 with an error when some resources remain. */
const Deprovisioned = Type.Object({ workflow_id: Type.String() }, { title: 'Deprovisioned' });
const DeprovisionIncomplete = Type.Object({ error: Type.String() }, { title: 'DeprovisionIncomplete' });

/** OpenSearch's search response (hits, total, aggregations), as the query DSL builds it. */
export const SearchResponse = Type.Unsafe<SearchResult>({
  type: 'object',
  additionalProperties: true,
  title: 'SearchResponse',
  description: 'OpenSearch search response: took, timed_out, _shards, hits (kept as the query DSL builds it).',
});

const WorkflowId = pathParams('workflow_id');
const PROVISION_QUERY = {
  wait_for_completion_timeout: 'Wait up to this long (e.g. 5s) and answer the state.',
  on_failure: 'keep (default) or rollback.',
};
const CREATE_QUERY = {
  validation: 'all (default) or none.',
  provision: 'Provision after saving (true/false).',
  update_fields: 'Update only the given fields (PUT).',
  reprovision: 'Provision the changes of a provisioned workflow (PUT).',
  use_case: 'Build the template from a use case; the body holds its parameters.',
  ...PROVISION_QUERY,
};
const SEARCH_QUERY = {
  source: 'The search body as a query parameter.',
  source_content_type: 'Content type of source.',
  size: 'Page size.',
  from: 'Offset.',
};
const SEARCH_TEMPLATES = 'Search templates (OpenSearch query DSL)';
const SEARCH_STATES = 'Search provisioning states (OpenSearch query DSL)';
const SearchRequest = AnyJson('An OpenSearch search request (JSON or YAML); GET takes it as its body too, or in the source parameter.');
const GET_SEARCH_BODY =
  'The body (an OpenSearch search request, JSON or YAML) is read on GET as on POST, as OpenSearch does; or give it in source.';
const SEARCH_RESPONSES = { 200: SearchResponse, ...FLOW_FRAMEWORK_ERRORS } as const;
const WORKFLOW_ACCEPTED = { 201: WorkflowAccepted, 202: WorkflowAccepted, ...FLOW_FRAMEWORK_ERRORS } as const;

export const WorkflowContract = {
  create: routeSchema({
    summary: 'Create a workflow',
    tags: TAGS,
    description: 'Body: a template (JSON or YAML). With provision=true, other query parameters are substitution params.',
    querystring: queryParams(CREATE_QUERY),
    body: TemplateInput,
    response: WORKFLOW_ACCEPTED,
  }),
  update: routeSchema({
    summary: 'Update a workflow',
    tags: TAGS,
    description: 'Query: update_fields, reprovision, provision, wait_for_completion_timeout.',
    params: WorkflowId,
    querystring: queryParams(CREATE_QUERY),
    body: TemplateInput,
    response: WORKFLOW_ACCEPTED,
  }),
  get: routeSchema({
    summary: 'Get a workflow template (secrets never returned)',
    tags: TAGS,
    params: WorkflowId,
    response: { 200: Template, ...FLOW_FRAMEWORK_ERRORS },
  }),
  delete: routeSchema({
    summary: 'Delete a workflow template',
    tags: TAGS,
    description: 'Query: clear_status (409 while the workflow still has resources or published services: deprovision first).',
    params: WorkflowId,
    querystring: queryParams({ clear_status: 'Delete the provisioning status too.' }),
    response: { 200: DeleteResult, ...FLOW_FRAMEWORK_ERRORS },
  }),
  provision: routeSchema({
    summary: 'Provision a workflow',
    tags: TAGS,
    description: 'Query and body params; wait_for_completion_timeout; on_failure=rollback.',
    params: WorkflowId,
    querystring: queryParams(PROVISION_QUERY),
    body: ProvisionParams,
    response: { 202: WorkflowAccepted, ...FLOW_FRAMEWORK_ERRORS },
  }),
  deprovision: routeSchema({
    summary: 'Deprovision a workflow',
    tags: TAGS,
    description: 'Query: allow_delete (resource ids or types). 202 with an error when some resources remain.',
    params: WorkflowId,
    querystring: queryParams({ allow_delete: 'Comma-separated resource ids or types that may be deleted.' }),
    response: {
      200: Deprovisioned,
      202: DeprovisionIncomplete,
      ...FLOW_FRAMEWORK_ERRORS,
    },
  }),
  status: routeSchema({
    summary: 'Provisioning status',
    tags: TAGS,
    description:
      'Query: all=true for steps, times, user_outputs; watch=true streams it as Server-Sent Events (event: status, event: deleted).',
    params: WorkflowId,
    querystring: queryParams({ all: 'Include steps, times and user outputs.', watch: 'Stream as Server-Sent Events.' }),
    response: { 200: WorkflowStatus, ...FLOW_FRAMEWORK_ERRORS },
  }),
  steps: routeSchema({
    summary: 'List step types',
    tags: TAGS,
    description: "Query: workflow_step=a,b. Flow Framework's fields only; /_flowd/steps adds flowd's.",
    querystring: queryParams({ workflow_step: 'Comma-separated step types.' }),
    response: { 200: FlowFrameworkStepListings, ...FLOW_FRAMEWORK_ERRORS },
  }),
  flowdSteps: routeSchema({
    summary: 'List step types with their optional and secret inputs and the resource they create',
    tags: TAGS,
    description: 'Query: workflow_step=a,b. The `_steps` listing plus optional_inputs, secret_inputs and resource_type.',
    querystring: queryParams({ workflow_step: 'Comma-separated step types.' }),
    response: { 200: StepListings, ...FLOW_FRAMEWORK_ERRORS },
  }),
  searchTemplatesGet: routeSchema({
    summary: SEARCH_TEMPLATES,
    tags: TAGS,
    description: GET_SEARCH_BODY,
    querystring: queryParams(SEARCH_QUERY),
    response: SEARCH_RESPONSES,
  }),
  searchTemplates: routeSchema({
    summary: SEARCH_TEMPLATES,
    tags: TAGS,
    querystring: queryParams(SEARCH_QUERY),
    body: SearchRequest,
    response: SEARCH_RESPONSES,
  }),
  searchStatesGet: routeSchema({
    summary: SEARCH_STATES,
    tags: TAGS,
    description: GET_SEARCH_BODY,
    querystring: queryParams(SEARCH_QUERY),
    response: SEARCH_RESPONSES,
  }),
  searchStates: routeSchema({
    summary: SEARCH_STATES,
    tags: TAGS,
    querystring: queryParams(SEARCH_QUERY),
    body: SearchRequest,
    response: SEARCH_RESPONSES,
  }),
};

export const WORKFLOW_WIRE = {
  WorkflowStatus,
  WorkflowAccepted,
  StepStatus,
  ResourceCreated,
  Template,
  WorkflowGraph,
  WorkflowNode,
  DeleteResult,
  FlowFrameworkStepListing,
  FlowFrameworkStepListings,
  StepListing,
  SearchResponse,
  TemplateInput,
  StepListings,
  ProvisionParams,
  Deprovisioned,
  DeprovisionIncomplete,
};
