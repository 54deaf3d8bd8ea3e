/**
 * One AbortSignal per client connection, aborted when the connection closes: a request whose
 * client goes away (closes the connection) thereby stops its work (the runtime and dashboard
 * analyze routes). It replaces an AbortController per request: creating one is a visible
 * share of a SYNC request's cost, while a keep-alive connection carries thousands of
 * requests. A finished request's listeners are gone, so the abort reaches only what is
 * still running on that connection.
 */
import type { Socket } from 'node:net';
import { setMaxListeners } from 'node:events';

const signals = new WeakMap<Socket, AbortSignal>();

export function connectionSignal(socket: Socket): AbortSignal {
  const known = signals.get(socket);
  if (known !== undefined) return known;
  const ac = new AbortController();
  // Pipelined requests on one connection may each listen.
  setMaxListeners(0, ac.signal);
  if (socket.destroyed) ac.abort(new Error('client went away'));
  else socket.once('close', () => ac.abort(new Error('client went away')));
  signals.set(socket, ac.signal);
  return ac.signal;
}
