/**
 * From the config in force to what the runtime takes: ActorSystem options, the admin
 * server's address and access settings, the alert channels named in a config file.
 *
 * Owns: that translation, and the rule that a node without a cluster secret accepts node
 * links on loopback only (it says so in `notices`).
 * Does not own: checking (schema.ts, already done) or starting anything (runtime/cli/start.ts).
 */
import type { Clock } from '../../actors/foundation/clock.js';
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
  /** Lines to tell the user (e.g. links held to loopback for want of a secret). */
  notices: string[];
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
  return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.');
}

/** The ActorSystem options and addresses for `config`; `clock` is the system's (webhooks time out on it). */
export function planNode(config: EffectiveConfig, clock: Clock, console?: AlertChannel): NodePlan {
  const notices: string[] = [];
  const secret = config.secret === undefined ? undefined : new TextEncoder().encode(config.secret);
  let listen = config.listen === undefined ? undefined : parseHostPort(config.listen, 'listen');
  if (listen !== undefined && secret === undefined) {
    if (!isLoopback(listen.host)) listen = { host: '127.0.0.1', port: listen.port };
    notices.push(`no cluster secret (--secret-file or APIARY_SECRET): node links on loopback only (${listen.host})`);
  }
  const seeds = config.seeds ?? [];
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
    ...(listen !== undefined || seeds.length > 0 ? { cluster: { ...config.cluster, listen, seeds, secret: secret ?? new Uint8Array(0) } } : {}),
  };
  const http = {
    ...parseHostPort(config.http, 'http'),
    ...(config.adminToken !== undefined ? { token: config.adminToken } : {}),
    ...(config.adminHosts !== undefined ? { hosts: config.adminHosts } : {}),
    ...(config.adminOrigins !== undefined ? { origins: config.adminOrigins } : {}),
  };
  return { system, http, listen, notices };
}
