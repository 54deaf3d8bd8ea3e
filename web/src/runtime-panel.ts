/**
 * The published flow: its blocks as a graph coloured by each service's colour, the services
 * (desired and ready instances, rollout, replicas) and the colour legend. Fed by the runtime
 * status stream; before publication every block reads UNPUBLISHED.
 */
import { badge, fill, h } from './dom.js';
import { dateTime } from './format.js';
import { flowGraph } from './graph-model.js';
import { renderGraph } from './graph-view.js';
import type { RuntimeStatus, ServiceStatus } from '@flowd/client';
import type { FlowSection } from './types.js';

export interface RuntimePanel {
  readonly element: HTMLElement;
  update(rt: RuntimeStatus | undefined): void;
}

const LEGEND: Array<[string, string]> = [
  ['GREEN', 'every instance ready'],
  ['YELLOW', 'some instances ready, still serving'],
  ['ORANGE', 'a service has no ready instance (starting, or ASYNC scaled to zero)'],
  ['RED', 'a rollout failed'],
  ['UNPUBLISHED', 'not published: provision the workflow'],
];

function replicas(svc: ServiceStatus): HTMLElement {
  const dots = (svc.replicasDetail ?? []).map((r) =>
    h('span', {
      class: 'replica',
      'data-ready': r.ready,
      title: `${r.name}: ${r.ready ? 'ready' : 'not ready'}, ${r.restarts} restart${r.restarts === 1 ? '' : 's'}, started ${dateTime(Date.parse(r.started_at))}`,
    }),
  );
  return h('span', { class: 'replicas' }, ...dots);
}

function serviceRow(svc: ServiceStatus, async: boolean): HTMLTableRowElement {
  const name = svc.blockId ?? svc.id;
  return h(
    'tr',
    { 'data-testid': `service-${name}`, 'data-state': svc.status },
    h(
      'td',
      {},
      h('span', { class: 'strong' }, name),
      h('div', { class: 'muted small nowrap' }, svc.blockId ? h('code', {}, svc.id) : 'executor'),
    ),
    h(
      'td',
      { class: 'num', 'data-testid': `service-${name}-instances` },
      `${svc.actual} / ${svc.desired}`,
      svc.targetReplicas !== undefined ? h('div', { class: 'muted small' }, `target ${svc.targetReplicas}`) : null,
    ),
    h('td', {}, badge(svc.status)),
    h('td', { title: svc.rolloutStatusReason ?? '' }, svc.rolloutStatus),
    h('td', {}, replicas(svc)),
    async ? h('td', { class: 'num' }, `${svc.queueDepth ?? 0} / ${svc.inFlight ?? 0}`) : null,
  );
}

export function runtimePanel(flow: FlowSection): RuntimePanel {
  const model = flowGraph(flow);
  const graph = renderGraph(model, { testIdPrefix: 'block-node', initialState: 'UNPUBLISHED', label: 'published flow' });
  const overall = h('span', {}, badge('UNPUBLISHED', 'runtime-status'));
  const summary = h('p', { class: 'muted small' }, 'Not published yet: provisioning publishes the flow in its last step, publish_flow.');
  const isAsync = flow.mode === 'ASYNC';
  const head = h(
    'tr',
    {},
    h('th', {}, 'Service'),
    h('th', { class: 'num', title: 'ready instances / desired instances' }, 'Ready'),
    h('th', {}, 'Colour'),
    h('th', {}, 'Rollout'),
    h('th', {}, 'Replicas'),
    isAsync ? h('th', { class: 'num', title: 'inputs queued / in flight' }, 'Queue') : null,
  );
  const body = h('tbody', {});
  const legend = h(
    'ul',
    { class: 'legend', 'data-testid': 'legend' },
    ...LEGEND.map(([c, text]) => h('li', {}, h('span', { class: 'swatch', 'data-state': c }), h('b', {}, c), ` ${text}`)),
  );
  const element = h(
    'section',
    { class: 'card', 'data-testid': 'runtime-panel' },
    h(
      'div',
      { class: 'card-head' },
      h('h2', {}, 'Published flow'),
      h('span', { class: 'muted' }, `${flow.mode ?? 'SYNC'} · ${model.nodes.length} block${model.nodes.length === 1 ? '' : 's'}`),
      overall,
    ),
    summary,
    h(
      'div',
      { class: 'split' },
      h('div', { class: 'graph-box', 'data-testid': 'flow-graph' }, graph.element),
      h(
        'div',
        { class: 'side' },
        h('table', { class: 'table compact', 'data-testid': 'services-table' }, h('thead', {}, head), body),
        legend,
      ),
    ),
  );

  return {
    element,
    update(rt) {
      if (!rt) {
        fill(overall, badge('UNPUBLISHED', 'runtime-status'));
        summary.textContent =
          'Not published: provisioning publishes the flow in its last step, publish_flow; deprovisioning unpublishes it.';
        for (const n of model.nodes) graph.setNode(n.id, 'UNPUBLISHED', `${n.id}: not published`);
        fill(body);
        return;
      }
      fill(overall, badge(rt.actualStatus, 'runtime-status'));
      const version =
        rt.observedVersion === rt.desiredVersion
          ? `version ${rt.observedVersion}`
          : `version ${rt.observedVersion} rolling out to ${rt.desiredVersion}`;
      const tasks = rt.tasks ? ` · tasks: ${rt.tasks.queued} queued, ${rt.tasks.running} running` : '';
      summary.textContent = `${rt.usable ? 'Usable' : 'Not usable'} (${rt.reason}${rt.message ? `: ${rt.message}` : ''}) · ${version} · since ${dateTime(Date.parse(rt.lastTransitionTime))}${tasks}`;
      const byBlock = new Map(rt.details.services.filter((x) => x.blockId !== undefined).map((x) => [x.blockId, x]));
      for (const n of model.nodes) {
        const svc = byBlock.get(n.id);
        if (!svc) graph.setNode(n.id, 'UNPUBLISHED', `${n.id}: no service`);
        else
          graph.setNode(
            n.id,
            svc.status,
            `${n.id}: ${svc.status}, ${svc.actual}/${svc.desired} instances ready, rollout ${svc.rolloutStatus}`,
          );
      }
      fill(body, ...rt.details.services.map((x) => serviceRow(x, isAsync)));
    },
  };
}
