/**
 * What a node can be configured with — the same fields from flags, environment (APIARY_*)
 * and a config file — and, per field, its flag, its environment variable, whether it changes
 * live on reload, and whether it is a secret.
 *
 * Owns: the {@link NodeConfig} shape and the {@link CONFIG_FIELDS} table every other part
 * of runtime/config reads (the flag parser, the env reader, the printer, the reload diff).
 * Does not own: checking values (schema.ts) or defaults (defaults.ts).
 */
import type { ResourceLimits } from 'node:worker_threads';
import type { LowLatencyOption } from '../../transport/spinner.js';
import type { AlertChannel, AlertRule } from '../observability/alerts.js';
import type { HealthOptions } from '../observability/health.js';
import type { ClusterOptions } from '../cluster/cluster.js';
import type { LogFormat, LogLevel } from '../logging/logger.js';
import type { DegradationSettings, RateLimitSettings } from './live-settings.js';

/** An alert channel in a config file (data), or any object with `send` (config modules). */
export type AlertChannelConfig =
  | { type: 'console' }
  | { type: 'webhook'; url: string; timeoutMs?: number; retries?: number; backoffMs?: number }
  | AlertChannel;

/** Cluster tuning in a config file; where to listen, seeds, the secret, TLS and `insecure` are top-level fields. */
export type ClusterTuning = Omit<ClusterOptions, 'listen' | 'advertise' | 'seeds' | 'secret' | 'tls' | 'insecure'>;

/** The demo swarm's knobs (used when the config names no app). */
export interface DemoConfig {
  /** Probability that one message makes a worker agent throw. */
  faultRate?: number;
  /** Probability that the simulated summary API answers 503. */
  apiErrorRate?: number;
  /** Probability that it answers 429. */
  apiThrottleRate?: number;
}

/**
 * Every option of a node, as a config file holds it (JSON/YAML at top level; a config
 * module under `options`). See the README's Configuration section for each field.
 */
export interface NodeConfig {
  name?: string;
  threads?: number;
  /** `HOST:PORT` for node links. */
  listen?: string;
  /** `HOST:PORT` other nodes dial to reach this one, when it differs from `listen` (NAT, containers, `0.0.0.0`). */
  advertise?: string;
  /** `HOST:PORT` of the admin HTTP server. */
  http?: string;
  /** `ws://HOST:PORT` (or `wss://` for nodes with TLS) of nodes to join through. */
  seeds?: string[];
  /** The cluster secret itself (prefer `secretFile` or APIARY_SECRET). */
  secret?: string;
  secretFile?: string;
  /** The admin API's bearer token itself (prefer `adminTokenFile` or APIARY_ADMIN_TOKEN). */
  adminToken?: string;
  adminTokenFile?: string;
  /** `Host` names the admin API accepts besides loopback names, addresses and the `http` host (DNS rebinding guard); `.example.com` takes its subdomains. */
  adminHosts?: string[];
  /** Origins (`https://ops.example.com`) whose pages may call the admin API besides its own (a page behind a proxy). */
  adminOrigins?: string[];
  roles?: string[];
  region?: string;
  /** `lmdb:DIR` or `redis://HOST:PORT`. */
  store?: string;
  /** PEM file of this node's certificate: with `tlsKey`, node links are `wss://`. */
  tlsCert?: string;
  /** PEM file of its private key. */
  tlsKey?: string;
  /** PEM file of the cluster's CA: peers must present certificates signed by it (mutual TLS), and servers are verified against it. */
  tlsCa?: string;
  /** Accept node links without a secret (loopback only), or in plaintext beyond loopback. */
  insecure?: boolean;
  logLevel?: LogLevel;
  logFormat?: LogFormat;
  heartbeatMs?: number;
  metricsMs?: number;
  throughput?: number;
  turnBudget?: number;
  watchdogMs?: number;
  maxMessageBytes?: number;
  spareThreads?: number;
  lowLatency?: LowLatencyOption;
  askPollMicros?: number;
  resourceLimits?: ResourceLimits;
  health?: HealthOptions;
  cluster?: ClusterTuning;
  alerts?: { rules?: AlertRule[]; channels?: AlertChannelConfig[] };
  rateLimits?: Record<string, RateLimitSettings>;
  degradation?: Record<string, DegradationSettings>;
  demo?: DemoConfig;
  /** A module (path relative to the config file) whose default or `supervisor` export is the app's supervisor spec. */
  app?: string;
  /** Reload when the config file changes (default true); SIGHUP reloads either way. */
  watchConfig?: boolean;
}

/** The config in force: {@link NodeConfig} with the defaults filled in. */
export type EffectiveConfig = NodeConfig &
  Required<
    Pick<
      NodeConfig,
      | 'name'
      | 'threads'
      | 'http'
      | 'insecure'
      | 'watchConfig'
      | 'logLevel'
      | 'logFormat'
      | 'heartbeatMs'
      | 'metricsMs'
      | 'throughput'
      | 'turnBudget'
      | 'watchdogMs'
      | 'maxMessageBytes'
      | 'spareThreads'
      | 'askPollMicros'
      | 'health'
      | 'cluster'
      | 'rateLimits'
      | 'degradation'
    >
  > & { alerts: { rules: AlertRule[]; channels: AlertChannelConfig[] } };

