/** API key commands (admin): create (the key is printed this once), list, revoke, rotate. */
import type { Command } from 'commander';
import type { CreatedApiKey } from '@flowd/client';
import type { CliContext } from './cli-context.js';
import { collectList, contextOf, formatTime, printJson, printLines, table } from './cli-context.js';
import { UsageError } from './cli-errors.js';

function printCreated(ctx: CliContext, k: CreatedApiKey, what: string): void {
  if (ctx.json) {
    printJson(ctx, k);
    return;
  }
  // The key alone on stdout (KEY=$(flowd keys create …)); the rest is for the person.
  ctx.out.write(`${k.key}\n`);
  process.stderr.write(`${what} key ${k.id} (${k.name}) for ${k.workflow_ids.join(', ')}; it is shown only this once, keep it safe\n`);
}

async function create(flags: { name?: string; workflow?: string[] }, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const workflowIds = flags.workflow ?? [];
  if (flags.name === undefined || flags.name.trim() === '')
    throw new UsageError('--name is required', 'e.g. flowd keys create --name billing --workflow <id>');
  if (workflowIds.length === 0)
    throw new UsageError(
      '--workflow is required: the workflows the key may call',
      'e.g. flowd keys create --name billing --workflow <id> --workflow <id2>',
    );
  printCreated(ctx, await ctx.client.createApiKey({ name: flags.name, workflowIds }), 'created');
}

async function list(_flags: unknown, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const keys = await ctx.client.listApiKeys();
  if (ctx.json) {
    printJson(ctx, keys);
    return;
  }
  if (keys.length === 0) {
    ctx.out.write('no API keys; create one with: flowd keys create --name <name> --workflow <id>\n');
    return;
  }
  printLines(
    ctx,
    table(
      ['id', 'name', 'prefix', 'workflows', 'created', 'last used'],
      keys.map((k) => [
        k.id,
        k.name,
        k.prefix,
        k.workflow_ids.join(','),
        formatTime(k.created_at),
        formatTime(k.last_used_at ?? undefined),
      ]),
    ),
  );
}

async function revoke(keyId: string, _flags: unknown, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const r = await ctx.client.revokeApiKey(keyId);
  if (ctx.json) printJson(ctx, r);
  else ctx.out.write(`revoked key ${r.id}\n`);
}

async function rotate(keyId: string, flags: { gracePeriod?: string }, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  printCreated(
    ctx,
    await ctx.client.rotateApiKey(keyId, flags.gracePeriod !== undefined ? { gracePeriod: flags.gracePeriod } : {}),
    'rotated',
  );
}

export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('API keys for the runtime API (admin)');
  keys
    .command('create')
    .description('create a key linked to workflows; prints the key (shown once)')
    .option('--name <name>', 'a name to recognise it by')
    .option('--workflow <ids...>', 'workflow ids the key may call (repeatable, or comma-separated)', collectList)
    .action(create);
  keys.command('list').description('the keys (never their values)').action(list);
  keys
    .command('revoke')
    .description('delete a key: it stops working at once')
    .argument('<keyId>', 'key id (from keys list)')
    .action(revoke);
  keys
    .command('rotate')
    .description('give a key a new value; prints it (shown once)')
    .argument('<keyId>', 'key id')
    .option('--grace-period <time>', 'keep the old value working this long (e.g. 1h)')
    .action(rotate);
}
