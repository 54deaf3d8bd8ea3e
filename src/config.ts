/**
 * Configuration, resolved once at start-up: defaults < config file < environment < flags,
 * validated into a frozen ResolvedConfig. Units are in the names (…Ms, …Bytes). The settings
 * are a JSON Schema (TypeBox), like every other document flowd validates.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Type } from 'typebox';
import type { Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_OPENSEARCH_VERSION, OPENSEARCH_VERSION_PATTERN } from './util/opensearch-version.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const ConfigSchema = Type.Object(
  {
    host: Type.String({ minLength: 1 }),
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
    dataDir: Type.String({ minLength: 1 }),
    storeUrl: Type.Optional(Type.String({ description: '`postgres://…` for the PostgreSQL store; unset = embedded SQLite in dataDir.' })),
    securityEnabled: Type.Boolean(),
    adminPassword: Type.Optional(Type.String({ minLength: 8 })),
    masterKey: Type.Optional(Type.String()),
    bodyLimitBytes: Type.Integer({ exclusiveMinimum: 0 }),
    maxWorkflows: Type.Integer({ minimum: 0, maximum: 10_000_000 }),
    maxWorkflowSteps: Type.Integer({ minimum: 1, maximum: 100_000 }),
    requestTimeoutMs: Type.Integer({ exclusiveMinimum: 0 }),
    provisionConcurrency: Type.Integer({ minimum: 1, maximum: 10_000 }),
    leaseMs: Type.Integer({ minimum: 100 }),
    taskWaitRecheckMs: Type.Integer({
      minimum: 10,
      description: "A task long-poll re-reads the store this often, in case a wake-up (another node's) was lost.",
    }),
    shutdownGraceMs: Type.Integer({ minimum: 0 }),
    filterByBackendRoles: Type.Boolean(),
    multiTenancyEnabled: Type.Boolean({
      description:
        "Flow Framework's and ML Commons' multi-tenancy: every request names its tenant in `x-tenant-id` and sees only that tenant's resources.",
    }),
    opensearchUrl: Type.Optional(Type.String({ format: 'url' })),
    opensearchUser: Type.Optional(Type.String()),
    opensearchPassword: Type.Optional(Type.String()),
    opensearchVersion: Type.String({
      pattern: OPENSEARCH_VERSION_PATTERN,
      description: 'The OpenSearch version flowd reports (`GET /` version.number) and behaves as where OpenSearch releases differ.',
    }),
    logLevel: Type.Enum(LOG_LEVELS),
    demo: Type.Boolean({ description: 'Create a sample workflow on first start so there is something to look at.' }),
    nodeId: Type.Optional(Type.String()),
    maxInstances: Type.Integer({
      minimum: 0,
      maximum: 10_000,
      description: 'Admission: most service instances (worker threads) this node runs, all workflows together.',
    }),
    maxInstanceMemoryMb: Type.Integer({
      minimum: 16,
      description: 'Admission: heap budget for all instances, MB; a block without `memory` counts instanceMemoryMb.',
    }),
    instanceMemoryMb: Type.Integer({ minimum: 16, maximum: 65_536 }),
    taskTtlMs: Type.Integer({ minimum: 1000, description: 'How long task results are kept (NL Flow: 24 h).' }),
    customBlockDirs: Type.Array(Type.String({ minLength: 1 }), {
      description: 'Folders `custom` block modules may be loaded from; empty = custom blocks disabled.',
    }),
    busUrl: Type.Optional(Type.String({ description: 'Cluster: NATS URL of the message bus between nodes (PostgreSQL store only).' })),
    heartbeatMs: Type.Integer({
      minimum: 50,
      description: 'Cluster: how often a node reports itself; it counts as dead after nodeTtlMs without a report.',
    }),
    nodeTtlMs: Type.Integer({ minimum: 200 }),
    advertiseUrl: Type.Optional(
      Type.String({
        format: 'url',
        description: 'Cluster: the URL other nodes and `flowd doctor` show for this node (default: the listen address).',
      }),
    ),
    // Hardening: limits that bound what one caller can make this node do (README "Security").
    bodyMaxDepth: Type.Integer({
      minimum: 4,
      maximum: 1000,
      description: 'Deepest nesting of any parsed request body (JSON or YAML): arrays and objects.',
    }),
    bodyMaxValues: Type.Integer({
      minimum: 16,
      description: 'Most values (objects, arrays, scalars) in one parsed request body, YAML aliases expanded.',
    }),
    bodyMaxYamlTokens: Type.Integer({
      minimum: 100,
      description: 'Most YAML tokens in one YAML body (a line of a multi-line string counts as one): YAML decodes far slower than JSON.',
    }),
    correlationIdMaxLength: Type.Integer({ minimum: 8, maximum: 4096, description: 'Longest `X-Correlation-Id` kept (longer: 400).' }),
    maxAttempts: Type.Integer({
      minimum: 1,
      maximum: 100,
      description: 'Attempts a task or provisioning run gets before a crash-causing run is dead-lettered (ERROR).',
    }),
    outboundAllow: Type.Array(Type.String({ minLength: 1 }), {
      description: 'URL patterns outbound calls (http_request, connectors, remote models, http blocks) may reach; empty = any public URL.',
    }),
    outboundAllowPrivate: Type.Boolean({
      description: 'Let outbound calls reach loopback, private, link-local and other non-public addresses.',
    }),
    outboundMaxResponseBytes: Type.Integer({
      minimum: 1024,
      description: 'Largest outbound response body read; larger answers fail the step.',
    }),
    authMaxFailures: Type.Integer({
      minimum: 1,
      description: 'Failed logins allowed per user name, and per client address (x10), within authFailureWindowMs; more: 429.',
    }),
    authFailureWindowMs: Type.Integer({ minimum: 1000 }),
    streamMaxLifetimeMs: Type.Integer({
      minimum: 1000,
      description: 'Longest an event stream (watch / SSE) stays open; the client reconnects after it.',
    }),
  },
  { additionalProperties: false },
);
const checkConfig = Compile(ConfigSchema);

type Config = Static<typeof ConfigSchema>;
export type ResolvedConfig = Readonly<Config>;
export type ConfigInput = Partial<Config>;

export function defaultConfig(): Config {
  return {
    host: '127.0.0.1',
    port: 9200,
    dataDir: './.flowd-data',
    securityEnabled: true,
    bodyLimitBytes: 10 * 1024 * 1024,
    maxWorkflows: 1_000_000,
    maxWorkflowSteps: 1000,
    requestTimeoutMs: 10_000,
    provisionConcurrency: 64,
    leaseMs: 10_000,
    taskWaitRecheckMs: 1000,
    shutdownGraceMs: 5_000,
    filterByBackendRoles: false,
    multiTenancyEnabled: false,
    opensearchVersion: DEFAULT_OPENSEARCH_VERSION,
    logLevel: 'info',
    demo: false,
    maxInstances: 256,
    maxInstanceMemoryMb: 16_384,
    instanceMemoryMb: 128,
    taskTtlMs: 24 * 3600 * 1000,
    customBlockDirs: [],
    heartbeatMs: 1000,
    nodeTtlMs: 5000,
    bodyMaxDepth: 128,
    bodyMaxValues: 1_000_000,
    bodyMaxYamlTokens: 100_000,
    correlationIdMaxLength: 200,
    maxAttempts: 3,
    outboundAllow: [],
    outboundAllowPrivate: false,
    outboundMaxResponseBytes: 10 * 1024 * 1024,
    authMaxFailures: 10,
    authFailureWindowMs: 60_000,
    streamMaxLifetimeMs: 3_600_000,
  };
}

const bool = (v: string): boolean => {
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new Error(`expected a boolean (true/false), got "${v}"`);
};
const int = (v: string): number => {
  if (!/^-?\d+$/.test(v.trim())) throw new Error(`expected an integer, got "${v}"`);
  return Number(v);
};

/** Environment variable → config key, with its parser. */
const ENV: Record<string, [keyof ConfigInput, (v: string) => unknown]> = {
  FLOWD_HOST: ['host', String],
  FLOWD_PORT: ['port', int],
  FLOWD_DATA_DIR: ['dataDir', String],
  FLOWD_STORE_URL: ['storeUrl', String],
  FLOWD_SECURITY: ['securityEnabled', (v) => v.toLowerCase() !== 'disabled' && bool(v === 'enabled' ? 'true' : v)],
  FLOWD_ADMIN_PASSWORD: ['adminPassword', String],
  FLOWD_MASTER_KEY: ['masterKey', String],
  FLOWD_BODY_LIMIT_BYTES: ['bodyLimitBytes', int],
  FLOWD_MAX_WORKFLOWS: ['maxWorkflows', int],
  FLOWD_MAX_WORKFLOW_STEPS: ['maxWorkflowSteps', int],
  FLOWD_REQUEST_TIMEOUT_MS: ['requestTimeoutMs', int],
  FLOWD_PROVISION_CONCURRENCY: ['provisionConcurrency', int],
  FLOWD_LEASE_MS: ['leaseMs', int],
  FLOWD_TASK_WAIT_RECHECK_MS: ['taskWaitRecheckMs', int],
  FLOWD_SHUTDOWN_GRACE_MS: ['shutdownGraceMs', int],
  FLOWD_FILTER_BY_BACKEND_ROLES: ['filterByBackendRoles', bool],
  FLOWD_MULTI_TENANCY_ENABLED: ['multiTenancyEnabled', bool],
  FLOWD_OPENSEARCH_URL: ['opensearchUrl', String],
  FLOWD_OPENSEARCH_USER: ['opensearchUser', String],
  FLOWD_OPENSEARCH_PASSWORD: ['opensearchPassword', String],
  FLOWD_OPENSEARCH_VERSION: ['opensearchVersion', String],
  FLOWD_LOG_LEVEL: ['logLevel', String],
  FLOWD_NODE_ID: ['nodeId', String],
  FLOWD_MAX_INSTANCES: ['maxInstances', int],
  FLOWD_MAX_INSTANCE_MEMORY_MB: ['maxInstanceMemoryMb', int],
  FLOWD_INSTANCE_MEMORY_MB: ['instanceMemoryMb', int],
  FLOWD_TASK_TTL_MS: ['taskTtlMs', int],
  FLOWD_BUS_URL: ['busUrl', String],
  FLOWD_HEARTBEAT_MS: ['heartbeatMs', int],
  FLOWD_NODE_TTL_MS: ['nodeTtlMs', int],
  FLOWD_ADVERTISE_URL: ['advertiseUrl', String],
  FLOWD_BODY_MAX_DEPTH: ['bodyMaxDepth', int],
  FLOWD_BODY_MAX_VALUES: ['bodyMaxValues', int],
  FLOWD_BODY_MAX_YAML_TOKENS: ['bodyMaxYamlTokens', int],
  FLOWD_CORRELATION_ID_MAX_LENGTH: ['correlationIdMaxLength', int],
  FLOWD_MAX_ATTEMPTS: ['maxAttempts', int],
  FLOWD_OUTBOUND_ALLOW: [
    'outboundAllow',
    (v) =>
      v
        .split(',')
        .map((d) => d.trim())
        .filter((d) => d !== ''),
  ],
  FLOWD_OUTBOUND_ALLOW_PRIVATE: ['outboundAllowPrivate', bool],
  FLOWD_OUTBOUND_MAX_RESPONSE_BYTES: ['outboundMaxResponseBytes', int],
  FLOWD_AUTH_MAX_FAILURES: ['authMaxFailures', int],
  FLOWD_AUTH_FAILURE_WINDOW_MS: ['authFailureWindowMs', int],
  FLOWD_STREAM_MAX_LIFETIME_MS: ['streamMaxLifetimeMs', int],
  FLOWD_CUSTOM_BLOCK_DIRS: [
    'customBlockDirs',
    (v) =>
      v
        .split(/[,:]/)
        .map((d) => d.trim())
        .filter((d) => d !== ''),
  ],
};

