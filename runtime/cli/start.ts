/**
 * `apiary start`: one node — its config resolved from flags, environment and the config file
 * (runtime/config), the admin server, the configured tree or the demo swarm, reloading the
 * config on SIGHUP or a change of its file, and stopping on signals.
 *
 * Owns: turning the command line into a running node and its one ready line.
 * Does not own: which values win or what they must be (runtime/config/resolve.ts, schema.ts),
 * what the node runs (the config's tree or examples/demo-swarm.ts, reached by dynamic
 * import), reloading (runtime/config/reload.ts) or how it stops (runtime/node/signals.ts).
 */
import { RealClock } from '../../actors/foundation/clock.js';
import { ActorSystem } from '../node/actor-system.js';
import { stopOnSignals } from '../node/signals.js';
import { startAdminServer, type AdminServer } from '../admin/admin-server.js';
import { createLogger } from '../logging/logger.js';
import { planNode } from '../config/build-options.js';
import { ConfigError, displayPath } from '../config/config-error.js';
import { ConfigReloader } from '../config/reload.js';
import { resolveConfig, type ResolveInputs, type ResolvedConfig } from '../config/resolve.js';
import { UsageError } from './usage.js';

/** Resolves the config, or fails as bad usage (exit 2) with one line per bad field. */
export async function resolveForCli(inputs: ResolveInputs): Promise<ResolvedConfig> {
  try {
    return await resolveConfig(inputs);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

/** Fields this version accepts and checks but does not act on yet (later issues do). */
const NOT_USED_YET = ['adminToken', 'store', 'roles', 'region', 'tlsCert'] as const;

export async function start(argv: string[]): Promise<void> {
  const inputs: ResolveInputs = { argv, env: process.env, cwd: process.cwd() };
  const resolved = await resolveForCli(inputs);
  const { config, supervisor, file } = resolved;
  const logger = createLogger({ node: config.name, level: config.logLevel, format: config.logFormat });
  const unused = NOT_USED_YET.filter((f) => config[f] !== undefined);
  if (unused.length > 0) logger.warn(`accepted but not used by this version yet: ${unused.join(', ')}`, { fields: unused });
  const clock = new RealClock();
  const plan = planNode(config, clock);
  for (const notice of plan.notices) console.log(`apiary: ${notice}`);
  const system = new ActorSystem(plan.system);
  try {
    await system.ready();
  } catch (err) {
    await system.stop();
    const where = plan.listen === undefined ? '' : ` for --listen ${plan.listen.host}:${plan.listen.port}`;
    throw new Error(`cannot start the node${where}: ${(err as Error).message}`);
  }
  let admin: AdminServer;
  try {
    admin = await startAdminServer(system, plan.http);
  } catch (err) {
    await system.stop();
    throw new Error(`cannot listen on ${plan.http.host}:${plan.http.port} for --http: ${(err as Error).message}`);
  }
  const reloader = new ConfigReloader(resolved, inputs, system, logger).start();
  stopOnSignals(system, {
    beforeStop: async () => {
      reloader.close();
      await admin.close();
    },
    onStopped: () => console.log(`apiary node ${config.name} stopped`),
    onFailed: (err) => process.stderr.write(`apiary: stopping node ${config.name} failed: ${(err as Error)?.message ?? String(err)}\n`),
  });
  if (supervisor !== undefined) await system.spawn(supervisor, { name: 'app' });
  else {
    const { startDemo } = await import('../../examples/demo-swarm.js');
    await startDemo(system, { useThreads: (system.threads?.count ?? 0) > 0, ...config.demo });
  }
  const what = supervisor !== undefined ? `config ${displayPath(file!, inputs.cwd)}` : file !== undefined ? `demo swarm · config ${displayPath(file, inputs.cwd)}` : 'demo swarm';
  console.log(
    `apiary node ${config.name} ready · threads: ${system.threads?.count ?? 0} · ws: ${system.cluster?.url.replace('ws://', '') || '-'} · http: ${admin.address} · ${what}`,
  );
}
