/**
 * Tasks are durable: kill -9 the server with tasks queued and running, restart it on the same
 * data dir, and every task ends COMPLETED exactly once — those completed before the crash are
 * never run again, the interrupted ones are run again, nothing is lost.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FF, httpRequest } from './support/flowd-harness.js';
import { spawnFlowd } from './support/flowd-process.js';

const TASKS = 60;

void describe('ASYNC tasks survive kill -9', () => {
  void it('completes every task exactly once across a crash and restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowd-crash-rt-'));
    const dataDir = join(dir, 'data');
    const log = join(dir, 'executions.log');
    const mod = join(dir, 'record.mjs');
    // Each execution appends the task's number, so re-executions are visible from outside.
    writeFileSync(
      mod,
      `import { appendFileSync } from 'node:fs';
export async function process(input) {
  appendFileSync(${JSON.stringify(log)}, input.n + '\\n');
  await new Promise((r) => setTimeout(r, 40));
  return { n: input.n };
}
`,
    );
    let p = await spawnFlowd(dataDir);
    try {
      const created = await httpRequest(p.url, 'POST', `${FF}?provision=true&wait_for_completion_timeout=60s`, {
        body: {
          name: 'crash',
          flow: {
            mode: 'ASYNC',
            autoscaling: { preset: 'disabled' },
            blocks: [{ id: 'rec', type: 'custom', consumers: 4, config: { module: mod } }],
            edges: [],
          },
        },
      });
      assert.equal(created.body.state, 'COMPLETED', created.text);
      const id = created.body.workflow_id as string;
      const key = (await httpRequest(p.url, 'POST', '/_flowd/api_keys', { body: { name: 'k', workflow_ids: [id] } })).body.key as string;
      const rt = (url: string, method: string, path: string, body?: unknown): ReturnType<typeof httpRequest> =>
        httpRequest(url, method, `/api/v1/runtime/workflow/${id}/${path}`, {
          auth: null,
          headers: { 'x-api-key': key },
          ...(body !== undefined ? { body } : {}),
        });
      const ids: string[] = [];
      for (let n = 0; n < TASKS; n++) ids.push((await rt(p.url, 'POST', 'task', { n })).body.taskId);
      // Let some finish, then kill mid-stream.
      const deadline = Date.now() + 20_000;
      let before: any[] = [];
      for (;;) {
        before = (await rt(p.url, 'POST', 'task/status', { taskIds: ids })).body.tasks;
        if (before.filter((t: any) => t.status === 'COMPLETED').length >= 10) break;
        assert.ok(Date.now() < deadline, 'tasks did not start');
        await new Promise((r) => setTimeout(r, 10));
      }
      p.child.kill('SIGKILL');
      await p.exited;
      const doneBefore = new Set(before.filter((t: any) => t.status === 'COMPLETED').map((t: any) => t.taskId));
      assert.ok(doneBefore.size < TASKS, 'the crash must hit while work is left');

      p = await spawnFlowd(dataDir);
      const end = Date.now() + 60_000;
      let after: any[] = [];
      for (;;) {
        after = (await rt(p.url, 'POST', 'task/status', { taskIds: ids })).body.tasks;
        if (after.every((t: any) => t.status === 'COMPLETED' || t.status === 'ERROR')) break;
        assert.ok(
          Date.now() < end,
          `not all tasks finished: ${JSON.stringify(after.filter((t: any) => t.status !== 'COMPLETED').slice(0, 3))}`,
        );
        await new Promise((r) => setTimeout(r, 50));
      }
      const failed = after.filter((t: any) => t.status !== 'COMPLETED');
      const firstError = failed.length > 0 ? (await rt(p.url, 'GET', `task/${failed[0].taskId as string}/result`)).text : '';
      assert.equal(failed.length, 0, `${failed.length} tasks did not complete; the first one's result: ${firstError}`);
      for (let n = 0; n < TASKS; n++) {
        const res = await rt(p.url, 'GET', `task/${ids[n] as string}/result`);
        assert.deepEqual(res.body, { n });
      }
      assert.ok(existsSync(log));
      const runs = new Map<number, number>();
      for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) runs.set(Number(line), (runs.get(Number(line)) ?? 0) + 1);
      for (let n = 0; n < TASKS; n++) {
        const count = runs.get(n) ?? 0;
        assert.ok(count >= 1, `task ${n} never ran`);
        if (doneBefore.has(ids[n] as string)) assert.equal(count, 1, `task ${n} completed before the crash but ran again`);
        else assert.ok(count <= 2, `task ${n} ran ${count} times`);
      }
    } finally {
      p.child.kill('SIGKILL');
      await p.exited;
    }
  });
});
