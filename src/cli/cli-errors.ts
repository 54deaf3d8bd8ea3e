/**
 * How the CLI fails: one line saying what went wrong (the server's own message when it sent
 * one) and one saying what to do, on stderr, never a stack trace. Exit code 1, or 2 for a
 * command used the wrong way.
 */
import { FlowdClientError } from '@flowd/client';

/** The command line itself is wrong (missing input, bad flag value): exit 2. */
export class UsageError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'UsageError';
    this.hint = hint;
  }
}

/** The command ran and did not succeed (a failed run, a task that ended in ERROR): exit 1. */
export class CliFailure extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number;
  constructor(message: string, hint?: string, exitCode = 1) {
    super(message);
    this.name = 'CliFailure';
    this.hint = hint;
    this.exitCode = exitCode;
  }
}

export interface ErrorContext {
  url: string;
  user: string;
  passwordGiven: boolean;
  apiKeyGiven: boolean;
}

export interface Explained {
  message: string;
  hint?: string;
  exitCode: number;
}

export function explainError(e: unknown, ctx: ErrorContext): Explained {
  if (e instanceof UsageError) return { message: e.message, ...(e.hint ? { hint: e.hint } : {}), exitCode: 2 };
  if (e instanceof CliFailure) return { message: e.message, ...(e.hint ? { hint: e.hint } : {}), exitCode: e.exitCode };
  if (e instanceof FlowdClientError) return explainClientError(e, ctx);
  if (e instanceof TypeError && e.message.startsWith('Invalid flowd URL'))
    return { message: e.message, hint: 'set --url or FLOWD_URL', exitCode: 2 };
  // Anything else (a configuration error of `serve`, …) already says what is wrong; FLOWD_DEBUG=1 adds the stack.
  return { message: e instanceof Error ? e.message : String(e), exitCode: 1 };
}

function explainClientError(e: FlowdClientError, ctx: ErrorContext): Explained {
  const runtime = e.api === 'runtime';
  const fail = (message: string, hint?: string, exitCode = 1): Explained => ({ message, ...(hint ? { hint } : {}), exitCode });
  if (e.kind === 'connection') {
    return fail(e.message, `is flowd running at ${ctx.url}? Start it with npx flowd serve, or point --url / FLOWD_URL at it.`);
  }
  if (e.kind === 'missing_credentials') {
    return fail(
      'this command calls the runtime API, which needs an API key',
      'pass --api-key or set FLOWD_API_KEY (create a key with flowd keys create --name <name> --workflow <id>)',
      2,
    );
  }
  if (e.kind === 'bad_response') return fail(e.message, `is ${ctx.url} a flowd node? Check --url / FLOWD_URL.`);
  if (e.kind === 'auth') {
    // The server ended a watch because its credential was revoked; the watched run goes on.
    return fail(
      e.message,
      runtime
        ? 'watch again with a valid key: pass --api-key or set FLOWD_API_KEY (create one with flowd keys create --name <name> --workflow <id>)'
        : 'watch again with a valid login: check --user/--password or FLOWD_USER/FLOWD_PASSWORD',
    );
  }
  switch (e.status) {
    case 401:
      if (runtime)
        return fail(
          e.message,
          ctx.apiKeyGiven
            ? 'check --api-key or FLOWD_API_KEY: the key is unknown, revoked or rotated'
            : 'pass --api-key or set FLOWD_API_KEY',
        );
      return fail(
        e.message,
        ctx.passwordGiven
          ? 'check --user/--password or FLOWD_USER/FLOWD_PASSWORD'
          : 'no password given: pass --password or set FLOWD_PASSWORD (npm start writes the admin password to .flowd-data/admin-password)',
      );
    case 403:
      if (runtime)
        return fail(
          e.message,
          'this API key is not linked to that workflow: create one with flowd keys create --name <name> --workflow <id>',
        );
      return fail(e.message, `user ${ctx.user} lacks the permission: use an admin, or a user with the flow_framework_full_access role`);
    case 404:
      if (runtime && e.body === undefined)
        return fail('that workflow has no published flow', 'provision a template that has a flow section, then try again');
      if (runtime) return fail(e.message, 'check the workflow and task ids (flowd task list <id> shows the tasks)');
      return fail(e.message, 'check the id; flowd list shows the workflows');
    case 500:
      return fail(e.message, 'the details are in the flowd log');
    default:
      return fail(e.message);
  }
}

/** Prints the explanation on stderr and returns the exit code. */
export function reportError(e: unknown, ctx: ErrorContext, stderr: NodeJS.WritableStream = process.stderr): number {
  const x = explainError(e, ctx);
  stderr.write(`flowd: ${x.message}\n`);
  if (x.hint) stderr.write(`  hint: ${x.hint}\n`);
  if (process.env['FLOWD_DEBUG'] && e instanceof Error && e.stack) stderr.write(`${e.stack}\n`);
  return x.exitCode;
}
