/**
 * `apiary start`: one node — its config resolved from flags, environment and the config file
 * (runtime/config), the admin server, the configured tree or the demo swarm, reloading the
 * config on SIGHUP or a change of its file, and stopping on signals.
 *
 * Owns: turning the command line into a running node and its one ready line (`ws:` is
 * `host:port` for plaintext links, the `wss://` URL with TLS), and refusing, as bad usage, a
 * node that would listen unprotected (runtime/config/build-options.ts says when). The node logs
 * through one logger (`--log-level`, `--log-format`): the ready line (`apiary node NAME ready
 * · …`, grepped by users and tests), notices, the stop, and — through the system's `logger` —
 * what happens in it.
 * Does not own: which values win or what they must be (runtime/config/resolve.ts, schema.ts),
 * what the node runs (the config's tree or examples/demo-swarm.ts, reached by dynamic
 * import), reloading (runtime/config/reload.ts) or how it stops (runtime/node/signals.ts).
 */
import { RealClock } from '../../actors/foundation/clock.js';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import { ActorSystem } from '../node/actor-system.js';
import { stopOnSignals } from '../node/signals.js';
import { startAdminServer, type AdminServer } from '../admin/admin-server.js';
import { createLogger } from '../logging/logger.js';
import { logChannel } from '../observability/alerts.js';
import { planNode } from '../config/build-options.js';
import { ConfigError, displayPath } from '../config/config-error.js';
import { ConfigReloader } from '../config/reload.js';
import { parseStartFlags, resolveConfig, type ResolveInputs, type ResolvedConfig } from '../config/resolve.js';
import { UsageError } from './usage.js';
import { parseStoreSpec } from '../persistence/open-store.js';
import { openNodeTaskQueue } from '../tasks/open-task-store.js';
import type { TaskQueue } from '../tasks/task-queue.js';

/** Resolves the config, or fails as bad usage (exit 2) with one line per bad field. */
export async function resolveForCli(inputs: ResolveInputs): Promise<ResolvedConfig> {
  parseStartFlags(inputs.argv); // an unknown flag or a missing value: bad usage, worded as for every verb
  try {
    return await resolveConfig(inputs);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message, err.issues.length > 1);
    throw err;
  }
}

/** Fields this version accepts and checks but does not act on yet (later issues do). */
const NOT_USED_YET = ['roles', 'region'] as const;

/** The plan for `config`; a node that would listen unprotected is bad usage (exit 2, one line). */
function planOrRefuse(...args: Parameters<typeof planNode>): ReturnType<typeof planNode> {
  try {
    return planNode(...args);
  } catch (err) {
    if (err instanceof ApiaryError && (err.code === ErrorCodes.INSECURE_LISTEN || err.code === ErrorCodes.INSECURE_DIAL)) throw new UsageError(err.message);
    throw err;
  }
}

export async function start(argv: string[]): Promise<void> {
  const inputs: ResolveInputs = { argv, env: process.env, cwd: process.cwd() };
  const resolved = await resolveForCli(inputs);
  const { config, supervisor, file, setup } = resolved;
  const log = createLogger({ node: config.name, level: config.logLevel, format: config.logFormat });
  const clock = new RealClock();
  const alerts = logChannel(log);
  const plan = planOrRefuse(config, clock, alerts);
  const unused = NOT_USED_YET.filter((f) => config[f] !== undefined);
  if (unused.length > 0) log.warn(`accepted but not used by this version yet: ${unused.join(', ')}`, { event: 'not-used-yet', fields: unused });
  for (const notice of plan.notices) log.warn(notice.message, { event: notice.event });
  // no --store: no store (nothing is written to disk unless asked; `--store lmdb` takes the default data directory)
  const store = config.store === undefined ? undefined : parseStoreSpec(config.store, inputs.cwd, config.name);
  const system = new ActorSystem({ ...plan.system, logger: log, ...(store === undefined ? {} : { store }) });
  try {
    await system.ready();
  } catch (err) {
    await system.stop();
    const where = plan.listen === undefined ? '' : ` for --listen ${plan.listen.host}:${plan.listen.port}`;
    throw new Error(`cannot start the node${where}: ${(err as Error).message}`);
  }
  // with a store, the node's durable task queue (GET/POST /tasks, apiary tasks)
  let tasks: TaskQueue | undefined;
  if (system.store !== undefined) {
    try {
      tasks = await openNodeTaskQueue({ store: system.store, clock, publish: (e) => system.publish(e), name: config.name });
    } catch (err) {
      await system.stop();
      throw new Error(`cannot open the task queue in the store: ${(err as Error).message}`);
    }
  }
  let admin: AdminServer;
  try {
    admin = await startAdminServer(system, { ...plan.http, ...(tasks === undefined ? {} : { tasks }) });
  } catch (err) {
    await tasks?.close();
    await system.stop();
    throw new Error(`cannot listen on ${plan.http.host}:${plan.http.port} for --http: ${(err as Error).message}`);
  }
  const reloader = new ConfigReloader(resolved, inputs, system, log, { consoleChannel: alerts }).start();
  const name = config.name;
  let teardown: (() => unknown) | undefined;
  stopOnSignals(system, {
    beforeStop: async () => {
      reloader.close();
      await admin.close();
      try {
        await teardown?.();
      } catch (err) {
        log.error(`the app's setup teardown failed: ${(err as Error)?.message ?? String(err)}`, { event: 'teardown-failed' });
      }
      await tasks?.close();
    },
    onStopped: () => log.info(`apiary node ${name} stopped`, { event: 'stopped' }),
    onFailed: (err) => log.error(`stopping node ${name} failed: ${(err as Error)?.message ?? String(err)}`, { event: 'stop-failed' }),
  });
  try {
    if (supervisor !== undefined) await system.spawn(supervisor, { name: 'app' });
    else {
      const { startDemo, demoLog } = await import('../../examples/demo-swarm.js');
      // supervision is logged by the node itself (system `logger`); the demo adds its progress lines
      await startDemo(system, { log: demoLog(log), logSupervision: false, useThreads: (system.threads?.count ?? 0) > 0, ...config.demo });
    }
  } catch (err) {
    // a stop signal while the tree was starting: the signal handler stops the node and exits 0
    if (stoppedMeanwhile(err)) return;
    throw err;
  }
  if (setup !== undefined) {
    try {
      const returned = await setup({ system, tasks, log });
      if (typeof returned === 'function') teardown = returned;
    } catch (err) {
      if (stoppedMeanwhile(err)) return;
      reloader.close();
      await admin.close();
      await tasks?.close();
      await system.stop();
      throw new Error(`the app's setup failed: ${(err as Error)?.message ?? String(err)}`);
    }
  }
  const what = supervisor !== undefined ? `config ${displayPath(file!, inputs.cwd)}` : file !== undefined ? `demo swarm · config ${displayPath(file, inputs.cwd)}` : 'demo swarm';
  // plaintext links show as host:port, TLS ones as their wss:// URL
  const ws = system.cluster?.url.replace(/^ws:\/\//, '') || '-';
  log.info(`apiary node ${name} ready · threads: ${system.threads?.count ?? 0} · ws: ${ws} · http: ${admin.address} · ${what}`, {
    event: 'ready',
  });
}

/** `err` (or its cause) says the system stopped: a stop signal came while the node was starting. */
function stoppedMeanwhile(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === ErrorCodes.SYSTEM_STOPPED) return true;
  }
  return false;
}
