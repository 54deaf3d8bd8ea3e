/**
 * One workflow: its provision DAG coloured by step state, the steps with their timings, the
 * resources created, the error with the failing step highlighted, and, when the template has a
 * flow, the published flow's runtime view and the analyze form. Follows `_status?watch=true`
 * and the runtime status stream, so everything updates as provisioning runs.
 */
import { failure, flowd, follow, refused } from './api.js';
import { analyzeForm } from './analyze-form.js';
import { badge, fill, h } from './dom.js';
import { clock, dateTime, duration } from './format.js';
import type { GraphModel } from './graph-model.js';
import { PUBLISH_NODE_ID, provisionGraph } from './graph-model.js';
import type { GraphView } from './graph-view.js';
import { renderGraph } from './graph-view.js';
import { runtimePanel } from './runtime-panel.js';
import type { RuntimeStatus, StepStatus, WorkflowStatus } from '@flowd/client';
import type { StepState, TemplateDoc } from './types.js';

interface NodeRow {
  id: string;
  type: string;
  state: StepState;
  step: StepStatus | undefined;
}

/** Each node's state: its step in the current run, else COMPLETED once the workflow is, else NOT_STARTED. */
function nodeRows(model: GraphModel, st: WorkflowStatus | undefined): NodeRow[] {
  const steps = new Map((st?.steps ?? []).map((x) => [x.id, x]));
  return model.nodes.map((n) => {
    const step = steps.get(n.id);
    const state: StepState = step ? step.state : st?.state === 'COMPLETED' ? 'COMPLETED' : 'NOT_STARTED';
    return { id: n.id, type: n.subtitle, state, step };
  });
}

function stepTime(r: NodeRow, now: number): number | undefined {
  const s = r.step;
  if (!s?.start_time) return undefined;
  return s.duration_ms ?? (s.state === 'RUNNING' ? now - s.start_time : undefined);
}

