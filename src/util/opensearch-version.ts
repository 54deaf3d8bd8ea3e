/**
 * The OpenSearch version flowd behaves as (config `opensearchVersion`): `GET /` reports it, and
 * the few wire details that differ between OpenSearch releases follow it. Plain major.minor.patch.
 */

/** The version the OpenSearch API specification's own CI runs its tests against. */
export const DEFAULT_OPENSEARCH_VERSION = '3.1.0';

export const OPENSEARCH_VERSION_PATTERN = '^\\d+\\.\\d+\\.\\d+$';

type Triple = readonly [number, number, number];

function parts(version: string): Triple {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!m) throw new Error(`not an OpenSearch version (major.minor.patch): "${version}"`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** True when `version` is `min` or later. */
export function versionAtLeast(version: string, min: string): boolean {
  const a = parts(version);
  const b = parts(min);
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

/** The oldest wire and index versions an OpenSearch node of `version` accepts, as `GET /` reports them. */
export function compatibilityFloor(version: string): { wire: string; index: string } {
  const [major] = parts(version);
  if (major <= 1) return { wire: '6.8.0', index: '6.0.0' };
  if (major === 2) return { wire: '1.3.0', index: '1.0.0' };
  return { wire: '2.19.0', index: '2.0.0' };
}
