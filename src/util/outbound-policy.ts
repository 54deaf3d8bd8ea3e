/**
 * The one policy every outbound call follows (`http_request` steps, connectors, remote models,
 * `http` and `model` blocks), like ML Commons' trusted connector endpoints:
 * - only `http:` and `https:`;
 * - when `allow` is not empty, the URL must match one of its patterns;
 * - the host must resolve to public addresses only, unless `allowPrivate` (loopback, private,
 *   link-local, carrier-grade NAT, unique-local, multicast, reserved… are refused: that is how
 *   a template would reach the node's own metrics or a cloud metadata service);
 * - answers larger than `maxResponseBytes` fail.
 *
 * Allow-list patterns: `https://api.openai.com` (that origin, any path),
 * `https://*.amazonaws.com/model/*`, `api.example.com` (any scheme, its default ports),
 * `http://10.0.0.5:8080/*`. `*` matches any text within the part it is in (in the host it never
 * crosses a `:` or `/`, so `https://*.example.com` does not match `https://evil.com/x.example.com`);
 * a missing path means any path; a missing port means the scheme's default one, `:*` any port.
 * Matching is linear-time (RE2 semantics).
 */
import ipaddr from 'ipaddr.js';
import { RE2JS } from 're2js';
import { validationError } from '../errors.js';

export interface OutboundPolicy {
  /** URL patterns outbound calls may reach; empty: any public URL. */
  allow: readonly string[];
  /** Let calls reach loopback, private and other non-public addresses. */
  allowPrivate: boolean;
  /** Largest answer body read, in bytes. */
  maxResponseBytes: number;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

/** What a node uses unless configured otherwise: public addresses only. */
export const DEFAULT_OUTBOUND_POLICY: OutboundPolicy = Object.freeze({
  allow: [],
  allowPrivate: false,
  maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES,
});

/**
 * No address restriction: for components built outside a node (unit tests, embedding), which
 * are handed no policy. A node always passes the configured one.
 */
export const UNRESTRICTED_OUTBOUND_POLICY: OutboundPolicy = Object.freeze({
  allow: [],
  allowPrivate: true,
  maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES,
});

export function outboundPolicyFromConfig(c: {
  outboundAllow: readonly string[];
  outboundAllowPrivate: boolean;
  outboundMaxResponseBytes: number;
}): OutboundPolicy {
  return { allow: [...c.outboundAllow], allowPrivate: c.outboundAllowPrivate, maxResponseBytes: c.outboundMaxResponseBytes };
}

/** The policy as plain JSON (it crosses into block instances with a prepared connector). */
export function outboundPolicyToJson(p: OutboundPolicy): { allow: string[]; allow_private: boolean; max_response_bytes: number } {
  return { allow: [...p.allow], allow_private: p.allowPrivate, max_response_bytes: p.maxResponseBytes };
}

/** Reads back `outboundPolicyToJson`; anything missing or malformed gives the default (strict) policy. */
export function outboundPolicyFromJson(v: unknown): OutboundPolicy {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return DEFAULT_OUTBOUND_POLICY;
  const o = v as Record<string, unknown>;
  const allow = Array.isArray(o['allow']) ? o['allow'].filter((x): x is string => typeof x === 'string') : [];
  const max = o['max_response_bytes'];
  return {
    allow,
    allowPrivate: o['allow_private'] === true,
    maxResponseBytes: typeof max === 'number' && Number.isInteger(max) && max > 0 ? max : DEFAULT_MAX_RESPONSE_BYTES,
  };
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };
const HOST_STAR = '[^:/]*';

const quote = (s: string): string => RE2JS.quote(s);

/** A pattern part with `*` as `star`, everything else literal. */
const globPart = (s: string, star: string): string => s.split('*').map(quote).join(star);

/** One allow-list pattern as a regex over `scheme://host:port/path?query` (port always explicit). */
function compilePattern(pattern: string): RE2JS {
  const raw = pattern.trim();
  const sep = raw.indexOf('://');
  const scheme = sep >= 0 ? raw.slice(0, sep).toLowerCase() : '';
  if (scheme !== '' && scheme !== 'http' && scheme !== 'https' && scheme !== '*') {
    throw validationError(`outboundAllow pattern [${pattern}]: the scheme must be http, https or *`, { code: 'config.outbound_allow' });
  }
  const rest = sep >= 0 ? raw.slice(sep + 3) : raw;
  const slash = rest.search(/[/?]/);
  const authority = (slash >= 0 ? rest.slice(0, slash) : rest).toLowerCase();
  const path = slash >= 0 ? rest.slice(slash) : '/*';
  if (authority === '' || authority.includes('@')) {
    throw validationError(`outboundAllow pattern [${pattern}] needs a host (e.g. api.example.com or https://*.example.com/*)`, {
      code: 'config.outbound_allow',
    });
  }
  const portSep = authority.startsWith('[') ? authority.indexOf(':', authority.indexOf(']')) : authority.lastIndexOf(':');
  const host = portSep >= 0 ? authority.slice(0, portSep) : authority;
  const port = portSep >= 0 ? authority.slice(portSep + 1) : '';
  if (port !== '' && port !== '*' && !/^\d{1,5}$/.test(port)) {
    throw validationError(`outboundAllow pattern [${pattern}]: the port must be a number or *`, { code: 'config.outbound_allow' });
  }
  const schemes = scheme === '' || scheme === '*' ? ['http', 'https'] : [scheme];
  const alternatives = schemes.map((s) => {
    const p = port === '*' ? '\\d+' : quote(port === '' ? (DEFAULT_PORTS[`${s}:`] ?? '') : port);
    return `${quote(s)}://${globPart(host, HOST_STAR)}:${p}${globPart(path, '.*')}`;
  });
  return RE2JS.compile(`(?:${alternatives.join('|')})`);
}

/** What the allow list sees of a URL: scheme, host, explicit port, path and query (never the user info). */
function canonical(url: URL): string {
  const port = url.port !== '' ? url.port : (DEFAULT_PORTS[url.protocol] ?? '');
  return `${url.protocol.slice(0, -1)}://${url.hostname}:${port}${url.pathname}${url.search}`;
}

/** The address class of an IP (ipaddr.js's range name; only `unicast` is public). */
export function addressRange(address: string): string {
  if (!ipaddr.isValid(address)) return 'invalid';
  return ipaddr.process(address).range();
}

export const isPublicAddress = (address: string): boolean => addressRange(address) === 'unicast';

/** A URL's host as an IP literal (brackets of IPv6 removed), or undefined for a name. */
export function ipLiteral(url: URL): string | undefined {
  const h = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return ipaddr.isValid(h) && (h.includes(':') || ipaddr.IPv4.isValidFourPartDecimal(h)) ? h : undefined;
}

const PRIVATE_HINT = 'set FLOWD_OUTBOUND_ALLOW_PRIVATE=true (outboundAllowPrivate) to let outbound calls reach it';

/** A policy ready to check URLs and addresses. */
export class CompiledOutboundPolicy {
  readonly policy: OutboundPolicy;
  readonly #patterns: RE2JS[];

