/**
 * Instance names in NL Flow / Kubernetes style (NL Flow's status names replicas `depl-<serviceId>-…`):
 * `depl-<serviceId>-<8 hex per version>-<5 char suffix per replica>`, so the names show which
 * instances belong to the same rollout, like a ReplicaSet hash in pod names.
 */
import { randomBytes } from 'node:crypto';

/** A new per-version part (the "ReplicaSet hash"). */
export function versionSuffix(): string {
  return randomBytes(4).toString('hex');
}

// Kubernetes' pod-suffix alphabet: no vowels, no look-alike characters.
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function replicaName(serviceId: string, version: string): string {
  let suffix = '';
  for (const b of randomBytes(5)) suffix += ALPHABET[b % ALPHABET.length];
  return `depl-${serviceId}-${version}-${suffix}`;
}
