/**
 * `apiary start`: one node — its options from flags, environment and the config module, the
 * admin server, the demo swarm or the configured tree, and stopping on signals.
 *
 * Owns: turning the command line into a running node and its one ready line. The node logs
 * through one logger (`--log-level`, `--log-format`: runtime/logging/logger-from-flags.ts):
 * the ready line (`apiary node NAME ready · …`, grepped by users and tests), the secret
 * notice, the stop, and — through the system's `logger` — what happens in it.
 * Does not own: what the node runs (the config module or examples/demo-swarm.ts, reached by
 * dynamic import) or how it stops (runtime/node/signals.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { isSupervisorSpec, type SupervisorSpec } from '../../supervisor/child-spec.js';
import { ActorSystem, type ActorSystemOptions } from '../node/actor-system.js';
import { stopOnSignals } from '../node/signals.js';
import { logChannel } from '../observability/alerts.js';
import { loggerFromFlags } from '../logging/logger-from-flags.js';
import { ADMIN_DEFAULTS, parseHostPort, startAdminServer, type AdminServer } from '../admin/admin-server.js';
import { UsageError } from './usage.js';

/** What a config module exports (default export, or named `supervisor` and `options`). */
export interface NodeConfig {
  supervisor: SupervisorSpec;
  options?: ActorSystemOptions;
}

/** Imports a config module; UsageError (exit 2) if it is missing or exports no supervisor spec. */
export async function loadConfig(file: string): Promise<NodeConfig> {
  if (!existsSync(file)) throw new UsageError(`--config ${file}: no such file`);
  const mod = (await import(pathToFileURL(resolve(file)).href)) as { default?: unknown; supervisor?: unknown; options?: unknown };
  const cfg = (mod.default ?? mod) as Partial<NodeConfig>;
  if (!isSupervisorSpec(cfg.supervisor)) throw new UsageError(`${file} must export { supervisor: supervisor({...}) } (default export)`);
  return { supervisor: cfg.supervisor, options: cfg.options };
}

/** The cluster secret from `--secret-file` (trailing newline dropped) or APIARY_SECRET. */
export function readSecret(file: string | undefined): Uint8Array | undefined {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read --secret-file ${file}: ${(err as Error).message}`);
    }
    const secret = text.replace(/\r?\n$/, '');
    if (secret.length === 0) throw new UsageError(`--secret-file ${file} is empty`);
    return new TextEncoder().encode(secret);
  }
  const env = process.env.APIARY_SECRET;
  return env !== undefined && env.length > 0 ? new TextEncoder().encode(env) : undefined;
}

/** `--seeds ws://h:p,ws://h:p` → the URLs; UsageError for anything else. */
export function parseSeeds(text: string | undefined): string[] {
  if (text === undefined) return [];
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      let url: URL;
      try {
        url = new URL(s);
      } catch {
        throw new UsageError(`--seeds: '${s}' is not a ws://HOST:PORT URL`);
      }
      if (url.protocol !== 'ws:' || url.port === '') throw new UsageError(`--seeds: '${s}' is not a ws://HOST:PORT URL`);
      return `ws://${url.host}`;
    });
}

/** True for hosts only this machine reaches (localhost, 127.x, ::1). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

export async function start(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      name: { type: 'string' },
      threads: { type: 'string' },
      listen: { type: 'string' },
      http: { type: 'string' },
      seeds: { type: 'string' },
      'secret-file': { type: 'string' },
      'log-level': { type: 'string' },
      'log-format': { type: 'string' },
    },
  });
  const rateFromEnv = (name: string): number | undefined => {
    const raw = process.env[name];
    if (raw === undefined) return undefined;
    const v = Number(raw);
    if (!(v >= 0 && v <= 1)) throw new UsageError(`${name} must be a number in [0, 1]`);
    return v;
  };
  const faultRate = rateFromEnv('APIARY_DEMO_FAULT_RATE');
  const apiErrorRate = rateFromEnv('APIARY_DEMO_API_ERROR_RATE');
  const apiThrottleRate = rateFromEnv('APIARY_DEMO_API_THROTTLE_RATE');
  const secret = readSecret(values['secret-file']);
  let listen = values.listen === undefined ? undefined : parseHostPort(values.listen, '--listen');
  if (listen !== undefined && secret === undefined && !isLoopback(listen.host)) listen = { host: '127.0.0.1', port: listen.port };
  let threads: number | undefined;
  if (values.threads !== undefined) {
    threads = Number(values.threads);
    if (!Number.isInteger(threads) || threads < 0) throw new UsageError('--threads must be an integer >= 0');
  }
  const configFile = values.config ?? ['apiary.config.js', 'apiary.config.mjs'].find((f) => existsSync(f));
  const config = configFile !== undefined ? await loadConfig(configFile) : undefined;
  const name = values.name ?? config?.options?.name ?? (config ? 'apiary' : 'demo');
  const http = parseHostPort(values.http ?? `${ADMIN_DEFAULTS.host}:${ADMIN_DEFAULTS.port}`, '--http');
  const seeds = parseSeeds(values.seeds);
  // ---- logs (this file's only logging; the options above are parsed elsewhere) ----
  const log = loggerFromFlags(name, values);
  if (listen !== undefined && secret === undefined) {
    log.warn(`no cluster secret (--secret-file or APIARY_SECRET): node links on loopback only (${listen.host})`, { event: 'no-secret' });
  }
  const system = new ActorSystem({
    alerts: { channels: [logChannel(log)] },
    logger: log,
    ...config?.options,
    name,
    threads: threads ?? availableParallelism(),
    ...(listen !== undefined || seeds.length > 0 ? { cluster: { listen, seeds, secret: secret ?? new Uint8Array(0) } } : {}),
  });
  try {
    await system.ready();
  } catch (err) {
    await system.stop();
    const where = listen === undefined ? '' : ` for --listen ${listen.host}:${listen.port}`;
    throw new Error(`cannot start the node${where}: ${(err as Error).message}`);
  }
  let admin: AdminServer;
  try {
    admin = await startAdminServer(system, http);
  } catch (err) {
    await system.stop();
    throw new Error(`cannot listen on ${http.host}:${http.port} for --http: ${(err as Error).message}`);
  }
  stopOnSignals(system, {
    beforeStop: async () => {
      await admin.close();
    },
    onStopped: () => log.info(`apiary node ${name} stopped`, { event: 'stopped' }),
    onFailed: (err) => log.error(`stopping node ${name} failed: ${(err as Error)?.message ?? String(err)}`, { event: 'stop-failed' }),
  });
  if (config) await system.spawn(config.supervisor, { name: 'app' });
  else {
    const { startDemo, demoLog } = await import('../../examples/demo-swarm.js');
    // supervision is logged by the node itself (system `logger`); the demo adds its progress lines
    const demo = { log: demoLog(log), logSupervision: false };
    await startDemo(system, { ...demo, useThreads: (system.threads?.count ?? 0) > 0, faultRate, apiErrorRate, apiThrottleRate });
  }
  log.info(
    `apiary node ${name} ready · threads: ${system.threads?.count ?? 0} · ws: ${system.cluster?.url.replace('ws://', '') || '-'} · http: ${admin.address} · ${config ? `config ${configFile}` : 'demo swarm'}`,
    { event: 'ready' },
  );
}
