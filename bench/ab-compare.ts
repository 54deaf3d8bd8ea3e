/**
 * A/B in one run: runs one benchmark against two checkouts — this one (B, or --current) and a baseline (A),
 * each built (`npm run build`) with its own node_modules — in interleaved rounds (ABBA…, so
 * machine noise hits both alike), and prints every number of the benchmark's tables as the
 * median over rounds for each checkout and their ratio B / A.
 *
 *   node --import tsx bench/ab-compare.ts <bench> --base <dir> [--rounds 3]
 *   e.g. node --import tsx bench/ab-compare.ts runtime-sync --base ../flowd-before
 *
 * How each checkout's code is chosen: a benchmark that measures a spawned server and names its
 * checkout with FLOWD_BENCH_ROOT (status-throughput) runs from this checkout, pointed at each
 * tree in turn, so both sides are measured by the same script. Any other benchmark
 * (runtime-sync, runtime-async, engine-overhead, …) runs as each tree's own `bench/<bench>.ts`
 * from that tree's directory, so it loads that tree's sources or bundle. BENCH_* variables
 * (BENCH_SECONDS, …) pass through to every run.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { table } from './support.js';

const CURRENT = fileURLToPath(new URL('..', import.meta.url));

interface Args {
  bench: string;
  base: string;
  /** B: this checkout unless --current names another. */
  current: string;
  rounds: number;
}

function parseArgs(argv: string[]): Args {
  const usage = 'usage: node --import tsx bench/ab-compare.ts <bench> --base <dir> [--current <dir>] [--rounds N]';
  let bench: string | undefined;
  let base: string | undefined;
  let current = CURRENT;
  let rounds = 3;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--base') base = argv[++i];
    else if (a === '--current') current = resolve(argv[++i] ?? '');
    else if (a === '--rounds') rounds = Number(argv[++i]);
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}\n${usage}`);
    else bench = a.replace(/\.ts$/, '').replace(/^bench\//, '');
  }
  if (!bench || !base || !Number.isInteger(rounds) || rounds < 1) throw new Error(usage);
  return { bench, base: resolve(base), current, rounds };
}

/** Numbers from the markdown tables a benchmark prints, keyed `table # · row · column`. */
export function tableNumbers(output: string): Map<string, number> {
  const out = new Map<string, number>();
  const cells = (line: string): string[] =>
    line
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((c) => c.trim());
  const lines = output.split('\n');
  let tableNo = 0;
  for (let i = 0; i < lines.length; i++) {
    const header = lines[i] as string;
    if (!header.trim().startsWith('|') || !/^\|[-|\s]+\|$/.test((lines[i + 1] ?? '').trim())) continue;
    tableNo++;
    const cols = cells(header);
    i += 2;
    for (; i < lines.length && (lines[i] as string).trim().startsWith('|'); i++) {
      const row = cells(lines[i] as string);
      for (let c = 1; c < row.length; c++) {
        const v = Number((row[c] as string).replace(/,/g, '').replace(/\s*(%|ms|µs|MB|s)$/, ''));
        if (Number.isFinite(v) && (row[c] as string) !== '') out.set(`${tableNo} · ${row[0] ?? ''} · ${cols[c] ?? String(c)}`, v);
      }
    }
  }
  return out;
}

function runOnce(args: Args, tree: string): Promise<string> {
  const script = join(CURRENT, 'bench', `${args.bench}.ts`);
  const ownScript = !readFileSync(script, 'utf8').includes('FLOWD_BENCH_ROOT');
  const cwd = ownScript ? tree : CURRENT;
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (!ownScript) env['FLOWD_BENCH_ROOT'] = tree;
  const child = spawn(process.execPath, ['--import', 'tsx', join(cwd, 'bench', `${args.bench}.ts`)], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    process.stdout.write(d);
  });
  return new Promise((done, fail) =>
    child.on('exit', (code) => (code === 0 ? done(out) : fail(new Error(`${args.bench} in ${tree} exited ${String(code)}`)))),
  );
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  for (const tree of [args.base, args.current]) {
    if (!existsSync(join(tree, 'bench', `${args.bench}.ts`))) throw new Error(`${tree} has no bench/${args.bench}.ts`);
    if (!existsSync(join(tree, 'dist', 'flowd.mjs')))
      console.warn(`warning: ${tree} is not built (dist/flowd.mjs): run npm run build there`);
  }
  const runs = { A: [] as Array<Map<string, number>>, B: [] as Array<Map<string, number>> };
  for (let r = 0; r < args.rounds; r++) {
    const order: Array<'A' | 'B'> = r % 2 === 0 ? ['A', 'B'] : ['B', 'A'];
    for (const side of order) {
      const tree = side === 'A' ? args.base : args.current;
      console.log(`\n## round ${r + 1}/${args.rounds}: ${side} (${tree})`);
      runs[side].push(tableNumbers(await runOnce(args, tree)));
    }
  }
  const keys = [...(runs.B[0] ?? new Map<string, number>()).keys()].filter(
    (k) => runs.A.every((m) => m.has(k)) && runs.B.every((m) => m.has(k)),
  );
  const rows = keys.map((k) => {
    const a = median(runs.A.map((m) => m.get(k) as number));
    const b = median(runs.B.map((m) => m.get(k) as number));
    return [k, a, b, a === 0 ? '–' : b / a];
  });
  table(
    `A/B ${args.bench}: median of ${args.rounds} interleaved rounds; A = ${args.base}, B = ${args.current}`,
    ['table · row · column', 'A', 'B', 'B / A'],
    rows,
  );
  const missing = new Set([...runs.A, ...runs.B].flatMap((m) => [...m.keys()]).filter((k) => !keys.includes(k)));
  if (missing.size > 0) console.log(`\nNot in both (the scripts differ): ${[...missing].join('; ')}`);
}

await main();
