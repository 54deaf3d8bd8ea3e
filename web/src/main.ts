/** The dashboard's entry: a hash router between the workflow list and one workflow's page. */
import './styles.css';
import { onConnection } from './api.js';
import { workflowList } from './workflow-list.js';
import { workflowPage } from './workflow-page.js';

const app = document.getElementById('app');
const connection = document.getElementById('connection');
if (!app || !connection) throw new Error('index.html must have #app and #connection');

const LABELS = { live: 'live', polling: 'polling', reconnecting: 'reconnecting…', offline: 'offline' } as const;
onConnection((mode) => {
  connection.textContent = LABELS[mode];
  connection.dataset['mode'] = mode;
});

let dispose: () => void = () => undefined;

function route(): void {
  dispose();
  window.scrollTo(0, 0);
  const m = /^#\/workflows\/([^/?]+)/.exec(location.hash);
  dispose = m?.[1] ? workflowPage(app as HTMLElement, decodeURIComponent(m[1])) : workflowList(app as HTMLElement);
}

window.addEventListener('hashchange', route);
route();
