/**
 * Configuration, resolved once at start-up: defaults < config file < environment < flags,
 * validated into a frozen ResolvedConfig. Units are in the names (…Ms, …Bytes).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { parse as parseYaml } from 'yaml';

const ConfigSchema = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(0).max(65535),
    dataDir: z.string().min(1),
    /** `postgres://…` for the PostgreSQL store; unset = embedded SQLite in dataDir. */
    storeUrl: z.string().optional(),
    securityEnabled: z.boolean(),
    adminPassword: z.string().min(8, 'FLOWD_ADMIN_PASSWORD must be at least 8 characters').optional(),
    masterKey: z.string().optional(),
    bodyLimitBytes: z.number().int().positive(),
    maxWorkflows: z.number().int().min(0).max(10_000_000),
    maxWorkflowSteps: z.number().int().min(1).max(100_000),
    requestTimeoutMs: z.number().int().positive(),
    provisionConcurrency: z.number().int().min(1).max(10_000),
    leaseMs: z.number().int().min(100),
    /** A task long-poll re-reads the store this often, in case a wake-up (another node's) was lost. */
    taskWaitRecheckMs: z.number().int().min(10),
    shutdownGraceMs: z.number().int().min(0),
    filterByBackendRoles: z.boolean(),
    opensearchUrl: z.string().url().optional(),
    opensearchUser: z.string().optional(),
    opensearchPassword: z.string().optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    /** Create a sample workflow on first start so there is something to look at. */
    demo: z.boolean(),
    nodeId: z.string().optional(),
    /** Admission: most service instances (worker threads) this node runs, all workflows together. */
    maxInstances: z.number().int().min(0).max(10_000),
    /** Admission: heap budget for all instances, MB; a block without `memory` counts instanceMemoryMb. */
    maxInstanceMemoryMb: z.number().int().min(16),
    instanceMemoryMb: z.number().int().min(16).max(65_536),
    /** How long task results are kept (NL Flow: 24 h). */
    taskTtlMs: z.number().int().min(1000),
    /** Folders `custom` block modules may be loaded from; empty = custom blocks disabled. */
    customBlockDirs: z.array(z.string().min(1)),
    /** Cluster: NATS URL of the message bus between nodes (PostgreSQL store only). */
    busUrl: z.string().optional(),
    /** Cluster: how often a node reports itself; it counts as dead after nodeTtlMs without a report. */
    heartbeatMs: z.number().int().min(50),
    nodeTtlMs: z.number().int().min(200),
    /** Cluster: the URL other nodes and `flowd doctor` show for this node (default: the listen address). */
    advertiseUrl: z.string().url().optional(),
    // Hardening: limits that bound what one caller can make this node do (README "Security").
    /** Deepest nesting of any parsed request body (JSON or YAML): arrays and objects. */
    bodyMaxDepth: z.number().int().min(4).max(1000),
    /** Most values (objects, arrays, scalars) in one parsed request body, YAML aliases expanded. */
    bodyMaxValues: z.number().int().min(16),
    /** Most YAML tokens in one YAML body (a line of a multi-line string counts as one): YAML decodes far slower than JSON. */
    bodyMaxYamlTokens: z.number().int().min(100),
    /** Longest `X-Correlation-Id` kept (longer: 400). */
    correlationIdMaxLength: z.number().int().min(8).max(4096),
    /** Attempts a task or provisioning run gets before a crash-causing run is dead-lettered (ERROR). */
    maxAttempts: z.number().int().min(1).max(100),
    /** URL patterns outbound calls (http_request, connectors, remote models, http blocks) may reach; empty = any public URL. */
    outboundAllow: z.array(z.string().min(1)),
    /** Let outbound calls reach loopback, private, link-local and other non-public addresses. */
    outboundAllowPrivate: z.boolean(),
    /** Largest outbound response body read; larger answers fail the step. */
    outboundMaxResponseBytes: z.number().int().min(1024),
    /** Failed logins allowed per user name, and per client address (x10), within authFailureWindowMs; more: 429. */
    authMaxFailures: z.number().int().min(1),
    authFailureWindowMs: z.number().int().min(1000),
    /** Longest an event stream (watch / SSE) stays open; the client reconnects after it. */
    streamMaxLifetimeMs: z.number().int().min(1000),
  })
  .strict();

export type ResolvedConfig = Readonly<z.infer<typeof ConfigSchema>>;
export type ConfigInput = Partial<z.infer<typeof ConfigSchema>>;

export function defaultConfig(): z.infer<typeof ConfigSchema> {
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
  } satisfies z.infer<typeof ConfigSchema>;
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
  FLOWD_OPENSEARCH_URL: ['opensearchUrl', String],
  FLOWD_OPENSEARCH_USER: ['opensearchUser', String],
  FLOWD_OPENSEARCH_PASSWORD: ['opensearchPassword', String],
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
  FLOWD_OUTBOUND_ALLOW: ['outboundAllow', (v) => v.split(',').map((d) => d.trim()).filter((d) => d !== '')],
  FLOWD_OUTBOUND_ALLOW_PRIVATE: ['outboundAllowPrivate', bool],
  FLOWD_OUTBOUND_MAX_RESPONSE_BYTES: ['outboundMaxResponseBytes', int],
  FLOWD_AUTH_MAX_FAILURES: ['authMaxFailures', int],
  FLOWD_AUTH_FAILURE_WINDOW_MS: ['authFailureWindowMs', int],
  FLOWD_STREAM_MAX_LIFETIME_MS: ['streamMaxLifetimeMs', int],
  FLOWD_CUSTOM_BLOCK_DIRS: ['customBlockDirs', (v) => v.split(/[,:]/).map((d) => d.trim()).filter((d) => d !== '')],
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
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${issues}`);
  }
  return Object.freeze({ ...parsed.data, dataDir: resolve(parsed.data.dataDir) });
}
