/**
 * The response serializer of the contract: fast-json-stringify, as Fastify's default, but writing
 * each object's properties in the order its schema declares them. fast-json-stringify writes the
 * `required` properties first, which would move a required property declared after an optional
 * one (TaskInfo's `expiresAt` after `startedAt`, an error's `code` after its `node`) and change
 * the bytes of answers that are part of the wire contract. So the schemas it compiles drop
 * `required` (it only adds a "missing property" throw); the declarations keep it for the
 * OpenAPI document and the generated types. Consequence: `anyOf` branches must differ by type,
 * `enum` or `const`, not only by which properties they require.
 */
import fastJson from 'fast-json-stringify';
import type { FastifySerializerCompiler } from 'fastify';

function withoutRequired(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutRequired);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  // `required` the keyword (an array), not a property of that name (a schema object).
  for (const [k, x] of Object.entries(v as Record<string, unknown>))
    if (!(k === 'required' && Array.isArray(x))) out[k] = withoutRequired(x);
  return out;
}

/** Install with `app.setSerializerCompiler(orderedSerializerCompiler)` (per plugin, or on the root app). */
export const orderedSerializerCompiler: FastifySerializerCompiler<unknown> = ({ schema }) =>
  fastJson(withoutRequired(schema) as Parameters<typeof fastJson>[0]);
