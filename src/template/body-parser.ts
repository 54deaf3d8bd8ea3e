/**
 * Request-body decoding: JSON by default, YAML for the YAML content types, as Flow Framework accepts,
 * always within the body limits (body-limits.ts: depth, values, expanded size, YAML tokens).
 * Every syntax failure becomes the one Flow Framework message, so a client cannot tell (or
 * care) which decoder rejected its body; a limit breach gets its own message naming the limit.
 */
import { validationError } from '../errors.js';
import type { BodyLimits } from './body-limits.js';
import { DEFAULT_BODY_LIMITS, refuseNul, scanJson } from './body-limits.js';
import { decodeYaml } from './yaml-body.js';

export { reindentQuotedContinuations } from './yaml-body.js';

export const INVALID_CONTENT_MESSAGE = 'IOException: template content invalid for specified Content-Type.';

const YAML_TYPES = new Set(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml']);

export function isYamlContentType(ct: string | undefined): boolean {
  if (ct === undefined) return false;
  const base = ct.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return YAML_TYPES.has(base);
}

const invalidContent = (cause?: unknown): Error => validationError(INVALID_CONTENT_MESSAGE, { code: 'template.invalid_content', cause });

/** JSON text to data within `limits`; `invalid(cause)` is thrown for a syntax error. */
export function decodeJson(raw: string, limits: BodyLimits, invalid: (cause: unknown) => Error): unknown {
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  // Bounded before JSON.parse builds anything: depth, values, numbers beyond ±Infinity.
  scanJson(text, limits);
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (e) {
    throw invalid(e);
  }
  refuseNul(text, value);
  return value;
}

/**
 * Decode a request body. Returns plain JSON data (objects, arrays, strings, finite numbers,
 * booleans, null); anything else a YAML document can express (dates, binary, NaN, cycles) is
 * rejected rather than silently converted.
 */
export function parseBody(raw: string, contentType: string | undefined, limits: BodyLimits = DEFAULT_BODY_LIMITS): unknown {
  if (!isYamlContentType(contentType)) return decodeJson(raw, limits, invalidContent);
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  return decodeYaml(text, limits, invalidContent);
}
