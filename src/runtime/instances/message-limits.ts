/**
 * What a value must be to cross a thread boundary (parent ↔ instance worker, worker → worker
 * along a chain), and the errors for one that cannot. Structured cloning recurses on both
 * sides: the sender throws past its stack (caught per batch, message-batcher.ts), but a value
 * the sender could write may still be too deep for the receiver to read (the main thread has
 * a quarter of a worker's stack, and reading takes more stack per level than writing). The
 * receiver then only gets a `messageerror` without the message, so a block's output is checked
 * against a depth every receiver can read before it leaves its worker.
 */
import { stepFailure, validationError } from '../../errors.js';
import type { FlowdError, SerializedError } from '../../errors.js';

/**
 * Deepest nesting of objects and arrays a block's output may have. The main thread reads
 * about 1 700 levels of `{"a":{…}}` (and more of arrays); 1 000 leaves room for any mix.
 */
export const MAX_MESSAGE_DEPTH = 1000;

/** Whether `v` nests objects/arrays more than `levels` deep (walks no further than that). */
export function nestsDeeperThan(v: unknown, levels: number): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (levels <= 0) return true;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (nestsDeeperThan(v[i], levels - 1)) return true;
    return false;
  }
  if (ArrayBuffer.isView(v)) return false; // bytes, not nesting (and for-in would list every index)
  for (const k in v) if (nestsDeeperThan((v as Record<string, unknown>)[k], levels - 1)) return true;
  return false;
}

const CODE = 'flow.uncloneable';

export const reasonOf = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

/** A request's input the parent could not post to the instance (the caller's data is at fault). */
export function uncloneableInput(blockId: string, cause: unknown): FlowdError {
  return validationError(
    `The input for block "${blockId}" cannot be passed to its instance (${reasonOf(cause)}): ` +
      'send plain JSON that is not nested so deeply.',
    { code: CODE, node: blockId },
  );
}

/** A block output its worker could not post (to the parent, or to the next block of a chain). */
export function uncloneableOutput(blockId: string, cause: unknown): SerializedError {
  return stepFailure(
    `Block "${blockId}" returned an output that cannot be passed on (${reasonOf(cause)}); a block's output must be plain JSON nested at most ${MAX_MESSAGE_DEPTH} levels deep.`,
    { code: CODE },
  ).toJSON();
}

/** A block output deeper than MAX_MESSAGE_DEPTH (refused before it is posted). */
export function tooDeepOutput(blockId: string): SerializedError {
  return stepFailure(
    `Block "${blockId}" returned an output nested more than ${MAX_MESSAGE_DEPTH} levels deep, which cannot be passed on; flatten the output.`,
    {
      code: CODE,
    },
  ).toJSON();
}

/** A message carrying the request was lost on the way (the receiving thread could not read it). */
export function lostMessage(blockId: string, reason: string | undefined): FlowdError {
  return stepFailure(
    `A message of block "${blockId}" for this request could not be read by the thread it was sent to${reason ? ` (${reason})` : ''} and was lost; ` +
      `a block's output must be plain JSON nested at most ${MAX_MESSAGE_DEPTH} levels deep.`,
    { code: CODE, node: blockId, retryable: false },
  );
}
