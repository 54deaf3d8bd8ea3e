/**
 * The one error type the search DSL evaluator throws for bad input. Its fields map 1:1 onto
 * OpenSearch's REST error body, so the server can render it without knowing anything about search.
 */
export class SearchRequestError extends Error {
  readonly status: number;
  readonly type: string;
  readonly reason: string;

  constructor(type: string, reason: string, status = 400) {
    super(reason);
    this.name = 'SearchRequestError';
    this.type = type;
    this.reason = reason;
    this.status = status;
  }

  /** OpenSearch's standard nested error body: `{"error":{"root_cause":[...],"type","reason"},"status":N}`. */
  toBody(): { error: { root_cause: { type: string; reason: string }[]; type: string; reason: string }; status: number } {
    return {
      error: { root_cause: [{ type: this.type, reason: this.reason }], type: this.type, reason: this.reason },
      status: this.status,
    };
  }
}

/** `ParsingException` — malformed request structure. */
export const parsingError = (reason: string): SearchRequestError => new SearchRequestError('parsing_exception', reason);

/** `IllegalArgumentException` — well-formed but invalid value. */
export const illegalArgument = (reason: string): SearchRequestError =>
  new SearchRequestError('illegal_argument_exception', reason);

/** `XContentParseException` — what OpenSearch's ObjectParser-based parsers (bool, ids, match_all, sort) raise. */
export const xContentError = (reason: string): SearchRequestError =>
  new SearchRequestError('x_content_parse_exception', reason);

/** `[kind] query doesn't support multiple fields, found [a] and [b]` (AbstractQueryBuilder). */
export const multipleFields = (kind: string, first: string, second: string): SearchRequestError =>
  parsingError(`[${kind}] query doesn't support multiple fields, found [${first}] and [${second}]`);

/** A feature OpenSearch has but flowd's in-memory evaluator does not: say so rather than answer wrongly. */
export const unsupported = (what: string): SearchRequestError =>
  illegalArgument(`${what} is not supported by flowd's search`);
