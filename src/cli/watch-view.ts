/**
 * How a provisioning run looks on screen. On a terminal: a block redrawn in place, one line
 * per step (spinner while it runs, ✓ or ✗ and its duration when done, · while pending) and a
 * progress bar. Elsewhere (pipes, CI logs): plain lines appended as things happen, no ANSI
 * codes and no redraws: a line per finished step, the progress when it moves. Both end with
 * the resources created and the outcome.
 */
import type { StepStatus, WorkflowStatus, WorkflowTemplate } from '@flowd/client';
import { formatDuration } from './cli-context.js';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const BAR_WIDTH = 24;
const FRAME_MS = 100;

export interface ExpectedStep {
  id: string;
  type: string;
}

/** The steps a provisioning run of this template goes through, in template order. */
export function expectedSteps(t: WorkflowTemplate | undefined): ExpectedStep[] {
  if (!t) return [];
  const nodes = t.workflows?.['provision']?.nodes ?? [];
  const out = nodes.map((n) => ({ id: n.id, type: n.type }));
  // A template with a flow publishes it in one more step after the provision nodes.
  if (t.flow !== undefined) out.push({ id: 'publish_flow', type: 'publish_flow' });
  return out;
}

export interface ViewOptions {
  workflowId: string;
  expected: ExpectedStep[];
  tty: boolean;
  color: boolean;
  out: NodeJS.WritableStream;
  now?: () => number;
}

type Paint = (s: string) => string;

// eslint-disable-next-line no-control-regex
const visibleLength = (s: string): number => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').length;

function painter(on: boolean, code: number): Paint {
  return on ? (s) => `\x1b[${code}m${s}\x1b[0m` : (s) => s;
}

export interface Progress {
  done: number;
  total: number;
  percent: number;
}

export function progressOf(s: WorkflowStatus, expected: ExpectedStep[]): Progress {
  const steps = s.steps ?? [];
  const ids = new Set([...expected.map((e) => e.id), ...steps.map((x) => x.id)]);
  const total = ids.size;
  const done = steps.filter((x) => x.state === 'COMPLETED').length;
  const percent = s.state === 'COMPLETED' ? 100 : total === 0 ? 0 : Math.min(99, Math.floor((done / total) * 100));
  return { done: s.state === 'COMPLETED' ? total : done, total, percent };
}

export function progressBar(p: Progress, fill: string, empty: string): string {
  const n = Math.round((p.percent / 100) * BAR_WIDTH);
  return `[${fill.repeat(n)}${empty.repeat(BAR_WIDTH - n)}] ${String(p.percent).padStart(3)}% ${p.done}/${p.total} steps`;
}

export function stepDuration(step: StepStatus, now: number): number | undefined {
  if (step.duration_ms !== undefined) return step.duration_ms;
  if (step.start_time !== undefined) return Math.max(0, (step.end_time ?? now) - step.start_time);
  return undefined;
}

export function runDuration(s: WorkflowStatus, now: number): number | undefined {
  if (s.provision_start_time === undefined) return undefined;
  const end = s.provision_end_time ?? (s.state === 'PROVISIONING' ? now : undefined);
  return end === undefined ? undefined : Math.max(0, end - s.provision_start_time);
}

export class WatchView {
  readonly #o: ViewOptions;
  readonly #now: () => number;
  readonly #green: Paint;
  readonly #red: Paint;
  readonly #cyan: Paint;
  readonly #dim: Paint;
  readonly #bold: Paint;
  // TTY state
  #last: WorkflowStatus | undefined;
  #drawn = 0;
  #frame = 0;
  #timer: NodeJS.Timeout | undefined;
  // plain-lines state
  #printedSteps = new Set<string>();
  #lastPercent = -1;
  #lastState = '';

  constructor(o: ViewOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#green = painter(o.color, 32);
    this.#red = painter(o.color, 31);
    this.#cyan = painter(o.color, 36);
    this.#dim = painter(o.color, 2);
    this.#bold = painter(o.color, 1);
  }

