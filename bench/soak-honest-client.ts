/**
 * The honest clients of the adversarial soak, in their own process so the attackers' work in
 * the bench process does not delay them: `GET …/_status` as a read-only user and SYNC
 * `action/analyze` with an API key, each a few paced loops. The parent sends `phase <name>`
 * and `stop` on stdin; at `stop` the latencies per phase come back as one JSON line on stdout.
 *
 * Run by bench/adversarial-soak.ts with BENCH_SOAK_HONEST = JSON of HonestConfig.
 */
import http from 'node:http';
import { createInterface } from 'node:readline';
import { rawRequest, NoAnswer } from '../test/support/raw-http.js';

export interface HonestConfig {
  url: string;
  statusPath: string;
  statusAuth: string;
  analyzePath: string;
  apiKey: string;
  statusClients: number;
  analyzeClients: number;
  /** Pause after each answer, per client. */
  intervalMs: number;
  timeoutMs: number;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  /** e.g. {"429": 3, "timeout": 1} */
  errorKinds: Record<string, number>;
}

export type HonestReport = Record<string, { status: LatencySummary; sync: LatencySummary }>;

export function summarize(ms: number[], errorKinds: Record<string, number>): LatencySummary {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => (s.length === 0 ? 0 : (s[Math.min(s.length - 1, Math.floor(q * s.length))] as number));
  const errors = Object.values(errorKinds).reduce((a, b) => a + b, 0);
  return { n: s.length, p50: at(0.5), p99: at(0.99), max: s.length === 0 ? 0 : (s[s.length - 1] as number), errors, errorKinds };
}

interface Samples {
  ms: number[];
  errorKinds: Record<string, number>;
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.env['BENCH_SOAK_HONEST'] ?? '{}') as HonestConfig;
  const phases = new Map<string, { status: Samples; sync: Samples }>();
  let phase = 'start';
  let running = true;
  const bucket = (name: string, which: 'status' | 'sync'): Samples => {
    let p = phases.get(name);
    if (!p) {
      p = { status: { ms: [], errorKinds: {} }, sync: { ms: [], errorKinds: {} } };
      phases.set(name, p);
    }
    return p[which];
  };
  const loop = async (which: 'status' | 'sync'): Promise<void> => {
    // Keep-alive, as real clients are: the latency measured is the server's, not TCP set-up.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    while (running) {
      const startedIn = phase;
      const t0 = performance.now();
      let kind: string | undefined;
      try {
        const r =
          which === 'status'
            ? await rawRequest({
                base: cfg.url,
                method: 'GET',
                path: cfg.statusPath,
                headers: { authorization: cfg.statusAuth },
                timeoutMs: cfg.timeoutMs,
                agent,
              })
            : await rawRequest({
                base: cfg.url,
                method: 'POST',
                path: cfg.analyzePath,
                headers: { 'x-api-key': cfg.apiKey, 'content-type': 'application/json' },
                body: '{"text":"the quick brown fox jumps over the lazy dog"}',
                timeoutMs: cfg.timeoutMs,
                agent,
              });
        if (r.status !== 200) kind = String(r.status);
      } catch (e) {
        kind = e instanceof NoAnswer ? e.reason : 'error';
      }
      const ms = performance.now() - t0;
      // A sample counts for the phase it started in (a slow answer straddling the switch is the attack's).
      const b = bucket(startedIn, which);
      if (kind === undefined) b.ms.push(ms);
      else b.errorKinds[kind] = (b.errorKinds[kind] ?? 0) + 1;
      await new Promise((r) => setTimeout(r, cfg.intervalMs));
    }
    agent.destroy();
  };
  const loops = [
    ...Array.from({ length: cfg.statusClients }, () => loop('status')),
    ...Array.from({ length: cfg.analyzeClients }, () => loop('sync')),
  ];
  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, arg] = line.trim().split(/\s+/);
    if (cmd === 'phase' && arg) phase = arg;
    if (cmd === 'stop') break;
  }
  running = false;
  await Promise.all(loops);
  const report: HonestReport = {};
  for (const [name, p] of phases) {
    if (name === 'start') continue;
    report[name] = { status: summarize(p.status.ms, p.status.errorKinds), sync: summarize(p.sync.ms, p.sync.errorKinds) };
  }
  process.stdout.write(JSON.stringify(report) + '\n');
}

if (process.env['BENCH_SOAK_HONEST'] !== undefined) await main();
