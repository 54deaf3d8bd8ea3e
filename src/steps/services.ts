/**
 * What steps may use. Built once by the server (composition root) and passed to every step;
 * steps never reach for globals.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import type { SecretBox } from '../util/secret-box.js';
import type { OpenSearchClient } from './opensearch/opensearch-client.js';
import type { MlService } from '../ml/ml-service.js';

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
}
