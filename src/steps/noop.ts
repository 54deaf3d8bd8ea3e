import type { StepDefinition } from './step.js';
import { parseTimeValue } from '../template/time-value.js';
import { sleep } from '../util/sleep.js';
import { scalarText } from '../util/scalar-text.js';

/** Does nothing (optionally waits `delay`); useful to structure graphs and in tests. */
export const noopStep: StepDefinition = {
  name: 'noop',
  inputs: [],
  optionalInputs: ['delay'],
  outputs: [],
  requiredPlugins: [],
  async execute(ctx) {
    const delay = ctx.inputs['delay'];
    if (delay !== undefined) await sleep(parseTimeValue(scalarText(delay), `${ctx.nodeId}.user_inputs.delay`), ctx.signal);
    return { outputs: {} };
  },
};
