/**
 * The home page: one page of workflows (newest first) with state, progress, published flow
 * colour and last change, live. Paging, the search box and the state filter are the server's
 * (GET /_flowd/workflows: size, after, query, state); the page follows its stream, which sends
 * the page once and then only the rows that changed, so an update replaces just those rows.
 */
import type { OverviewUpdate, ProvisionState, WorkflowListOptions, WorkflowOverviewRow } from '@flowd/client';
import { failure, flowd, follow } from './api.js';
import { badge, fill, h } from './dom.js';
import { ago, dateTime } from './format.js';

const PAGE_SIZE = 50;
const STATES: readonly ProvisionState[] = ['NOT_STARTED', 'PROVISIONING', 'COMPLETED', 'FAILED'];
/** Typing in the search box asks the server once the typing pauses. */
const SEARCH_DEBOUNCE_MS = 250;

function progressCell(w: WorkflowOverviewRow): HTMLElement {
  const pct = w.steps_total === 0 ? (w.state === 'COMPLETED' ? 100 : 0) : Math.round((100 * w.steps_completed) / w.steps_total);
  const bar = h('span', { class: 'bar-fill', 'data-state': w.state });
  bar.style.width = `${pct}%`;
  return h(
    'div',
    { class: 'progress-cell' },
    h('span', { class: 'bar', role: 'progressbar', 'aria-valuenow': pct, 'aria-valuemin': 0, 'aria-valuemax': 100 }, bar),
    h('span', { class: 'muted small' }, `${w.steps_completed}/${w.steps_total} · ${w.provisioning_progress.replace(/_/g, ' ')}`),
  );
}

function row(w: WorkflowOverviewRow): HTMLTableRowElement {
  const open = (): void => {
    location.hash = `#/workflows/${encodeURIComponent(w.workflow_id)}`;
  };
  return h(
    'tr',
    { class: 'clickable', 'data-testid': `workflow-row-${w.workflow_id}`, 'data-state': w.state, onclick: open },
    h(
      'td',
      {},
      h('a', { href: `#/workflows/${encodeURIComponent(w.workflow_id)}`, class: 'strong' }, w.name),
      w.description ? h('div', { class: 'muted small clip' }, w.description) : null,
    ),
    h('td', {}, h('code', {}, w.workflow_id)),
    h('td', {}, badge(w.state), w.error ? h('div', { class: 'error-text small clip', title: w.error }, w.error) : null),
    h('td', {}, progressCell(w)),
    h('td', {}, w.runtime_status ? badge(w.runtime_status) : h('span', { class: 'muted' }, '—')),
    h('td', { title: dateTime(w.last_change), 'data-ago': w.last_change }, ago(w.last_change)),
  );
}

