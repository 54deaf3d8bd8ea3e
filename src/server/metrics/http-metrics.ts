/**
 * HTTP request durations by method, route pattern and status class. Each route gets its own
 * onResponse hook when it is registered (onRoute), so the route pattern is known without
 * reading `req.routeOptions` (a getter that builds an object per call) and the label set
 * resolves through a small per-route table: no allocation per request. Labels use the
 * pattern (`/workflow/:workflow_id/_status`), never the raw URL, to keep cardinality bounded.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, onResponseHookHandler } from 'fastify';
import type { HistogramSeries, LabelledHistogram } from './labelled-histogram.js';

/** Index = Math.trunc(status / 100); Node only sends 100–999. */
const STATUS_CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx', '6xx', '7xx', '8xx', '9xx'] as const;

/** The series of one route pattern, resolved lazily per method and status class. */
export class RouteSeries {
  readonly #hist: LabelledHistogram;
  readonly #route: string;
  readonly #byMethod = new Map<string, Array<HistogramSeries | undefined>>();

  constructor(hist: LabelledHistogram, route: string) {
    this.#hist = hist;
    this.#route = route;
  }

  observe(method: string, status: number, seconds: number): void {
    let byClass = this.#byMethod.get(method);
    if (!byClass) {
      byClass = new Array<HistogramSeries | undefined>(STATUS_CLASSES.length).fill(undefined);
      this.#byMethod.set(method, byClass);
    }
    const c = Math.min(STATUS_CLASSES.length - 1, Math.max(0, Math.trunc(status / 100)));
    let s = byClass[c];
    if (!s) {
      s = this.#hist.series([method, this.#route, STATUS_CLASSES[c] as string]);
      byClass[c] = s;
    }
    s.observe(seconds);
  }
}

/** The route label of requests no route matched (real routes start with `/`). */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Adds the duration hook to every route registered after this call (so call it before any
 * route). Returns the series for unmatched requests (see `observeAtFinish`).
 */
export function installHttpMetrics(app: FastifyInstance, hist: LabelledHistogram): RouteSeries {
  app.addHook('onRoute', (opts) => {
    const rs = new RouteSeries(hist, opts.url ?? opts.path);
    // Callback style: no promise per request. elapsedTime (ms) runs from the request's start
    // to the response's 'finish'.
    const hook: onResponseHookHandler = (req, reply, done) => {
      rs.observe(req.method, reply.statusCode, reply.elapsedTime / 1000);
      done();
    };
    const existing = opts.onResponse;
    opts.onResponse =
      existing === undefined ? [hook] : Array.isArray(existing) ? [...(existing as onResponseHookHandler[]), hook] : [existing, hook];
  });
  return new RouteSeries(hist, UNMATCHED_ROUTE);
}

/**
 * Not-found replies run no route hooks: an onRequest hook that sees `req.is404` times them
 * this way (a listener per request, acceptable off the hot path), unauthenticated ones too.
 */
export function observeAtFinish(series: RouteSeries, req: FastifyRequest, reply: FastifyReply): void {
  reply.raw.once('finish', () => series.observe(req.method, reply.statusCode, reply.elapsedTime / 1000));
}
