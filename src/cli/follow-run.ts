/**
 * `--watch`: follows a workflow's status stream (Server-Sent Events, not polling) until the run
 * ends, drawing it with WatchView (or printing each status as a JSON line with --json). The run
 * is over at COMPLETED or FAILED, or back at NOT_STARTED with an error (rolled back).
 */
import type { WorkflowStatus } from '@flowd/client';
import type { CliContext } from './cli-context.js';
import { CliFailure } from './cli-errors.js';
import { expectedSteps, WatchView } from './watch-view.js';

export interface FollowOptions {
  /** The caller has just started a run: a NOT_STARTED state with an error means it was rolled back. */
  startedRun: boolean;
}

/** Follows the run; resolves on COMPLETED, throws CliFailure when it failed or watching stopped. */
export async function followRun(ctx: CliContext, id: string, opts: FollowOptions): Promise<WorkflowStatus> {
  const template = await ctx.client.getWorkflow(id).catch(() => undefined);
  const view = ctx.json
    ? undefined
    : new WatchView({ workflowId: id, expected: expectedSteps(template), tty: ctx.tty, color: ctx.color, out: ctx.out });
  const ac = new AbortController();
  let seenRun = false;
  let first = true;
  let final: WorkflowStatus | undefined;
  let deleted = false;
  let interrupted = false;
  const onSigint = (): void => {
    interrupted = true;
    ac.abort();
  };
  process.once('SIGINT', onSigint);
  try {
    await ctx.client.watchStatus(
      id,
      (e) => {
        if (e.type === 'deleted') {
          deleted = true;
          ac.abort();
          return;
        }
        const s = e.status;
        if (ctx.json) ctx.out.write(`${JSON.stringify(s)}\n`);
        if (s.state === 'PROVISIONING') seenRun = true;
        const over =
          s.state === 'COMPLETED' ||
          s.state === 'FAILED' ||
          (s.state === 'NOT_STARTED' && (seenRun || (first && opts.startedRun && s.error !== undefined)));
        if (first && s.state === 'NOT_STARTED' && !over && !ctx.json) {
          process.stderr.write(`waiting for a provisioning run; start one with: flowd provision ${id}\n`);
        }
        first = false;
        if (over) {
          final = s;
          ac.abort();
          return;
        }
        view?.update(s);
      },
      ac.signal,
    );
  } finally {
    process.off('SIGINT', onSigint);
    view?.stop();
  }
  if (interrupted)
    throw new CliFailure('stopped watching; the run goes on in flowd', `follow it again with flowd status ${id} --watch`, 130);
  if (deleted) throw new CliFailure(`workflow ${id} was deleted while watching`);
  if (!final) throw new CliFailure('the status stream ended before the run finished', `see where it stands with flowd status ${id} --all`);
  view?.finish(final, { withError: false });
  if (final.state !== 'COMPLETED') {
    throw new CliFailure(
      `workflow ${id} ${final.state === 'NOT_STARTED' ? 'failed and was rolled back' : 'failed'}${final.error !== undefined ? `: ${final.error}` : ''}`,
      final.state === 'FAILED'
        ? `fix the cause, remove what the run created with flowd deprovision ${id}, then run flowd provision ${id} again`
        : `fix the cause, then run flowd provision ${id} again`,
    );
  }
  return final;
}
