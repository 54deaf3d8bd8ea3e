/**
 * How to start the instance worker. flowd runs three ways and the worker entry sits next to
 * this module in each: from src under tsx (`instance-worker.ts`), from tsc output in
 * dist/runtime/instances/ (`instance-worker.js`), or from the single-file bundle
 * dist/flowd.mjs, beside which the build emits dist/instance-worker.mjs.
 *
 * The .ts entry cannot be handed to `new Worker` directly: on Node 20 the loader hooks that
 * `--import tsx` installs in the worker (workers inherit `process.execArgv`) are not yet
 * active when the worker's entry module loads ("Unknown file extension .ts"). A two-line
 * bootstrap registers tsx inside the worker first, then imports the entry.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { internalError } from '../../errors.js';

export interface WorkerScript {
  /** First argument of `new Worker`: the entry file, or bootstrap code when `eval`. */
  filename: URL | string;
  eval: boolean;
}

const CANDIDATES = ['./instance-worker.ts', './instance-worker.js', './instance-worker.mjs'];

let cached: WorkerScript | undefined;

export function instanceWorkerScript(): WorkerScript {
  if (cached) return cached;
  for (const name of CANDIDATES) {
    const url = new URL(name, import.meta.url);
    if (!existsSync(fileURLToPath(url))) continue;
    if (name.endsWith('.ts')) {
      const tsx = import.meta.resolve('tsx/esm/api');
      const code = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`;
      cached = { filename: code, eval: true };
    } else {
      cached = { filename: url, eval: false };
    }
    return cached;
  }
  const where = fileURLToPath(new URL('.', import.meta.url));
  throw internalError(
    `The service instance worker entry is missing: none of ${CANDIDATES.join(', ')} exists in ${where}. ` +
      'Rebuild flowd (npm run build) so the worker entry is emitted next to the code that starts it.',
    { code: 'instance.worker_missing' },
  );
}
