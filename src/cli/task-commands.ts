/**
 * Runtime commands over the NL Flow API (they need --api-key / FLOWD_API_KEY): analyze (SYNC,
 * or all-in-one on an ASYNC flow) and the task group (submit, status, result, list, delete).
 * The input is the JSON object piped on stdin (or --data).
 */
import type { Command } from 'commander';
import type { JsonValue, TaskInfo, TaskStatus } from '@flowd/client';
import type { CliContext } from './cli-context.js';
import { collectList, contextOf, formatDuration, printJson, printLines, readJsonInput, readJsonLines, table } from './cli-context.js';
import { CliFailure, UsageError } from './cli-errors.js';

const TERMINAL = new Set<TaskStatus>(['COMPLETED', 'ERROR', 'CANCELED']);
const STATUSES: readonly TaskStatus[] = ['QUEUED', 'RUNNING', 'COMPLETED', 'ERROR', 'CANCELED'];
/** Each long poll waits at most this long; the loop repeats until the task ends. */
const POLL_WAIT = '30s';

const usage = (cmd: string): string => `e.g. echo '{"text":"hello"}' | flowd ${cmd}`;

function printOutput(ctx: CliContext, value: JsonValue): void {
  // Always JSON: indented for people on a terminal, one line otherwise (and with --json).
  ctx.out.write(`${JSON.stringify(value, null, ctx.tty && !ctx.json ? 2 : undefined)}\n`);
}

function taskLines(t: TaskInfo): string[] {
  const rows: Array<[string, string | undefined]> = [
    ['task', t.taskId],
    ['status', t.status],
    ['attempt', String(t.attempt)],
    ['created', t.createdAt],
    ['started', t.startedAt],
    ['finished', t.finishedAt],
    ['duration', t.durationMs !== undefined ? formatDuration(t.durationMs) : undefined],
    ['expires', t.expiresAt],
    ['correlation id', t.correlationId],
  ];
  return rows.filter((r): r is [string, string] => r[1] !== undefined).map(([k, v]) => `${`${k}:`.padEnd(16)}${v}`);
}

async function analyze(id: string, flags: { data?: string; verbose?: boolean }, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const input = await readJsonInput(flags.data, usage(`analyze ${id} --api-key $KEY`));
  printOutput(ctx, await ctx.client.analyze(id, input, { verbose: flags.verbose === true }));
}

/** Long-polls until the task ends. */
async function waitTask(ctx: CliContext, id: string, taskId: string): Promise<TaskInfo> {
  for (;;) {
    const t = await ctx.client.taskStatus(id, taskId, { wait: POLL_WAIT });
    if (TERMINAL.has(t.status)) return t;
  }
}

async function printResult(ctx: CliContext, id: string, taskId: string): Promise<void> {
  const r = await ctx.client.taskResult(id, taskId);
  printOutput(ctx, r.output);
  if (r.status !== 'COMPLETED') throw new CliFailure(`task ${taskId} ended in ${r.status}`, 'the errors above name the block that failed');
}

async function submit(id: string, flags: { data?: string; wait?: boolean; idempotencyKey?: string }, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const input = await readJsonInput(flags.data, usage(`task submit ${id} --api-key $KEY`));
  const t = await ctx.client.submitTask(id, input, flags.idempotencyKey !== undefined ? { idempotencyKey: flags.idempotencyKey } : {});
  if (!flags.wait) {
    if (ctx.json) printJson(ctx, t);
    else {
      ctx.out.write(`${t.taskId}\n`);
      process.stderr.write(`task ${t.status}; its result: flowd task result ${id} ${t.taskId}\n`);
    }
    return;
  }
  const done = await waitTask(ctx, id, t.taskId);
  if (!ctx.json)
    process.stderr.write(
      `task ${done.taskId} ${done.status}${done.durationMs !== undefined ? ` in ${formatDuration(done.durationMs)}` : ''}\n`,
    );
  if (done.status === 'CANCELED') throw new CliFailure(`task ${done.taskId} was canceled`);
  await printResult(ctx, id, done.taskId);
}

/** Many tasks, one JSON object per stdin line, sent in batches (POST task/batch). */
async function submitMany(id: string, flags: { batchSize?: string; idempotencyKey?: string }, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const size = flags.batchSize === undefined ? 1000 : Number(flags.batchSize);
  if (!Number.isInteger(size) || size < 1 || size > 1000)
    throw new UsageError('--batch-size must be an integer from 1 to 1000', `flowd task submit-many ${id} --batch-size 500 < tasks.ndjson`);
  const inputs = await readJsonLines(`flowd task submit-many ${id} --api-key $KEY < tasks.ndjson`);
  const ids: string[] = [];
  let created = 0;
  for (let b = 0; b * size < inputs.length; b++) {
    const items = inputs.slice(b * size, (b + 1) * size).map((input) => ({ input }));
    // One key per batch: re-running the same command with the same key submits nothing twice.
    const r = await ctx.client.submitTasks(
      id,
      items,
      flags.idempotencyKey !== undefined ? { idempotencyKey: `${flags.idempotencyKey}-${b}` } : {},
    );
    created += r.created;
    for (const t of r.tasks) ids.push(t.taskId);
  }
  if (ctx.json) printJson(ctx, { taskIds: ids, created });
  else {
    ctx.out.write(`${ids.join('\n')}\n`);
    process.stderr.write(`${ids.length} task(s) submitted, ${created} new\n`);
  }
}