export function workflowPage(root: HTMLElement, id: string): () => void {
  const disposers: Array<() => void> = [];
  let disposed = false;
  fill(root, h('p', { class: 'muted' }, 'Loading…'));
  // The page reads the template's flow section in more detail than the client types it.
  const getTemplate = async (): Promise<TemplateDoc> => flowd.getWorkflow(id);

  const start = async (): Promise<void> => {
    // Template first (alone, it meets the basic-auth prompt), then the status.
    let template = await getTemplate();
    let status: WorkflowStatus = await flowd.status(id, { all: true });
    if (disposed) return;
    document.title = `flowd · ${template.name}`;

    const stateBadge = h('span', {}, badge(status.state, 'workflow-state'));
    const actionMsg = h('span', { class: 'small', 'data-testid': 'action-message' });
    const provisionBtn = h('button', { class: 'primary', 'data-testid': 'provision-button' }, 'Provision');
    const deprovisionBtn = h('button', { 'data-testid': 'deprovision-button' }, 'Deprovision');
    const act = (label: string, call: () => Promise<unknown>): void => {
      actionMsg.textContent = `${label}…`;
      actionMsg.className = 'small muted';
      void call().then(
        () => {
          actionMsg.textContent = `${label}: accepted`;
          actionMsg.className = 'small muted';
        },
        (e: unknown) => {
          actionMsg.textContent = refused(e) ? `${label} refused: ${e.message}` : `${label} failed: ${failure(e)}`;
          actionMsg.className = 'small error-text';
        },
      );
    };
    provisionBtn.addEventListener('click', () => act('Provision', () => flowd.provision(id)));
    deprovisionBtn.addEventListener('click', () => {
      if (confirm(`Deprovision ${template.name}? Everything it created is deleted.`)) act('Deprovision', () => flowd.deprovision(id));
    });

    const progressFill = h('span', { class: 'bar-fill' });
    const progressText = h('span', { class: 'muted small', 'data-testid': 'progress-text' });
    const errorBox = h('section', { class: 'card error-card', 'data-testid': 'workflow-error', hidden: true });
    const graphBox = h('div', { class: 'graph-box', 'data-testid': 'provision-graph' });
    const stepsBody = h('tbody', {});
    const resourcesBody = h('tbody', {});
    const resourcesNote = h('p', { class: 'muted small' });

    const graphNote = h('span', { class: 'muted' });
    let model: GraphModel = { nodes: [], edges: [] };
    let graph: GraphView | undefined;
    const drawGraph = (t: TemplateDoc): void => {
      model = provisionGraph(t);
      graph = renderGraph(model, { testIdPrefix: 'step-node', initialState: 'NOT_STARTED', label: 'provision graph' });
      fill(graphBox, graph.element);
      const inferred = model.edges.some((e) => e.inferred);
      graphNote.textContent = `${model.nodes.length} step${model.nodes.length === 1 ? '' : 's'}${inferred ? ' · dashed edges come from ${{ node.output }} references' : ''}`;
    };
    drawGraph(template);

    const panel = template.flow ? runtimePanel(template.flow) : undefined;
    fill(
      root,
      h(
        'div',
        { class: 'page-head' },
        h('a', { href: '#/', class: 'back' }, '← Workflows'),
        h(
          'div',
          { class: 'title-row' },
          h('h1', {}, template.name),
          stateBadge,
          h('code', { class: 'muted' }, id),
          h('span', { class: 'spacer' }),
          actionMsg,
          provisionBtn,
          deprovisionBtn,
        ),
        template.description ? h('p', { class: 'muted' }, template.description) : null,
        h('div', { class: 'progress-row' }, h('span', { class: 'bar wide' }, progressFill), progressText),
      ),
      errorBox,
      h(
        'section',
        { class: 'card' },
        h('div', { class: 'card-head' }, h('h2', {}, 'Provisioning'), graphNote),
        h(
          'div',
          { class: 'split' },
          graphBox,
          h(
            'div',
            { class: 'side' },
            h(
              'table',
              { class: 'table compact', 'data-testid': 'steps-table' },
              h(
                'thead',
                {},
                h('tr', {}, h('th', {}, 'Step'), h('th', {}, 'State'), h('th', {}, 'Started'), h('th', { class: 'num' }, 'Time')),
              ),
              stepsBody,
            ),
          ),
        ),
      ),
      panel?.element,
      h(
        'div',
        { class: 'columns' },
        h(
          'section',
          { class: 'card' },
          h('div', { class: 'card-head' }, h('h2', {}, 'Resources created')),
          h(
            'table',
            { class: 'table compact', 'data-testid': 'resources-table' },
            h('thead', {}, h('tr', {}, h('th', {}, 'Step'), h('th', {}, 'Type'), h('th', {}, 'Resource id'))),
            resourcesBody,
          ),
          resourcesNote,
        ),
        template.flow ? analyzeForm(id, template.flow) : null,
      ),
    );

    const renderSteps = (): void => {
      const now = Date.now();
      fill(
        stepsBody,
        ...nodeRows(model, status).map((r) =>
          h(
            'tr',
            { 'data-testid': `step-row-${r.id}`, 'data-state': r.state, class: r.state === 'FAILED' ? 'failing' : undefined },
            h(
              'td',
              {},
              h('span', { class: 'strong' }, r.id),
              ' ',
              h('span', { class: 'muted small' }, r.type),
              r.step?.error ? h('div', { class: 'error-text small clip', title: r.step.error }, r.step.error) : null,
            ),
            h(
              'td',
              {},
              badge(r.state),
              r.step && r.step.attempt > 1 ? h('div', { class: 'muted small' }, `attempt ${r.step.attempt}`) : null,
            ),
            h('td', { class: 'small nowrap' }, clock(r.step?.start_time)),
            h('td', { class: 'num small nowrap' }, duration(stepTime(r, now))),
          ),
        ),
      );
    };

    let shownState = status.state;
    const render = (): void => {
      fill(stateBadge, badge(status.state, 'workflow-state'));
      if (status.state !== shownState && status.state !== 'PROVISIONING' && !actionMsg.classList.contains('error-text'))
        actionMsg.textContent = '';
      shownState = status.state;
      const rows = nodeRows(model, status);
      for (const r of rows) {
        const s = r.step;
        const tip = `${r.id} (${r.type}): ${r.state}${s ? `, attempt ${s.attempt}` : ''}${s?.duration_ms !== undefined ? `, ${duration(s.duration_ms)}` : ''}${s?.error ? `\n${s.error}` : ''}`;
        graph?.setNode(r.id, r.state, tip, r.state === 'FAILED' ? 'failing' : undefined);
      }
      const done = rows.filter((r) => r.state === 'COMPLETED').length;
      progressFill.style.width = `${rows.length === 0 ? 0 : Math.round((100 * done) / rows.length)}%`;
      progressFill.dataset['state'] = status.state;
      const took =
        status.provision_start_time !== undefined && status.provision_end_time !== undefined
          ? ` · took ${duration(status.provision_end_time - status.provision_start_time)}`
          : '';
      progressText.textContent = `${done} of ${rows.length} steps completed${status.provision_start_time ? ` · started ${dateTime(status.provision_start_time)}` : ''}${took}`;
      provisionBtn.disabled = status.state === 'PROVISIONING' || status.state === 'COMPLETED';
      deprovisionBtn.disabled = status.state === 'PROVISIONING' || status.state === 'NOT_STARTED';

      const failing = rows.filter((r) => r.state === 'FAILED').map((r) => r.id);
      errorBox.hidden = status.error === undefined;
      if (status.error !== undefined) {
        errorBox.dataset['step'] = failing.join(',');
        fill(
          errorBox,
          h('h2', {}, failing.length > 0 ? `Failed at step ${failing.join(', ')}` : 'Error'),
          h('pre', { class: 'code error-text' }, status.error),
          ...rows
            .filter((r) => r.step?.error && r.step.error !== status.error)
            .map((r) => h('p', { class: 'small' }, h('b', {}, `${r.id}: `), r.step?.error ?? '')),
        );
      }
      renderSteps();
      const res = status.resources_created ?? [];
      fill(
        resourcesBody,
        ...res.map((x) =>
          h(
            'tr',
            { 'data-testid': `resource-${x.resource_id}` },
            h('td', {}, x.workflow_step_id),
            h('td', {}, x.resource_type),
            h('td', {}, h('code', {}, x.resource_id)),
          ),
        ),
      );
      resourcesNote.textContent = res.length === 0 ? 'Nothing created (yet).' : '';
    };

    let reloading = false;
    const onStatus = (next: WorkflowStatus): void => {
      status = next;
      // A reprovision may bring nodes this page has not drawn: redraw from the new template.
      if (!reloading && (status.steps ?? []).some((x) => graph?.has(x.id) === false && x.id !== PUBLISH_NODE_ID)) {
        reloading = true;
        void getTemplate()
          .then((t) => {
            template = t;
            drawGraph(t);
            render();
          })
          .finally(() => {
            reloading = false;
          });
      }
      render();
    };
    render();
    disposers.push(
      follow({
        stream: (signal, live) =>
          flowd.watchStatus(
            id,
            (e) => {
              live();
              if (e.type === 'status') return onStatus(e.status);
              // Nothing left to follow: stop the streams (and polls) of this page.
              for (const d of disposers) d();
              fill(root, h('p', { class: 'error-text' }, `Workflow ${id} was deleted.`), h('a', { href: '#/' }, '← Workflows'));
            },
            signal,
          ),
        poll: { read: async () => onStatus(await flowd.status(id, { all: true })), everyMs: 1000 },
      }),
    );
    if (panel) {
      const showRuntime = (s: RuntimeStatus | undefined): void => panel.update(s);
      disposers.push(
        follow({
          stream: (signal, live) =>
            flowd.watchRuntimeStatus(
              id,
              (e) => {
                live();
                showRuntime(e.type === 'status' ? e.status : undefined);
              },
              signal,
              { auth: 'basic' },
            ),
          poll: { read: async () => showRuntime(await flowd.runtimeStatus(id, { auth: 'basic' })), everyMs: 1000 },
        }),
      );
    }
    // Running steps' times grow between events.
    const tick = setInterval(() => {
      if (status.state === 'PROVISIONING') renderSteps();
    }, 500);
    disposers.push(() => clearInterval(tick));
  };

  start().catch((e: unknown) => {
    if (disposed) return;
    const msg = refused(e) ? e.message : `Could not load workflow ${id}: ${failure(e)}`;
    fill(root, h('a', { href: '#/', class: 'back' }, '← Workflows'), h('p', { class: 'error-text', 'data-testid': 'page-error' }, msg));
  });
  return () => {
    disposed = true;
    for (const d of disposers) d();
  };
}
