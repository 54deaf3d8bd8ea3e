/**
 * A Prometheus histogram for the HTTP hot path. prom-client's `observe` hashes the label set
 * into a string and allocates on every call; here a caller resolves its label set
 * to a `HistogramSeries` once (per route, method and status class) and each observation is a
 * bucket search and two additions, with no allocation. Rendered in the text exposition format
 * next to the prom-client registry's output.
 */

export class HistogramSeries {
  /** Per-bucket counts (not cumulative); the last slot is +Inf. */
  readonly counts: Float64Array;
  /** Rendered label pairs, e.g. `method="GET",route="/"`. */
  readonly labels: string;
  readonly #bounds: readonly number[];
  sum = 0;
  count = 0;

  constructor(labels: string, bounds: readonly number[]) {
    this.labels = labels;
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const b = this.#bounds;
    let i = 0;
    while (i < b.length && value > (b[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count++;
  }
}

/** Escapes a label value as the text format requires (backslash, double quote, newline). */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export class LabelledHistogram {
  readonly #series = new Map<string, HistogramSeries>();
  readonly #bounds: readonly number[];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    buckets: readonly number[],
  ) {
    this.#bounds = [...buckets].sort((a, b) => a - b);
  }

  /** The series of these label values (same order as `labelNames`); callers cache it. */
  series(values: readonly string[]): HistogramSeries {
    if (values.length !== this.labelNames.length) {
      throw new Error(`${this.name} takes ${this.labelNames.length} label values (${this.labelNames.join(', ')}), got ${values.length}`);
    }
    const labels = this.labelNames.map((n, i) => `${n}="${escapeLabelValue(values[i] as string)}"`).join(',');
    let s = this.#series.get(labels);
    if (!s) {
      s = new HistogramSeries(labels, this.#bounds);
      this.#series.set(labels, s);
    }
    return s;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${this.name} histogram`];
    for (const s of this.#series.values()) {
      if (s.count === 0) continue; // a series resolved but never observed
      const sep = s.labels === '' ? '' : ',';
      let acc = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        acc += s.counts[i] as number;
        lines.push(`${this.name}_bucket{${s.labels}${sep}le="${this.#bounds[i] as number}"} ${acc}`);
      }
      lines.push(`${this.name}_bucket{${s.labels}${sep}le="+Inf"} ${s.count}`);
      const braces = s.labels === '' ? '' : `{${s.labels}}`;
      lines.push(`${this.name}_sum${braces} ${s.sum}`, `${this.name}_count${braces} ${s.count}`);
    }
    return lines.join('\n') + '\n';
  }
}
