/**
 * The observable side of a node, wired together: heartbeats from every thread, the health
 * monitor they feed, periodic metrics snapshots and the alert rules that read them.
 *
 * Owns: starting and stopping those timers and streams. Does not own what they compute
 * (heartbeat.ts, health.ts, node-stats.ts, alerts.ts).
 */
import { Subject, type Observable, type Subscription } from 'rxjs';
import type { ActorSystem, ActorSystemOptions } from '../node/actor-system.js';
import { AlertEngine } from './alerts.js';
import type { TimerHandle } from '../../actors/foundation/clock.js';
import { HealthMonitor, type ThreadHealth } from './health.js';
import { HEARTBEAT_DEFAULTS, startHeartbeats, type Heartbeat } from './heartbeat.js';
import { NodeStats, type MetricsSnapshot } from './node-stats.js';

export const OBSERVABILITY_DEFAULTS = { metricsMs: 1000 } as const;

export class Observability {
  private readonly heartbeats = new Subject<Heartbeat>();
  readonly heartbeats$: Observable<Heartbeat> = this.heartbeats.asObservable();
  private readonly metrics = new Subject<MetricsSnapshot>();
  readonly metrics$: Observable<MetricsSnapshot> = this.metrics.asObservable();
  private monitor: HealthMonitor | undefined;
  private stats: NodeStats | undefined;
  private metricsTimer: TimerHandle | undefined;
  private stopHeartbeats: (() => void) | undefined;
  private sub: Subscription | undefined;
  private settingsSub: Subscription | undefined;

  constructor(
    private readonly system: ActorSystem,
    private readonly options: ActorSystemOptions,
  ) {}

  /** Starts heartbeats (this thread's; workers send theirs), health checks and metrics. */
  start(threads: number): void {
    const { system, options } = this;
    const clock = system.clock;
    const heartbeatMs = options.heartbeatMs ?? HEARTBEAT_DEFAULTS.heartbeatMs;
    const monitor = (this.monitor = new HealthMonitor(
      clock,
      heartbeatMs,
      (change) => system.host.emit({ type: 'health', thread: change.thread, status: change.status, previous: change.previous, at: clock.now() }),
      options.health,
    ));
    for (let t = 0; t <= threads; t++) monitor.expect(t);
    this.stopHeartbeats = startHeartbeats(0, clock, heartbeatMs, () => ({ actors: system.host.size, mailbox: 0 }), (hb) => this.heartbeat(hb));
    this.sub = system.events$.subscribe((e) => {
      if (e.type === 'thread-down') monitor.threadDown(e.thread);
    });
    monitor.start();

    const stats = (this.stats = new NodeStats(system));
    // the rules and channels in force; a config reload replaces them (firing alerts of kept rules stay firing)
    const alerts = new AlertEngine(system.settings.alerts.rules, system.settings.alerts.channels, clock);
    this.settingsSub = system.settings.changes$.subscribe((c) => {
      if (c.changed.some((k) => k.startsWith('alerts.'))) alerts.replace(system.settings.alerts.rules, system.settings.alerts.channels);
    });
    const every = options.metricsMs ?? OBSERVABILITY_DEFAULTS.metricsMs;
    const tick = (): void => {
      const snapshot = stats.snapshot();
      if (this.metrics.observed) this.metrics.next(snapshot);
      alerts.evaluate(snapshot);
      this.metricsTimer = clock.setTimeout(tick, every);
    };
    this.metricsTimer = clock.setTimeout(tick, every);
  }

  /** A heartbeat of this thread or a worker; ignored before `start`. */
  heartbeat(hb: Heartbeat): void {
    const monitor = this.monitor;
    if (monitor === undefined) return;
    monitor.heartbeat(hb);
    if (this.heartbeats.observed) this.heartbeats.next(hb);
  }

  /** Per-thread health, or undefined before `start`. */
  threadHealth(): ThreadHealth[] | undefined {
    return this.monitor?.snapshot();
  }

  stop(): void {
    this.stopHeartbeats?.();
    this.monitor?.stop();
    this.system.clock.clearTimeout(this.metricsTimer);
    this.stats?.close();
    this.sub?.unsubscribe();
    this.settingsSub?.unsubscribe();
    this.metrics.complete();
    this.heartbeats.complete();
  }
}
