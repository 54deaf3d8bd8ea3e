/**
 * Workflow commands over the Flow Framework API: apply (create, optionally provision),
 * provision, deprovision, status, list, get, delete, steps. `--watch` follows the run live.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import type { OnFailure, ProvisionState, WorkflowStatus } from '@flowd/client';
import type { CliContext } from './cli-context.js';
import { collect, collectList, contextOf, formatTime, parseParams, printJson, printLines, table } from './cli-context.js';
import { FlowdClientError } from '@flowd/client';
import { CliFailure, UsageError } from './cli-errors.js';
import { followRun } from './follow-run.js';
import { expectedSteps, WatchView } from './watch-view.js';

interface RunFlags {
  param?: string[];
  watch?: boolean;
  rollback?: boolean;
}

const onFailureOf = (f: RunFlags): OnFailure | undefined => (f.rollback ? 'rollback' : undefined);

function readTemplate(file: string): { text: string; format: 'json' | 'yaml' | undefined } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${file}${code ? ` (${code})` : ''}`, 'give the path of a template file (.json, .yaml or .yml)');
  }
  const ext = extname(file).toLowerCase();
  return { text, format: ext === '.json' ? 'json' : ext === '.yaml' || ext === '.yml' ? 'yaml' : undefined };
}

function note(ctx: CliContext, line: string): void {
  if (!ctx.json) process.stderr.write(`${line}\n`);
}

async function apply(file: string, flags: RunFlags & { provision?: boolean }, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const params = parseParams(flags.param);
  if (!flags.provision && (Object.keys(params).length > 0 || flags.watch || flags.rollback)) {
    throw new UsageError('--param, --watch and --rollback apply to a provisioning run', 'add --provision');
  }
  const { text, format } = readTemplate(file);
  const onFailure = onFailureOf(flags);
  const res = await ctx.client.createWorkflow(text, {
    ...(format ? { format } : {}),
    ...(flags.provision ? { provision: true, params } : {}),
    ...(onFailure ? { onFailure } : {}),
  });
  if (ctx.json) printJson(ctx, res);
  else ctx.out.write(`${res.workflow_id}\n`);
  if (flags.watch) {
    await followRun(ctx, res.workflow_id, { startedRun: true });
    return;
  }
  if (flags.provision) note(ctx, `provisioning started; follow it with: flowd status ${res.workflow_id} --watch`);
  else note(ctx, `created; provision it with: flowd provision ${res.workflow_id}`);
}

async function provision(id: string, flags: RunFlags, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const onFailure = onFailureOf(flags);
  const res = await ctx.client.provision(id, { params: parseParams(flags.param), ...(onFailure ? { onFailure } : {}) });
  if (flags.watch) {
    await followRun(ctx, id, { startedRun: true });
    return;
  }
  if (ctx.json) printJson(ctx, res);
  else ctx.out.write(`provisioning ${res.workflow_id}; follow it with: flowd status ${res.workflow_id} --watch\n`);
}

async function deprovision(id: string, flags: { allowDelete?: string[] }, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const res = await ctx.client.deprovision(id, { allowDelete: flags.allowDelete ?? [] });
  if (ctx.json) printJson(ctx, res);
  else ctx.out.write(`deprovisioned ${res.workflow_id}\n`);
}

function printStatus(ctx: CliContext, s: WorkflowStatus, all: boolean, view: WatchView): void {
  if (all) {
    printLines(ctx, view.frame(s));
    printLines(ctx, [`  started ${formatTime(s.provision_start_time)}  ended ${formatTime(s.provision_end_time)}`]);
  } else printLines(ctx, [`workflow ${s.workflow_id}: ${s.state}`]);
  if (s.error !== undefined) printLines(ctx, [`error: ${s.error}`]);
  printLines(ctx, view.resources(s));
}

async function status(id: string, flags: { all?: boolean; watch?: boolean }, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  if (flags.watch) {
    await followRun(ctx, id, { startedRun: false });
    return;
  }
  const s = await ctx.client.status(id, { all: flags.all === true });
  if (ctx.json) {
    printJson(ctx, s);
    return;
  }
  const expected = flags.all ? expectedSteps(await ctx.client.getWorkflow(id).catch(() => undefined)) : [];
  const view = new WatchView({ workflowId: id, expected, tty: false, color: ctx.color, out: ctx.out });
  printStatus(ctx, s, flags.all === true, view);
}

interface ListFlags {
  size?: string;
  after?: string;
  state?: string[];
  query?: string;
}

const LIST_STATES: readonly ProvisionState[] = ['NOT_STARTED', 'PROVISIONING', 'COMPLETED', 'FAILED'];

/** One page, newest first; the command for the next page goes to stderr, so stdout stays the table (or JSON array). */
async function list(flags: ListFlags, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const size = flags.size === undefined ? undefined : Number(flags.size);
  if (size !== undefined && (!Number.isInteger(size) || size < 1 || size > 1000))
    throw new UsageError('--size must be an integer from 1 to 1000');
  const states = (flags.state ?? []).map((s) => s.toUpperCase());
  const unknown = states.filter((s) => !LIST_STATES.includes(s as ProvisionState));
  if (unknown.length > 0) throw new UsageError(`unknown --state ${unknown.join(', ')} (use ${LIST_STATES.join(', ')})`);
  const page = await ctx.client.listWorkflows({
    ...(size !== undefined ? { size } : {}),
    ...(flags.after !== undefined ? { after: flags.after } : {}),
    ...(states.length > 0 ? { state: states as ProvisionState[] } : {}),
    ...(flags.query !== undefined ? { query: flags.query } : {}),
  });
  const rows = page.workflows;
  if (ctx.json) printJson(ctx, rows);
  else if (rows.length === 0) {
    const filtered = states.length > 0 || flags.query !== undefined || flags.after !== undefined;
    ctx.out.write(filtered ? 'no workflows match\n' : 'no workflows yet; create one with: flowd apply <template.yaml>\n');
  } else {
    printLines(
      ctx,
      table(
        ['id', 'name', 'state', 'last change'],
        rows.map((r) => [r.id, r.name, r.state, formatTime(r.lastChange)]),
      ),
    );
  }
  if (page.next !== undefined) process.stderr.write(`more: flowd list${listFlagsText(flags)} --after ${page.next}\n`);
}

