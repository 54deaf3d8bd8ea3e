/**
 * The node's own routes (route-schema.ts explains the contract): the JSON root OpenSearch
 * clients probe, health, Prometheus metrics, and the API documents themselves.
 */
import { Type } from 'typebox';
import { routeSchema } from './route-schema.js';
import { OpenObject, stringEnum } from './common-schemas.js';

const TAGS = ['node'] as const;

export const RootInfo = Type.Object(
  {
    name: Type.String(),
    cluster_name: Type.String(),
    cluster_uuid: Type.String({ description: '`_na_`: flowd has no OpenSearch cluster state' }),
    version: Type.Object({
      distribution: Type.String({ description: '`flowd`' }),
      number: Type.String({ description: 'The OpenSearch version flowd behaves as (config `opensearchVersion`, default 3.1.0)' }),
      build_type: Type.String(),
      build_hash: Type.String(),
      build_date: Type.String(),
      build_snapshot: Type.Boolean(),
      lucene_version: Type.String({ description: '`none`: flowd embeds no Lucene' }),
      minimum_wire_compatibility_version: Type.String(),
      minimum_index_compatibility_version: Type.String(),
      build_flavor: Type.String({ description: "flowd's own version" }),
    }),
    tagline: Type.String(),
  },
  {
    title: 'RootInfo',
    description:
      "OpenSearch's `GET /` body: `version.number` is the OpenSearch version flowd behaves as, `version.build_flavor` flowd's own.",
  },
);
export const Health = Type.Object(
  {
    status: stringEnum(['green', 'red']),
    store: Type.String({ description: 'sqlite or postgres' }),
    reason: Type.Optional(Type.String({ description: 'why the store is red' })),
  },
  { title: 'Health' },
);

const html = (description: string): { description: string; content: { 'text/html': { schema: ReturnType<typeof Type.String> } } } => ({
  description,
  content: { 'text/html': { schema: Type.String() } },
});

export const RootContract = {
  root: routeSchema({
    summary: 'Node info (JSON), or the dashboard for browsers',
    tags: TAGS,
    response: {
      200: {
        description: 'Node info, or the dashboard page',
        content: { 'application/json': { schema: RootInfo }, 'text/html': { schema: Type.String() } },
      },
    },
  }),
  health: routeSchema({
    summary: 'Health',
    tags: TAGS,
    description:
      '200 {"status":"green"}; 503 {"status":"red","reason":…} once the store reported damage (SQLite quick_check at start, or a corruption error since).',
    response: { 200: Health, 503: Health },
  }),
  metrics: routeSchema({
    summary: 'Prometheus metrics',
    tags: TAGS,
    response: { 200: { description: 'Prometheus text exposition', content: { 'text/plain': { schema: Type.String() } } } },
  }),
  openapi: routeSchema({
    summary: 'This OpenAPI document',
    tags: TAGS,
    hide: true,
    response: { 200: OpenObject({ description: 'OpenAPI 3 document' }) },
  }),
  docs: routeSchema({
    summary: 'API documentation page',
    tags: TAGS,
    hide: true,
    response: { 200: html('The page rendering the OpenAPI document') },
  }),
};

export const ROOT_WIRE = { RootInfo, Health };
