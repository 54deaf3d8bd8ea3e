/**
 * @flowd/client: a typed client for flowd's HTTP APIs, for Node.js 20+ and browsers, with no
 * dependencies. See README.md for examples.
 */
export { FlowdClient } from './flowd-client.js';
export type { CreateWorkflowOptions, FlowdClientOptions, ListTasksOptions, ProvisionOptions, RuntimeAuth } from './flowd-client.js';
export { FlowdClientError, isFlowdClientError, serverMessage } from './flowd-client-error.js';
export type { FlowdClientErrorInit, FlowdClientErrorKind } from './flowd-client-error.js';
export { SseParser } from './sse-parser.js';
export type { SseMessage } from './sse-parser.js';
export type * from './client-types.js';
