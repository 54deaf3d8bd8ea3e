/** `npm start` shows something: a small workflow that provisions a local sentiment model. */
import type { Logger } from 'pino';
import type { WorkflowService } from '../engine/workflow-service.js';
import { parseTemplate } from '../template/template-parser.js';

export const DEMO_TEMPLATE = {
  name: 'demo-sentiment',
  description: 'Registers and deploys the built-in sentiment model, with a short pause to watch it progress.',
  use_case: 'DEMO',
  version: { template: '1.0.0', compatibility: ['2.19.0', '3.0.0'] },
  workflows: {
    provision: {
      nodes: [
        { id: 'warm_up', type: 'noop', user_inputs: { delay: '500ms' } },
        {
          id: 'register_sentiment',
          type: 'register_local_pretrained_model',
          user_inputs: { name: 'flowd/sentiment', version: '1.0.0', model_format: 'NPM_PACKAGE', description: 'AFINN sentiment' },
        },
        { id: 'deploy_sentiment', type: 'deploy_model', previous_node_inputs: { register_sentiment: 'model_id' } },
      ],
      edges: [{ source: 'warm_up', dest: 'register_sentiment' }],
    },
  },
};

export async function createDemoWorkflow(workflows: WorkflowService, logger: Logger): Promise<void> {
  const id = await workflows.create(parseTemplate(DEMO_TEMPLATE), {
    validate: true,
    provision: true,
    params: {},
    onFailure: 'keep',
    user: undefined,
  });
  logger.info({ workflowId: id }, `demo workflow created and provisioning: GET /_plugins/_flow_framework/workflow/${id}/_status?all=true`);
}
