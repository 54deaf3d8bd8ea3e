/**
 * Schema pieces every API family uses (route-schema.ts explains the contract). Serialization
 * follows these schemas (fast-json-stringify), so: properties in the order handlers build them,
 * user documents open, and string unions declared as `{type: 'string', enum}` (one string
 * check when serializing, a union type in the generated client types).
 */
import { Type } from 'typebox';
import type { TSchema, TUnsafe } from 'typebox';

/** A string that is one of `values` (a union type in the generated types). */
export function stringEnum<const T extends readonly string[]>(
  values: T,
  options: { description?: string; title?: string } = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** `T | null`, as one JSON Schema type list (fast-json-stringify writes either without a union). */
export function nullableString(options: { description?: string } = {}): TUnsafe<string | null> {
  return Type.Unsafe<string | null>({ type: ['string', 'null'], ...options });
}

/**
 * A user document kept as given (templates' ui_metadata and user_inputs, outputs, model
 * answers): serialized key by key in its own order, nothing dropped.
 */
export function OpenObject(options: { description?: string; title?: string } = {}): TUnsafe<Record<string, unknown>> {
  return Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true, ...options });
}

/** Any JSON value (serialized as JSON.stringify would). */
export const AnyJson = (description?: string): TUnsafe<unknown> => Type.Unsafe<unknown>(description ? { description } : {});

/** A path parameter object: `pathParams('workflow_id')` is `{ workflow_id: string }`. */
export function pathParams<const K extends string>(
  ...names: K[]
): ReturnType<typeof Type.Object<Record<K, ReturnType<typeof Type.String>>>> {
  const props = Object.fromEntries(names.map((n) => [n, Type.String()])) as Record<K, ReturnType<typeof Type.String>>;
  return Type.Object(props);
}

/**
 * Query parameters as documentation and typing only: every value a string, unknown names
 * allowed (the routes reject them with OpenSearch's own message, request-params.ts).
 */
export function queryParams<const K extends string>(doc: Record<K, string>): TSchema {
  const props: Record<string, TSchema> = {};
  for (const [k, d] of Object.entries<string>(doc)) props[k] = Type.Optional(Type.String({ description: d }));
  return Type.Object(props, { additionalProperties: true });
}

/** The OpenSearch security plugin's user object, in the order flowd builds it. */
export const OsUser = Type.Object(
  {
    name: Type.String(),
    backend_roles: Type.Array(Type.String()),
    roles: Type.Array(Type.String()),
    custom_attribute_names: Type.Array(Type.String()),
    user_requested_tenant: nullableString(),
    user_requested_tenant_access: Type.Optional(nullableString()),
  },
  { title: 'OsUser', additionalProperties: true },
);

/** OpenSearch's nested error (unknown query parameters, search DSL errors). */
export const SearchErrorCause = Type.Object(
  {
    root_cause: Type.Array(Type.Object({ type: Type.String(), reason: Type.String() })),
    type: Type.String(),
    reason: Type.String(),
  },
  { title: 'SearchErrorCause' },
);

/**
 * Error body of every route outside the runtime API: Flow Framework's `{"error": "..."}`, or
 * OpenSearch's nested `{"error": {...}, "status": n}` for request-parameter and search errors.
 */
export const FlowFrameworkError = Type.Object(
  {
    error: Type.Union([Type.String(), SearchErrorCause]),
    status: Type.Optional(Type.Integer()),
  },
  { title: 'FlowFrameworkError', additionalProperties: true },
);

/** The 4xx/5xx answers of a route outside the runtime API (error-renderer.ts). */
export const FLOW_FRAMEWORK_ERRORS = {
  '4xx': FlowFrameworkError,
  '5xx': FlowFrameworkError,
} as const;
