/** The `flowd` command line. Errors print a message and what to do, never a stack trace. */
import { Command } from 'commander';
import { serve } from './serve-command.js';

const program = new Command();
program.name('flowd').description('flowd: a workflow runtime speaking the OpenSearch Flow Framework and NL Flow APIs').version('0.1.0');

program
  .command('serve')
  .description('start a flowd node (embedded SQLite store in --data-dir)')
  .option('-p, --port <port>', 'port to listen on (FLOWD_PORT; default 9200)')
  .option('--host <host>', 'address to bind (FLOWD_HOST; default 127.0.0.1)')
  .option('-d, --data-dir <dir>', 'data directory (FLOWD_DATA_DIR; default ./.flowd-data)')
  .option('-c, --config <file>', 'configuration file, JSON or YAML (FLOWD_CONFIG)')
  .option('--store <url>', 'store URL (FLOWD_STORE_URL); default: SQLite in the data directory')
  .option('--insecure', 'disable authentication (FLOWD_SECURITY=disabled): local experiments only')
  .option('--demo', 'create a demo workflow on first start')
  .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (FLOWD_LOG_LEVEL)')
  .action(serve);

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`flowd: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
