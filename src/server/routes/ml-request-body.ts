/**
 * Request bodies of the ML Commons routes, decoded within the node's bounds (bounded-body.ts)
 * but refused in OpenSearch's words: an unparsable body is a `json_parse_exception`, an empty
 * one the message the ML Commons action gives. `_search` takes its body from the `source`
 * parameter or the request (on GET too: its routes read it with get-body.ts).
 */
import type { FastifyRequest } from 'fastify';
import { isFlowdError, validationError } from '../../errors.js';
import { searchError } from '../../search/errors.js';
import type { JsonObject } from '../../util/json.js';
import { parseRequestBody } from '../bounded-body.js';
import { contentType, queryOf, rawBody, rejectUnknownParams } from './request-params.js';

/** `raw` decoded (JSON, or YAML for the YAML types) within the node's limits. */
function decode(req: FastifyRequest, raw: string, ct: string | undefined): unknown {
  try {
    return parseRequestBody(req, raw, ct);
  } catch (e) {
    if (isFlowdError(e) && e.code === 'template.invalid_content') {
      const cause = e.cause instanceof Error ? e.cause.message : 'the body is not valid JSON';
      throw searchError('json_parse_exception', cause);
    }
    throw e;
  }
}

/**
 * A create/update body: a JSON object. `emptyMessage` is what the ML Commons action answers for
 * no body (a 400 `parse_exception` in flowd; some of its actions answer a 500 for it).
 */
export function mlObjectBody(req: FastifyRequest, emptyMessage: string): JsonObject {
  const raw = rawBody(req);
  if (raw.trim() === '') throw searchError('parse_exception', emptyMessage);
  const body = decode(req, raw, contentType(req));
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw validationError(`The request body must be a JSON object, got ${Array.isArray(body) ? 'an array' : JSON.stringify(body)}`, {
      code: 'request.invalid',
      details: { opensearchType: 'parse_exception' },
    });
  }
  return body as JsonObject;
}

/** An ML `_search` body as ML Commons builds its search (seq_no, primary term and version on every hit). */
export function mlSearchBody(req: FastifyRequest): unknown {
  const q = queryOf(req);
  rejectUnknownParams(req, q, ['source', 'source_content_type']);
  const raw = q['source'] ?? rawBody(req);
  // RestRequest.contentOrSourceParamParser: ML Commons' search needs a body.
  if (raw.trim() === '') throw searchError('parse_exception', 'request body or source parameter is required');
  const body = decode(req, raw, q['source_content_type'] ?? contentType(req));
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) return { ...body, seq_no_primary_term: true, version: true };
  return body;
}