export function configFromEnv(env: NodeJS.ProcessEnv): ConfigInput {
  const out: Record<string, unknown> = {};
  for (const [name, [key, parse]] of Object.entries(ENV)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    try {
      out[key] = parse(raw);
    } catch (e) {
      throw new Error(`Invalid ${name}: ${(e as Error).message}`);
    }
  }
  return out;
}

export function configFromFile(path: string): ConfigInput {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`Cannot read config file ${path}: ${(e as Error).message}`);
  }
  const doc: unknown = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error(`Config file ${path} must contain an object`);
  return doc;
}

export interface ConfigSources {
  file?: string;
  env?: NodeJS.ProcessEnv;
  flags?: ConfigInput;
}

export function resolveConfig(sources: ConfigSources): ResolvedConfig {
  const env = sources.env ?? {};
  const fileInput = sources.file ?? env['FLOWD_CONFIG'];
  const merged = {
    ...defaultConfig(),
    ...(fileInput ? configFromFile(fileInput) : {}),
    ...configFromEnv(env),
    ...Object.fromEntries(Object.entries(sources.flags ?? {}).filter(([, v]) => v !== undefined)),
  };
  if (!checkConfig.Check(merged)) throw new Error(`Invalid configuration: ${configProblems(merged).join('; ')}`);
  // In the schema's order, whatever order the sources gave.
  const ordered = Object.fromEntries(
    Object.keys(ConfigSchema.properties).flatMap((k) => (k in merged ? [[k, merged[k as keyof Config]]] : [])),
  ) as Config;
  return Object.freeze({ ...ordered, dataDir: resolve(merged.dataDir) });
}

