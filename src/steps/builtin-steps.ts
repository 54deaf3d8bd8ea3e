/** Every step type and deleter flowd ships, registered in one place. */
import { StepRegistry } from './step-registry.js';
import { noopStep } from './noop.js';
import { httpRequestDeleter, httpRequestStep } from './http-request.js';
import { openSearchDeleters, openSearchSteps } from './opensearch/index.js';
import { mlDeleters, mlSteps } from './ml/index.js';
import { publishFlowDeleter, publishFlowStep } from './publish-flow.js';

import { forbidden } from '../errors.js';
import type { StepDefinition } from './step.js';

/** Deprovision-only types: listed so templates using them get Flow Framework's 403. */
const denylisted = (name: string, key: string): StepDefinition => ({
  name,
  inputs: [key],
  outputs: [key],
  requiredPlugins: [],
  denylisted: true,
  execute() {
    return Promise.reject(forbidden(`The step type [${name}] can not be used in a workflow.`));
  },
});

export function builtinRegistry(): StepRegistry {
  const r = new StepRegistry();
  r.register(noopStep).register(httpRequestStep).registerDeleter(httpRequestDeleter);
  r.register(publishFlowStep).registerDeleter(publishFlowDeleter);
  for (const s of [...mlSteps, ...openSearchSteps]) r.register(s);
  r.register(denylisted('delete_index', 'index_name'));
  r.register(denylisted('delete_ingest_pipeline', 'pipeline_id'));
  r.register(denylisted('delete_search_pipeline', 'pipeline_id'));
  for (const d of [...mlDeleters, ...openSearchDeleters]) r.registerDeleter(d);
  return r;
}
