/**
 * flowd's Prometheus metrics (served at `/metrics`). Events are counted where they happen
 * (step and run ends, task starts and ends, HTTP responses: callbacks the composition root
 * hands to the engine and the runtime); levels are read at scrape time from what already
 * exists (one GROUP BY for workflow states, the runtime status of each published flow), so
 * nothing is kept in sync by hand and an idle node does no metrics work.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, prometheusContentType } from 'prom-client';
import type { Provisioner, RunOutcome } from '../../engine/provisioner.js';
import type { StepOutcome } from '../../engine/run-executor.js';
import type { RuntimeManager } from '../../runtime/runtime-manager.js';
import type { TaskObserver } from '../../runtime/task-runner.js';
import type { ProvisionState, RunKind, Store } from '../../store/store.js';
import { LabelledHistogram } from './labelled-histogram.js';

/** The text exposition format, version 0.0.4. */
export const METRICS_CONTENT_TYPE: string = prometheusContentType;

const STATES: readonly ProvisionState[] = ['NOT_STARTED', 'PROVISIONING', 'COMPLETED', 'FAILED'];
/** Most requests take about a millisecond; long-polls and analyze wait up to two minutes. */
const HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120];
const STEP_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900];
const TASK_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800];
/** The ASYNC executor is a service without a block; it is named as in flow errors. */
const EXECUTOR_SERVICE = '$executor';

/** What the scrape-time gauges read. */
export interface MetricsSources {
  store: Pick<Store, 'countStates'>;
  runtime: Pick<RuntimeManager, 'publishedIds' | 'status'>;
  provisioner: Pick<Provisioner, 'activeRuns'>;
}

let processRegistry: Registry | undefined;

/** CPU, memory, event loop lag, GC: one set per process, however many nodes it runs (tests). */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'flowd_' });
  }
  return processRegistry;
}

export class FlowdMetrics {
  readonly registry = new Registry();
  /** Observed from per-route hooks (http-metrics.ts), without prom-client's per-call cost. */
  readonly http = new LabelledHistogram(
    'flowd_http_request_duration_seconds',
    'HTTP request duration from the request to the end of the response, by method, route pattern and status class.',
    ['method', 'route', 'status_class'],
    HTTP_BUCKETS,
  );
  readonly #workflows: Gauge<'state'>;
  readonly #activeRuns: Gauge;
  readonly #runs: Counter<'kind' | 'result'>;
  readonly #steps: Histogram<'type' | 'result'>;
  readonly #instances: Gauge<'workflow_id' | 'service' | 'kind'>;
  readonly #queue: Gauge<'workflow_id' | 'status'>;
  readonly #taskLatency: Histogram<'phase'>;
  readonly #tasksFinished: Counter<'result'>;
  #sources: MetricsSources | undefined;

  constructor(info: { version: string; nodeId: string }) {
    const registers = [this.registry];
    new Gauge({
      name: 'flowd_build_info',
      help: 'Always 1; the labels say which flowd this is.',
      labelNames: ['version', 'node'],
      registers,
    }).set({ version: info.version, node: info.nodeId }, 1);
    this.#workflows = new Gauge({ name: 'flowd_workflows', help: 'Workflows by provisioning state.', labelNames: ['state'], registers });
    this.#activeRuns = new Gauge({ name: 'flowd_provisioning_runs_active', help: 'Provisioning runs executing on this node.', registers });
    this.#runs = new Counter({
      name: 'flowd_provisioning_runs_total',
      help: 'Provisioning runs this node finished, by kind (provision, reprovision) and result (completed, failed, rolled_back).',
      labelNames: ['kind', 'result'],
      registers,
    });
    this.#steps = new Histogram({
      name: 'flowd_step_duration_seconds',
      help: 'Duration of each step attempt, by step type and result (completed, failed, retried, canceled).',
      labelNames: ['type', 'result'],
      buckets: STEP_BUCKETS,
      registers,
    });
    this.#instances = new Gauge({
      name: 'flowd_service_instances',
      help: "Instances of each service of a published flow: desired (configured replicas), actual (ready), target (the autoscaler's wish, ASYNC).",
      labelNames: ['workflow_id', 'service', 'kind'],
      registers,
    });
    this.#queue = new Gauge({
      name: 'flowd_task_queue_depth',
      help: 'Tasks of each ASYNC flow waiting to be claimed (queued) or being run (running) on this node.',
      labelNames: ['workflow_id', 'status'],
      registers,
    });
    this.#taskLatency = new Histogram({
      name: 'flowd_task_latency_seconds',
      help: "ASYNC task latency: wait (from submission to being claimed) and run (the flow's execution).",
      labelNames: ['phase'],
      buckets: TASK_BUCKETS,
      registers,
    });
    this.#tasksFinished = new Counter({
      name: 'flowd_tasks_finished_total',
      help: 'ASYNC tasks whose flow finished on this node, by result (COMPLETED, ERROR).',
      labelNames: ['result'],
      registers,
    });
    for (const state of STATES) this.#workflows.set({ state }, 0);
  }

  /** The scrape-time sources exist after the engine and runtime that take this object's callbacks. */
  attach(sources: MetricsSources): void {
    this.#sources = sources;
  }

  readonly onStepFinished = (type: string, seconds: number, outcome: StepOutcome): void => {
    this.#steps.observe({ type, result: outcome }, seconds);
  };

  readonly onRunFinished = (kind: RunKind, outcome: RunOutcome): void => {
    this.#runs.inc({ kind, result: outcome });
  };

  readonly taskObserver: TaskObserver = {
    taskStarted: (waitSeconds) => this.#taskLatency.observe({ phase: 'wait' }, waitSeconds),
    taskFinished: (runSeconds, status) => {
      this.#taskLatency.observe({ phase: 'run' }, runSeconds);
      this.#tasksFinished.inc({ result: status });
    },
  };

  /** The whole exposition: process metrics, flowd's own, HTTP durations. */
  async render(): Promise<string> {
    await this.#refresh();
    const [proc, own] = await Promise.all([processMetrics().metrics(), this.registry.metrics()]);
    return `${proc}\n${own}\n${this.http.render()}`;
  }

  async #refresh(): Promise<void> {
    const src = this.#sources;
    if (!src) return;
    const counts = await src.store.countStates();
    for (const state of STATES) this.#workflows.set({ state }, counts[state]);
    this.#activeRuns.set(src.provisioner.activeRuns());
    // Rebuilt from scratch so unpublished flows disappear instead of reporting stale numbers.
    this.#instances.reset();
    this.#queue.reset();
    for (const id of src.runtime.publishedIds()) {
      const st = src.runtime.status(id);
      if (!st) continue;
      for (const svc of st.details.services) {
        const service = svc.blockId ?? EXECUTOR_SERVICE;
        this.#instances.set({ workflow_id: id, service, kind: 'desired' }, svc.desired);
        this.#instances.set({ workflow_id: id, service, kind: 'actual' }, svc.actual);
        if (svc.targetReplicas !== undefined) this.#instances.set({ workflow_id: id, service, kind: 'target' }, svc.targetReplicas);
      }
      if (st.tasks) {
        this.#queue.set({ workflow_id: id, status: 'queued' }, st.tasks.queued);
        this.#queue.set({ workflow_id: id, status: 'running' }, st.tasks.running);
      }
    }
  }
}
