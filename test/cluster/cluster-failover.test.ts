/**
 * Three flowd processes on one PostgreSQL schema and NATS. Work is submitted through different
 * nodes, one node is SIGKILLed in the middle, and the survivors must finish everything:
 * provisioning runs COMPLETED with no resource created twice, every task COMPLETED exactly
 * once, and the runtime status back to GREEN with the dead node's instances re-placed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FF } from '../support/flowd-harness.js';
import { ResourceServer, thingNode } from '../support/resource-server.js';
import { TestCluster, clusterUnavailable, runtime, skipReason, until } from '../support/cluster-harness.js';
import type { ClusterNodeProcess } from '../support/cluster-harness.js';

const skip = skipReason(await clusterUnavailable());

const echoFlow = (mode: 'SYNC' | 'ASYNC', replicas: number) => ({
  mode,
  ...(mode === 'ASYNC' ? { autoscaling: { preset: 'disabled' } } : {}),
  blocks: [
    {
      id: 'upper',
      type: 'js',
      replicas,
      config: { source: 'function process(input) { return { n: input.n, text: String(input.text).toUpperCase() }; }' },
    },
    {
      id: 'count',
      type: 'js',
      replicas,
      config: { source: 'function process(input) { return { n: input.n, text: input.text, length: input.text.length }; }' },
    },
  ],
  edges: [{ source: 'upper', dest: 'count' }],
});

async function publish(c: TestCluster, via: ClusterNodeProcess, flow: unknown): Promise<{ id: string; key: string }> {
  const r = await c.request(via, 'POST', `${FF}?provision=true&wait_for_completion_timeout=60s`, { name: 'cl', use_case: 'TEST', flow });
  assert.ok([200, 201, 202].includes(r.status), r.text);
  assert.equal(r.body.state, 'COMPLETED', r.text);
  const k = await c.request(via, 'POST', '/_flowd/api_keys', { name: 'cl', workflow_ids: [r.body.workflow_id] });
  assert.equal(k.status, 201, k.text);
  return { id: r.body.workflow_id as string, key: k.body.key as string };
}

describe('a cluster of three nodes survives losing one', { skip, timeout: 240_000 }, () => {
  const c = new TestCluster();
  const api = new ResourceServer();

  before(async () => {
    await api.start();
    // Long-polls re-read the store only once a minute: an answer sooner comes from a wake-up.
    await c.start(3, { FLOWD_TASK_WAIT_RECHECK_MS: '60000' });
  });
  after(async () => {
    await c.close();
    await api.close();
  });

  it('lists every node and which instances run where', async () => {
    const r = await until('three live nodes', async () => {
      const x = await c.request(c.nodes[0] as ClusterNodeProcess, 'GET', '/_flowd/nodes');
      return x.body?.nodes?.filter((n: any) => n.alive).length === 3 ? x : undefined;
    });
    assert.deepEqual(r.body.nodes.map((n: any) => n.node_id).sort(), ['n1', 'n2', 'n3']);
    assert.equal(r.body.nodes.filter((n: any) => n.self).length, 1);
  });

  it('answers task long-polls on every node when the task ends, whichever node ran it', async () => {
    const live = c.alive();
    // Busy for 800 ms, so the long-polls are waiting before it ends.
    const slow = 'function process(input) { var end = Date.now() + 800; while (Date.now() < end) {} return { n: input.n, done: true }; }';
    const { id, key } = await publish(c, live[0] as ClusterNodeProcess, {
      mode: 'ASYNC',
      autoscaling: { preset: 'disabled' },
      blocks: [{ id: 'slow', type: 'js', replicas: 1, config: { source: slow } }],
      edges: [],
    });
    for (const n of live)
      await until(`usable on ${n.nodeId}`, async () =>
        (await runtime(n, key, 'GET', `${id}/action/status`)).body?.usable ? true : undefined,
      );
    const r = await runtime(live[1] as ClusterNodeProcess, key, 'POST', `${id}/task`, { n: 7 });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const taskId = r.body.taskId as string;
    // Each poll may wait 50 s on the server; the client gives up after 20 s. Only the node that
    // ran the task sees it end by itself; the others answer in time only if it woke them.
    const polls = await Promise.all(
      live.map((n) =>
        runtime(n, key, 'GET', `${id}/task/${taskId}?wait=50s`, undefined, {}, AbortSignal.timeout(20_000)).then(
          (p) => ({ node: n.nodeId, ...p }),
          (e: unknown) => ({ node: n.nodeId, status: 0, body: { error: String(e) } }),
        ),
      ),
    );
    for (const p of polls) assert.equal(p.body?.status, 'COMPLETED', `long-poll on ${p.node}: ${JSON.stringify(p.body)}`);
  });

  it('runs tasks submitted on every node right after publishing, wherever the instance lands', async () => {
    const live = c.alive();
    const { id, key } = await publish(c, live[0] as ClusterNodeProcess, {
      mode: 'ASYNC',
      autoscaling: { preset: 'disabled' },
      blocks: [{ id: 'echo', type: 'js', replicas: 1, config: { source: 'function process(input) { return { n: input.n, ok: true }; }' } }],
      edges: [],
    });
    // No wait for the status: nodes without the instance may claim tasks before any is ready.
    const submitted = await Promise.all(
      live.flatMap((n) => [0, 1, 2, 3].map(async (i) => ({ n, r: await runtime(n, key, 'POST', `${id}/task`, { n: i }) }))),
    );
    const ends = await Promise.all(
      submitted.map(({ n, r }) => {
        assert.equal(r.status, 202, JSON.stringify(r.body));
        return runtime(n, key, 'GET', `${id}/task/${r.body.taskId as string}?wait=50s`, undefined, {}, AbortSignal.timeout(20_000)).then(
          (p) => ({ node: n.nodeId, ...p }),
          (e: unknown) => ({ node: n.nodeId, status: 0, body: { error: String(e) } }),
        );
      }),
    );
    for (const e of ends) assert.equal(e.body?.status, 'COMPLETED', `task submitted on ${e.node}: ${JSON.stringify(e.body)}`);
  });

  it('streams provisioning progress to a watcher on another node', async () => {
    const [n1, n2] = c.nodes as [ClusterNodeProcess, ClusterNodeProcess];
    api.respondDelayMs = 100;
    const names = ['sse0', 'sse1', 'sse2'];
    const nodes = names.map((n, i) => thingNode(api.url, n, {}, i > 0 ? { [names[i - 1] as string]: 'id' } : {}));
    const created = await c.request(n1, 'POST', FF, { name: 'sse', use_case: 'TEST', workflows: { provision: { nodes } } });
    assert.equal(created.status, 201, created.text);
    const id = created.body.workflow_id as string;
    const ac = new AbortController();
    const res = await fetch(`${n2.url}${FF}/${id}/_status?watch=true`, {
      headers: { authorization: 'Basic ' + Buffer.from('admin:admin-secret-pw-1').toString('base64') },
      signal: ac.signal,
    });
    assert.equal(res.status, 200);
    const states: string[] = [];
    const reading = (async () => {
      const dec = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += dec.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = frame.split('\n').find((l) => l.startsWith('data: '));
          if (!data) continue;
          const body = JSON.parse(data.slice(6));
          states.push(`${body.state}:${body.resources_created?.length ?? 0}`);
          if (body.state === 'COMPLETED') return;
        }
      }
    })();
    const p = await c.request(n1, 'POST', `${FF}/${id}/_provision`);
    assert.equal(p.status, 202, p.text);
    await Promise.race([
      reading,
      new Promise((_, rej) => setTimeout(() => rej(new Error(`no COMPLETED on n2's stream; saw ${states.join(', ')}`)), 20_000)),
    ]);
    ac.abort();
    assert.equal(states.at(-1), 'COMPLETED:3');
    assert.ok(
      states.some((x) => x.startsWith('PROVISIONING')),
      `intermediate progress reached n2: ${states.join(', ')}`,
    );
  });

  it('places a SYNC flow over the nodes, answers on every node, and recovers to GREEN after a node dies', async () => {
    const [n1, n2, n3] = c.nodes as [ClusterNodeProcess, ClusterNodeProcess, ClusterNodeProcess];
    const { id, key } = await publish(c, n2, echoFlow('SYNC', 3));
    for (const n of [n1, n2, n3]) {
      const st = await until(`GREEN on ${n.nodeId}`, async () => {
        const s = await runtime(n, key, 'GET', `${id}/action/status`);
        return s.body?.actualStatus === 'GREEN' ? s.body : undefined;
      });
      for (const svc of st.details.services) {
        assert.equal(svc.desired, 3);
        assert.equal(svc.actual, 3);
        assert.deepEqual([...new Set(svc.replicasDetail.map((r: any) => r.node))].sort(), ['n1', 'n2', 'n3'], 'one instance per node');
      }
      const a = await runtime(n, key, 'POST', `${id}/action/analyze`, { n: 1, text: `via ${n.nodeId}` });
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.deepEqual(a.body, { n: 1, text: `VIA ${n.nodeId.toUpperCase()}`, length: 6 });
    }
    // The status is watched on n1 while n3 dies: it must leave GREEN, then come back to it.
    const seen = new Set<string>();
    const watch = (async () => {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const s = await runtime(n1, key, 'GET', `${id}/action/status`);
        if (process.env['DEBUG_CLUSTER'])
          console.log(
            Date.now(),
            s.body.actualStatus,
            JSON.stringify(s.body.details.services.map((x: any) => x.replicasDetail.map((r: any) => `${r.node}:${r.ready ? 1 : 0}`))),
          );
        seen.add(s.body.actualStatus);
        if (seen.size > 1 && s.body.actualStatus === 'GREEN') return s.body;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`status never recovered: saw ${[...seen].join(', ')}`);
    })();
    await c.kill(n3);
    const green = await watch.catch((e: unknown) => {
      if (process.env['DEBUG_CLUSTER']) for (const n of [n1, n2]) console.log(n.nodeId, n.logs.slice(-40).join('\n'));
      throw e;
    });
    assert.ok(seen.has('YELLOW') || seen.has('ORANGE'), `the status showed the loss: ${[...seen].join(', ')}`);
    for (const svc of green.details.services) {
      assert.equal(svc.actual, 3);
      assert.deepEqual(
        [...new Set(svc.replicasDetail.map((r: any) => r.node))].sort(),
        ['n1', 'n2'],
        'the lost instances were re-placed on the survivors',
      );
    }
    for (const n of [n1, n2]) {
      const a = await runtime(n, key, 'POST', `${id}/action/analyze`, { n: 2, text: 'after' });
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.equal(a.body.text, 'AFTER');
    }
    // Back to three: a new node joins and takes its share.
    const n4 = await c.add('n4');
    const back = await until('instances on the new node', async () => {
      const s = await runtime(n4, key, 'GET', `${id}/action/status`);
      const nodes = new Set(s.body?.details?.services?.[0]?.replicasDetail?.filter((r: any) => r.ready).map((r: any) => r.node));
      return s.body?.actualStatus === 'GREEN' && nodes.has('n4') ? s.body : undefined;
    });
    assert.equal(back.details.services[0].actual, 3);
  });

  it('finishes provisioning runs of a killed node without creating any resource twice', async () => {
    api.respondDelayMs = 150; // created remotely before the node hears about it: a crash window
    const live = c.alive();
    const workflows: Array<{ id: string; via: ClusterNodeProcess; names: string[] }> = [];
    for (let w = 0; w < 6; w++) {
      const names = Array.from({ length: 6 }, (_, i) => `w${w}s${i}`);
      const nodes = names.map((n, i) => thingNode(api.url, n, {}, i > 0 ? { [names[i - 1] as string]: 'id' } : {}));
      const via = live[w % live.length] as ClusterNodeProcess;
      const r = await c.request(via, 'POST', `${FF}?provision=true`, {
        name: `p${w}`,
        use_case: 'TEST',
        workflows: { provision: { nodes } },
      });
      assert.equal(r.status, 202, r.text);
      workflows.push({ id: r.body.workflow_id as string, via, names });
    }
    const victim = live[0] as ClusterNodeProcess;
    const survivor = live[1] as ClusterNodeProcess;
    // Kill the victim once its runs are under way but not done.
    await until(
      'the victim half-way through its runs',
      async () => {
        for (const w of workflows.filter((x) => x.via === victim)) {
          const s = await c.request(survivor, 'GET', `${FF}/${w.id}/_status`);
          if (s.body.state === 'PROVISIONING' && (s.body.resources_created?.length ?? 0) >= 2) return true;
        }
        return undefined;
      },
      30_000,
      10,
    );
    await c.kill(victim);
    for (const w of workflows) {
      const s = await until(
        `workflow ${w.id} to finish`,
        async () => {
          const x = await c.request(survivor, 'GET', `${FF}/${w.id}/_status?all=true`);
          return x.body.state !== 'PROVISIONING' ? x.body : undefined;
        },
        60_000,
      );
      assert.equal(s.state, 'COMPLETED', JSON.stringify(s));
      assert.equal(s.resources_created.length, w.names.length);
      for (const name of w.names) assert.equal(api.creations.filter((x) => x.name === name).length, 1, `${name} created exactly once`);
    }
  });

  it('completes every task exactly once when a node dies mid-stream', async () => {
    const live = c.alive();
    const { id, key } = await publish(c, live[0] as ClusterNodeProcess, echoFlow('ASYNC', 2));
    for (const n of live)
      await until(`usable on ${n.nodeId}`, async () =>
        (await runtime(n, key, 'GET', `${id}/action/status`)).body?.usable ? true : undefined,
      );
    const victim = live[live.length - 1] as ClusterNodeProcess;
    const TOTAL = 300;
    const submitted = new Map<string, number>();
    let next = 0;
    const submitter = async (): Promise<void> => {
      while (next < TOTAL) {
        const n = next++;
        let last = '';
        for (let attempt = 0; ; attempt++) {
          const targets = c.alive();
          const via = targets[(n + attempt) % targets.length] as ClusterNodeProcess;
          try {
            // A submit whose answer was lost with the node is retried elsewhere with the same key:
            // the task exists once.
            const r = await runtime(via, key, 'POST', `${id}/task`, { n, text: `task ${n}` }, { 'idempotency-key': `task-${n}` });
            if (r.status === 202 || r.status === 200) {
              submitted.set(r.body.taskId as string, n);
              break;
            }
            last = `${r.status} ${JSON.stringify(r.body)}`;
          } catch (e) {
            // the node died under us: the client retries elsewhere
            last = String(e);
          }
          if (attempt > 20) throw new Error(`task ${n} could not be submitted: ${last}`);
        }
        if (n === 100) await c.kill(victim);
      }
    };
    await Promise.all(Array.from({ length: 8 }, submitter));
    const survivor = c.alive()[0] as ClusterNodeProcess;
    const ids = [...submitted.keys()];
    assert.equal(ids.length, TOTAL);
    const tasks = await until(
      'every task finished',
      async () => {
        const r = await runtime(survivor, key, 'POST', `${id}/task/status`, { taskIds: ids });
        const list = r.body?.tasks ?? r.body;
        return Array.isArray(list) && list.length === TOTAL && list.every((t: any) => t.status === 'COMPLETED' || t.status === 'ERROR')
          ? list
          : undefined;
      },
      90_000,
      200,
    );
    assert.deepEqual(
      tasks.filter((t: any) => t.status !== 'COMPLETED'),
      [],
      'every task COMPLETED',
    );
    for (const taskId of ids.slice(0, 60)) {
      const r = await runtime(survivor, key, 'GET', `${id}/task/${taskId}/result`);
      const n = submitted.get(taskId) as number;
      assert.deepEqual(r.body, { n, text: `TASK ${n}`, length: `task ${n}`.length }, 'each task has its own result');
    }
    const counts = await runtime(survivor, key, 'GET', `${id}/task?status=COMPLETED&limit=1000`);
    assert.equal(counts.body.tasks.length, TOTAL, 'completed once each: no duplicate rows');
  });
});
