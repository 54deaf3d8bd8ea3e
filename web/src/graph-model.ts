/**
 * The graphs the page draws, built from the template as the engine reads it: the provision DAG
 * (its nodes and edges, the edges a `${{ node.output }}` reference adds, and the `publish_flow`
 * node after every sink when there is a flow) and the flow's blocks and edges.
 */
import type { FlowSection, TemplateDoc } from './types.js';

export interface GraphNode {
  id: string;
  title: string;
  subtitle: string;
}

export interface GraphEdge {
  source: string;
  dest: string;
  /** Added by a `${{ node.output }}` reference rather than written as an edge. */
  inferred: boolean;
}

export interface GraphModel {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** The node provisioning adds to publish the template's flow (engine/flow-section.ts). */
export const PUBLISH_NODE_ID = 'publish_flow';
const PLACEHOLDER = /\$\{\{\s*([A-Za-z0-9_-]+)\.[^\s{}]+?\s*\}\}/g;

/** Node ids named by `${{ node.output }}` placeholders anywhere inside a JSON value. */
function referencedNodes(v: unknown, out: Set<string>): Set<string> {
  if (typeof v === 'string') for (const m of v.matchAll(PLACEHOLDER)) out.add(m[1] ?? '');
  else if (Array.isArray(v)) for (const x of v) referencedNodes(x, out);
  else if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) referencedNodes(x, out);
  return out;
}

export function provisionGraph(t: TemplateDoc): GraphModel {
  const wf = t.workflows?.['provision'];
  const nodes: GraphNode[] = (wf?.nodes ?? []).map((n) => ({ id: n.id, title: n.id, subtitle: n.type }));
  const ids = new Set(nodes.map((n) => n.id));
  const edges: GraphEdge[] = [];
  const seen = new Set<string>();
  const add = (source: string, dest: string, inferred: boolean): void => {
    const key = `${source}\u0000${dest}`;
    if (source === dest || seen.has(key) || !ids.has(source) || !ids.has(dest)) return;
    seen.add(key);
    edges.push({ source, dest, inferred });
  };
  for (const e of wf?.edges ?? []) add(e.source, e.dest, false);
  const sinks = nodes.filter((n) => !edges.some((e) => e.source === n.id)).map((n) => n.id);
  for (const n of wf?.nodes ?? []) for (const ref of referencedNodes(n.user_inputs, new Set())) add(ref, n.id, true);
  if (t.flow !== undefined) {
    const blocks = t.flow.blocks?.length ?? 0;
    nodes.push({
      id: PUBLISH_NODE_ID,
      title: PUBLISH_NODE_ID,
      subtitle: `${t.flow.mode ?? 'SYNC'} flow, ${blocks} block${blocks === 1 ? '' : 's'}`,
    });
    ids.add(PUBLISH_NODE_ID);
    for (const sink of sinks) add(sink, PUBLISH_NODE_ID, false);
    for (const ref of referencedNodes(t.flow, new Set())) add(ref, PUBLISH_NODE_ID, true);
  }
  return { nodes, edges };
}

export function flowGraph(flow: FlowSection): GraphModel {
  const nodes = (flow.blocks ?? []).map((b) => {
    const replicas = b.replicas ?? 1;
    return { id: b.id, title: b.id, subtitle: `${b.type} · ${replicas} replica${replicas === 1 ? '' : 's'}` };
  });
  const ids = new Set(nodes.map((n) => n.id));
  const edges = (flow.edges ?? []).filter((e) => ids.has(e.source) && ids.has(e.dest)).map((e) => ({ ...e, inferred: false }));
  return { nodes, edges };
}