  update(s: WorkflowStatus): void {
    if (this.#o.tty) {
      this.#last = s;
      this.#redraw();
      if (!this.#timer && s.state === 'PROVISIONING') {
        this.#timer = setInterval(() => {
          this.#frame++;
          this.#redraw();
        }, FRAME_MS);
        this.#timer.unref();
      }
      return;
    }
    this.#plain(s);
  }

  /** The final picture: last frame (or lines), the resources created, the outcome (with its error unless the caller reports it). */
  finish(s: WorkflowStatus, opts: { withError?: boolean } = {}): void {
    this.stop();
    if (this.#o.tty) {
      this.#last = s;
      this.#redraw();
    } else this.#plain(s);
    this.#write(this.summary(s, opts.withError ?? true));
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The resources and the outcome line(s). */
  summary(s: WorkflowStatus, withError = true): string[] {
    const lines = this.resources(s);
    const d = runDuration(s, this.#now());
    const took = d === undefined ? '' : ` in ${formatDuration(d)}`;
    if (s.state === 'COMPLETED') lines.push(this.#green(this.#bold(`COMPLETED${took}`)));
    else if (s.state === 'FAILED' || s.error !== undefined) {
      const label = s.state === 'NOT_STARTED' ? 'FAILED (rolled back)' : s.state;
      lines.push(this.#red(this.#bold(`${label}${took}`)));
      if (withError && s.error !== undefined) lines.push(this.#red(`error: ${s.error}`));
    } else lines.push(s.state);
    return lines;
  }

  /** `resources created:` and one line per resource (type, id, the step that made it). */
  resources(s: WorkflowStatus): string[] {
    const res = s.resources_created ?? [];
    if (res.length === 0) return s.state === 'COMPLETED' ? ['resources created: none'] : [];
    const w = Math.max(...res.map((r) => r.resource_type.length));
    return [
      'resources created:',
      ...res.map((r) => `  ${r.resource_type.padEnd(w)}  ${r.resource_id}  ${this.#dim(`(${r.workflow_step_id})`)}`),
    ];
  }

  /** The block a terminal shows (also used once, still, by `status --all`). */
  frame(s: WorkflowStatus): string[] {
    const now = this.#now();
    const steps = s.steps ?? [];
    const seen = new Set(steps.map((x) => x.id));
    const pending = this.#o.expected.filter((e) => !seen.has(e.id));
    const idW = Math.max(4, ...steps.map((x) => x.id.length), ...pending.map((e) => e.id.length));
    const typeW = Math.max(4, ...steps.map((x) => x.type.length), ...pending.map((e) => e.type.length));
    const lines = [`${this.#bold(`workflow ${s.workflow_id}`)}  ${this.#stateText(s.state)}`];
    for (const x of steps) {
      const d = stepDuration(x, now);
      const retry = x.attempt > 1 ? ` ${this.#dim(`(attempt ${x.attempt})`)}` : '';
      lines.push(
        `  ${this.#mark(x)} ${x.id.padEnd(idW)}  ${this.#dim(x.type.padEnd(typeW))}  ${d === undefined ? '' : formatDuration(d)}${retry}`.trimEnd(),
      );
      if (x.state === 'FAILED' && x.error !== undefined) lines.push(`      ${this.#red(x.error)}`);
    }
    for (const e of pending) lines.push(this.#dim(`  · ${e.id.padEnd(idW)}  ${e.type}`));
    const p = progressOf(s, this.#o.expected);
    const d = runDuration(s, now);
    lines.push(`  ${progressBar(p, this.#o.tty ? '█' : '#', this.#o.tty ? '░' : '-')}${d === undefined ? '' : `  ${formatDuration(d)}`}`);
    return lines;
  }

  #mark(x: StepStatus): string {
    switch (x.state) {
      case 'COMPLETED':
        return this.#green('✓');
      case 'FAILED':
        return this.#red('✗');
      case 'CANCELED':
        return this.#red('⊘');
      case 'RUNNING':
        return this.#o.tty ? this.#cyan(SPINNER[this.#frame % SPINNER.length] ?? '…') : '…';
      default:
        return '·';
    }
  }

  #stateText(state: string): string {
    if (state === 'COMPLETED') return this.#green(state);
    if (state === 'FAILED') return this.#red(state);
    if (state === 'PROVISIONING') return this.#cyan(state);
    return state;
  }

  #redraw(): void {
    if (!this.#last) return;
    const lines = this.frame(this.#last);
    // Move to the first line of the previous frame and clear downwards, then draw anew.
    const up = this.#drawn > 0 ? `\x1b[${this.#drawn}F\x1b[J` : '';
    this.#o.out.write(`${up}${lines.join('\n')}\n`);
    // A line wider than the terminal wraps onto more rows; count rows, not lines.
    const cols = (this.#o.out as { columns?: number }).columns ?? 0;
    this.#drawn = lines.reduce((n, l) => n + (cols > 0 ? Math.max(1, Math.ceil(visibleLength(l) / cols)) : 1), 0);
  }

  /** Non-TTY: append what changed since the last status. */
  #plain(s: WorkflowStatus): void {
    const lines: string[] = [];
    const first = this.#lastState === '';
    const changed = s.state !== this.#lastState;
    this.#lastState = s.state;
    // The outcome (COMPLETED / FAILED) is the summary's line; other moves get their own.
    if (first || (changed && s.state !== 'COMPLETED' && s.state !== 'FAILED')) lines.push(`workflow ${s.workflow_id}: ${s.state}`);
    const now = this.#now();
    for (const x of s.steps ?? []) {
      if (x.state !== 'COMPLETED' && x.state !== 'FAILED' && x.state !== 'CANCELED') continue;
      const key = `${x.id}@${x.start_time ?? ''}`;
      if (this.#printedSteps.has(key)) continue;
      this.#printedSteps.add(key);
      const d = stepDuration(x, now);
      const retry = x.attempt > 1 ? ` (attempt ${x.attempt})` : '';
      lines.push(`${this.#mark(x)} ${x.id} (${x.type}) ${d === undefined ? '' : formatDuration(d)}${retry}`.trimEnd());
      if (x.state === 'FAILED' && x.error !== undefined) lines.push(`  ${x.error}`);
    }
    const p = progressOf(s, this.#o.expected);
    if (p.percent !== this.#lastPercent && (s.state !== 'NOT_STARTED' || p.done > 0)) {
      this.#lastPercent = p.percent;
      lines.push(progressBar(p, '#', '-'));
    }
    this.#write(lines);
  }

  #write(lines: string[]): void {
    if (lines.length > 0) this.#o.out.write(`${lines.join('\n')}\n`);
  }
}
