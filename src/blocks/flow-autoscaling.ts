/**
 * The `flow.autoscaling` setting (NL Flow's auto-scaling parameters for asynchronous
 * workflows): KEDA-style queue-driven scaling
 * of ASYNC services between a floor and a ceiling.
 *
 * Presets (NL Flow names them but does not publish their numbers; these are flowd's):
 * - eco: min 0 replicas, polling 10s, cooldown 120s: idle blocks scale to zero, costs least.
 * - sport: min 1 replica, polling 1s, cooldown 300s: always one warm instance, reacts fast.
 * - disabled: no scaling: every block keeps exactly its `replicas` (min = max = replicas; the
 *   flow-level numbers are 1 and polling / cooldown 0, unused). The default for ASYNC flows and
 *   the only one for SYNC.
 * - custom: explicit fields (`min_replicas`, `max_replicas`, `polling_interval`,
 *   `cooldown_period`), starting from the preset named beside them, or from eco.
 * A block's ceiling is the larger of its own `replicas` and `max_replicas`; `max_replicas`
 * defaults to max(1, min_replicas), so by default a block scales up to its `replicas`.
 */
import { validationError } from '../errors.js';
import { formatTimeValue } from '../template/time-value.js';
import type { JsonObject } from '../util/json.js';
import { isJsonObject } from '../template/template-parser.js';
import { readTimeMs } from './flow-fields.js';

export type AutoscalingPreset = 'eco' | 'sport' | 'disabled' | 'custom';

export interface AutoscalingSpec {
  preset: AutoscalingPreset;
  minReplicas: number;
  /** A block's ceiling is max(block replicas, maxReplicas) (see blockReplicaRange). */
  maxReplicas: number;
  pollingIntervalMs: number;
  cooldownPeriodMs: number;
}

const PRESETS = {
  eco: { minReplicas: 0, pollingIntervalMs: 10_000, cooldownPeriodMs: 120_000 },
  sport: { minReplicas: 1, pollingIntervalMs: 1_000, cooldownPeriodMs: 300_000 },
} as const;

const PRESET_NAMES: readonly AutoscalingPreset[] = ['eco', 'sport', 'disabled', 'custom'];
const FIELDS = ['preset', 'min_replicas', 'max_replicas', 'polling_interval', 'cooldown_period'];
const MAX_REPLICAS = 64;

const scalingError = (message: string) => validationError(message, { code: 'flow.invalid_autoscaling' });

function intField(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw scalingError(`Invalid [flow.autoscaling.${field}]: ${JSON.stringify(v)}. Use an integer from ${min} to ${max}.`);
  }
  return v;
}

const DISABLED: AutoscalingSpec = { preset: 'disabled', minReplicas: 1, maxReplicas: 1, pollingIntervalMs: 0, cooldownPeriodMs: 0 };

export function parseAutoscaling(raw: unknown): AutoscalingSpec {
  if (raw === undefined || raw === null) return { ...DISABLED };
  if (!isJsonObject(raw)) {
    throw scalingError(
      '[flow.autoscaling] must be an object, e.g. { preset: eco } or { min_replicas: 0, max_replicas: 4, polling_interval: 5s, cooldown_period: 60s }.',
    );
  }
  const unknown = Object.keys(raw).filter((k) => !FIELDS.includes(k));
  if (unknown.length > 0) throw scalingError(`Unknown field [flow.autoscaling.${unknown[0]}]. Allowed: ${FIELDS.join(', ')}.`);
  const rawPreset = raw.preset ?? 'custom';
  const preset = PRESET_NAMES.find((p) => p === rawPreset);
  if (preset === undefined) {
    throw scalingError(`Invalid [flow.autoscaling.preset]: ${JSON.stringify(rawPreset)}. Use eco, sport, disabled or custom.`);
  }
  const explicit = FIELDS.filter((f) => f !== 'preset' && raw[f] !== undefined);
  if (preset === 'disabled') {
    if (explicit.length > 0)
      throw scalingError(
        `[flow.autoscaling] preset disabled takes no other field (found ${explicit.join(', ')}): remove them, or choose preset eco, sport or custom.`,
      );
    return { ...DISABLED };
  }
  const base = PRESETS[preset === 'custom' ? 'eco' : preset];
  if (explicit.length === 0) {
    if (preset === 'custom')
      throw scalingError(
        '[flow.autoscaling] preset custom needs at least one of min_replicas, max_replicas, polling_interval, cooldown_period.',
      );
    return { preset, ...base, maxReplicas: Math.max(1, base.minReplicas) };
  }
  const minReplicas = raw.min_replicas === undefined ? base.minReplicas : intField(raw.min_replicas, 'min_replicas', 0, MAX_REPLICAS);
  const spec: AutoscalingSpec = {
    preset: 'custom',
    minReplicas,
    maxReplicas: Math.max(1, minReplicas),
    pollingIntervalMs:
      raw.polling_interval === undefined ? base.pollingIntervalMs : readTimeMs(raw.polling_interval, 'flow.autoscaling.polling_interval'),
    cooldownPeriodMs:
      raw.cooldown_period === undefined ? base.cooldownPeriodMs : readTimeMs(raw.cooldown_period, 'flow.autoscaling.cooldown_period', true),
  };
  if (raw.max_replicas !== undefined) {
    spec.maxReplicas = intField(raw.max_replicas, 'max_replicas', 1, MAX_REPLICAS);
    if (spec.maxReplicas < minReplicas) {
      throw scalingError(
        `[flow.autoscaling] max_replicas (${spec.maxReplicas}) is below min_replicas (${minReplicas}): raise max_replicas or lower min_replicas.`,
      );
    }
  }
  return spec;
}

/** The replica range of one block under the flow's autoscaling. */
export function blockReplicaRange(scaling: AutoscalingSpec, replicas: number): { min: number; max: number } {
  if (scaling.preset === 'disabled') return { min: replicas, max: replicas };
  const max = Math.max(replicas, scaling.maxReplicas);
  return { min: Math.min(scaling.minReplicas, max), max };
}

/** What the store keeps: a named preset alone, custom values in full (so they round-trip). */
export function autoscalingToJson(s: AutoscalingSpec): JsonObject {
  if (s.preset !== 'custom') return { preset: s.preset };
  const out: JsonObject = {
    preset: 'custom',
    min_replicas: s.minReplicas,
    max_replicas: s.maxReplicas,
    polling_interval: formatTimeValue(s.pollingIntervalMs),
    cooldown_period: formatTimeValue(s.cooldownPeriodMs),
  };
  return out;
}
