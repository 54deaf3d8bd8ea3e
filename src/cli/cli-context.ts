/**
 * What every client command shares: the global options (flag, then FLOWD_* environment, then
 * default), the typed client built from them, how to print (plain lines when stdout is not a
 * terminal, raw JSON with --json), and reading the JSON document piped on stdin.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { FlowdClient } from '@flowd/client';
import type { JsonObject, JsonValue } from '@flowd/client';
import type { ErrorContext } from './cli-errors.js';
import { UsageError } from './cli-errors.js';

export const DEFAULT_URL = 'http://127.0.0.1:9200';

export interface GlobalFlags {
  url?: string;
  user?: string;
  password?: string;
  apiKey?: string;
  json?: boolean;
}

export interface CliContext extends ErrorContext {
  client: FlowdClient;
  json: boolean;
  /** stdout is a terminal: redraw in place, spinners. */
  tty: boolean;
  color: boolean;
  out: NodeJS.WriteStream;
}

/** Registers the global options on the program (commander accepts them before or after the command). */
export function addGlobalOptions(program: Command): void {
  program
    .option('--url <url>', `flowd URL (FLOWD_URL; default ${DEFAULT_URL})`)
    .option('--user <user>', 'user for the management API (FLOWD_USER; default admin)')
    .option('--password <password>', 'password (FLOWD_PASSWORD; default: .flowd-data/admin-password when present)')
    .option('--api-key <key>', 'API key for the runtime API: analyze, task (FLOWD_API_KEY)')
    .option('--json', 'print raw JSON');
}

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

/** The admin password `flowd serve` wrote on first start, when it is in the usual place. */
function storedAdminPassword(env: NodeJS.ProcessEnv): string | undefined {
  try {
    const dir = nonEmpty(env['FLOWD_DATA_DIR']) ?? '.flowd-data';
    return nonEmpty(readFileSync(join(dir, 'admin-password'), 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** The error context before the command could build one (e.g. a usage error). */
export function errorContextOf(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): ErrorContext {
  return {
    url: flags.url ?? nonEmpty(env['FLOWD_URL']) ?? DEFAULT_URL,
    user: flags.user ?? nonEmpty(env['FLOWD_USER']) ?? 'admin',
    passwordGiven: (flags.password ?? nonEmpty(env['FLOWD_PASSWORD'])) !== undefined,
    apiKeyGiven: (flags.apiKey ?? nonEmpty(env['FLOWD_API_KEY'])) !== undefined,
  };
}

export function contextOf(cmd: Command, env: NodeJS.ProcessEnv = process.env): CliContext {
  const flags = cmd.optsWithGlobals<GlobalFlags>();
  const base = errorContextOf(flags, env);
  let password = flags.password ?? nonEmpty(env['FLOWD_PASSWORD']);
  if (password === undefined && base.user === 'admin') password = storedAdminPassword(env);
  const apiKey = flags.apiKey ?? nonEmpty(env['FLOWD_API_KEY']);
  let client: FlowdClient;
  try {
    client = new FlowdClient({
      url: base.url,
      user: base.user,
      ...(password !== undefined ? { password } : {}),
      ...(apiKey !== undefined ? { apiKey } : {}),
    });
  } catch (e) {
    throw new UsageError((e as Error).message, 'set --url or FLOWD_URL to the flowd node, e.g. http://127.0.0.1:9200');
  }
  const out = process.stdout;
  const tty = out.isTTY === true;
  const color = tty && nonEmpty(env['NO_COLOR']) === undefined && env['TERM'] !== 'dumb';
  return { ...base, client, json: flags.json === true, tty, color, out };
}

export function printJson(ctx: CliContext, value: unknown): void {
  ctx.out.write(`${JSON.stringify(value, null, ctx.tty ? 2 : undefined)}\n`);
}

export function printLines(ctx: CliContext, lines: string[]): void {
  if (lines.length > 0) ctx.out.write(`${lines.join('\n')}\n`);
}

/** Left-aligned columns separated by two spaces; the header row is upper case. */
export function table(header: string[], rows: string[][]): string[] {
  const all = [header.map((h) => h.toUpperCase()), ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** `--param k=v` values, repeated or comma-free. */
export function parseParams(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of list ?? []) {
    const eq = p.indexOf('=');
    if (eq <= 0)
      throw new UsageError(`--param expects name=value, got "${p}"`, 'e.g. --param model_name=my-model (repeat --param for more)');
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}

/** Commander collector for repeatable options. */
export const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

/** Comma-separated lists, possibly repeated: --allow-delete a,b --allow-delete c. */
export const collectList = (v: string, prev: string[] | undefined): string[] => [
  ...(prev ?? []),
  ...v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''),
];

/** The JSON object given with --data, or else piped on stdin. */
export async function readJsonInput(data: string | undefined, usage: string): Promise<JsonObject> {
  const text = data ?? (await readStdin('no input: pipe a JSON document on stdin or pass --data', usage));
  if (text.trim() === '') throw new UsageError('the input is empty: pipe a JSON object on stdin or pass --data', usage);
  return parseJsonObject(text, 'the input', usage);
}

/** Every non-blank line of stdin as a JSON object (NDJSON); an error names the line to fix. */
export async function readJsonLines(usage: string): Promise<JsonObject[]> {
  const text = await readStdin('no input: pipe JSON objects on stdin, one per line', usage);
  const out: JsonObject[] = [];
  for (const [i, line] of text.split('\n').entries()) if (line.trim() !== '') out.push(parseJsonObject(line, `line ${i + 1}`, usage));
  if (out.length === 0) throw new UsageError('the input is empty: pipe JSON objects on stdin, one per line', usage);
  return out;
}

async function readStdin(whenTty: string, usage: string): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError(whenTty, usage);
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `what` names the text in the errors ("the input", "line 3"). */
function parseJsonObject(text: string, what: string, usage: string): JsonObject {
  let v: JsonValue;
  try {
    v = JSON.parse(text) as JsonValue;
  } catch (e) {
    throw new UsageError(`${what} is not valid JSON: ${(e as Error).message}`, usage);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new UsageError(`${what} must be a JSON object, e.g. {"text": "hello"}`, usage);
  return v;
}

/** 12ms, 1.4s, 2m05s. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  return `${m}m${String(s).padStart(2, '0')}s`;
}

export function formatTime(ms: number | undefined): string {
  if (ms === undefined || ms <= 0) return '-';
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}
