/**
 * The wire contract: how a route declares itself, and what the app does with the declaration.
 *
 * Every route passes a `schema` built with `routeSchema({...})` from the contract file of its
 * API family (workflow-contract.ts, ml-contract.ts, security-contract.ts, node-contract.ts,
 * root-contract.ts, runtime-contract.ts, api-key-contract.ts, dashboard-contract.ts; shared
 * pieces in common-schemas.ts). That one declaration:
 *
 * - **validates the request**: `params`, `querystring` and `headers` are checked (and converted)
 *   by TypeBox before the handler runs; a failure is FST_ERR_VALIDATION, a 400 rendered by
 *   error-renderer.ts in the route family's body shape with the message `formatValidation` builds.
 * - **types the handler**: route plugins register on `app.withTypeProvider<TypeBoxTypeProvider>()`
 *   (`typed(app)` below), so `req.params`, `req.query` and the reply are typed from the schema.
 * - **serializes the response**: Fastify compiles every `response` schema with fast-json-stringify.
 *   It writes only declared properties, in declaration order, so a schema lists every property
 *   the handler returns, in the order the handler builds them; user documents (templates,
 *   ui_metadata, user_inputs, resources, model outputs) are open objects (`OpenObject`).
 * - **documents the route**: @fastify/swagger builds /_flowd/openapi.json from `summary`, `tags`,
 *   `description` and the schemas; `hide: true` keeps a route (asset, docs page) out of it.
 * - **types the clients**: every named response and body schema is listed in
 *   wire-schemas.ts (`WIRE_SCHEMAS`), from which the client's and the dashboard's types are
 *   generated.
 *
 * Bodies. The server reads every body as text and decodes it within the node's bounds
 * (bounded-body.ts). A route chooses how:
 * - default ("raw"): the handler decodes `rawBody(req)` itself (Flow Framework routes, whose
 *   wire messages for bad documents are fixed). Its `body` schema documents the decoded
 *   document but is not checked by Fastify, and `req.body` is still the text: read it with
 *   rawBody()/parseRequestBody(), never as the typed value.
 * - `config: { decodeBody: (req) => value }`: the contract decodes the body before validation
 *   (preValidation hook) with the given bounded decoder, replaces `req.body` with the value,
 *   and validates it against `body`; the handler reads the typed `req.body`. The decoder runs
 *   before the handler, so its errors (and the schema's) come before the handler's own checks.
 *
 * `installRouteContract(app)` (app.ts, before any route) refuses at startup any route without
 * `summary`, `tags` and `response` (HEAD twins Fastify adds are exempt), and any route with a
 * path parameter but no `params` schema.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
  FastifyRequest,
  FastifySchema,
  FastifySchemaCompiler,
  FastifySchemaValidationError,
  RouteOptions,
} from 'fastify';
import type { SchemaErrorFormatter } from 'fastify/types/schema.js';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { orderedSerializerCompiler } from './ordered-serializer.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Decodes the raw body before validation (see the header); absent: the handler decodes it. */
    decodeBody?: (req: FastifyRequest) => unknown;
  }
}

/** A response declared by content type (non-JSON answers: HTML pages, Prometheus text). */
export interface ContentResponse {
  description: string;
  content: Record<string, { schema: TSchema }>;
}

/** What every route declares. */
export interface RouteSchema extends FastifySchema {
  summary: string;
  tags: readonly string[];
  description?: string;
  hide?: boolean;
  params?: TSchema;
  querystring?: TSchema;
  headers?: TSchema;
  body?: TSchema;
  response: Record<number | string, TSchema | ContentResponse>;
}

/** Identity with a type check: keeps the literal schema type for the type provider. */
export function routeSchema<const S extends RouteSchema>(s: S): S {
  return s;
}

/** A route plugin's instance with handlers typed from the schemas. */
export type TypedApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** In a route plugin: `const r = typed(app)`, then `r.get(path, { schema }, handler)`. */
export function typed(app: FastifyInstance): TypedApp {
  return app.withTypeProvider<TypeBoxTypeProvider>();
}

const passThrough = (): { value?: unknown } => ({});

/**
 * TypeBox validation for params, querystring and headers (values converted from strings as
 * the schema says), and for bodies the contract decoded; raw bodies pass (header).
 */
function validatorFor(decodesBody: boolean): FastifySchemaCompiler<TSchema> {
  return ({ schema, httpPart }) => {
    if (httpPart === 'body' && !decodesBody) return passThrough;
    const check = Compile(schema);
    return (value: unknown) => {
      // Most requests already match (path and query values are strings, and most schemas
      // say string): converting is only tried when the plain check fails.
      if (check.Check(value)) return { value };
      const v = httpPart === 'body' ? value : Value.Convert(schema, value);
      if (check.Check(v)) return { value: v };
      return { error: check.Errors(v) as FastifySchemaValidationError[] };
    };
  };
}

const PART_NAMES: Record<string, string> = { body: 'request body', querystring: 'query string', params: 'path', headers: 'headers' };

/** "The request body is invalid: [tasks] must be array" (all failures, joined by "; "). */
export const formatValidation: SchemaErrorFormatter = (errors, dataVar) => {
  const part = PART_NAMES[dataVar] ?? dataVar;
  const each = errors.map((e) => {
    const at = e.instancePath ? `[${e.instancePath.slice(1).replaceAll('/', '.')}] ` : '';
    return `${at}${e.message ?? 'is invalid'}`;
  });
  return new Error(`The ${part} is invalid: ${each.join('; ')}`);
};

const hasResponse = (s: RouteSchema | undefined): boolean =>
  s !== undefined && typeof s.response === 'object' && s.response !== null && Object.keys(s.response).length > 0;

/**
 * Before any route is registered: refuses undeclared routes, installs the contract's body
 * decoding, and the validator (header).
 */
export function installRouteContract(app: FastifyInstance): void {
  app.setSchemaErrorFormatter(formatValidation);
  // Bodies keep the property order handlers build (fast-json-stringify alone puts required ones first).
  app.setSerializerCompiler(orderedSerializerCompiler);
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (methods.every((m) => m === 'HEAD')) return;
    const where = `${methods.join(',')} ${route.url}`;
    const schema = route.schema as RouteSchema | undefined;
    if (!schema?.summary || !Array.isArray(schema.tags) || schema.tags.length === 0) {
      throw new Error(`route ${where} declares no schema summary and tags (src/server/contract/route-schema.ts)`);
    }
    if (!hasResponse(schema)) throw new Error(`route ${where} declares no response schema (src/server/contract/route-schema.ts)`);
    if (route.url.includes(':') && schema.params === undefined) throw new Error(`route ${where} has path parameters but no params schema`);
    const decode = route.config?.decodeBody;
    route.validatorCompiler = validatorFor(decode !== undefined);
    if (decode) {
      const hooks =
        route.preValidation === undefined ? [] : Array.isArray(route.preValidation) ? route.preValidation : [route.preValidation];
      route.preValidation = [
        (req, _reply, done) => {
          try {
            req.body = decode(req);
            done();
          } catch (e) {
            done(e as Error);
          }
        },
        ...hooks,
      ];
    }
  });
}
