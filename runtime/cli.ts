#!/usr/bin/env node
/**
 * The `apiary` command (DESIGN §4).
 *
 *   apiary start [--config FILE] [--name NAME] [--threads N] [--listen HOST:PORT]
 *                [--http HOST:PORT] [--seeds ws://…] [--secret-file FILE]
 *   apiary bench [SCENARIO...] [--json] [--quick]
 *   apiary bench --http HOST:PORT [--path PATH] [--message JSON] [--json] [--quick]
 *   apiary tree   [--http HOST:PORT] [--json] [--watch]
 *   apiary kill   PATH [--http HOST:PORT] [--reason TEXT]
 *   apiary status [--http HOST:PORT] [--json]
 *
 * Owns: argument parsing, one-line errors (no stack traces) and exit codes:
 * 0 success, 1 runtime failure, 2 bad usage or not available (yet).
 * Does not own: what a node runs (the config module or examples/demo-swarm.ts) or how it
 * stops on signals (signals.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { isSupervisorSpec, type SupervisorSpec } from '../supervisor/child-spec.js';
import { ActorSystem, type ActorSystemOptions } from './actor-system.js';
import { stopOnSignals } from './signals.js';
import { consoleChannel } from './alerts.js';
import { availableParallelism } from 'node:os';
import { ADMIN_DEFAULTS, parseHostPort, startAdminServer, type AdminServer } from './admin-server.js';
import { CliError, inspectTree, killActor, status } from './cli-inspect.js';

const USAGE = `usage:
  apiary start [--config FILE] [--name NAME] [--threads N] [--listen HOST:PORT]
               [--http HOST:PORT] [--seeds ws://HOST:PORT,...] [--secret-file FILE]
  apiary bench [SCENARIO...] [--json] [--quick]
  apiary bench --http HOST:PORT [--path PATH] [--message JSON] [--json] [--quick]
  apiary tree   [--http HOST:PORT] [--json] [--watch]
  apiary kill   PATH [--http HOST:PORT] [--reason TEXT]
  apiary status [--http HOST:PORT] [--json]

With no --config (and no apiary.config.js/.mjs here), start runs the demo swarm.`;

/** Bad usage or a feature not available yet: one line on stderr, exit code 2. */
class UsageError extends Error {}

/** What a config module exports (default export, or named `supervisor` and `options`). */
export interface NodeConfig {
  supervisor: SupervisorSpec;
  options?: ActorSystemOptions;
}

async function loadConfig(file: string): Promise<NodeConfig> {
  if (!existsSync(file)) throw new UsageError(`--config ${file}: no such file`);
  const mod = (await import(pathToFileURL(resolve(file)).href)) as { default?: unknown; supervisor?: unknown; options?: unknown };
  const cfg = (mod.default ?? mod) as Partial<NodeConfig>;
  if (!isSupervisorSpec(cfg.supervisor)) throw new UsageError(`${file} must export { supervisor: supervisor({...}) } (default export)`);
  return { supervisor: cfg.supervisor, options: cfg.options };
}

/** The cluster secret from `--secret-file` (trailing newline dropped) or APIARY_SECRET. */
function readSecret(file: string | undefined): Uint8Array | undefined {
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
function parseSeeds(text: string | undefined): string[] {
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

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

async function start(argv: string[]): Promise<void> {
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
  if (listen !== undefined && secret === undefined) {
    if (!isLoopback(listen.host)) listen = { host: '127.0.0.1', port: listen.port };
    console.log(`apiary: no cluster secret (--secret-file or APIARY_SECRET): node links on loopback only (${listen.host})`);
  }
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
  const system = new ActorSystem({
    alerts: { channels: [consoleChannel()] },
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
    onStopped: () => console.log(`apiary node ${name} stopped`),
    onFailed: (err) => process.stderr.write(`apiary: stopping node ${name} failed: ${(err as Error)?.message ?? String(err)}\n`),
  });
  if (config) await system.spawn(config.supervisor, { name: 'app' });
  else {
    const { startDemo } = await import('../examples/demo-swarm.js');
    await startDemo(system, { useThreads: (system.threads?.count ?? 0) > 0, faultRate, apiErrorRate, apiThrottleRate });
  }
  console.log(
    `apiary node ${name} ready · threads: ${system.threads?.count ?? 0} · ws: ${system.cluster?.url.replace('ws://', '') || '-'} · http: ${admin.address} · ${config ? `config ${configFile}` : 'demo swarm'}`,
  );
}

async function bench(argv: string[]): Promise<void> {
  const { runBench } = await import('../bench/run.js');
  await runBench(argv);
}

/**
 * Runs one `apiary` command. Resolves with the exit code, or -1 for `start` (the node runs
 * until a signal stops it); rejects with a UsageError (exit 2) or any other error (exit 1).
 */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && !command.startsWith('-') && (rest.includes('--help') || rest.includes('-h'))) {
    console.log(USAGE);
    return 0;
  }
  switch (command) {
    case 'start':
      await start(rest);
      return -1; // keeps running until a signal
    case 'bench':
      await bench(rest);
      return 0;
    case 'tree':
      await inspectTree(rest);
      return 0;
    case 'kill':
      await killActor(rest);
      return 0;
    case 'status':
      await status(rest);
      return 0;
    case '--help':
    case '-h':
    case 'help':
      console.log(USAGE);
      return 0;
    case undefined:
      process.stderr.write(`${USAGE}\n`);
      return 2;
    default:
      throw new UsageError(`unknown command '${command}'\n${USAGE}`);
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exit(code);
    },
    (err: unknown) => {
      const code = (err as { code?: unknown })?.code;
      // node:util parseArgs rejects bad flags with ERR_PARSE_ARGS_* codes
      const usage =
        err instanceof UsageError ||
        (err instanceof CliError && err.usage) ||
        (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) ||
        code === 'ERR_INVALID_ARGUMENT';
      process.stderr.write(`apiary: ${(err as Error)?.message ?? String(err)}\n`);
      process.exit(usage ? 2 : 1);
    },
  );
}
