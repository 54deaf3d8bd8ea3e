/**
 * How ML resources are removed on deprovision and rollback. None needs
 * `allow_delete`; a resource that is already gone counts as removed for every type (Flow
 * Framework only manages that for models and agents). Model groups have no deleter: Flow
 * Framework leaves them (its deprovision step is a noop).
 */
import type { DeleteContext, ResourceDeleter } from '../step.js';
import { CREATE_CONNECTOR } from './create-connector.js';
import { DEPLOY_MODEL } from './deploy-model.js';
import { REGISTER_AGENT } from './register-agent.js';
import { REGISTER_LOCAL_PRETRAINED_MODEL } from './register-local-pretrained-model.js';
import { REGISTER_REMOTE_MODEL } from './register-remote-model.js';

const deleteModel = async (ctx: DeleteContext): Promise<void> => {
  await ctx.services.ml.deleteModel(ctx.resourceId);
};

export const deleteConnectorDeleter: ResourceDeleter = {
  createdBy: CREATE_CONNECTOR,
  deleteStep: 'delete_connector',
  requiresAllowDelete: false,
  async remove(ctx) {
    await ctx.services.ml.deleteConnector(ctx.resourceId);
  },
};

export const deleteRemoteModelDeleter: ResourceDeleter = {
  createdBy: REGISTER_REMOTE_MODEL,
  deleteStep: 'delete_model',
  requiresAllowDelete: false,
  remove: deleteModel,
};

export const deleteLocalPretrainedModelDeleter: ResourceDeleter = {
  createdBy: REGISTER_LOCAL_PRETRAINED_MODEL,
  deleteStep: 'delete_model',
  requiresAllowDelete: false,
  remove: deleteModel,
};

/** Also undoes the deployment a register step recorded for `deploy: true`. */
export const undeployModelDeleter: ResourceDeleter = {
  createdBy: DEPLOY_MODEL,
  deleteStep: 'undeploy_model',
  requiresAllowDelete: false,
  async remove(ctx) {
    await ctx.services.ml.undeployModel(ctx.resourceId);
  },
};

export const deleteAgentDeleter: ResourceDeleter = {
  createdBy: REGISTER_AGENT,
  deleteStep: 'delete_agent',
  requiresAllowDelete: false,
  async remove(ctx) {
    await ctx.services.ml.deleteAgent(ctx.resourceId);
  },
};
