/**
 * Every named schema of the wire contract, by the type name the generated client and dashboard
 * types give it (scripts generate those types from this map; route-schema.ts explains the
 * contract). Each API family's contract file exports its own map; this file only merges them.
 */
import type { TSchema } from 'typebox';
import { FlowFrameworkError, OsUser, SearchErrorCause } from './common-schemas.js';
import { WORKFLOW_WIRE } from './workflow-contract.js';
import { ML_WIRE } from './ml-contract.js';
import { ML_CONNECTOR_WIRE } from './ml-connector-contract.js';
import { ML_AGENT_WIRE } from './ml-agent-contract.js';
import { ML_MODEL_WIRE } from './ml-model-contract.js';
import { SECURITY_WIRE } from './security-contract.js';
import { NODE_WIRE } from './node-contract.js';
import { ROOT_WIRE } from './root-contract.js';
import { RUNTIME_WIRE } from './runtime-contract.js';
import { API_KEY_WIRE } from './api-key-contract.js';
import { DASHBOARD_WIRE } from './dashboard-contract.js';

export const WIRE_SCHEMAS: Readonly<Record<string, TSchema>> = {
  FlowFrameworkError,
  SearchErrorCause,
  OsUser,
  ...WORKFLOW_WIRE,
  ...ML_WIRE,
  ...ML_CONNECTOR_WIRE,
  ...ML_AGENT_WIRE,
  ...ML_MODEL_WIRE,
  ...SECURITY_WIRE,
  ...NODE_WIRE,
  ...ROOT_WIRE,
  ...RUNTIME_WIRE,
  ...API_KEY_WIRE,
  ...DASHBOARD_WIRE,
};
