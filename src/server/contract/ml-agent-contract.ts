/**
 * ML Commons' agent and tool routes (route-schema.ts explains the contract): register, get,
 * update, delete, search and execute agents; list and get tools. Agent documents and execute
 * answers are ML Commons' own shapes, kept open; bodies are decoded by the handlers (JSON or
 * YAML, bounded). `_execute` answers its errors in ML Commons' execute shape
 * (`{"status", "error": {"type", "reason", "details"}}`), every other route OpenSearch's nested one.
 */
import { Type } from 'typebox';
import { routeSchema } from './route-schema.js';
import { FLOW_FRAMEWORK_ERRORS, OpenObject, pathParams } from './common-schemas.js';
import { SearchResponse } from './workflow-contract.js';
import { MlAgent, MlSearchRequest, MlWriteResponse } from './ml-contract.js';

const TAGS = ['ml'] as const;
const AgentId = pathParams('agent_id');
const ERRORS = FLOW_FRAMEWORK_ERRORS;

export const MlRegisterAgentRequest = OpenObject({
  title: 'MlRegisterAgentRequest',
  description:
    'ML Commons agent: name, type (flow, conversational, conversational_flow, plan_execute_and_reflect), description, tools, llm, parameters, memory, app_type.',
});
export const MlRegisterAgentResponse = Type.Object({ agent_id: Type.String() }, { title: 'MlRegisterAgentResponse' });
export const MlUpdateAgentRequest = OpenObject({
  title: 'MlUpdateAgentRequest',
  description: 'Fields to replace: name, description, llm, tools, parameters, memory, app_type (the type never changes).',
});
export const MlExecuteAgentRequest = OpenObject({
  title: 'MlExecuteAgentRequest',
  description: 'ML Commons execute body: {"parameters": {...}} (values other than strings are passed as their JSON text).',
});
export const MlModelTensor = Type.Object(
  {
    name: Type.Optional(Type.String()),
    data_type: Type.Optional(Type.String()),
    shape: Type.Optional(Type.Array(Type.Integer())),
    data: Type.Optional(Type.Array(Type.Number())),
    result: Type.Optional(Type.String()),
    dataAsMap: Type.Optional(Type.Unsafe<unknown>({})),
  },
  { title: 'MlModelTensor' },
);
export const MlExecuteAgentResponse = Type.Object(
  { inference_results: Type.Array(Type.Object({ output: Type.Array(MlModelTensor) })) },
  { title: 'MlExecuteAgentResponse' },
);
/** ML Commons' execute error (RestMLExecuteAction), or OpenSearch's nested one before the agent runs (auth). */
export const MlExecuteError = OpenObject({
  title: 'MlExecuteError',
  description:
    '{"status": n, "error": {"type", "reason": "Invalid Request" | "System Error", "details"}}; authorization errors: OpenSearch\'s nested body.',
});
export const MlTool = Type.Object(
  { name: Type.String(), description: Type.String(), type: Type.String(), version: Type.String() },
  { title: 'MlTool' },
);
export const MlTools = Type.Array(MlTool, { title: 'MlTools' });
const SEARCH_RESPONSES = { 200: SearchResponse, ...ERRORS } as const;

export const MlAgentContract = {
  register: routeSchema({
    summary: 'Register an agent',
    tags: TAGS,
    body: MlRegisterAgentRequest,
    response: { 200: MlRegisterAgentResponse, ...ERRORS },
  }),
  get: routeSchema({ summary: 'Get an agent (no secret parameter)', tags: TAGS, params: AgentId, response: { 200: MlAgent, ...ERRORS } }),
  update: routeSchema({
    summary: 'Update an agent',
    tags: TAGS,
    params: AgentId,
    body: MlUpdateAgentRequest,
    response: { 200: MlWriteResponse, ...ERRORS },
  }),
  delete: routeSchema({ summary: 'Delete an agent', tags: TAGS, params: AgentId, response: { 200: MlWriteResponse, ...ERRORS } }),
  searchGet: routeSchema({ summary: 'Search agents', tags: TAGS, response: SEARCH_RESPONSES }),
  search: routeSchema({ summary: 'Search agents', tags: TAGS, body: MlSearchRequest, response: SEARCH_RESPONSES }),
  execute: routeSchema({
    summary: 'Execute an agent (flow agents: MLModelTool, ConnectorTool, AgentTool)',
    tags: TAGS,
    params: AgentId,
    body: MlExecuteAgentRequest,
    response: { 200: MlExecuteAgentResponse, '4xx': MlExecuteError, '5xx': MlExecuteError },
  }),
  listTools: routeSchema({ summary: 'List the tools flowd runs', tags: TAGS, response: { 200: MlTools, ...ERRORS } }),
  getTool: routeSchema({ summary: 'Get a tool', tags: TAGS, params: pathParams('tool_name'), response: { 200: MlTool, ...ERRORS } }),
};

export const ML_AGENT_WIRE = {
  MlRegisterAgentRequest,
  MlRegisterAgentResponse,
  MlUpdateAgentRequest,
  MlExecuteAgentRequest,
  MlModelTensor,
  MlExecuteAgentResponse,
  MlExecuteError,
  MlTool,
  MlTools,
};
