/**
 * What steps may use. Built once by the server (composition root) and passed to every step;
 * steps never reach for globals.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import type { SecretBox } from '../util/secret-box.js';
import type { OpenSearchClient } from './opensearch/opensearch-client.js';
import type { MlService } from '../ml/ml-service.js';
import type { JsonObject } from '../util/json.js';
import type { OutboundClient } from '../util/outbound-client.js';

/**
 * Publishes a workflow's `flow` (implemented by the runtime, which sits above the steps:
 * the `publish_flow` step only sees this port).
 */
export interface FlowPublisher {
  /** Publishes, or republishes with a rolling update when already published. Returns the service ids. */
  publish(workflowId: string, flow: JsonObject, signal: AbortSignal): Promise<{ serviceIds: string[]; mode: string; version: number }>;
  /** Stops the services and forgets the publication; false when it was not published. */
  unpublish(workflowId: string): Promise<boolean>;
}

export interface StepServices {
  store: Store;
  secrets: SecretBox;
  logger: Logger;
  /** Set when FLOWD_OPENSEARCH_URL is configured; OpenSearch-backed steps need it. */
  opensearch: OpenSearchClient | undefined;
  /** Native ML resources (connectors, models, agents) that live in flowd. */
  ml: MlService;
  /** Outbound HTTP (injectable for tests of timeouts; defaults to global fetch). */
  fetch: typeof fetch;
  /**
   * Every outbound call of a step (`http_request`) goes through it, under the node's outbound
   * policy; absent (step-only setups), the default policy: public addresses only.
   */
  outbound?: OutboundClient;
  /** The runtime, for `publish_flow` (absent in step-only setups such as unit tests of ML steps). */
  flows?: FlowPublisher;
}
