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
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { BlockRunContext, BlockRunner } from '../../blocks/block.js';
import { getBlockType } from '../../blocks/block-registry.js';
import type { JsonValue } from '../../template/types.js';
import type { BatchMessage, FromWorker, InstanceLoadData, RunMessage, ToWorker, WireError } from './instance-protocol.js';
import { MessageBatcher, unbatch } from './message-batcher.js';

/** Duck-typed so errors from other copies of FlowdError (a custom module, a bundle) keep their fields. */
function toWireError(e: unknown, fallbackCode: string): WireError {
  if (e instanceof Error || (typeof e === 'object' && e !== null)) {
    const r = e as { message?: unknown; code?: unknown; retryable?: unknown; status?: unknown };
    const wire: WireError = {
      message: typeof r.message === 'string' && r.message !== '' ? r.message : safeJson(e),
      code: typeof r.code === 'string' && r.code !== '' ? r.code : fallbackCode,
      retryable: r.retryable === true,
    };
    if (typeof r.status === 'number') wire.status = r.status;
    return wire;
  }
  return { message: String(e), code: fallbackCode, retryable: false };
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? 'unknown error';
  } catch {
    return 'unknown error';
  }
}

interface Pending {
  id: number;
  /** Made when the block first reads its signal: an AbortController costs ~5 µs, more than a typical js run, and js blocks never read it. */
  controller: AbortController | undefined;
  startedAt: number;
}

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('instance-worker.ts must run as a worker thread (it is started by instance.ts)');
  const data = workerData as InstanceLoadData;
  // Results, errors and pongs of one event-loop turn go to the parent in one message.
  const toParent = new MessageBatcher<FromWorker>(port);
  const post = (m: FromWorker): void => toParent.send(m);
  /** Runs in progress, in start order (all share one timeout, so the first expires first). */
  const pending = new Map<number, Pending>();
  const timeoutMs = data.limits.timeoutMs;
  let deadlineTimer: NodeJS.Timeout | undefined;
  let runner: BlockRunner | undefined;
  let closing = false;

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
      post({ type: 'error', id: p.id, error: { message, code: 'block.timeout', retryable: false, status: 504 } });
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
      post({ type: 'error', id: m.id, error: { message: `Block "${data.blockId}" is not loaded in this instance.`, code: 'instance.not_ready', retryable: true } });
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
        if (!settle(p)) return;
        const next = m.next;
        if (next === undefined || next.length === 0) return post({ type: 'result', id: m.id, output });
        // A chain: hand the output straight to the next block's worker (no parent hop).
        const link = links.get(next[0] as number);
        if (!link) {
          post({ type: 'error', id: m.id, error: { message: `Block "${data.blockId}" lost its link to the next block; retry the request.`, code: 'instance.link_lost', retryable: true, status: 503 } });
          return;
        }
        const fwd: RunMessage = { type: 'run', id: m.id, input: output };
        if (m.correlationId !== undefined) fwd.correlationId = m.correlationId;
        if (next.length > 1) fwd.next = next.slice(1);
        link.out.send(fwd);
      },
      (e: unknown) => {
        if (settle(p)) post({ type: 'error', id: m.id, error: toWireError(e, 'block.failed') });
      },
    );
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
  const links = new Map<number, { port: MessagePort; out: MessageBatcher<RunMessage> }>();

  const onMessage = (m: ToWorker): void => {
    switch (m.type) {
      case 'run':
        run(m);
        break;
      case 'link':
        links.set(m.link, { port: m.port, out: new MessageBatcher<RunMessage>(m.port) });
        break;
      case 'unlink':
        links.get(m.link)?.port.close();
        links.delete(m.link);
        break;
      case 'accept':
        // Runs handed on by the previous block's worker; cancels still come from the parent.
        m.port.on('message', (r: RunMessage | BatchMessage<RunMessage>) => unbatch(r, run));
        break;
      case 'ping':
        post({ type: 'pong', seq: m.seq });
        break;
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
      const type = getBlockType(data.blockType);
      if (!type) throw Object.assign(new Error(`Unknown block type "${data.blockType}" for block "${data.blockId}".`), { code: 'block.unknown_type' });
      // This instance kills a run past its timeout (heartbeat watchdog), so blocks skip their own.
      runner = await type.load(data.config, data.prepared, { ...data.limits, hostEnforcesTimeout: true });
      if (!closing) post({ type: 'ready' });
    } catch (e) {
      post({ type: 'load_error', error: toWireError(e, 'block.load_failed') });
    }
  })();
}

main();