  constructor(policy: OutboundPolicy) {
    this.policy = policy;
    this.#patterns = policy.allow.map(compilePattern);
  }

  /** Scheme and allow list; throws a 400 that says what to change. */
  checkUrl(url: URL): void {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw validationError(`only http and https URLs may be called, not ${url.protocol}`, { code: 'outbound.scheme' });
    }
    if (this.#patterns.length > 0 && !this.#patterns.some((p) => p.matches(canonical(url)))) {
      throw validationError(
        `${url.protocol}//${url.host} is not in the outbound allow list (FLOWD_OUTBOUND_ALLOW / outboundAllow: ${this.policy.allow.join(', ')})`,
        { code: 'outbound.not_allowed' },
      );
    }
  }

  /** Whether addresses must be looked up and checked at all. */
  get checksAddresses(): boolean {
    return !this.policy.allowPrivate;
  }

  /** Throws when `address` (what `host` resolved to) is not public and private ones are not allowed. */
  checkAddress(host: string, address: string): void {
    if (this.policy.allowPrivate) return;
    const range = addressRange(address);
    if (range === 'unicast') return;
    const what = host === address ? address : `${host} (${address})`;
    throw validationError(`${what} is a ${describeRange(range)} address, which outbound calls may not reach; ${PRIVATE_HINT}`, {
      code: 'outbound.private_address',
    });
  }
}

const RANGE_NAMES: Record<string, string> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT',
  private: 'private',
  uniqueLocal: 'unique-local',
  ipv4Mapped: 'IPv4-mapped',
  reserved: 'reserved',
};

const describeRange = (range: string): string => RANGE_NAMES[range] ?? `non-public (${range})`;