export function workflowList(root: HTMLElement): () => void {
  document.title = 'flowd · workflows';
  const body = h('tbody', {});
  const message = h('p', { class: 'muted', 'data-testid': 'list-message' }, 'Loading…');
  const search = h('input', {
    type: 'search',
    class: 'search',
    placeholder: 'Search name, description or id',
    'aria-label': 'Search workflows',
    'data-testid': 'list-search',
  });
  const stateFilter = h(
    'select',
    { class: 'state-filter', 'aria-label': 'State', 'data-testid': 'list-state' },
    h('option', { value: '' }, 'All states'),
    ...STATES.map((s) => h('option', { value: s }, s.replace(/_/g, ' '))),
  );
  const newer = h('button', { type: 'button', 'data-testid': 'list-newer', disabled: true }, '← Newer');
  const older = h('button', { type: 'button', 'data-testid': 'list-older', disabled: true }, 'Older →');
  const pageInfo = h('span', { class: 'muted small', 'data-testid': 'list-page' }, '');
  const table = h(
    'table',
    { class: 'table', 'data-testid': 'workflow-list' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'Name'),
        h('th', {}, 'ID'),
        h('th', {}, 'State'),
        h('th', {}, 'Provisioning'),
        h('th', {}, 'Flow'),
        h('th', {}, 'Last change'),
      ),
    ),
    body,
  );
  fill(
    root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Workflows')),
    h(
      'section',
      { class: 'card' },
      h('div', { class: 'list-tools' }, search, stateFilter, h('span', { class: 'spacer' }), pageInfo, newer, older),
      table,
      message,
    ),
  );

  /** The `after` of every page before this one (the first page's is undefined). */
  const afters: Array<string | undefined> = [undefined];
  let next: string | undefined;
  let rows: WorkflowOverviewRow[] = [];
  /** The row element of each shown workflow, so a change replaces that row only. */
  const shown = new Map<string, HTMLTableRowElement>();

  const options = (): WorkflowListOptions => {
    const o: WorkflowListOptions = { size: PAGE_SIZE };
    const after = afters[afters.length - 1];
    if (after !== undefined) o.after = after;
    const q = search.value.trim();
    if (q !== '') o.query = q;
    if (stateFilter.value !== '') o.state = stateFilter.value as ProvisionState;
    return o;
  };

  const showMeta = (): void => {
    const filtered = search.value.trim() !== '' || stateFilter.value !== '';
    message.textContent =
      rows.length > 0
        ? ''
        : filtered || afters.length > 1
          ? 'No workflows match.'
          : 'No workflows yet: create one with POST /_plugins/_flow_framework/workflow (see the README).';
    pageInfo.textContent = rows.length > 0 ? `page ${afters.length} · ${rows.length} shown` : '';
    newer.disabled = afters.length <= 1;
    older.disabled = next === undefined;
  };

  /** A new page: every row drawn afresh. */
  const showPage = (list: WorkflowOverviewRow[], nextAfter: string | undefined): void => {
    rows = list;
    next = nextAfter;
    shown.clear();
    for (const w of list) shown.set(w.workflow_id, row(w));
    fill(body, ...list.map((w) => shown.get(w.workflow_id)));
    showMeta();
  };

  /** Changes to the page: changed rows replaced, rows that left removed, new ones put in place; the rest untouched. */
  const applyChanges = (list: WorkflowOverviewRow[], update: OverviewUpdate): void => {
    if (update.type === 'page') {
      showPage(list, update.page.next);
      return;
    }
    const { changes } = update;
    for (const id of changes.removed) {
      shown.get(id)?.remove();
      shown.delete(id);
    }
    for (const w of changes.workflows) {
      const el = row(w);
      shown.get(w.workflow_id)?.replaceWith(el);
      shown.set(w.workflow_id, el);
    }
    // Place new rows (and any the server reordered) where the page has them; rows already in place are not moved.
    list.forEach((w, i) => {
      const el = shown.get(w.workflow_id);
      if (el && body.children[i] !== el) body.insertBefore(el, body.children[i] ?? null);
    });
    rows = list;
    next = changes.next;
    showMeta();
  };

  let stop = (): void => undefined;
  let disposed = false;
  let generation = 0;
  /** (Re)opens the current page: one plain call, then its stream. */
  const open = (): void => {
    stop();
    const mine = ++generation;
    const opts = options();
    // One plain call first: it meets the basic-auth prompt alone, and an error (403, 5xx) is
    // shown instead of "Loading…" forever; the stream starts once the browser holds credentials.
    void flowd
      .workflowOverviewPage(opts)
      .then(
        (page) => {
          if (!disposed && mine === generation) showPage(page.workflows, page.next);
        },
        (e: unknown) => {
          if (mine === generation) message.textContent = `Could not list the workflows: ${failure(e)}`;
        },
      )
      .then(() => {
        if (disposed || mine !== generation) return;
        stop = follow({
          stream: (signal, live) =>
            flowd.watchWorkflowOverview(
              (list, update) => {
                live();
                if (mine === generation) applyChanges(list, update);
              },
              signal,
              opts,
            ),
          poll: {
            read: async () => {
              const page = await flowd.workflowOverviewPage(opts);
              if (mine === generation) showPage(page.workflows, page.next);
            },
            everyMs: 2000,
          },
        });
      });
  };

  let typing: ReturnType<typeof setTimeout> | undefined;
  const restart = (): void => {
    afters.length = 1;
    open();
  };
  search.addEventListener('input', () => {
    if (typing) clearTimeout(typing);
    typing = setTimeout(restart, SEARCH_DEBOUNCE_MS);
  });
  stateFilter.addEventListener('change', restart);
  older.addEventListener('click', () => {
    if (next === undefined) return;
    afters.push(next);
    open();
  });
  newer.addEventListener('click', () => {
    if (afters.length <= 1) return;
    afters.pop();
    open();
  });
  open();

  // "12 s ago" ages even when nothing changes: only the text that changed is rewritten.
  const tick = setInterval(() => {
    for (const cell of body.querySelectorAll<HTMLElement>('td[data-ago]')) {
      const text = ago(Number(cell.dataset['ago']));
      if (cell.textContent !== text) cell.textContent = text;
    }
  }, 10_000);
  return () => {
    disposed = true;
    generation++;
    stop();
    clearInterval(tick);
    if (typing) clearTimeout(typing);
  };
}
