/** Runs every benchmark in sequence (`npm run bench`); each prints its own table. */
import { spawnSync } from 'node:child_process';

for (const b of [
  'engine-overhead',
  'status-throughput',
  'startup',
  'runtime-sync',
  'runtime-async',
  'scale-from-zero',
  'instances',
  'cluster-throughput',
  'adversarial-soak',
]) {
  console.log(`\n## ${b}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', `bench/${b}.ts`], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
