/**
 * Helpers for the runtime benchmarks. They run flowd as users do — the built single-file
 * bundle (`npm run build` first) in its own process, so worker threads start without the
 * TypeScript loader the tests use — and talk to it over HTTP only.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FF } from '../test/support/flowd-harness.js';
import { readyUrl } from '../test/support/flowd-process.js';
import { AUTH } from './support.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface BuiltNode {
  url: string;
  child: ChildProcess;
  /** Resident memory of the server process, MB (Linux /proc). */
  rssMb(): number;
  close(): Promise<void>;
}

export async function spawnBuilt(env: Record<string, string> = {}): Promise<BuiltNode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'flowd-bench-rt-'));
  // BENCH_NODE_ARGS: extra node flags for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env['BENCH_NODE_ARGS'] ?? '').split(/\s+/).filter((a) => a !== '');
  const child = spawn(process.execPath, [...nodeArgs, 'bin/flowd.js', 'serve', '--port', '0', '--data-dir', dataDir], {
    cwd: ROOT,
    env: { ...process.env, FLOWD_ADMIN_PASSWORD: 'bench-password-1', FLOWD_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await readyUrl(child, { timeoutMs: 60_000, exitHint: 'did you run npm run build?' });
  return {
    url,
    child,
    rssMb() {
      const status = readFileSync(`/proc/${String(child.pid)}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    },
    async close() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

export async function publishFlow(url: string, flow: unknown): Promise<{ id: string; key: string; ms: number }> {
  const body = JSON.stringify({ name: 'bench', flow });
  const t0 = performance.now();
  const res = await fetch(`${url}${FF}?provision=true&wait_for_completion_timeout=120s`, {
    method: 'POST',
    headers: { authorization: AUTH, 'content-type': 'application/json' },
    body,
  });
  const j = (await res.json()) as { workflow_id?: string; state?: string; error?: string };
  const ms = performance.now() - t0;
  if (!j.workflow_id || j.state !== 'COMPLETED') throw new Error(`publish failed (${res.status}): ${JSON.stringify(j)}`);
  const k = await fetch(`${url}/_flowd/api_keys`, {
    method: 'POST',
    headers: { authorization: AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', workflow_ids: [j.workflow_id] }),
  });
  const kj = (await k.json()) as { key?: string };
  if (!kj.key) throw new Error(`api key: ${JSON.stringify(kj)}`);
  return { id: j.workflow_id, key: kj.key, ms };
}

export const runtimeUrl = (url: string, id: string, path: string): string => `${url}/api/v1/runtime/workflow/${id}/${path}`;

export interface StatusLike {
  actualStatus: string;
  reason: string;
  tasks?: { queued: number; running: number };
}

/** Polls the runtime status until `pred` holds. */
export async function waitStatus(
  url: string,
  id: string,
  key: string,
  pred: (s: StatusLike) => boolean,
  timeoutMs = 60_000,
  everyMs = 10,
): Promise<StatusLike> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await fetch(runtimeUrl(url, id, 'action/status'), { headers: { 'x-api-key': key } });
    if (r.status === 200) {
      const s = (await r.json()) as StatusLike;
      if (pred(s)) return s;
    }
    if (Date.now() > deadline) throw new Error('timed out waiting for the runtime status');
    await new Promise((res) => setTimeout(res, everyMs));
  }
}

/** Every task of a workflow (paged), for counting and timing. */
export interface TaskLike {
  status: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
}

export async function allTasks(url: string, id: string, key: string): Promise<TaskLike[]> {
  const out: TaskLike[] = [];
  let cursor: string | undefined;
  do {
    const r = await fetch(runtimeUrl(url, id, `task?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`), {
      headers: { 'x-api-key': key },
    });
    const j = (await r.json()) as { tasks: TaskLike[]; next?: string };
    out.push(...j.tasks);
    cursor = j.next;
  } while (cursor !== undefined);
  return out;
}

/**
 * Submits `total` tasks with `POST task/batch`, `batch` per request, `inFlight` requests at a
 * time spread round-robin over `urls` (one per node). Returns how many tasks were not created.
 */
export async function submitBatches(
  urls: string[],
  key: string,
  total: number,
  opts: { batch: number; inFlight: number; input?: (i: number) => unknown },
): Promise<{ failed: number; requests: number }> {
  let next = 0;
  let failed = 0;
  let requests = 0;
  const input = opts.input ?? ((i: number) => ({ text: 'no-op', i }));
  const worker = async (url: string): Promise<void> => {
    while (next < total) {
      const start = next;
      const n = Math.min(opts.batch, total - start);
      next += n;
      const tasks = Array.from({ length: n }, (_, j) => ({ input: input(start + j) }));
      const r = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: JSON.stringify({ tasks }),
      });
      requests++;
      const j = (await r.json()) as { created?: number };
      if (r.status !== 202 || j.created !== n) {
        failed += n - (j.created ?? 0);
        console.error(`batch of ${n} answered ${r.status}: ${JSON.stringify(j).slice(0, 300)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.inFlight) }, (_, i) => worker(urls[i % urls.length] as string)));
  return { failed, requests };
}
