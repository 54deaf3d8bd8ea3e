/** Client for an OpenSearch cluster (placeholder: filled by the OpenSearch steps module). */
export interface OpenSearchClient {
  readonly baseUrl: string;
}