/** What is wrong, one line per setting, named as in the config file (`port: must be at most 65535`). */
function configProblems(value: unknown): string[] {
  const out: string[] = [];
  for (const e of checkConfig.Errors(value)) {
    const setting = e.instancePath.slice(1).replaceAll('/', '.') || '(root)';
    const p = e.params as { limit?: number; type?: string; allowedValues?: unknown[]; additionalProperties?: string[]; format?: string };
    const line = ((): string | undefined => {
      switch (e.keyword) {
        case 'boolean':
          return undefined; // the same unknown setting, reported once by `additionalProperties`
        case 'additionalProperties':
          return `unknown setting(s) ${(p.additionalProperties ?? []).map((k) => `"${k}"`).join(', ')}`;
        case 'type':
          return `expected ${p.type ?? 'another type'}, got ${describe(e.instancePath, value)}`;
        case 'minimum':
          return `must be at least ${p.limit}`;
        case 'maximum':
          return `must be at most ${p.limit}`;
        case 'exclusiveMinimum':
          return `must be greater than ${p.limit}`;
        case 'minLength':
          return setting === 'adminPassword'
            ? `FLOWD_ADMIN_PASSWORD must be at least ${p.limit} characters`
            : `must be at least ${p.limit} character(s)`;
        case 'enum':
          return `must be one of ${(p.allowedValues ?? []).join(', ')}`;
        case 'format':
          return p.format === 'url' ? 'must be a URL' : e.message;
        case 'pattern':
          return setting === 'opensearchVersion' ? 'must be an OpenSearch version, major.minor.patch (e.g. 3.1.0)' : e.message;
        default:
          return e.message;
      }
    })();
    if (line !== undefined) out.push(`${setting}: ${line}`);
  }
  return out;
}

/** The JSON type of the value at `pointer` (an instance path into `root`), for "expected integer, got string". */
function describe(pointer: string, root: unknown): string {
  let v = root;
  for (const key of pointer.split('/').slice(1)) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}
