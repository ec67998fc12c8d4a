/**
 * From the config in force to what the runtime takes: ActorSystem options, the admin
 * server's address and access settings, the alert channels named in a config file.
 *
 * Owns: that translation, reading the TLS files the config names, and the listen rules as
 * `apiary start` words them: no node links without a secret unless `--insecure` (and then on
 * loopback only: a wider `--listen` is held to 127.0.0.1 and `notices` says so), no plaintext
 * links beyond loopback without TLS or `--insecure` (transport/link-policy.ts is the same
 * rule for `new ActorSystem`).
 * Does not own: checking (schema.ts, already done) or starting anything (runtime/cli/start.ts).
 */
import { readFileSync } from 'node:fs';
import type { Clock } from '../../actors/foundation/clock.js';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import { dialRefusal, isLoopbackHost, type LinkTls } from '../../transport/link-policy.js';
import { parseHostPort, type AdminServerOptions } from '../admin/admin-server.js';
import { consoleChannel, webhookChannel, type AlertChannel } from '../observability/alerts.js';
import type { ActorSystemOptions } from '../node/system-options.js';
import type { AlertChannelConfig, EffectiveConfig } from './node-config.js';

/** What `apiary start` needs from a config. */
export interface NodePlan {
  system: ActorSystemOptions;
  /** The admin server: where, its token, and the Host names and origins it accepts besides its own. */
  http: AdminServerOptions & { host: string; port: number };
  /** Where node links are accepted (after the loopback rule), or undefined. */
  listen: { host: string; port: number } | undefined;
  /** Lines to tell the user, each with its log `event` (`no-secret`: links held to loopback; `plaintext-links`: ws:// beyond loopback). */
  notices: { event: 'no-secret' | 'plaintext-links'; message: string }[];
}

/**
 * The channel objects for `specs`: `console` is `console` when given (`apiary start` passes
 * the node's log channel), else plain console lines; objects from a config module pass as
 * they are.
 */
export function alertChannelsFrom(specs: readonly AlertChannelConfig[], clock: Clock, console?: AlertChannel): AlertChannel[] {
  return specs.map((s) => {
    if (typeof (s as AlertChannel).send === 'function') return s as AlertChannel;
    const spec = s as Exclude<AlertChannelConfig, AlertChannel>;
    if (spec.type === 'console') return console ?? consoleChannel();
    return webhookChannel(spec.url, clock, { timeoutMs: spec.timeoutMs, retries: spec.retries, backoffMs: spec.backoffMs });
  });
}

/** True for hosts only this machine reaches (localhost, 127.x, ::1). */
export function isLoopback(host: string): boolean {
  return isLoopbackHost(host);
}

/** The TLS material the config names (its files read), or undefined without `tlsCert`. Throws if a file cannot be read. */
export function readTlsFiles(config: Pick<EffectiveConfig, 'tlsCert' | 'tlsKey' | 'tlsCa'>): LinkTls | undefined {
  if (config.tlsCert === undefined || config.tlsKey === undefined) return undefined;
  const tls: LinkTls = { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) };
  if (config.tlsCa !== undefined) tls.ca = readFileSync(config.tlsCa);
  return tls;
}

/**
 * The ActorSystem options and addresses for `config`; `clock` is the system's (webhooks time
 * out on it). Throws `ERR_INSECURE_LISTEN` (worded with the flags) when the node would listen
 * without a secret and without `--insecure`, or in plaintext beyond loopback without TLS or
 * `--insecure`; `ERR_INSECURE_DIAL` for a `ws://` seed beyond loopback without `--insecure`.
 * Without a secret but with `--insecure`, node links are held to loopback (a notice says so).
 */
export function planNode(config: EffectiveConfig, clock: Clock, console?: AlertChannel): NodePlan {
  const notices: NodePlan['notices'] = [];
  const secret = config.secret === undefined ? undefined : new TextEncoder().encode(config.secret);
  const tls = readTlsFiles(config);
  const insecure = config.insecure === true;
  let listen = config.listen === undefined ? undefined : parseHostPort(config.listen, 'listen');
  if (listen !== undefined) {
    const at = `${listen.host}:${listen.port}`;
    if (secret === undefined) {
      if (!insecure) {
        throw new ApiaryError(
          ErrorCodes.INSECURE_LISTEN,
          `no cluster secret: refusing to listen on ${at} for node links (give --secret-file or APIARY_SECRET; --insecure accepts unauthenticated links on loopback only)`,
          { field: 'secret' },
        );
      }
      if (!isLoopback(listen.host)) listen = { host: '127.0.0.1', port: listen.port };
      notices.push({ event: 'no-secret', message: `no cluster secret (--secret-file or APIARY_SECRET): node links on loopback only (${listen.host}), unauthenticated (--insecure)` });
    } else if (tls === undefined && !isLoopback(listen.host)) {
      if (!insecure) {
        throw new ApiaryError(
          ErrorCodes.INSECURE_LISTEN,
          `plaintext node links beyond loopback: refusing to listen on ${at} (give --tls-cert and --tls-key, with --tls-ca for mutual TLS; or --insecure for ws:// there)`,
          { field: 'tlsCert' },
        );
      }
      notices.push({ event: 'plaintext-links', message: `plaintext node links (ws://) beyond loopback on ${at} (--insecure): anyone on the path can read them` });
    }
  }
  const seeds = config.seeds ?? [];
  const plaintextSeed = seeds.find((seed) => dialRefusal(seed, insecure) !== undefined);
  if (plaintextSeed !== undefined) {
    throw new ApiaryError(
      ErrorCodes.INSECURE_DIAL,
      `plaintext node link beyond loopback: refusing to dial the seed ${plaintextSeed} (give --tls-cert and --tls-key on both nodes and a wss:// seed; or --insecure for ws:// there)`,
      { field: 'seeds' },
    );
  }
  const system: ActorSystemOptions = {
    name: config.name,
    clock,
    threads: config.threads,
    heartbeatMs: config.heartbeatMs,
    metricsMs: config.metricsMs,
    throughput: config.throughput,
    turnBudget: config.turnBudget,
    watchdogMs: config.watchdogMs,
    maxMessageBytes: config.maxMessageBytes,
    spareThreads: config.spareThreads,
    askPollMicros: config.askPollMicros,
    ...(config.lowLatency !== undefined ? { lowLatency: config.lowLatency } : {}),
    ...(config.resourceLimits !== undefined ? { resourceLimits: config.resourceLimits } : {}),
    health: config.health,
    alerts: { rules: config.alerts.rules, channels: alertChannelsFrom(config.alerts.channels, clock, console) },
    rateLimits: config.rateLimits,
    degradation: config.degradation,
    ...(listen !== undefined || seeds.length > 0
      ? { cluster: { ...config.cluster, listen, ...(config.advertise !== undefined ? { advertise: config.advertise } : {}), seeds, secret: secret ?? new Uint8Array(0), ...(tls === undefined ? {} : { tls }), ...(insecure ? { insecure } : {}) } }
      : {}),
  };
  const http = {
    ...parseHostPort(config.http, 'http'),
    ...(config.adminToken !== undefined ? { token: config.adminToken } : {}),
    ...(config.adminHosts !== undefined ? { hosts: config.adminHosts } : {}),
    ...(config.adminOrigins !== undefined ? { origins: config.adminOrigins } : {}),
  };
  return { system, http, listen, notices };
}
