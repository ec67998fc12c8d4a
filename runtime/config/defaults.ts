/**
 * Defaults of node configuration: where config files are looked for, how a file watch is
 * debounced, and the default of every field `apiary start` fills in (gathered from the
 * folders that own them, so `apiary config` can say "default" with the real value).
 */
import { availableParallelism } from 'node:os';
import { DEFAULTS as ACTOR_DEFAULTS } from '../../actors/defaults.js';
import { ADMIN_DEFAULTS } from '../admin/admin-server.js';
import { CLUSTER_DEFAULTS } from '../cluster/defaults.js';
import { PHI_DEFAULTS } from '../cluster/phi-accrual.js';
import { LOG_DEFAULTS } from '../logging/logger.js';
import { DEFAULT_RULES } from '../observability/alerts.js';
import { HEALTH_DEFAULTS } from '../observability/health.js';
import { HEARTBEAT_DEFAULTS } from '../observability/heartbeat.js';
import { OBSERVABILITY_DEFAULTS } from '../observability/observability.js';
import { THREAD_DEFAULTS } from '../threads/thread-options.js';
import { ASK_POLL_DEFAULTS } from '../../transport/spinner.js';
import { NODE_LINK_DEFAULTS } from '../../transport/node-link.js';
import type { NodeConfig } from './node-config.js';

export const CONFIG_DEFAULTS = {
  /** Looked for in the working directory when neither --config nor APIARY_CONFIG names a file (more than one found is an error). */
  discover: ['apiary.config.js', 'apiary.config.mjs', 'apiary.config.ts', 'apiary.config.mts', 'apiary.config.json', 'apiary.config.yaml', 'apiary.config.yml'],
  /** Editors write a file in bursts: a change is reloaded once the file has been quiet this long, ms. */
  watchDebounceMs: 150,
  /** Node name without a config app (the demo swarm) and with one. */
  demoName: 'demo',
  appName: 'apiary',
} as const;

/**
 * The defaults `apiary start` fills in, as config fields (the name depends on whether an
 * app is configured; threads on the machine). A programmatic `new ActorSystem()` keeps its
 * own defaults (no worker threads unless asked, no alert channels).
 */
export function configDefaults(hasApp: boolean): NodeConfig {
  return {
    name: hasApp ? CONFIG_DEFAULTS.appName : CONFIG_DEFAULTS.demoName,
    threads: availableParallelism(),
    http: `${ADMIN_DEFAULTS.host}:${ADMIN_DEFAULTS.port}`,
    insecure: false,
    watchConfig: true,
    logLevel: LOG_DEFAULTS.level,
    logFormat: LOG_DEFAULTS.format,
    heartbeatMs: HEARTBEAT_DEFAULTS.heartbeatMs,
    metricsMs: OBSERVABILITY_DEFAULTS.metricsMs,
    throughput: ACTOR_DEFAULTS.throughput,
    turnBudget: ACTOR_DEFAULTS.turnBudget,
    watchdogMs: THREAD_DEFAULTS.watchdogMs,
    maxMessageBytes: THREAD_DEFAULTS.maxMessageBytes,
    spareThreads: THREAD_DEFAULTS.spareThreads,
    askPollMicros: ASK_POLL_DEFAULTS.askPollMicros,
    health: { ...HEALTH_DEFAULTS, ...PHI_DEFAULTS },
    cluster: {
      heartbeatMs: CLUSTER_DEFAULTS.heartbeatMs,
      failureDetector: { ...CLUSTER_DEFAULTS.failureDetector },
      downAfterMs: CLUSTER_DEFAULTS.downAfterMs,
      downing: CLUSTER_DEFAULTS.downing,
      downRemovalMarginMs: CLUSTER_DEFAULTS.downRemovalMarginMs,
      quorumSize: CLUSTER_DEFAULTS.quorumSize,
      removeAfterMs: CLUSTER_DEFAULTS.removeAfterMs,
      gossipMs: CLUSTER_DEFAULTS.gossipMs,
      reconnect: { ...CLUSTER_DEFAULTS.reconnect },
      rejoin: { ...CLUSTER_DEFAULTS.rejoin },
      maxMembers: CLUSTER_DEFAULTS.maxMembers,
      dialsPerSecond: CLUSTER_DEFAULTS.dialsPerSecond,
      maxTombstones: CLUSTER_DEFAULTS.maxTombstones,
      tombstoneMs: CLUSTER_DEFAULTS.tombstoneMs,
      highWaterBytes: CLUSTER_DEFAULTS.highWaterBytes,
      maxQueuedBytes: CLUSTER_DEFAULTS.maxQueuedBytes,
      handshakeTimeoutMs: NODE_LINK_DEFAULTS.handshakeTimeoutMs,
      maxUnauthenticated: NODE_LINK_DEFAULTS.maxUnauthenticated,
    },
    alerts: { rules: DEFAULT_RULES.map((r) => ({ ...r })), channels: [{ type: 'console' }] },
    rateLimits: {},
    degradation: {},
  };
}
