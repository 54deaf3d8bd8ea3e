/**
 * OpenSearch API specification test stories (the spec's json_schemas/test_story.schema.yaml):
 * their shape, loading one from its YAML file, and the version/distribution gates that decide
 * whether a story or chapter runs against a given server.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

export type Parameter = string | number | boolean | Array<string | number | boolean>;

export interface Distributions {
  included?: string[];
  excluded?: string[];
}

export interface Retry {
  count: number;
  /** Milliseconds between tries (default 1000). */
  wait?: number;
}

export interface ExpectedResponse {
  /** One status, or any of several (default 200). */
  status?: number | number[];
  content_type?: string;
  payload?: unknown;
}

/** Output name → `payload.<path>` (lodash-style path), optionally with a default. */
export type Output = Record<string, string | { path: string; default?: string | number | boolean }>;

export interface ChapterRequest {
  id?: string;
  path: string;
  method: string;
  parameters?: Record<string, Parameter>;
  request?: { content_type?: string; headers?: Record<string, string>; payload?: unknown };
  output?: Output;
  version?: string;
  distributions?: Distributions;
  retry?: Retry;
  response?: ExpectedResponse;
}

export interface Chapter extends ChapterRequest {
  synopsis: string;
  /** Why the chapter is not run (IGNORED). */
  pending?: string;
}

/** A prologue or epilogue: not checked against the spec, only for a status among `status` (default 200 or 201). */
export interface SupplementalChapter extends ChapterRequest {
  status?: number[];
}

export interface Story {
  description: string;
  version?: string;
  distributions?: Distributions;
  prologues: SupplementalChapter[];
  chapters: Chapter[];
  epilogues: SupplementalChapter[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads a story file. A chapter with several methods becomes one chapter per method, its
 * synopsis suffixed with ` [METHOD]`, as the official runner expands it.
 */
export function loadStory(file: string): Story {
  const doc: unknown = parseYaml(readFileSync(file, 'utf8'));
  if (!isRecord(doc) || !Array.isArray(doc['chapters']) || typeof doc['description'] !== 'string') {
    throw new Error(`${file}: not a test story (needs description and chapters)`);
  }
  const raw = doc as unknown as Omit<Story, 'chapters' | 'prologues' | 'epilogues'> & {
    chapters: Array<Omit<Chapter, 'method'> & { method: string | string[] }>;
    prologues?: SupplementalChapter[];
    epilogues?: SupplementalChapter[];
  };
  const chapters = raw.chapters.flatMap((c): Chapter[] =>
    Array.isArray(c.method)
      ? c.method.map((method) => ({ ...c, method, synopsis: `${c.synopsis} [${method}]` }))
      : [{ ...c, method: c.method }],
  );
  return {
    description: raw.description,
    ...(raw.version !== undefined ? { version: String(raw.version) } : {}),
    ...(raw.distributions !== undefined ? { distributions: raw.distributions } : {}),
    prologues: raw.prologues ?? [],
    chapters,
    epilogues: raw.epilogues ?? [],
  };
}

/** Why a story or chapter does not run against `server` (version and distribution gates), or undefined when it does. */
export function gateReason(
  item: { version?: string; distributions?: Distributions },
  server: { version: string; distribution: string },
): string | undefined {
  const { included = [], excluded = [] } = item.distributions ?? {};
  if (included.length > 0 && !included.includes(server.distribution)) {
    return `distribution ${server.distribution} is not ${included.length > 1 ? 'one of ' : ''}${included.join(', ')}`;
  }
  if (excluded.includes(server.distribution)) return `distribution ${server.distribution} is excluded`;
  if (item.version !== undefined && !satisfiesRange(server.version, item.version)) {
    return `version ${server.version} does not satisfy ${item.version}`;
  }
  return undefined;
}

type Triple = [number, number, number];

/** A full or partial version (`2`, `2.12`, `2.12.0`), and how many of its parts were given. */
function parseVersion(text: string): { v: Triple; given: number } {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(text.trim());
  if (!m) throw new Error(`not a version: "${text}"`);
  const given = m[3] !== undefined ? 3 : m[2] !== undefined ? 2 : 1;
  return { v: [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)], given };
}

const compare = (a: Triple, b: Triple): number => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** The first version past a partial one (`2.12` → 2.13.0), for `>` and `<=` on partial versions as semver reads them. */
function bump({ v, given }: { v: Triple; given: number }): Triple {
  if (given === 1) return [v[0] + 1, 0, 0];
  if (given === 2) return [v[0], v[1] + 1, 0];
  return [v[0], v[1], v[2] + 1];
}

/**
 * semver range check for the ranges stories use: comparators (`>=`, `>`, `<=`, `<`, `=`, bare)
 * on full or partial versions, joined by spaces (all must hold) and `||` (any set may hold).
 */
export function satisfiesRange(version: string, range: string): boolean {
  const actual = parseVersion(version).v;
  return range.split('||').some((set) => {
    const comparators = set
      .trim()
      .replace(/(>=|<=|>|<|=)\s+/g, '$1')
      .split(/\s+/)
      .filter(Boolean);
    if (comparators.length === 0) return true;
    return comparators.every((c) => {
      const m = /^(>=|<=|>|<|=)?(.+)$/.exec(c);
      if (!m || m[2] === undefined) throw new Error(`unsupported version range "${range}"`);
      const target = parseVersion(m[2]);
      switch (m[1]) {
        case '>=':
          return compare(actual, target.v) >= 0;
        case '>':
          return compare(actual, bump(target)) >= 0;
        case '<':
          return compare(actual, target.v) < 0;
        case '<=':
          return compare(actual, bump(target)) < 0;
        default:
          return compare(actual, target.v) >= 0 && compare(actual, bump(target)) < 0;
      }
    });
  });
}
