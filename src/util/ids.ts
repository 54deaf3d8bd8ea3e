import { randomBytes } from 'node:crypto';

/** 20-char URL-safe ids, like OpenSearch's auto-generated document ids. */
export function newId(): string {
  return randomBytes(15).toString('base64url');
}