/** The filters of this listing as flags, for the next page's command line. */
function listFlagsText(flags: ListFlags): string {
  const quote = (v: string): string => (/^[\w.,:@/-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);
  let out = '';
  if (flags.size !== undefined) out += ` --size ${flags.size}`;
  if (flags.state && flags.state.length > 0) out += ` --state ${flags.state.join(',')}`;
  if (flags.query !== undefined) out += ` --query ${quote(flags.query)}`;
  return out;
}

async function get(id: string, _flags: unknown, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const t = await ctx.client.getWorkflow(id);
  if (ctx.json) printJson(ctx, t);
  else ctx.out.write(toYaml(t));
}

async function remove(id: string, flags: { clearStatus?: boolean }, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const res = await ctx.client.deleteWorkflow(id, { clearStatus: flags.clearStatus === true });
  if (ctx.json) printJson(ctx, res);
  // A missing id is a 200 `not_found` (Flow Framework's answer); with --clear-status only a status may have been left.
  else if (res.result === 'not_found' && !flags.clearStatus) throw new CliFailure(`no workflow ${id}`, 'flowd list shows the workflows');
  else if (res.result === 'not_found') ctx.out.write(`no template ${id}; its status, if it had one, is deleted\n`);
  else ctx.out.write(`deleted ${id}${flags.clearStatus ? ' and its status' : ''}\n`);
}

async function steps(names: string[], _flags: unknown, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const listing = await ctx.client.steps(names).catch((e: unknown) => {
    if (e instanceof FlowdClientError && e.status === 400)
      throw new CliFailure(`${e.message} (unknown step type among ${names.join(', ')})`, 'flowd steps lists them all');
    throw e;
  });
  if (ctx.json) {
    printJson(ctx, listing);
    return;
  }
  const rows = Object.entries(listing)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, s]) => [name, s.inputs.join(', ') || '-', (s.optional_inputs ?? []).join(', ') || '-', s.outputs.join(', ') || '-']);
  printLines(ctx, table(['step', 'inputs', 'optional inputs', 'outputs'], rows));
}

export function registerWorkflowCommands(program: Command): void {
  program
    .command('apply')
    .description('create a workflow from a template file (JSON or YAML); prints its id')
    .argument('<template>', 'template file (.json, .yaml, .yml)')
    .option('--provision', 'provision it at once')
    .option('--param <name=value>', 'provision parameter (repeatable)', collect)
    .option('--watch', 'follow the provisioning run live; exit non-zero if it fails')
    .option('--rollback', 'on failure, delete what the run created (on_failure=rollback)')
    .action(apply);

  program
    .command('provision')
    .description('provision a workflow')
    .argument('<id>', 'workflow id')
    .option('--param <name=value>', 'provision parameter (repeatable)', collect)
    .option('--watch', 'follow the run live; exit non-zero if it fails')
    .option('--rollback', 'on failure, delete what the run created (on_failure=rollback)')
    .action(provision);

  program
    .command('deprovision')
    .description('remove the resources a workflow created')
    .argument('<id>', 'workflow id')
    .option('--allow-delete <ids>', 'resource ids or types that may be deleted (comma-separated, repeatable)', collectList)
    .action(deprovision);

  program
    .command('status')
    .description("a workflow's provisioning state")
    .argument('<id>', 'workflow id')
    .option('--all', 'steps, progress, times and outputs too')
    .option('--watch', 'follow it live until the run ends')
    .action(status);

  program
    .command('list')
    .description('workflows, newest first, one page at a time: id, name, state')
    .option('--size <n>', 'rows per page (1 to 1000; default 50)')
    .option('--after <cursor>', 'the next page, as printed by the previous one')
    .option('--state <states>', `only these states (comma-separated: ${LIST_STATES.join(', ')})`, collectList)
    .option('--query <text>', 'only workflows whose name or description contains it (or with that id)')
    .action(list);

  program.command('get').description('a workflow template (YAML; JSON with --json)').argument('<id>', 'workflow id').action(get);

  program
    .command('delete')
    .description('delete a workflow template (never its resources: deprovision first)')
    .argument('<id>', 'workflow id')
    .option('--clear-status', 'delete its status too')
    .action(remove);

  program.command('steps').description('the step types: inputs and outputs').argument('[names...]', 'only these step types').action(steps);
}
