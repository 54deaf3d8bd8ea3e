/**
 * PostgreSQL restarts under load: two nodes keep accepting and running tasks while the database
 * goes away and comes back. Nodes reconnect by themselves; every task submitted (acknowledged
 * with 202) ends COMPLETED, nothing is stuck, and `flowd doctor` agrees.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { FF } from '../support/flowd-harness.js';
import { TestCluster, clusterUnavailable, runtime, skipReason, until } from '../support/cluster-harness.js';
import type { ClusterNodeProcess } from '../support/cluster-harness.js';

/** Restarting the machine's PostgreSQL needs pg_ctlcluster and the right to use it. */
function restartCommand(): string[] | undefined {
  try {
    const version = readdirSync('/etc/postgresql')[0];
    if (!version) return undefined;
    execFileSync('which', ['pg_ctlcluster'], { stdio: 'ignore' });
    return ['pg_ctlcluster', '--skip-systemctl-redirect', version, 'main', 'restart', '--', '-m', 'fast'];
  } catch {
    return undefined;
  }
}

const cmd = restartCommand();
const skip =
  skipReason(await clusterUnavailable()) ||
  (cmd === undefined ? skipReason('pg_ctlcluster is not available to restart PostgreSQL') : false);

describe('PostgreSQL restarts under load', { skip, timeout: 180_000 }, () => {
  const c = new TestCluster();
  before(async () => {
    await c.start(2);
  });
  after(async () => {
    await c.close();
  });

  it('loses no task and leaves nothing stuck', async () => {
    const [n1, n2] = c.nodes as [ClusterNodeProcess, ClusterNodeProcess];
    const r = await c.request(n1, 'POST', `${FF}?provision=true&wait_for_completion_timeout=60s`, {
      name: 'pgr',
      use_case: 'TEST',
      flow: {
        mode: 'ASYNC',
        autoscaling: { preset: 'disabled' },
        blocks: [
          {
            id: 'echo',
            type: 'js',
            replicas: 2,
            config: { source: 'function process(input) { return { n: input.n, doubled: input.n * 2 }; }' },
          },
        ],
      },
    });
    assert.equal(r.body.state, 'COMPLETED', r.text);
    const id = r.body.workflow_id as string;
    const k = await c.request(n1, 'POST', '/_flowd/api_keys', { name: 'pgr', workflow_ids: [id] });
    const key = k.body.key as string;

    const accepted = new Map<string, number>();
    let refused = 0;
    let n = 0;
    let stop = false;
    const load = async (): Promise<void> => {
      while (!stop) {
        const i = n++;
        const via = i % 2 === 0 ? n1 : n2;
        try {
          const res = await runtime(via, key, 'POST', `${id}/task`, { n: i }, { 'idempotency-key': `pgr-${i}` });
          if (res.status === 202 || res.status === 200) accepted.set(res.body.taskId as string, i);
          else refused++; // the database is down: a clear 5xx, nothing promised
        } catch {
          refused++;
        }
        await new Promise((res) => setTimeout(res, 5));
      }
    };
    const loaders = Array.from({ length: 4 }, load);
    await until('some tasks accepted', async () => (accepted.size >= 100 ? true : undefined));
    const res = spawnSync(cmd?.[0] as string, cmd?.slice(1) ?? [], { encoding: 'utf8' });
    assert.equal(res.status, 0, `restarting PostgreSQL failed: ${res.stderr}`);
    const before = accepted.size;
    // Keep the load on until both nodes accept work again after the restart.
    await until('tasks accepted after the restart', async () => (accepted.size >= before + 100 ? true : undefined), 60_000);
    stop = true;
    await Promise.all(loaders);

    const ids = [...accepted.keys()];
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      const done = await until(
        `tasks ${i}… finished`,
        async () => {
          const s = await runtime(n2, key, 'POST', `${id}/task/status`, { taskIds: chunk });
          const list: any[] = s.body?.tasks ?? [];
          return list.length === chunk.length && list.every((t) => t.status === 'COMPLETED' || t.status === 'ERROR') ? list : undefined;
        },
        60_000,
        250,
      );
      assert.deepEqual(
        done.filter((t: any) => t.status !== 'COMPLETED').map((t: any) => `${t.taskId}:${t.status}`),
        [],
        'every accepted task COMPLETED',
      );
    }
    const sample = ids.slice(-20);
    for (const t of sample) {
      const out = await runtime(n1, key, 'GET', `${id}/task/${t}/result`);
      const i = accepted.get(t) as number;
      assert.deepEqual(out.body, { n: i, doubled: i * 2 });
    }
    // Both nodes are still members and the store has no expired leases.
    const nodes = await c.request(n1, 'GET', '/_flowd/nodes');
    assert.deepEqual(
      nodes.body.nodes
        .filter((x: any) => x.alive)
        .map((x: any) => x.node_id)
        .sort(),
      ['n1', 'n2'],
    );
    const doctor = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'doctor', '--store', c.storeUrl, '--json'], {
      encoding: 'utf8',
    });
    const report = JSON.parse(doctor.stdout) as { ok: boolean; checks: Array<{ name: string; ok: boolean; detail: string }> };
    assert.equal(report.ok, true, doctor.stdout);
    assert.match(report.checks.find((x) => x.name === 'nodes')?.detail ?? '', /2 alive/);
    console.log(`accepted ${ids.length} tasks, ${refused} submissions refused while PostgreSQL was down`);
  });
});
