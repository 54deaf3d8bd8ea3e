/**
 * The dashboard's types. What the server answers comes from the route schemas, through the
 * client package's generated wire types (packages/client/src/wire-types.ts); what stays here is
 * the page's own: the step state of a node not reached yet, and a typed view of the template's
 * `flow`, which the server keeps as an open document.
 */
import type { StepStatus, Template, WorkflowGraph } from '@flowd/client';

/** NOT_STARTED: a node the current run has not reached (it has no step record). */
export type StepState = StepStatus['state'] | 'NOT_STARTED';
type Edge = WorkflowGraph['edges'][number];

export interface FlowBlock {
  id: string;
  type: string;
  replicas?: number;
}

/** The template's `flow` as the page reads it (the server keeps it as an open document). */
export interface FlowSection {
  mode?: 'SYNC' | 'ASYNC';
  blocks?: FlowBlock[];
  edges?: Edge[];
  input_schema?: { properties?: Record<string, { type?: string }> };
}

/** A template with its flow read as a FlowSection. */
export type TemplateDoc = Omit<Template, 'flow'> & { flow?: FlowSection };
