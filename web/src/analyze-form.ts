/** Send a JSON document through the published flow (analyze) and show what came back. */
import type { JsonObject } from '@flowd/client';
import { flowd, refused } from './api.js';
import { fill, h } from './dom.js';
import { duration } from './format.js';
import type { FlowSection } from './types.js';

/** A starting document: the input schema's string fields, or `{"text": …}`. */
function example(flow: FlowSection): string {
  const props = flow.input_schema?.properties;
  const doc: Record<string, string> = {};
  for (const [k, v] of Object.entries(props ?? {}))
    if (v.type === undefined || v.type === 'string') doc[k] = 'Hello from the flowd dashboard';
  return JSON.stringify(Object.keys(doc).length > 0 ? doc : { text: 'Hello from the flowd dashboard' }, null, 2);
}

export function analyzeForm(workflowId: string, flow: FlowSection): HTMLElement {
  const input = h('textarea', {
    class: 'code',
    rows: 6,
    spellcheck: 'false',
    'data-testid': 'analyze-input',
    'aria-label': 'input document (JSON)',
  });
  input.value = example(flow);
  const meta = h('span', { class: 'muted small', 'data-testid': 'analyze-meta' });
  const output = h('pre', { class: 'code output', 'data-testid': 'analyze-output' });
  const send = h('button', { type: 'submit', class: 'primary', 'data-testid': 'analyze-send' }, 'Analyze');
  const form = h(
    'form',
    { class: 'analyze' },
    h('label', { class: 'muted small' }, 'Input document (JSON object)'),
    input,
    h('div', { class: 'row' }, send, meta),
    output,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    let doc: unknown;
    try {
      doc = JSON.parse(input.value);
    } catch (e) {
      output.dataset['status'] = 'invalid';
      fill(output, `Not JSON: ${(e as Error).message}`);
      return;
    }
    send.disabled = true;
    meta.textContent = 'Sending…';
    const t0 = performance.now();
    // Sent as typed, even when it is not an object: the server's answer says what is wrong.
    void flowd
      .analyze(workflowId, doc as JsonObject, { auth: 'basic' })
      .then((out) => {
        output.dataset['status'] = '200';
        meta.textContent = `HTTP 200 in ${duration(performance.now() - t0)}`;
        output.classList.remove('error-text');
        fill(output, JSON.stringify(out, null, 2));
      })
      .catch((e: unknown) => {
        if (refused(e)) {
          output.dataset['status'] = String(e.status);
          meta.textContent = `HTTP ${e.status} in ${duration(performance.now() - t0)}`;
          output.classList.add('error-text');
          fill(output, e.body === undefined ? e.message : `${e.message}\n\n${JSON.stringify(e.body, null, 2)}`);
          return;
        }
        output.dataset['status'] = 'network';
        meta.textContent = '';
        fill(output, `The request failed: ${e instanceof Error ? e.message : String(e)}`);
      })
      .finally(() => {
        send.disabled = false;
      });
  });
  return h(
    'section',
    { class: 'card', 'data-testid': 'analyze-card' },
    h('div', { class: 'card-head' }, h('h2', {}, 'Analyze'), h('span', { class: 'muted' }, 'runs the published flow on one document')),
    form,
  );
}
