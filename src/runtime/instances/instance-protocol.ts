/**
 * The messages between a service instance (parent side, instance.ts) and its worker thread
 * (instance-worker.ts). The block to load travels once, as `workerData`; after that every
 * message is a small plain object: requests are named by an integer id (no closures, no
 * strings to allocate per request), because the SYNC path pushes a great many of them
 * through each hop and structured cloning is paid on both sides.
 */
import type { MessagePort } from 'node:worker_threads';
import type { BlockLimits } from '../../blocks/block.js';
import type { SerializedError } from '../../errors.js';
import type { JsonObject, JsonValue } from '../../util/json.js';

/** `workerData` of an instance worker: the load request. */
export interface InstanceLoadData {
  type: 'load';
  blockId: string;
  blockType: string;
  config: JsonObject;
  prepared: JsonObject;
  limits: BlockLimits;
}

// ---- parent → worker (and worker → worker, for `run` along a chain) ----
export interface RunMessage {
  type: 'run';
  id: number;
  input: JsonValue;
  correlationId?: string;
  /**
   * A chain of blocks: the links (see LinkMessage) the output travels on, first this worker's,
   * then the next worker's, and so on. The last worker answers the parent; any worker that
   * fails answers the parent with the error. Absent: answer the parent.
   */
  next?: number[];
}
/** A port to another instance's worker (the next block of a chain), named `link` here. */
export interface LinkMessage {
  type: 'link';
  link: number;
  port: MessagePort;
}
/** The other end of a link: `run` messages arrive on it from the previous block's worker. */
export interface AcceptMessage {
  type: 'accept';
  port: MessagePort;
}
/** The instance at the other end of `link` is gone. */
export interface UnlinkMessage {
  type: 'unlink';
  link: number;
}
/**
 * Where is request `id`? Sent after it on the same path (so it arrives after the request did):
 * a worker that holds it says nothing (it will answer); one that does not passes the probe
 * along `next` like the run (it passed the request on, or answered it already); the last one
 * answers `gone`. The parent probes when a message may
 * have been lost (a `messageerror` somewhere) or a request outlived every time limit.
 */
export interface ProbeMessage {
  type: 'probe';
  id: number;
  next?: number[];
}
/** The caller gave up on request `id`: abort its signal (the worker answers nothing more). */
export interface CancelMessage {
  type: 'cancel';
  id: number;
}
export interface PingMessage {
  type: 'ping';
  seq: number;
}
/** Close the block (runner.close) and answer `closed`; the parent then ends the thread. */
export interface CloseMessage {
  type: 'close';
}
export type ToWorker = RunMessage | ProbeMessage | CancelMessage | PingMessage | CloseMessage | LinkMessage | AcceptMessage | UnlinkMessage;
/** What one worker sends the next one over a link. */
export type ToNextWorker = RunMessage | ProbeMessage;

/** Several messages in one postMessage (see message-batcher.ts), in the order they were sent. */
export interface BatchMessage<M> {
  type: 'batch';
  messages: M[];
}

// ---- worker → parent ----
export interface ReadyMessage {
  type: 'ready';
}
/**
 * The block's load starts now and runs user code bounded by the block timeout (promise
 * callbacks included: `ready` leaves only after them): the parent times it (BlockType.loadWithinTimeout).
 */
export interface LoadingMessage {
  type: 'loading';
}
export interface LoadErrorMessage {
  type: 'load_error';
  /** The FlowdError the load failed with (rebuilt as the same one on the parent side). */
  error: SerializedError;
}
export interface ResultMessage {
  type: 'result';
  id: number;
  output: JsonValue;
}
export interface ErrorMessage {
  type: 'error';
  id: number;
  /** The FlowdError the run failed with (rebuilt as the same one on the parent side). */
  error: SerializedError;
}
export interface PongMessage {
  type: 'pong';
  seq: number;
}
export interface ClosedMessage {
  type: 'closed';
}
/** A probe found request `id` nowhere on its path: a message carrying it was lost. */
export interface GoneMessage {
  type: 'gone';
  id: number;
}
/** This worker could not read a message sent to it (`messageerror`): the parent probes what it holds here. */
export interface LostMessage {
  type: 'lost';
  reason: string;
}
/** The instance holds more memory than its block's `memory` allows (ArrayBuffers included): replace it. */
export interface OutOfMemoryMessage {
  type: 'out_of_memory';
  /** ArrayBuffer (external) memory the instance held, MB. */
  usedMb: number;
}
export type FromWorker =
  | ReadyMessage
  | LoadingMessage
  | LoadErrorMessage
  | ResultMessage
  | ErrorMessage
  | PongMessage
  | ClosedMessage
  | GoneMessage
  | LostMessage
  | OutOfMemoryMessage;
