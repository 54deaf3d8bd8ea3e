/** The opaque `next` cursor of a task page, shared so that both stores accept and hand out the same cursors. */
import { validationError } from '../errors.js';

/** The cursor after the task with this sequence number. */
export const encodeCursor = (seq: number): string => seq.toString(36);

/** The sequence number a cursor stands for; 0 (from the start) when there is none. */
export function decodeCursor(after: string | undefined): number {
  if (after === undefined || after === '') return 0;
  if (!/^[0-9a-z]{1,11}$/.test(after)) {
    throw validationError(`Invalid cursor [${after}]: pass the [next] value of the previous page unchanged.`, { code: 'task.bad_cursor' });
  }
  return parseInt(after, 36);
}
