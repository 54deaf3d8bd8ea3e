import { randomBytes } from 'node:crypto';

/**
 * 20-char URL-safe ids, like OpenSearch's auto-generated document ids. Never starting with
 * "-": the CLI (and most command-line tools) would read such an id as an option.
 */
export function newId(): string {
  for (;;) {
    const id = randomBytes(15).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
