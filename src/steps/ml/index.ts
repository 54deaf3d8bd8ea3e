/**
 * The ML step types (Flow Framework's `opensearch-ml` steps, provided natively by flowd) and
 * their deleters, for the step registry.
 */
import type { ResourceDeleter, StepDefinition } from '../step.js';
import { createConnectorStep } from './create-connector.js';
import { createToolStep } from './create-tool.js';
import { deleteAgentStep } from './delete-agent.js';
import { deleteConnectorStep } from './delete-connector.js';
import { deleteModelStep } from './delete-model.js';
import {
  deleteAgentDeleter,
  deleteConnectorDeleter,
  deleteLocalPretrainedModelDeleter,
  deleteRemoteModelDeleter,
  undeployModelDeleter,
} from './deleters.js';
import { deployModelStep } from './deploy-model.js';
import { registerAgentStep } from './register-agent.js';
import { registerLocalPretrainedModelStep } from './register-local-pretrained-model.js';
import { registerModelGroupStep } from './register-model-group.js';
import { registerRemoteModelStep } from './register-remote-model.js';
import { undeployModelStep } from './undeploy-model.js';

export { ML_PLUGIN } from './ml-step-support.js';

export const mlSteps: StepDefinition[] = [
  createConnectorStep,
  deleteConnectorStep,
  registerModelGroupStep,
  registerRemoteModelStep,
  registerLocalPretrainedModelStep,
  deployModelStep,
  undeployModelStep,
  deleteModelStep,
  registerAgentStep,
  deleteAgentStep,
  createToolStep,
];

export const mlDeleters: ResourceDeleter[] = [
  deleteConnectorDeleter,
  deleteRemoteModelDeleter,
  deleteLocalPretrainedModelDeleter,
  undeployModelDeleter,
  deleteAgentDeleter,
];
