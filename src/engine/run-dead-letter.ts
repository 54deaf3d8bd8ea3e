/**
 * The error a provisioning run ends FAILED with when it is dead-lettered: every attempt of it
 * ended the node running it (a crash, a kill, a lost lease), so it is not resumed again. In
 * Flow Framework's error format (step-error-text.ts), with the stable code in the text: the
 * state's `error` is the only place a client reads why a run failed.
 */
import { internalError, stepFailure } from '../errors.js';
import { flowFrameworkText, stepError } from './step-error-text.js';
import type { StepError } from './step-error-text.js';

export const RUN_DEAD_LETTERED = 'run.dead_lettered';

/** `inFlight`: the steps that were running when the node running the last attempt died. */
export function runDeadLetterError(attempts: number, inFlight: readonly string[]): StepError {
  const during = inFlight.length > 0 ? ` (the last one while step${inFlight.length === 1 ? '' : 's'} ${inFlight.join(', ')} ran)` : '';
  const message =
    `The provisioning run was attempted ${attempts} time${attempts === 1 ? '' : 's'} and each attempt ended the node running it${during}; ` +
    `it was dead-lettered (${RUN_DEAD_LETTERED}). Fix the template's inputs or the step and provision again; deprovision first to remove what the run created.`;
  const first = inFlight[0];
  if (first !== undefined) return stepError(first, stepFailure(message, { code: RUN_DEAD_LETTERED }));
  const error = internalError(message, { code: RUN_DEAD_LETTERED });
  return { text: flowFrameworkText('provisioning', error), error: error.toJSON() };
}
