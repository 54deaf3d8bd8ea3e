/**
 * One watcher's page of the dashboard's workflow list, kept current from change events: the
 * stream sends the page once, then only what changed in it (rows whose content changed, rows
 * that entered it, ids that left it) instead of the list again. Events name workflows; only
 * those are re-read, in one bounded store call. A row leaving a full page is replaced by the
 * next one after it, so the page stays full; a row entering a full page pushes its last row out.
 * Too many changes at once, or the periodic resync, re-read the page itself (still bounded)
 * and send the difference.
 */
import type { WorkflowPageCursor } from '../../store/store.js';
import type { OverviewPage, OverviewQuery, OverviewReader, WorkflowSummary } from './workflow-overview.js';
import { cursorOf, encodeCursor } from './workflow-overview.js';

/** What changed in the page since the last event; `next` is the page's cursor now. */
export interface OverviewChanges {
  workflows: WorkflowSummary[];
  removed: string[];
  next?: string;
}

/** More changed workflows than this in one batch: re-read the page instead of each of them. */
const MAX_DIRTY = 1000;

export class OverviewWindow {
  readonly #reader: OverviewReader;
  readonly #q: OverviewQuery;
  /** The page as the watcher holds it, in page order. */
  #rows: WorkflowSummary[] = [];
  /** What the watcher was last sent of each row (JSON), so an unchanged row is not sent again. */
  readonly #sent = new Map<string, string>();
  #next: string | undefined;
  readonly #dirty = new Set<string>();
  #resync = false;

  constructor(reader: OverviewReader, q: OverviewQuery) {
    this.#reader = reader;
    this.#q = q;
  }

  /** A workflow changed (created, updated, deleted, its state or runtime status changed). */
  markDirty(id: string): void {
    this.#dirty.add(id);
  }

  /** Re-read the whole page at the next update (a safety net for changes nobody announced). */
  markResync(): void {
    this.#resync = true;
  }

  /** Reads the page the stream starts with. */
  async load(): Promise<OverviewPage> {
    this.#dirty.clear();
    this.#resync = false;
    const page = await this.#reader.page(this.#q);
    this.#rows = page.workflows;
    this.#next = page.next;
    this.#sent.clear();
    for (const w of page.workflows) this.#sent.set(w.workflow_id, JSON.stringify(w));
    return page;
  }

  /** What changed since the last call; undefined when nothing the watcher sees did. */
  async update(): Promise<OverviewChanges | undefined> {
    const before = { rows: this.#rows.map((w) => w.workflow_id), next: this.#next };
    if (this.#resync || this.#dirty.size > MAX_DIRTY) {
      this.#dirty.clear();
      this.#resync = false;
      const page = await this.#reader.page(this.#q);
      this.#rows = page.workflows;
      this.#next = page.next;
    } else if (this.#dirty.size > 0) {
      await this.#applyDirty();
    }
    return this.#diff(before.rows, before.next);
  }

  async #applyDirty(): Promise<void> {
    const ids = [...this.#dirty];
    this.#dirty.clear();
    const found = new Map((await this.#reader.rows(ids, this.#q)).map((w) => [w.workflow_id, w]));
    let removed = false;
    for (const id of ids) {
      const row = found.get(id);
      const at = this.#rows.findIndex((w) => w.workflow_id === id);
      if (row && at >= 0) this.#rows[at] = row;
      else if (row && this.#belongs(row)) this.#insert(row);
      else if (!row && at >= 0) {
        this.#rows.splice(at, 1);
        removed = true;
      }
    }
    if (this.#rows.length > this.#q.size) {
      // Rows entered a full page: its last rows now start the next page.
      this.#rows.length = this.#q.size;
      this.#next = this.#cursorAfterLast();
    } else if (removed && this.#next !== undefined) {
      // Rows left a page that had a next one: the rows after its last take their places.
      const last = this.#rows[this.#rows.length - 1];
      const after = last ? cursorOf(last) : this.#q.after;
      const fill = await this.#reader.page({ ...this.#q, ...(after ? { after } : {}), size: this.#q.size - this.#rows.length });
      this.#rows.push(...fill.workflows);
      this.#next = fill.next;
    }
  }

  /** Changed and new rows, and the ids that left, against what the watcher was sent. */
  #diff(oldIds: string[], oldNext: string | undefined): OverviewChanges | undefined {
    const now = new Set(this.#rows.map((w) => w.workflow_id));
    const removed = oldIds.filter((id) => !now.has(id));
    for (const id of removed) this.#sent.delete(id);
    const workflows: WorkflowSummary[] = [];
    for (const w of this.#rows) {
      const text = JSON.stringify(w);
      if (this.#sent.get(w.workflow_id) === text) continue;
      this.#sent.set(w.workflow_id, text);
      workflows.push(w);
    }
    if (workflows.length === 0 && removed.length === 0 && this.#next === oldNext) return undefined;
    return this.#next !== undefined ? { workflows, removed, next: this.#next } : { workflows, removed };
  }

  /** Whether a row not on the page falls within it: after the page's cursor, and before its last row unless it is the last page. */
  #belongs(w: WorkflowSummary): boolean {
    if (this.#q.after && !this.#precedes(this.#q.after, cursorOf(w))) return false;
    const last = this.#rows[this.#rows.length - 1];
    return this.#next === undefined || last === undefined || this.#precedes(cursorOf(w), cursorOf(last));
  }

  #insert(w: WorkflowSummary): void {
    const key = cursorOf(w);
    const at = this.#rows.findIndex((r) => this.#precedes(key, cursorOf(r)));
    if (at < 0) this.#rows.push(w);
    else this.#rows.splice(at, 0, w);
  }

  /** a comes before b in the page's order (newest first, or oldest first with order=asc). */
  #precedes(a: WorkflowPageCursor, b: WorkflowPageCursor): boolean {
    const asc = a.createdAt < b.createdAt || (a.createdAt === b.createdAt && a.id < b.id);
    const same = a.createdAt === b.createdAt && a.id === b.id;
    return this.#q.order === 'asc' ? asc : !asc && !same;
  }

  #cursorAfterLast(): string | undefined {
    const last = this.#rows[this.#rows.length - 1];
    return last ? encodeCursor(cursorOf(last)) : undefined;
  }
}
