/**
 * Runs one story against a server as the official runner does: prologues (status only, default
 * 200/201), then chapters (status, then the response body against the spec's strict schema for
 * that operation/status/content type, declared outputs, and the expected payload), then
 * epilogues. `retry` repeats a chapter until it passes; version/distribution gates skip a story
 * or chapter; `pending` ignores one. An ERROR (wrong status, unreadable output) in a prologue or
 * chapter skips the chapters after it, unless `keepGoing` (to see every chapter at once).
 */
import type { Chapter, ChapterRequest, Story, SupplementalChapter } from './story.js';
import { gateReason } from './story.js';
import { MissingOutputError, StoryOutputs, extractOutputs } from './story-outputs.js';
import type { OpenApiSpec, SpecTarget } from './spec-schemas.js';
import { sendStoryRequest } from './chapter-request.js';
import type { StoryResponse } from './chapter-request.js';
import { payloadMismatches } from './payload-match.js';
import { withoutAllowed } from './allowances.js';
import type { Allowance } from './allowances.js';

/** DEVIATION: failed as a known, documented flowd deviation says it will (does not fail the story). */
export type Result = 'PASSED' | 'FAILED' | 'ERROR' | 'SKIPPED' | 'IGNORED' | 'DEVIATION';

/**
 * A documented way flowd answers one chapter differently: the chapter's failure is tolerated when
 * every message matches `pattern` (any other failure still counts).
 */
export interface KnownDeviation {
  part: ChapterReport['part'];
  /** The chapter's synopsis, or `METHOD /path` for a prologue or epilogue. */
  title: string;
  pattern: RegExp;
  reason: string;
}

export interface ChapterReport {
  part: 'prologue' | 'chapter' | 'epilogue';
  title: string;
  result: Result;
  /** Why it is not PASSED: expected vs actual, schema errors, skip reasons. */
  messages: string[];
  /** Tries after the first, when `retry` was used. */
  retries?: number;
}

export interface StoryReport {
  result: Result;
  /** Set when the whole story was skipped (version or distribution). */
  skipped?: string;
  chapters: ChapterReport[];
}

export interface RunContext {
  baseUrl: string;
  /** The Authorization header every request carries. */
  authorization: string;
  server: SpecTarget;
  spec: OpenApiSpec;
  allowances?: readonly Allowance[];
  deviations?: readonly KnownDeviation[];
  keepGoing?: boolean;
}

interface Evaluation {
  result: Result;
  messages: string[];
}

const RANK: Record<Result, number> = { ERROR: 4, FAILED: 3, PASSED: 2, DEVIATION: 2, IGNORED: 1, SKIPPED: 0 };

function overall(results: Result[]): Result {
  if (results.length === 0) return 'PASSED';
  if (results.every((r) => r === 'SKIPPED')) return 'SKIPPED';
  const worst = results.reduce((a, b) => (RANK[b] > RANK[a] ? b : a));
  return worst === 'ERROR' || worst === 'FAILED' ? worst : 'PASSED';
}

