/**
 * What an ActorSystem (one node) can be told at creation, what `health()` reports, and the
 * options of a top-level spawn.
 */
import type { SpawnOptions } from '../../actors/actor.js';
import type { DispatcherOptions } from '../../actors/dispatcher.js';
import type { Shutdown } from '../../actors/shutdown.js';
import type { AlertChannel, AlertRule } from '../observability/alerts.js';
import type { Clock } from '../../actors/foundation/clock.js';
import type { ClusterOptions } from '../cluster/cluster.js';
import type { HealthOptions, HealthStatus, ThreadHealth } from '../observability/health.js';
import type { ThreadOptions } from '../threads/thread-options.js';
import type { Logger } from '../logging/logger.js';
import type { DegradationSettings, RateLimitSettings } from '../config/live-settings.js';
import type { Store, StoreSpec } from '../persistence/store.js';

export interface ActorSystemOptions extends DispatcherOptions, ThreadOptions {
  /** Heartbeat-based health states (phi-accrual threshold, acceptable pause, lag limits). */
  health?: HealthOptions;
  /** Period of `metrics$` snapshots, ms. Default 1000. */
  metricsMs?: number;
  /**
   * Alert rules over `metrics$` (default: DEFAULT_RULES) and where notices go (default: none).
   * Replaceable while the node runs through `system.settings.update({ alerts })`.
   */
  alerts?: { rules?: AlertRule[]; channels?: AlertChannel[] };
  /**
   * Named rate limits: a `RateLimiter` created with the same `name` and `settings:
   * system.settings` uses these values instead of its own, and follows `system.settings.update`.
   */
  rateLimits?: Record<string, RateLimitSettings>;
  /** Named degradation settings: a `DegradationController` with that `name` and this system follows them. */
  degradation?: Record<string, DegradationSettings>;
  /** Node name, shown in refs, the tree and logs. Default `apiary`. */
  name?: string;
  /** Default: the real clock. Tests pass a `ManualClock`. */
  clock?: Clock;
  /**
   * This node's incarnation: a node restarted under the same name must get a larger one.
   * Default: the wall-clock ms at creation with `cluster`, else 1.
   */
  incarnation?: number;
  /** Join a cluster of nodes over WebSocket when the system is `ready()`. */
  cluster?: ClusterOptions;
  /**
   * Where the node logs what happens to it: restarts, escalations, thread crashes, member
   * changes, refused node links (runtime/logging/event-log.ts). Default: silent, so an app
   * that embeds a system is not written to; `apiary start` passes one (`createLogger`).
   */
  logger?: Logger;
  /**
   * The node's persistence store (runtime/persistence/): a spec (`{ kind: 'lmdb', dir }`,
   * `{ kind: 'redis', url }`, `{ kind: 'memory' }`), opened by `ready()` — which then rejects
   * `ERR_STORE_CORRUPT` / `ERR_STORE_UNAVAILABLE` if it cannot be opened — and closed by
   * `stop()`; or an opened store, used as it is and left open (its opener closes it).
   * Default: none (`system.store` is undefined).
   */
  store?: StoreSpec | Store;
}

export interface NodeHealth {
  node: string;
  status: HealthStatus;
  uptimeMs: number;
  threads: ThreadHealth[];
  /** Degradation levels of this node's controllers, by name (absent when there are none). */
  degradation?: Record<string, 'FULL' | 'REDUCED' | 'MINIMAL' | 'EMERGENCY'>;
}

export interface SystemSpawnOptions<Args = unknown> extends SpawnOptions<Args> {
  /** ms a top-level actor gets to stop on `system.stop()` before it is killed; default 5000 (`infinity` for supervisors). */
  shutdown?: Shutdown;
  /**
   * Where to run it: a worker thread index, `auto` (least loaded worker) or 0 (this
   * thread, the default). An actor on a worker needs a class with a static `module`.
   */
  thread?: number | 'auto';
  /**
   * Run it on another node of the cluster: its main thread, or with `thread` one of its
   * worker threads (`auto`: the least loaded; a node without workers takes `auto` on its
   * main thread). Rejects `ERR_START_FAILED` (cause `ERR_NODE_DOWN`) if that node is not
   * up, or if it has no worker `thread`. The class needs a static `module`.
   */
  node?: string;
}
