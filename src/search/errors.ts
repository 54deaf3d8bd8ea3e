/**
 * The errors the search DSL evaluator throws for bad input: `validation` FlowdErrors that carry
 * OpenSearch's error `type`, so the renderer answers OpenSearch's REST error body
 * (`{"error":{"root_cause":[…],"type","reason"},"status":400}`) without knowing about search.
 */
import { validationError } from '../errors.js';
import type { FlowdError } from '../errors.js';

/** A search request OpenSearch would refuse with `type` and `reason` (the error's message). */
export const searchError = (type: string, reason: string): FlowdError =>
  validationError(reason, { code: `search.${type}`, details: { opensearchType: type } });

/** `ParsingException` — malformed request structure. */
export const parsingError = (reason: string): FlowdError => searchError('parsing_exception', reason);

/** `IllegalArgumentException` — well-formed but invalid value. */
export const illegalArgument = (reason: string): FlowdError => searchError('illegal_argument_exception', reason);

/** `XContentParseException` — what OpenSearch's ObjectParser-based parsers (bool, ids, match_all, sort) raise. */
export const xContentError = (reason: string): FlowdError => searchError('x_content_parse_exception', reason);

/** `[kind] query doesn't support multiple fields, found [a] and [b]` (AbstractQueryBuilder). */
export const multipleFields = (kind: string, first: string, second: string): FlowdError =>
  parsingError(`[${kind}] query doesn't support multiple fields, found [${first}] and [${second}]`);

/** A feature OpenSearch has but flowd's in-memory evaluator does not: say so rather than answer wrongly. */
export const unsupported = (what: string): FlowdError => illegalArgument(`${what} is not supported by flowd's search`);

/** The OpenSearch error type `e` carries, when it is a search error. */
export const searchErrorType = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && 'details' in e ? (e as FlowdError).details?.opensearchType : undefined;
