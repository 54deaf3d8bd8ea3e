/** Waits (polling every 10 ms) until a service's status satisfies `pred`; fails the test with the last status after `ms`. */
import assert from 'node:assert/strict';
import type { Service, ServiceStatusView } from '../../src/runtime/instances/service.js';

export async function waitFor(
  svc: Service,
  what: string,
  pred: (v: ServiceStatusView) => boolean,
  ms = 15_000,
): Promise<ServiceStatusView> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = svc.status();
    if (pred(v)) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; status: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