async function status(id: string, taskId: string, flags: { wait?: string }, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const t = await ctx.client.taskStatus(id, taskId, flags.wait !== undefined ? { wait: flags.wait } : {});
  if (ctx.json) printJson(ctx, t);
  else printLines(ctx, taskLines(t));
}

async function result(id: string, taskId: string, _flags: unknown, cmd: Command): Promise<void> {
  await printResult(contextOf(cmd), id, taskId);
}

async function list(id: string, flags: { status?: string[]; limit?: string; cursor?: string }, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const statuses = (flags.status ?? []).map((s) => s.toUpperCase());
  const bad = statuses.filter((s) => !STATUSES.includes(s as TaskStatus));
  if (bad.length > 0) throw new UsageError(`unknown task status ${bad.join(', ')}`, `use ${STATUSES.join(', ')}`);
  const limit = flags.limit === undefined ? undefined : Number(flags.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 1000))
    throw new UsageError('--limit must be an integer from 1 to 1000');
  const page = await ctx.client.listTasks(id, {
    status: statuses as TaskStatus[],
    ...(limit !== undefined ? { limit } : {}),
    ...(flags.cursor !== undefined ? { cursor: flags.cursor } : {}),
  });
  if (ctx.json) {
    printJson(ctx, page);
    return;
  }
  if (page.tasks.length === 0) ctx.out.write('no tasks\n');
  else
    printLines(
      ctx,
      table(
        ['task', 'status', 'created', 'duration'],
        page.tasks.map((t) => [t.taskId, t.status, t.createdAt, t.durationMs !== undefined ? formatDuration(t.durationMs) : '-']),
      ),
    );
  if (page.next !== undefined) process.stderr.write(`more: flowd task list ${id} --cursor ${page.next}\n`);
}

async function remove(id: string, taskId: string, _flags: unknown, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const r = await ctx.client.deleteTask(id, taskId);
  if (ctx.json) printJson(ctx, r);
  else ctx.out.write(`deleted task ${r.taskId} (${r.status})\n`);
}

export function registerTaskCommands(program: Command): void {
  program
    .command('analyze')
    .description('send a JSON document (stdin) through a published flow and print the output (needs --api-key)')
    .argument('<id>', 'workflow id')
    .option('-d, --data <json>', 'the input, instead of stdin')
    .option('--verbose', 'per-block detail when it fails (verboseErrorOutput)')
    .action(analyze);

  const task = program.command('task').description('tasks of an ASYNC flow (needs --api-key)');
  task
    .command('submit')
    .description('submit the JSON document on stdin as a task; prints the task id')
    .argument('<id>', 'workflow id')
    .option('-d, --data <json>', 'the input, instead of stdin')
    .option('--wait', 'wait for the task to end and print its result')
    .option('--idempotency-key <key>', 'the same key submits once')
    .action(submit);
  task
    .command('submit-many')
    .description('submit one task per JSON object on stdin (one per line), in batches; prints the task ids')
    .argument('<id>', 'workflow id')
    .option('--batch-size <n>', 'tasks per request (1 to 1000; default 1000)')
    .option('--idempotency-key <key>', 'the same key submits each line once, however often the command runs')
    .action(submitMany);
  task
    .command('status')
    .description("a task's status and timings")
    .argument('<id>', 'workflow id')
    .argument('<taskId>', 'task id')
    .option('--wait <time>', 'long-poll up to this long (e.g. 30s) for the task to end')
    .action(status);
  task
    .command('result')
    .description("a finished task's output")
    .argument('<id>', 'workflow id')
    .argument('<taskId>', 'task id')
    .action(result);
  task
    .command('list')
    .description('the tasks of a workflow')
    .argument('<id>', 'workflow id')
    .option('--status <statuses>', `only these (comma-separated: ${STATUSES.join(', ')})`, collectList)
    .option('--limit <n>', 'at most n (1 to 1000; default 100)')
    .option('--cursor <cursor>', 'the next page, as printed by the previous one')
    .action(list);
  task
    .command('delete')
    .description('cancel (if still running) and delete a task')
    .argument('<id>', 'workflow id')
    .argument('<taskId>', 'task id')
    .action(remove);
}
