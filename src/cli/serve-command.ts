/** `flowd serve`: start a node; the first SIGTERM/SIGINT drains and stops, a second forces exit. */
import type { ConfigInput } from '../config.js';
import { resolveConfig } from '../config.js';
import { startFlowd } from '../server/flowd-node.js';

export interface ServeFlags {
  port?: string;
  host?: string;
  dataDir?: string;
  config?: string;
  insecure?: boolean;
  demo?: boolean;
  logLevel?: string;
  store?: string;
}

export async function serve(flags: ServeFlags): Promise<void> {
  const input: ConfigInput = {};
  if (flags.port !== undefined) {
    if (!/^\d+$/.test(flags.port)) throw new Error(`--port must be a number, got "${flags.port}"`);
    input.port = Number(flags.port);
  }
  if (flags.host !== undefined) input.host = flags.host;
  if (flags.dataDir !== undefined) input.dataDir = flags.dataDir;
  if (flags.insecure) input.securityEnabled = false;
  if (flags.demo) input.demo = true;
  if (flags.store !== undefined) input.storeUrl = flags.store;
  if (flags.logLevel !== undefined) input.logLevel = flags.logLevel as ConfigInput['logLevel'];
  const config = resolveConfig({ env: process.env, flags: input, ...(flags.config ? { file: flags.config } : {}) });
  const node = await startFlowd(config);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      node.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    node.logger.info({ signal }, 'shutting down gracefully');
    const force = setTimeout(() => process.exit(1), config.shutdownGraceMs + 10_000);
    force.unref();
    node.close().then(
      () => process.exit(0),
      (e: unknown) => {
        node.logger.error({ err: e }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
