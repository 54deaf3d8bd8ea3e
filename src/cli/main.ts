/** The `flowd` command line. Errors print a message and what to do, never a stack trace. */
import { Command, CommanderError } from 'commander';
import type { GlobalFlags } from './cli-context.js';
import { addGlobalOptions, errorContextOf } from './cli-context.js';
import { reportError } from './cli-errors.js';
import { registerKeyCommands } from './key-commands.js';
import { registerStoreCommands } from './store-commands.js';
import type { ServeFlags } from './serve-command.js';
import { registerTaskCommands } from './task-commands.js';
import { registerWorkflowCommands } from './workflow-commands.js';
import { FLOWD_VERSION } from '../version.js';

const program = new Command();
program
  .name('flowd')
  .description('flowd: a workflow runtime speaking the OpenSearch Flow Framework and NL Flow APIs')
  .version(FLOWD_VERSION);
// Set before the commands are added so they inherit it: commander throws instead of exiting,
// and the catch below decides the exit code (usage errors: 2).
program.exitOverride();
program.showHelpAfterError('(add --help for usage)');
addGlobalOptions(program);

program
  .command('serve')
  .description('start a flowd node (embedded SQLite store in --data-dir, or PostgreSQL with --store for a cluster)')
  .option('-p, --port <port>', 'port to listen on (FLOWD_PORT; default 9200)')
  .option('--host <host>', 'address to bind (FLOWD_HOST; default 127.0.0.1)')
  .option('-d, --data-dir <dir>', 'data directory (FLOWD_DATA_DIR; default ./.flowd-data)')
  .option('-c, --config <file>', 'configuration file, JSON or YAML (FLOWD_CONFIG)')
  .option('--store <url>', 'store URL (FLOWD_STORE_URL); default: SQLite in the data directory')
  .option('--insecure', 'disable authentication (FLOWD_SECURITY=disabled): local experiments only')
  .option('--demo', 'create a demo workflow on first start')
  .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (FLOWD_LOG_LEVEL)')
  // Loaded on demand: the client commands should not pay for loading the whole server.
  .action(async (flags: ServeFlags) => (await import('./serve-command.js')).serve(flags));

// `flowd list | head -1`: the reader went away, which is no error of ours.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

registerWorkflowCommands(program);
registerTaskCommands(program);
registerKeyCommands(program);
registerStoreCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof CommanderError) {
    // commander already printed the message (or the help / version).
    const ok = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help';
    process.exit(ok && e.exitCode === 0 ? 0 : 2);
  }
  process.exit(reportError(e, errorContextOf(program.opts<GlobalFlags>())));
});
