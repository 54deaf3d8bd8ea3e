/** Shared helpers for the benchmarks: load generation in a separate process, tables, servers. */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigInput } from '../src/config.js';
import type { FlowdNode } from '../src/server/flowd-node.js';

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  mean: number;
  errors: number;
  non2xx: number;
}

/**
 * Runs autocannon in its own process (so the load generator does not share the server's
 * event loop) and returns its summary.
 */
export async function autocannon(
  url: string,
  opts: { connections: number; seconds?: number; amount?: number; headers?: Record<string, string>; method?: string; body?: string },
): Promise<LoadResult> {
  const args = ['autocannon', '-j', '-c', String(opts.connections)];
  if (opts.amount !== undefined) args.push('-a', String(opts.amount));
  else args.push('-d', String(opts.seconds ?? 10));
  if (opts.method) args.push('-m', opts.method);
  if (opts.body !== undefined) args.push('-b', opts.body);
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}=${v}`);
  const child = spawn('npx', ['--no-install', ...args, url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`autocannon exited ${String(code)}`);
  const j = JSON.parse(out) as {
    requests: { average: number };
    latency: { p50: number; p99: number; average: number };
    errors: number;
    non2xx: number;
  };
  return { rps: j.requests.average, p50: j.latency.p50, p99: j.latency.p99, mean: j.latency.average, errors: j.errors, non2xx: j.non2xx };
}

export function table(title: string, header: string[], rows: Array<Array<string | number>>): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: Array<string | number>): string => '| ' + r.map((c, i) => String(c).padEnd(widths[i] ?? 0)).join(' | ') + ' |';
  console.log(`\n### ${title}\n`);
  console.log(line(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of cells.slice(1)) console.log(line(r));
}

export function fmt(n: number): string {
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 1) return n.toFixed(2);
  return n.toFixed(3);
}

export async function benchNode(overrides: ConfigInput = {}): Promise<FlowdNode> {
  // Loaded here, not at the top: benchmarks that only spawn built servers never load the sources.
  const [{ resolveConfig }, { startFlowd }] = await Promise.all([import('../src/config.js'), import('../src/server/flowd-node.js')]);
  const dataDir = mkdtempSync(join(tmpdir(), 'flowd-bench-'));
  const config = resolveConfig({
    env: {},
    flags: { port: 0, dataDir, logLevel: 'silent', adminPassword: 'bench-password-1', ...overrides },
  });
  return startFlowd(config);
}

export const AUTH = 'Basic ' + Buffer.from('admin:bench-password-1').toString('base64');
