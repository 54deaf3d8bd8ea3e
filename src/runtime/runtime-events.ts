/**
 * Notifications that a published workflow's runtime status may have changed (an instance
 * became ready, crashed, was scaled…), keyed by workflow id. Delivery is the hub's: a burst is
 * one event per workflow and event-loop turn, so SSE watchers get one fresh status instead of a
 * storm. Other nodes' status changes arrive through the runtime's cluster listener.
 */
import { EventHub } from '../util/event-hub.js';

export class RuntimeEvents extends EventHub {}
