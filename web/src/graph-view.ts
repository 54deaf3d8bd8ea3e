/**
 * Draws a graph as SVG, laid out by dagre (left to right). Layout happens once; state changes
 * only rewrite each node's `data-state` (CSS colours by it) and tooltip, so live updates are
 * cheap and nodes never jump around.
 */
import { Graph, layout } from '@dagrejs/dagre';
import type { EdgeLabel, GraphLabel, NodeLabel } from '@dagrejs/dagre';
import { s } from './dom.js';
import type { GraphModel } from './graph-model.js';

export interface GraphView {
  readonly element: SVGSVGElement;
  has(id: string): boolean;
  /** Sets a node's state (its colour) and tooltip; `flag` adds a CSS class such as `failing`. */
  setNode(id: string, state: string, tooltip: string, flag?: string): void;
}

const NODE_HEIGHT = 46;
const PAD_LEFT = 28;

/** A width that fits the labels (the font is fixed by CSS: 13px title, 11px subtitle). */
function widthFor(title: string, subtitle: string): number {
  return Math.max(120, Math.ceil(PAD_LEFT + 14 + Math.max(title.length * 7.6, subtitle.length * 6.3)));
}

/** A smooth path through dagre's edge points (Catmull-Rom as cubic Béziers). */
function pathThrough(points: Array<{ x: number; y: number }>): string {
  const p = points;
  if (p.length === 0) return '';
  let d = `M${p[0]?.x ?? 0},${p[0]?.y ?? 0}`;
  for (let i = 0; i < p.length - 1; i++) {
    const p0 = p[i - 1] ?? p[i];
    const p1 = p[i];
    const p2 = p[i + 1];
    const p3 = p[i + 2] ?? p2;
    if (!p0 || !p1 || !p2 || !p3) continue;
    const c1 = { x: p1.x + (p2.x - p0.x) / 6, y: p1.y + (p2.y - p0.y) / 6 };
    const c2 = { x: p2.x - (p3.x - p1.x) / 6, y: p2.y - (p3.y - p1.y) / 6 };
    d += ` C${c1.x.toFixed(1)},${c1.y.toFixed(1)} ${c2.x.toFixed(1)},${c2.y.toFixed(1)} ${p2.x.toFixed(1)},${p2.y.toFixed(1)}`;
  }
  return d;
}

let markerSeq = 0;

export function renderGraph(model: GraphModel, opts: { testIdPrefix: string; initialState: string; label: string }): GraphView {
  const g = new Graph<GraphLabel, NodeLabel, EdgeLabel>();
  g.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 56, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of model.nodes) g.setNode(n.id, { width: widthFor(n.title, n.subtitle), height: NODE_HEIGHT });
  for (const e of model.edges) g.setEdge(e.source, e.dest);
  layout(g);
  const box = g.graph();
  const width = Math.max(1, Math.ceil(box.width ?? 1));
  const height = Math.max(1, Math.ceil(box.height ?? 1));
  const marker = `arrow-${++markerSeq}`;
  const svg = s('svg', { class: 'graph', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': opts.label });
  svg.append(
    s(
      'defs',
      {},
      s(
        'marker',
        { id: marker, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
        s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }),
      ),
    ),
  );
  for (const e of model.edges) {
    const points = g.edge(e.source, e.dest)?.points ?? [];
    svg.append(
      s('path', {
        class: e.inferred ? 'edge inferred' : 'edge',
        d: pathThrough(points),
        'marker-end': `url(#${marker})`,
        'data-edge': `${e.source}->${e.dest}`,
      }),
    );
  }
  const groups = new Map<string, { g: SVGGElement; title: SVGTitleElement }>();
  for (const n of model.nodes) {
    const lab = g.node(n.id);
    const w = lab.width;
    const x = (lab.x ?? 0) - w / 2;
    const y = (lab.y ?? 0) - NODE_HEIGHT / 2;
    const title = s('title', {}, n.id);
    const group = s(
      'g',
      {
        class: 'gnode',
        transform: `translate(${x.toFixed(1)},${y.toFixed(1)})`,
        'data-testid': `${opts.testIdPrefix}-${n.id}`,
        'data-node-id': n.id,
        'data-state': opts.initialState,
      },
      title,
      s('rect', { class: 'gbox', width: w, height: NODE_HEIGHT, rx: 9 }),
      s('circle', { class: 'gdot', cx: 15, cy: NODE_HEIGHT / 2, r: 5.5 }),
      s('text', { class: 'gtitle', x: PAD_LEFT, y: 20 }, n.title),
      s('text', { class: 'gsub', x: PAD_LEFT, y: 35 }, n.subtitle),
    );
    groups.set(n.id, { g: group, title });
    svg.append(group);
  }
  return {
    element: svg,
    has: (id) => groups.has(id),
    setNode(id, state, tooltip, flag) {
      const n = groups.get(id);
      if (!n) return;
      if (n.g.getAttribute('data-state') !== state) n.g.setAttribute('data-state', state);
      n.g.setAttribute('class', flag ? `gnode ${flag}` : 'gnode');
      n.title.textContent = tooltip;
    },
  };
}
