/**
 * Notifications that a workflow's provisioning state changed, keyed by workflow id. Watchers
 * (SSE, `--watch`, `wait_for_completion_timeout`, the dashboard) subscribe and re-read instead of
 * polling; the cluster bridges them over the bus (`bridgeStateEvents`). Delivery is the hub's:
 * once per workflow and event-loop turn.
 */
import { EventHub } from '../util/event-hub.js';

export class StateEvents extends EventHub {}
