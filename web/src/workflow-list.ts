/** The home page: every workflow with its state, progress, published flow colour and last change, live. */
import type { WorkflowOverview } from '@flowd/client';
import { failure, flowd, follow } from './api.js';
import { badge, fill, h } from './dom.js';
import { ago, dateTime } from './format.js';

function progressCell(w: WorkflowOverview): HTMLElement {
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

function row(w: WorkflowOverview): HTMLTableRowElement {
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
    h('td', { title: dateTime(w.last_change) }, ago(w.last_change)),
  );
}

export function workflowList(root: HTMLElement): () => void {
  document.title = 'flowd · workflows';
  const body = h('tbody', {});
  const message = h('p', { class: 'muted' }, 'Loading…');
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
  fill(root, h('div', { class: 'page-head' }, h('h1', {}, 'Workflows')), h('section', { class: 'card' }, table, message));
  let rows: WorkflowOverview[] = [];
  const render = (): void => {
    fill(body, ...rows.map(row));
    message.textContent =
      rows.length === 0 ? 'No workflows yet: create one with POST /_plugins/_flow_framework/workflow (see the README).' : '';
  };
  const show = (list: WorkflowOverview[]): void => {
    rows = list;
    render();
  };
  let stop = (): void => undefined;
  let disposed = false;
  // One plain call first: it meets the basic-auth prompt alone, and an error (403, 5xx) is
  // shown instead of "Loading…" forever; the stream starts once the browser holds credentials.
  void flowd
    .workflowOverview()
    .then(
      (list) => {
        if (!disposed) show(list);
      },
      (e: unknown) => {
        message.textContent = `Could not list the workflows: ${failure(e)}`;
      },
    )
    .then(() => {
      if (disposed) return;
      stop = follow({
        stream: (signal, live) =>
          flowd.watchWorkflowOverview((list) => {
            live();
            show(list);
          }, signal),
        poll: { read: async () => show(await flowd.workflowOverview()), everyMs: 2000 },
      });
    });
  // "12 s ago" ages even when nothing changes.
  const tick = setInterval(render, 10_000);
  return () => {
    disposed = true;
    stop();
    clearInterval(tick);
  };
}
