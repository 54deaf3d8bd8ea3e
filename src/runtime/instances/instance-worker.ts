/**
 * Entry point of one service instance (a worker thread). It loads the block named in
 * `workerData`, says `ready` (or `load_error`), then serves `run` messages until `close`.
 * Each request gets its own AbortController (made when the block first reads its signal); the
 * block's `timeoutMs` is enforced here for blocks that yield (async work). A block that blocks the thread cannot be interrupted from
 * inside, so the parent detects that (no reply, no pong) and ends the thread.
 *
 * Chains: a `run` may name links to the workers of the next blocks; the output then goes
 * straight to the next worker over a MessagePort the parent set up, so a request through a
 * chain of k blocks costs the parent one message out and one back instead of k of each.
 *
 * Nothing a block returns can break the thread boundary: an output too deep for the receiver
 * or one that cannot be cloned fails its own request (message-limits.ts); a message this
 * worker cannot read is reported (`lost`) so the parent can find the requests it carried.
 * A block with `memory` set also has its ArrayBuffer memory (outside the V8 heap limit)
 * checked after runs and on heartbeats; over the limit, the instance asks to be replaced.
 */
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { BlockRunContext, BlockRunner } from '../../blocks/block.js';
import { builtinBlockRegistry } from '../../blocks/block-registry.js';
import { serializeError, stepFailure, unavailable } from '../../errors.js';
import type { JsonValue } from '../../util/json.js';
import type { BatchMessage, FromWorker, InstanceLoadData, ProbeMessage, RunMessage, ToNextWorker, ToWorker } from './instance-protocol.js';
import { MessageBatcher, unbatch } from './message-batcher.js';
import { MAX_MESSAGE_DEPTH, nestsDeeperThan, reasonOf, tooDeepOutput, uncloneableOutput } from './message-limits.js';

/** ArrayBuffer memory is measured after a run at most this often (measuring costs about as much as a short run). */
const MEMORY_CHECK_MS = 10;
const MB = 1024 * 1024;

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? 'unknown error';
  } catch {
    return 'unknown error';
  }
}

