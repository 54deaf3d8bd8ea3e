/**
 * The registry of step types and of resource deleters. Step types are data: a new one is a
 * file that exports a StepDefinition and a line in builtin-steps.ts (or a plugin's call to
 * `register`), not an enum edit.
 */
import { formatTimeValue } from '../template/time-value.js';
import type { StepSpecLite } from '../template/graph.js';
import type { ResourceDeleter, StepDefinition } from './step.js';

export const DEFAULT_STEP_TIMEOUT_MS = 10_000;

export interface StepListing {
  inputs: string[];
  outputs: string[];
  required_plugins: string[];
  timeout?: string;
  /** flowd extensions */
  optional_inputs?: string[];
  secret_inputs?: string[];
  resource_type?: string;
}

export class StepRegistry {
  readonly #steps = new Map<string, StepDefinition>();
  readonly #deleters = new Map<string, ResourceDeleter>();

  register(step: StepDefinition): this {
    if (this.#steps.has(step.name)) throw new Error(`step type ${step.name} is registered twice`);
    this.#steps.set(step.name, step);
    return this;
  }

  registerDeleter(d: ResourceDeleter): this {
    this.#deleters.set(d.createdBy, d);
    return this;
  }

  get(type: string): StepDefinition | undefined {
    return this.#steps.get(type);
  }

  deleterFor(createdBy: string): ResourceDeleter | undefined {
    return this.#deleters.get(createdBy);
  }

  /** The view graph compilation needs. */
  readonly lookup = (type: string): StepSpecLite | undefined => {
    const s = this.#steps.get(type);
    if (!s) return undefined;
    const spec: StepSpecLite = { inputs: s.inputs, outputs: s.outputs, requiredPlugins: s.requiredPlugins };
    if (s.denylisted) spec.denylisted = true;
    if (s.defaultTimeoutMs !== undefined) spec.defaultTimeoutMs = s.defaultTimeoutMs;
    return spec;
  };

  /**
   * Whether `key` of a node of `type` is secret (encrypted at rest, never returned); `key` is
   * a dotted path into `user_inputs` (`credential`, `model.credential`).
   */
  isSecret(type: string, key: string): boolean {
    if (key === 'credential') return true;
    return this.#steps.get(type)?.secretInputs?.includes(key) ?? false;
  }

  /** Every secret path of a node of `type`: `credential` and what the step declares. */
  secretPaths(type: string): string[] {
    return [...new Set(['credential', ...(this.#steps.get(type)?.secretInputs ?? [])])];
  }

  /** `GET _steps` listing (denylisted steps hidden). */
  listing(names?: string[]): Record<string, StepListing> | undefined {
    const out: Record<string, StepListing> = {};
    const selected = names ?? [...this.#steps.keys()].filter((n) => this.#steps.get(n)?.denylisted !== true);
    for (const name of selected) {
      const s = this.#steps.get(name);
      if (!s || s.denylisted === true) return undefined;
      const l: StepListing = { inputs: s.inputs, outputs: s.outputs, required_plugins: s.requiredPlugins };
      if (s.defaultTimeoutMs !== undefined && s.defaultTimeoutMs !== DEFAULT_STEP_TIMEOUT_MS)
        l.timeout = formatTimeValue(s.defaultTimeoutMs);
      if (s.optionalInputs?.length) l.optional_inputs = s.optionalInputs;
      if (s.secretInputs?.length) l.secret_inputs = s.secretInputs;
      if (s.resourceType) l.resource_type = s.resourceType;
      out[name] = l;
    }
    return out;
  }

  names(): string[] {
    return [...this.#steps.keys()];
  }
}