/** How a string from a flag or an environment variable becomes a value before it is checked. */
export type FieldKind = 'string' | 'number' | 'list' | 'boolean';

export interface FieldInfo {
  /** The field's path in {@link NodeConfig} (`demo.faultRate` for a nested one). */
  field: string;
  /** `apiary start --FLAG` (none for secrets: a command line is visible to every user of the machine). */
  flag?: string;
  env?: string;
  kind: FieldKind;
  /** Changes while the node runs when the config is reloaded. */
  live?: boolean;
  /** Never printed. */
  secret?: boolean;
}

/** Every field a flag or an environment variable can set, and the nested fields that matter on reload. */
export const CONFIG_FIELDS: readonly FieldInfo[] = [
  { field: 'name', flag: 'name', env: 'APIARY_NAME', kind: 'string' },
  { field: 'threads', flag: 'threads', env: 'APIARY_THREADS', kind: 'number' },
  { field: 'listen', flag: 'listen', env: 'APIARY_LISTEN', kind: 'string' },
  { field: 'advertise', flag: 'advertise', env: 'APIARY_ADVERTISE', kind: 'string' },
  { field: 'http', flag: 'http', env: 'APIARY_HTTP', kind: 'string' },
  { field: 'seeds', flag: 'seeds', env: 'APIARY_SEEDS', kind: 'list' },
  { field: 'secret', env: 'APIARY_SECRET', kind: 'string', secret: true },
  { field: 'secretFile', flag: 'secret-file', env: 'APIARY_SECRET_FILE', kind: 'string' },
  { field: 'adminToken', env: 'APIARY_ADMIN_TOKEN', kind: 'string', secret: true },
  { field: 'adminTokenFile', flag: 'admin-token-file', env: 'APIARY_ADMIN_TOKEN_FILE', kind: 'string' },
  { field: 'adminHosts', flag: 'admin-hosts', env: 'APIARY_ADMIN_HOSTS', kind: 'list' },
  { field: 'adminOrigins', flag: 'admin-origins', env: 'APIARY_ADMIN_ORIGINS', kind: 'list' },
  { field: 'roles', flag: 'roles', env: 'APIARY_ROLES', kind: 'list' },
  { field: 'region', flag: 'region', env: 'APIARY_REGION', kind: 'string' },
  { field: 'store', flag: 'store', env: 'APIARY_STORE', kind: 'string' },
  { field: 'tlsCert', flag: 'tls-cert', env: 'APIARY_TLS_CERT', kind: 'string' },
  { field: 'tlsKey', flag: 'tls-key', env: 'APIARY_TLS_KEY', kind: 'string' },
  { field: 'tlsCa', flag: 'tls-ca', env: 'APIARY_TLS_CA', kind: 'string' },
  { field: 'insecure', flag: 'insecure', env: 'APIARY_INSECURE', kind: 'boolean' },
  { field: 'logLevel', flag: 'log-level', env: 'APIARY_LOG_LEVEL', kind: 'string', live: true },
  { field: 'logFormat', flag: 'log-format', env: 'APIARY_LOG_FORMAT', kind: 'string' },
  { field: 'heartbeatMs', flag: 'heartbeat-ms', env: 'APIARY_HEARTBEAT_MS', kind: 'number' },
  { field: 'metricsMs', flag: 'metrics-ms', env: 'APIARY_METRICS_MS', kind: 'number' },
  { field: 'throughput', flag: 'throughput', env: 'APIARY_THROUGHPUT', kind: 'number' },
  { field: 'turnBudget', flag: 'turn-budget', env: 'APIARY_TURN_BUDGET', kind: 'number' },
  { field: 'watchdogMs', flag: 'watchdog-ms', env: 'APIARY_WATCHDOG_MS', kind: 'number' },
  { field: 'maxMessageBytes', env: 'APIARY_MAX_MESSAGE_BYTES', kind: 'number' },
  { field: 'spareThreads', flag: 'spare-threads', env: 'APIARY_SPARE_THREADS', kind: 'number' },
  { field: 'askPollMicros', flag: 'ask-poll-micros', env: 'APIARY_ASK_POLL_MICROS', kind: 'number' },
  { field: 'watchConfig', env: 'APIARY_WATCH_CONFIG', kind: 'boolean' },
  { field: 'demo.faultRate', env: 'APIARY_DEMO_FAULT_RATE', kind: 'number' },
  { field: 'demo.apiErrorRate', env: 'APIARY_DEMO_API_ERROR_RATE', kind: 'number' },
  { field: 'demo.apiThrottleRate', env: 'APIARY_DEMO_API_THROTTLE_RATE', kind: 'number' },
];

/** Top-level fields that change live on reload; a change to any other field needs a restart. */
export const LIVE_FIELDS: ReadonlySet<string> = new Set(['logLevel', 'alerts', 'rateLimits', 'degradation']);

/** Fields whose values are never printed or logged. */
export const SECRET_FIELDS: ReadonlySet<string> = new Set(['secret', 'adminToken']);

/** The flag naming the config file, and its environment variable. */
export const CONFIG_FILE_FLAG = 'config';
export const CONFIG_FILE_ENV = 'APIARY_CONFIG';
