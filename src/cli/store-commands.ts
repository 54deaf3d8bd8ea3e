/**
 * Operator commands that talk to the store directly (no server needed): `flowd migrate`
 * applies pending schema migrations (safe while other nodes start: they take the same lock),
 * `flowd doctor` checks the store, its integrity, its schema, the nodes and work nobody is finishing.
 */
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { resolveConfig } from '../config.js';
import type { ConfigInput, ResolvedConfig } from '../config.js';
import { openStore, redactUrl } from '../store/open-store.js';
import { migratePostgres } from '../store/postgres/postgres-store.js';
import type { Store } from '../store/store.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { StoreIntegrity } from '../store/store-integrity.js';

interface StoreFlags {
  store?: string;
  dataDir?: string;
  config?: string;
  json?: boolean;
}

function configOf(flags: StoreFlags): ResolvedConfig {
  const input: ConfigInput = {};
  if (flags.store !== undefined) input.storeUrl = flags.store;
  if (flags.dataDir !== undefined) input.dataDir = flags.dataDir;
  return resolveConfig({ env: process.env, flags: input, ...(flags.config ? { file: flags.config } : {}) });
}

const where = (c: ResolvedConfig): string => (c.storeUrl ? redactUrl(c.storeUrl) : `SQLite in ${c.dataDir}`);
const quiet = (): Logger => pino({ level: 'silent' });

async function migrate(flags: StoreFlags): Promise<void> {
  const c = configOf(flags);
  if (c.storeUrl) {
    const r = await migratePostgres(c.storeUrl);
    console.log(
      r.from === r.to ? `${where(c)}: schema is up to date (version ${r.to}).` : `${where(c)}: migrated from version ${r.from} to ${r.to}.`,
    );
    return;
  }
  const store = await openStore({ dataDir: c.dataDir, logger: quiet() });
  const v = await store.schemaVersion();
  await store.close();
  console.log(`${where(c)}: schema is at version ${v.current}.`);
}

interface Check {
  name: string;
  ok: boolean;
  /** Passes, but something should be changed (shown as `!`, exit code unaffected). */
  warning?: boolean;
  detail: string;
}

const ago = (ms: number): string => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`);

async function doctor(flags: StoreFlags): Promise<void> {
  const c = configOf(flags);
  const checks: Check[] = [];
  let store: Store | undefined;
  const t0 = performance.now();
  try {
    store = await openStore({ storeUrl: c.storeUrl, dataDir: c.dataDir, logger: quiet(), migrate: false });
    // SQLite ran PRAGMA quick_check while opening: a damaged file fails this check.
    const integrity: StoreIntegrity = store.integrity?.() ?? { ok: true };
    const checked =
      store instanceof SqliteStore && store.startupCheck ? `, PRAGMA quick_check found no damage (${store.startupCheck.ms} ms)` : '';
    checks.push({
      name: 'store',
      ok: integrity.ok,
      detail: integrity.ok
        ? `${where(c)} reachable (${Math.round(performance.now() - t0)} ms)${checked}`
        : `${where(c)}: ${integrity.reason ?? 'damaged'}`,
    });
  } catch (e) {
    checks.push({ name: 'store', ok: false, detail: `${where(c)}: ${(e as Error).message}` });
  }
  if (store) {
    try {
      const v = await store.schemaVersion();
      checks.push({
        name: 'schema',
        ok: v.current === v.latest,
        detail:
          v.current === v.latest
            ? `version ${v.current} (current)`
            : `version ${v.current}, this flowd expects ${v.latest}: run flowd migrate`,
      });
      const now = Date.now();
      const nodes = await store.listNodes();
      const alive = nodes.filter((n) => now - n.heartbeatAt <= c.nodeTtlMs);
      const dead = nodes.filter((n) => now - n.heartbeatAt > c.nodeTtlMs);
      const list = (ns: typeof nodes): string =>
        ns.map((n) => `${n.nodeId} (${n.url}, heartbeat ${ago(now - n.heartbeatAt)} ago)`).join(', ');
      const single = !c.storeUrl;
      checks.push({
        name: 'nodes',
        ok: single || alive.length > 0,
        detail: single
          ? 'embedded store: one node, no heartbeats'
          : `${alive.length} alive${alive.length ? `: ${list(alive)}` : ': start one with `flowd serve --store <this URL>`'}${dead.length ? `; ${dead.length} gone: ${list(dead)}` : ''}`,
      });
      const stuck = await store.countStuckWork(now);
      const some = stuck.runs + stuck.tasks > 0;
      checks.push({
        name: 'stuck work',
        ok: !some,
        detail: some
          ? `${stuck.runs} provisioning runs and ${stuck.tasks} tasks hold expired leases${single ? ': start flowd to resume them' : alive.length ? ': a live node takes them over within a few seconds; if this persists, check the logs of the nodes' : ': no node is alive to take them over; start one'}`
          : 'none (no expired leases)',
      });
      // A warning, not a failure: flowd works, but will slow down.
      const warnings = await store.maintenanceWarnings();
      checks.push(
        warnings.length > 0
          ? { name: 'maintenance', ok: true, warning: true, detail: `warning: ${warnings.join('; ')}` }
          : { name: 'maintenance', ok: true, detail: 'nothing to tune' },
      );
    } catch (e) {
      checks.push({ name: 'queries', ok: false, detail: (e as Error).message });
    } finally {
      await store.close();
    }
  }
  if (flags.json) console.log(JSON.stringify({ ok: checks.every((x) => x.ok), checks }, null, 2));
  else for (const x of checks) console.log(`${x.ok ? (x.warning === true ? '!' : '✓') : '✗'} ${x.name.padEnd(11)} ${x.detail}`);
  if (!checks.every((x) => x.ok)) process.exitCode = 1;
}

export function registerStoreCommands(program: Command): void {
  const storeOptions = (cmd: Command): Command =>
    cmd
      .option('--store <url>', 'store URL (FLOWD_STORE_URL); default: SQLite in the data directory')
      .option('-d, --data-dir <dir>', 'data directory (FLOWD_DATA_DIR; default ./.flowd-data)')
      .option('-c, --config <file>', 'configuration file, JSON or YAML (FLOWD_CONFIG)');
  storeOptions(program.command('migrate').description('apply pending schema migrations to the store (safe while nodes start)')).action(
    async (flags: StoreFlags) => migrate(flags),
  );
  storeOptions(
    program.command('doctor').description('check the store, its schema, the live nodes and stuck work (--json for a document)'),
  ).action(async (_flags: StoreFlags, cmd: Command) => doctor(cmd.optsWithGlobals<StoreFlags>()));
}
