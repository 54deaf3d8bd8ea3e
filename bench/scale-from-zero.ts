/**
 * Cold start: a task submitted to an ASYNC workflow whose services autoscaled to zero, until
 * its result is available (instance started, block loaded, task run, result durable). Baseline
 * in the same run: the same flow kept warm (autoscaling disabled). Median of 7.
 */
import { table } from './support.js';
import { publishFlow, runtimeUrl, spawnBuilt, waitStatus } from './runtime-support.js';

const RUNS = 7;
const SOURCE = 'function process(input) { return { text: input.text.toUpperCase() }; }';

async function roundTrip(url: string, id: string, key: string): Promise<number> {
  const headers = { 'x-api-key': key, 'content-type': 'application/json' };
  const t0 = performance.now();
  const sub = await fetch(runtimeUrl(url, id, 'task'), { method: 'POST', headers, body: JSON.stringify({ text: 'wake up' }) });
  const { taskId } = (await sub.json()) as { taskId: string };
  for (;;) {
    const r = await fetch(runtimeUrl(url, id, `task/${taskId}?wait=10s`), { headers });
    const t = (await r.json()) as { status: string };
    if (t.status === 'COMPLETED') break;
    if (t.status === 'ERROR' || t.status === 'CANCELED') throw new Error(`task ended ${t.status}`);
  }
  const res = await fetch(runtimeUrl(url, id, `task/${taskId}/result`), { headers });
  await res.text();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const node = await spawnBuilt();
  try {
    const cold = await publishFlow(node.url, {
      mode: 'ASYNC',
      autoscaling: { min_replicas: 0, max_replicas: 1, polling_interval: '50ms', cooldown_period: '200ms' },
      blocks: [{ id: 'upper', type: 'js', config: { source: SOURCE } }],
      edges: [],
    });
    const warm = await publishFlow(node.url, {
      mode: 'ASYNC',
      autoscaling: { preset: 'disabled' },
      blocks: [{ id: 'upper', type: 'js', config: { source: SOURCE } }],
      edges: [],
    });
    const colds: number[] = [];
    const warms: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await waitStatus(node.url, cold.id, cold.key, (s) => s.reason === 'ScaledToZero');
      colds.push(await roundTrip(node.url, cold.id, cold.key));
      warms.push(await roundTrip(node.url, warm.id, warm.key));
    }
    const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    table(
      `Scale from zero to first result (median of ${RUNS})`,
      ['workflow', 'submit → result ms', 'ratio vs warm'],
      [
        ['warm: autoscaling disabled, 1 instance ready', med(warms), 1],
        ['cold: scaled to zero (ScaledToZero), woken by the task', med(colds), med(colds) / med(warms)],
      ],
    );
    console.log(`\nGoal ≤ 250 ms (${med(colds).toFixed(0)} ms). Knative cold starts are seconds.`);
  } finally {
    await node.close();
  }
}

await main();
