import { randomFillSync } from 'node:crypto';

/** Random bytes drawn in blocks: one system call per 256 ids instead of one per id. */
const ID_BYTES = 15;
const pool = Buffer.alloc(ID_BYTES * 256);
let offset = pool.length;

/**
 * 20-char URL-safe ids, like OpenSearch's auto-generated document ids. Never starting with
 * "-": the CLI (and most command-line tools) would read such an id as an option.
 */
export function newId(): string {
  for (;;) {
    if (offset + ID_BYTES > pool.length) {
      randomFillSync(pool);
      offset = 0;
    }
    const id = pool.toString('base64url', offset, offset + ID_BYTES);
    offset += ID_BYTES;
    if (!id.startsWith('-')) return id;
  }
}
