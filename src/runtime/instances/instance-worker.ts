/**
 * Entry point of one service instance (a worker thread). It loads the block named in
 * `workerData`, says `ready` (or `load_error`), then serves `run` messages until `close`.
 * Each request gets its own AbortController; the block's `timeoutMs` is enforced here for
 * blocks that yield (async work). A block that blocks the thread cannot be interrupted from
 * inside, so the parent detects that (no reply, no pong) and ends the thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BlockRunner } from '../../blocks/block.js';
import { getBlockType } from '../../blocks/block-registry.js';
import type { JsonValue } from '../../template/types.js';
import type { FromWorker, InstanceLoadData, RunMessage, ToWorker, WireError } from './instance-protocol.js';

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
  controller: AbortController;
  timer: NodeJS.Timeout | undefined;
}

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('instance-worker.ts must run as a worker thread (it is started by instance.ts)');
  const data = workerData as InstanceLoadData;
  const post = (m: FromWorker): void => port.postMessage(m);
  const pending = new Map<number, Pending>();
  let runner: BlockRunner | undefined;
  let closing = false;

  const settle = (id: number, p: Pending): boolean => {
    if (pending.get(id) !== p) return false; // cancelled or timed out already
    pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    return true;
  };

  const run = (m: RunMessage): void => {
    if (!runner || closing) {
      post({ type: 'error', id: m.id, error: { message: `Block "${data.blockId}" is not loaded in this instance.`, code: 'instance.not_ready', retryable: true } });
      return;
    }
    const p: Pending = { controller: new AbortController(), timer: undefined };
    pending.set(m.id, p);
    const timeoutMs = data.limits.timeoutMs;
    if (timeoutMs > 0) {
      p.timer = setTimeout(() => {
        if (!settle(m.id, p)) return;
        const message = `Block "${data.blockId}" did not finish within its timeout of ${timeoutMs} ms; raise the block's timeout or make it faster.`;
        p.controller.abort(new Error(message));
        post({ type: 'error', id: m.id, error: { message, code: 'block.timeout', retryable: true, status: 504 } });
      }, timeoutMs);
    }
    let result: Promise<JsonValue>;
    try {
      const ctx = { blockId: data.blockId, signal: p.controller.signal, ...(m.correlationId !== undefined ? { correlationId: m.correlationId } : {}) };
      result = runner.run(m.input, ctx);
    } catch (e) {
      result = Promise.reject(e instanceof Error ? e : new Error(safeJson(e)));
    }
    result.then(
      (output) => {
        if (settle(m.id, p)) post({ type: 'result', id: m.id, output });
      },
      (e: unknown) => {
        if (settle(m.id, p)) post({ type: 'error', id: m.id, error: toWireError(e, 'block.failed') });
      },
    );
  };

  const close = async (): Promise<void> => {
    closing = true;
    for (const [id, p] of pending) {
      settle(id, p);
      p.controller.abort(new Error('instance closing'));
    }
    try {
      await runner?.close?.();
    } finally {
      post({ type: 'closed' });
    }
  };

  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'run':
        run(m);
        break;
      case 'ping':
        post({ type: 'pong', seq: m.seq });
        break;
      case 'cancel': {
        const p = pending.get(m.id);
        if (p && settle(m.id, p)) p.controller.abort(new Error('request cancelled by the caller'));
        break;
      }
      case 'close':
        void close();
        break;
    }
  });

  void (async () => {
    try {
      const type = getBlockType(data.blockType);
      if (!type) throw Object.assign(new Error(`Unknown block type "${data.blockType}" for block "${data.blockId}".`), { code: 'block.unknown_type' });
      runner = await type.load(data.config, data.prepared, data.limits);
      if (!closing) post({ type: 'ready' });
    } catch (e) {
      post({ type: 'load_error', error: toWireError(e, 'block.load_failed') });
    }
  })();
}

main();