interface Pending {
  id: number;
  /** Made when the block first reads its signal: an AbortController costs more than a typical js run, and js blocks never read it. */
  controller: AbortController | undefined;
  startedAt: number;
}

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('instance-worker.ts must run as a worker thread (it is started by instance.ts)');
  const data = workerData as InstanceLoadData;
  const blockId = data.blockId;
  // Results, errors and pongs of one event-loop turn go to the parent in one message.
  const toParent = new MessageBatcher<FromWorker>(port, (m, e): FromWorker | undefined => {
    // Only an answer can be too big to clone; the request still gets one in its place, small enough.
    if (m.type === 'result') return { type: 'error', id: m.id, error: uncloneableOutput(blockId, e) };
    if (m.type === 'error')
      return {
        type: 'error',
        id: m.id,
        error: stepFailure(`Block "${blockId}" failed with an error that cannot be passed on (${reasonOf(e)}).`, {
          code: m.error.code,
        }).toJSON(),
      };
    return undefined;
  });
  const post = (m: FromWorker): void => toParent.send(m);
  const lost = (e: unknown): void => post({ type: 'lost', reason: reasonOf(e) });
  port.on('messageerror', lost);
  /** Runs in progress, in start order (all share one timeout, so the first expires first). */
  const pending = new Map<number, Pending>();
  const timeoutMs = data.limits.timeoutMs;
  let deadlineTimer: NodeJS.Timeout | undefined;
  let runner: BlockRunner | undefined;
  let closing = false;

  const memoryLimit = (data.limits.memoryMb ?? 0) * MB;
  let memoryCheckedAt = -Infinity;
  /** MB of ArrayBuffer (external) memory held when over the block's `memory`; measured at most every MEMORY_CHECK_MS unless `now`. */
  const overMemory = (now: boolean): number | undefined => {
    if (memoryLimit === 0) return undefined;
    const t = performance.now();
    if (!now && t - memoryCheckedAt < MEMORY_CHECK_MS) return undefined;
    memoryCheckedAt = t;
    const used = getHeapStatistics().external_memory;
    return used > memoryLimit ? Math.round(used / MB) : undefined;
  };
  /** Over the limit: take no more work; the parent ends this thread and starts another. */
  const outOfMemory = (usedMb: number): void => {
    closing = true;
    post({ type: 'out_of_memory', usedMb });
  };
  /** After a run: false when the instance went over its memory (the run then fails with that). */
  const memoryOk = (id: number): boolean => {
    const usedMb = overMemory(false);
    if (usedMb === undefined) return true;
    const message =
      `Block "${blockId}" holds ${usedMb} MB of ArrayBuffer/typed-array memory after this input, over its memory limit of ${data.limits.memoryMb ?? '?'} MB; ` +
      'its instance was stopped and is being replaced. Raise the block memory or make it hold less.';
    post({ type: 'error', id, error: stepFailure(message, { code: 'instance.out_of_memory' }).toJSON() });
    outOfMemory(usedMb);
    return false;
  };

  const settle = (p: Pending): boolean => {
    if (pending.get(p.id) !== p) return false; // cancelled or timed out already
    pending.delete(p.id);
    return true;
  };

  // One timer for all runs, armed for the oldest run's deadline, instead of one per run: at
  // tens of thousands of runs a second, per-run timers cost more than most blocks. It only
  // fires for blocks that yield; a block that blocks the thread is the parent's watchdog's.
  const expire = (): void => {
    deadlineTimer = undefined;
    const t = performance.now();
    for (const p of pending.values()) {
      if (p.startedAt + timeoutMs > t) break;
      settle(p);
      const message = `Block "${data.blockId}" did not finish within its timeout of ${timeoutMs} ms; raise the block timeout or make it faster.`;
      p.controller?.abort(new Error(message));
      post({ type: 'error', id: p.id, error: stepFailure(message, { code: 'block.timeout', status: 504 }).toJSON() });
    }
    armDeadline();
  };
  const armDeadline = (): void => {
    if (deadlineTimer !== undefined || !(timeoutMs > 0)) return;
    const first = pending.values().next();
    if (first.done === true) return;
    deadlineTimer = setTimeout(expire, Math.max(0, first.value.startedAt + timeoutMs - performance.now()));
  };

  const run = (m: RunMessage): void => {
    if (!runner || closing) {
      post({
        type: 'error',
        id: m.id,
        error: stepFailure(`Block "${data.blockId}" is not loaded in this instance.`, {
          code: 'instance.not_ready',
          retryable: true,
        }).toJSON(),
      });
      return;
    }
    const p: Pending = { id: m.id, controller: undefined, startedAt: performance.now() };
    pending.set(m.id, p);
    armDeadline();
    let result: Promise<JsonValue>;
    try {
      const ctx: BlockRunContext = {
        blockId: data.blockId,
        get signal(): AbortSignal {
          return (p.controller ??= new AbortController()).signal;
        },
      };
      if (m.correlationId !== undefined) ctx.correlationId = m.correlationId;
      result = runner.run(m.input, ctx);
    } catch (e) {
      result = Promise.reject(e instanceof Error ? e : new Error(safeJson(e)));
    }
    result.then(
      (output) => {
        if (!settle(p) || !memoryOk(m.id)) return;
        if (nestsDeeperThan(output, MAX_MESSAGE_DEPTH)) return post({ type: 'error', id: m.id, error: tooDeepOutput(blockId) });
        const next = m.next;
        if (next === undefined || next.length === 0) return post({ type: 'result', id: m.id, output });
        // A chain: hand the output straight to the next block's worker (no parent hop).
        const link = links.get(next[0] as number);
        if (!link) {
          post({
            type: 'error',
            id: m.id,
            error: unavailable(`Block "${data.blockId}" lost its link to the next block; retry the request.`, {
              code: 'instance.link_lost',
            }).toJSON(),
          });
          return;
        }
        const fwd: RunMessage = { type: 'run', id: m.id, input: output };
        if (m.correlationId !== undefined) fwd.correlationId = m.correlationId;
        if (next.length > 1) fwd.next = next.slice(1);
        link.out.send(fwd);
      },
      (e: unknown) => {
        if (settle(p) && memoryOk(m.id)) post({ type: 'error', id: m.id, error: serializeError(e, 'block.failed') });
      },
    );
  };

  /** Where is request `id`? Held here: it will be answered. Passed on: ask the next worker. Else it was lost. */
  const probe = (m: ProbeMessage): void => {
    if (pending.has(m.id)) return;
    const next = m.next;
    const link = next === undefined || next.length === 0 ? undefined : links.get(next[0] as number);
    if (link && next) {
      const fwd: ProbeMessage = { type: 'probe', id: m.id };
      if (next.length > 1) fwd.next = next.slice(1);
      link.out.send(fwd);
      return;
    }
    post({ type: 'gone', id: m.id });
  };
  const fromPrevious = (m: ToNextWorker): void => {
    if (m.type === 'run') run(m);
    else probe(m);
  };

  const close = async (): Promise<void> => {
    closing = true;
    if (deadlineTimer !== undefined) clearTimeout(deadlineTimer);
    for (const p of [...pending.values()]) {
      settle(p);
      p.controller?.abort(new Error('instance closing'));
    }
    try {
      await runner?.close?.();
    } finally {
      post({ type: 'closed' });
    }
  };

  /** Ports to the workers of next blocks (chains), by link number, each with its batcher. */
  const links = new Map<number, { port: MessagePort; out: MessageBatcher<ToNextWorker> }>();
  /** An output the next block's worker cannot be sent fails its request here. */
  const forwardFailed = (m: ToNextWorker, e: unknown): undefined => {
    if (m.type === 'run') post({ type: 'error', id: m.id, error: uncloneableOutput(blockId, e) });
    return undefined;
  };

  const onMessage = (m: ToWorker): void => {
    switch (m.type) {
      case 'run':
        run(m);
        break;
      case 'probe':
        probe(m);
        break;
      case 'link':
        links.set(m.link, { port: m.port, out: new MessageBatcher<ToNextWorker>(m.port, forwardFailed) });
        break;
      case 'unlink':
        links.get(m.link)?.port.close();
        links.delete(m.link);
        break;
      case 'accept':
        // Runs (and probes) handed on by the previous block's worker; cancels still come from the parent.
        m.port.on('message', (r: ToNextWorker | BatchMessage<ToNextWorker>) => unbatch(r, fromPrevious));
        m.port.on('messageerror', lost);
        break;
      case 'ping': {
        post({ type: 'pong', seq: m.seq });
        const usedMb = closing ? undefined : overMemory(true);
        if (usedMb !== undefined) outOfMemory(usedMb);
        break;
      }
      case 'cancel': {
        const p = pending.get(m.id);
        if (p && settle(p)) p.controller?.abort(new Error('request cancelled by the caller'));
        break;
      }
      case 'close':
        void close();
        break;
    }
  };
  port.on('message', (m: ToWorker | BatchMessage<ToWorker>) => unbatch(m, onMessage));

  void (async () => {
    try {
      // A worker thread has its own module graph: it builds the builtin set for the one block it runs.
      const type = builtinBlockRegistry().get(data.blockType);
      if (!type)
        throw Object.assign(new Error(`Unknown block type "${data.blockType}" for block "${data.blockId}".`), {
          code: 'block.unknown_type',
        });
      if (type.loadWithinTimeout === true && timeoutMs > 0) {
        // The parent times the load from here; `ready` leaves at the end of a turn, after
        // every promise callback the block's code scheduled, so those are timed too.
        post({ type: 'loading' });
        toParent.flush();
      }
      // This instance kills a run past its timeout (heartbeat watchdog), so blocks skip their own.
      runner = await type.load(data.config, data.prepared, { ...data.limits, hostEnforcesTimeout: true });
      const usedMb = overMemory(true);
      if (usedMb !== undefined) {
        const message = `Block "${blockId}" holds ${usedMb} MB of ArrayBuffer/typed-array memory once loaded, over its memory limit of ${data.limits.memoryMb ?? '?'} MB; make its top-level code hold less, or raise the block memory.`;
        throw Object.assign(new Error(message), { code: 'instance.out_of_memory' });
      }
      if (!closing) post({ type: 'ready' });
    } catch (e) {
      post({ type: 'load_error', error: serializeError(e, 'block.load_failed') });
    }
  })();
}

main();
