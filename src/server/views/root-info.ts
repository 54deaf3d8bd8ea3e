/**
 * The JSON root (`GET /`) OpenSearch clients probe: OpenSearch's shape, with `version.number` the
 * OpenSearch version flowd behaves as (clients and the OpenSearch API specification's test runner
 * gate features on it), `distribution: "flowd"`, and flowd's own version in `build_flavor`, the one
 * field of the specification's `OpenSearchVersionInfo` OpenSearch itself leaves out. Build
 * details flowd does not have carry OpenSearch's own placeholders (`unknown`, `_na_`).
 */
import type { Static } from 'typebox';
import type { RootInfo } from '../contract/root-contract.js';
import { compatibilityFloor } from '../../util/opensearch-version.js';

export interface RootInfoSource {
  nodeId: string;
  flowdVersion: string;
  opensearchVersion: string;
}

export function rootInfo(src: RootInfoSource): Static<typeof RootInfo> {
  const floor = compatibilityFloor(src.opensearchVersion);
  return {
    name: src.nodeId,
    cluster_name: 'flowd',
    cluster_uuid: '_na_',
    version: {
      distribution: 'flowd',
      number: src.opensearchVersion,
      build_type: 'unknown',
      build_hash: 'unknown',
      build_date: 'unknown',
      build_snapshot: false,
      lucene_version: 'none',
      minimum_wire_compatibility_version: floor.wire,
      minimum_index_compatibility_version: floor.index,
      build_flavor: src.flowdVersion,
    },
    tagline: 'flowd: provision workflows, serve them, and know where they stand',
  };
}