const clip = (text: string, max = 600): string => (text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function send(chapter: ChapterRequest, outputs: StoryOutputs, ctx: RunContext): Promise<StoryResponse> {
  const parameters = outputs.resolve(chapter.parameters ?? {}) as Record<string, unknown>;
  const payload = chapter.request?.payload === undefined ? undefined : outputs.resolve(chapter.request.payload);
  const headers = { ...(chapter.request?.headers ?? {}) };
  let contentType = chapter.request?.content_type ?? 'application/json';
  for (const k of Object.keys(headers)) {
    if (k.toLowerCase() === 'content-type') {
      contentType = String(headers[k]);
      delete headers[k];
    }
  }
  return sendStoryRequest(ctx.baseUrl, ctx.authorization, {
    method: chapter.method,
    path: chapter.path,
    parameters,
    contentType,
    headers,
    payload,
  });
}

function statusLine(expected: number | number[], r: StoryResponse): string {
  const want = Array.isArray(expected) ? expected.join(' or ') : String(expected);
  return `expected status ${want}, got ${r.status} (${r.contentType ?? 'no content type'}): ${clip(r.text)}`;
}

/** Outputs and expected payload, once the status is right. */
function checkBody(
  chapter: ChapterRequest,
  r: StoryResponse,
  outputs: StoryOutputs,
  chapterOutputs: { value?: Map<string, unknown> },
): Evaluation[] {
  const out: Evaluation[] = [];
  if (chapter.output) {
    const got = extractOutputs(r.payload, chapter.output);
    if ('error' in got) out.push({ result: 'ERROR', messages: [got.error] });
    else chapterOutputs.value = got.values;
  }
  if (chapter.response?.payload !== undefined) {
    const diff = payloadMismatches(outputs.resolve(chapter.response.payload), r.payload);
    if (diff.length > 0) out.push({ result: 'FAILED', messages: [`payload: ${diff.join(', ')}`, `actual payload: ${clip(r.text)}`] });
  }
  return out;
}

async function evaluateChapter(
  chapter: Chapter,
  outputs: StoryOutputs,
  ctx: RunContext,
  produced: { value?: Map<string, unknown> },
): Promise<Evaluation> {
  const operation = `${chapter.method.toUpperCase()} ${chapter.path}`;
  if (!ctx.spec.hasOperation(chapter.method, chapter.path))
    return { result: 'FAILED', messages: [`Operation "${operation}" not found in the spec.`] };
  const r = await send(chapter, outputs, ctx);
  const expected = chapter.response?.status ?? 200;
  const statusOk = Array.isArray(expected) ? expected.includes(r.status) : r.status === expected;
  if (!statusOk) return { result: 'ERROR', messages: [statusLine(expected, r)] };
  const evaluations: Evaluation[] = [];
  const contentType = chapter.response?.content_type ?? 'application/json';
  if (r.contentType !== contentType) {
    evaluations.push({ result: 'FAILED', messages: [`expected content type ${contentType}, got ${r.contentType ?? 'none'}`] });
  } else {
    const spec = ctx.spec.response(chapter.method, chapter.path, r.status, contentType);
    if (spec.kind === 'no-response' || spec.kind === 'no-operation') {
      evaluations.push({ result: 'FAILED', messages: [`Schema for "${r.status}: ${contentType}" response not found in the spec.`] });
    } else if (spec.kind === 'schema') {
      const errors = spec.validate(withoutAllowed(operation, r.payload, ctx.allowances));
      if (errors.length > 0) {
        evaluations.push({
          result: 'FAILED',
          messages: [
            `response does not match the spec's schema for ${r.status} ${contentType}:`,
            ...errors.slice(0, 40).map((e) => `  ${e}`),
            `actual payload: ${clip(r.text)}`,
          ],
        });
      }
    }
  }
  evaluations.push(...checkBody(chapter, r, outputs, produced));
  return { result: overall(['PASSED', ...evaluations.map((e) => e.result)]), messages: evaluations.flatMap((e) => e.messages) };
}

async function evaluateSupplemental(
  chapter: SupplementalChapter,
  outputs: StoryOutputs,
  ctx: RunContext,
  produced: { value?: Map<string, unknown> },
): Promise<Evaluation> {
  const r = await send(chapter, outputs, ctx);
  const expected = chapter.status ?? [200, 201];
  if (!expected.includes(r.status)) return { result: 'ERROR', messages: [statusLine(expected, r)] };
  const evaluations = checkBody(chapter, r, outputs, produced);
  return { result: overall(['PASSED', ...evaluations.map((e) => e.result)]), messages: evaluations.flatMap((e) => e.messages) };
}

/** Runs one chapter with its retries; its outputs become visible to later chapters. */
async function withRetries(
  chapter: ChapterRequest,
  outputs: StoryOutputs,
  once: (produced: { value?: Map<string, unknown> }) => Promise<Evaluation>,
): Promise<Evaluation & { retries?: number }> {
  const tries = chapter.retry && chapter.retry.count > 0 ? chapter.retry.count + 1 : 1;
  let evaluation: Evaluation = { result: 'ERROR', messages: ['not run'] };
  let produced: { value?: Map<string, unknown> } = {};
  let attempt = 0;
  for (; attempt < tries; attempt++) {
    if (attempt > 0) await sleep(chapter.retry?.wait ?? 1000);
    produced = {};
    try {
      evaluation = await once(produced);
    } catch (e) {
      evaluation = { result: 'ERROR', messages: [e instanceof Error ? e.message : String(e)] };
      if (e instanceof MissingOutputError) break;
    }
    if (evaluation.result === 'PASSED') break;
  }
  if (produced.value && chapter.id !== undefined) outputs.set(chapter.id, produced.value);
  return attempt > 0 ? { ...evaluation, retries: Math.min(attempt, tries - 1) } : evaluation;
}

export async function runStory(story: Story, ctx: RunContext): Promise<StoryReport> {
  const skipped = gateReason(story, ctx.server);
  if (skipped !== undefined) return { result: 'SKIPPED', skipped, chapters: [] };
  const outputs = new StoryOutputs();
  const reports: ChapterReport[] = [];
  let hasErrors = false;
  /** Records a chapter's outcome (a known deviation replacing a failure); returns the result recorded. */
  const record = (part: ChapterReport['part'], title: string, e: Evaluation & { retries?: number }): Result => {
    let result = e.result;
    let messages = e.messages;
    if (result === 'ERROR' || result === 'FAILED') {
      const known = ctx.deviations?.find(
        (d) =>
          d.part === part &&
          d.title === title &&
          e.messages.length > 0 &&
          e.messages.every((m) => d.pattern.test(m) || m.startsWith('actual payload: ')),
      );
      if (known) {
        result = 'DEVIATION';
        messages = [`known deviation: ${known.reason}`, ...e.messages];
      }
    }
    reports.push({ part, title, result, messages, ...(e.retries ? { retries: e.retries } : {}) });
    return result;
  };

  for (const p of story.prologues) {
    const e = await withRetries(p, outputs, (produced) => evaluateSupplemental(p, outputs, ctx, produced));
    const result = record('prologue', `${p.method} ${p.path}`, e);
    hasErrors ||= result === 'ERROR' || result === 'FAILED';
  }
  for (const c of story.chapters) {
    const title = c.synopsis || `${c.method} ${c.path}`;
    const gate = gateReason(c, ctx.server);
    if (gate !== undefined) record('chapter', title, { result: 'SKIPPED', messages: [`skipped: ${gate}`] });
    else if (c.pending) record('chapter', title, { result: 'IGNORED', messages: [`pending: ${c.pending}`] });
    else if (hasErrors && !ctx.keepGoing)
      record('chapter', title, { result: 'SKIPPED', messages: ['skipped: an earlier prologue or chapter had an ERROR'] });
    else {
      const e = await withRetries(c, outputs, (produced) => evaluateChapter(c, outputs, ctx, produced));
      hasErrors = record('chapter', title, e) === 'ERROR' || hasErrors;
    }
  }
  for (const p of story.epilogues) {
    const e = await withRetries(p, outputs, (produced) => evaluateSupplemental(p, outputs, ctx, produced));
    record('epilogue', `${p.method} ${p.path}`, e);
  }
  return { result: overall(reports.map((r) => r.result)), chapters: reports };
}

/** One line per prologue/chapter/epilogue, with the messages of those that did not pass. */
export function formatStoryReport(name: string, report: StoryReport): string {
  if (report.skipped !== undefined) return `${name}: SKIPPED (${report.skipped})`;
  const count = (r: Result): number => report.chapters.filter((c) => c.part === 'chapter' && c.result === r).length;
  const deviations = report.chapters.filter((c) => c.result === 'DEVIATION').length;
  const lines = [
    `${name}: ${report.result} — chapters: ${count('PASSED')} passed, ${count('FAILED')} failed, ${count('ERROR')} error, ${count('SKIPPED')} skipped` +
      (deviations > 0 ? `; ${deviations} known deviation(s) tolerated` : ''),
  ];
  for (const c of report.chapters) {
    const retried = c.retries ? ` (after ${c.retries} retries)` : '';
    lines.push(`  [${c.result}] ${c.part === 'chapter' ? '' : `${c.part}: `}${c.title}${retried}`);
    if (c.result !== 'PASSED') for (const m of c.messages) lines.push(`      ${m}`);
  }
  return lines.join('\n');
}
