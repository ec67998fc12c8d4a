/**
 * The health monitor: turns heartbeats into states healthy → degraded → critical → failed,
 * per thread and for the node (the worst of its threads).
 *
 * Owns: one phi-accrual detector per thread (silence adapts to the intervals actually seen),
 * the lag thresholds, and hysteresis — a state gets worse at once but better only after
 * `recoverAfter` evaluations in a row say so, so a flapping thread does not flap the node.
 * A thread that died is `failed` until its replacement's first heartbeat.
 * Time: the given clock; evaluates on every heartbeat and every `checkMs`.
 */
import type { Clock, TimerHandle } from '../../actors/foundation/clock.js';
import type { Heartbeat } from './heartbeat.js';
import { PHI_DEFAULTS, PhiAccrual, type PhiOptions } from '../cluster/phi-accrual.js';

export type HealthStatus = 'healthy' | 'degraded' | 'critical' | 'failed';
const ORDER: readonly HealthStatus[] = ['healthy', 'degraded', 'critical', 'failed'];

export interface HealthOptions extends Partial<PhiOptions> {
  /** Event-loop lag from which a thread is degraded, ms. Default 100. */
  degradedLagMs?: number;
  /** … and critical, ms. Default 1000. */
  criticalLagMs?: number;
  /** Evaluations in a row needed to move to a better state. Default 2. */
  recoverAfter?: number;
  /** How often states are re-evaluated without heartbeats, ms. Default 100. */
  checkMs?: number;
}

export const HEALTH_DEFAULTS = { degradedLagMs: 100, criticalLagMs: 1000, recoverAfter: 2, checkMs: 100 } as const;

export interface ThreadHealth {
  thread: number;
  status: HealthStatus;
  /** Suspicion of the silence since the last heartbeat. */
  phi: number;
  lagMs: number;
  utilization: number;
  /** ms since the last heartbeat (undefined before the first). */
  silentMs: number | undefined;
}

export interface HealthChange {
  /** A thread index, or undefined for the node. */
  thread: number | undefined;
  status: HealthStatus;
  previous: HealthStatus;
}

interface Tracked {
  detector: PhiAccrual;
  status: HealthStatus;
  better: number;
  last: Heartbeat | undefined;
  lastAt: number | undefined;
  down: boolean;
}

export function worst(statuses: Iterable<HealthStatus>): HealthStatus {
  let w: HealthStatus = 'healthy';
  for (const s of statuses) if (ORDER.indexOf(s) > ORDER.indexOf(w)) w = s;
  return w;
}

export class HealthMonitor {
  private readonly threads = new Map<number, Tracked>();
  private readonly phiOptions: PhiOptions;
  private readonly options: Required<Omit<HealthOptions, keyof PhiOptions>>;
  private nodeStatus: HealthStatus = 'healthy';
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly heartbeatMs: number,
    private readonly onChange: (change: HealthChange) => void,
    options: HealthOptions = {},
  ) {
    this.phiOptions = { ...PHI_DEFAULTS, ...stripUndefined(options) };
    this.options = {
      degradedLagMs: options.degradedLagMs ?? HEALTH_DEFAULTS.degradedLagMs,
      criticalLagMs: options.criticalLagMs ?? HEALTH_DEFAULTS.criticalLagMs,
      recoverAfter: options.recoverAfter ?? HEALTH_DEFAULTS.recoverAfter,
      checkMs: options.checkMs ?? HEALTH_DEFAULTS.checkMs,
    };
  }

  start(): void {
    const check = (): void => {
      for (const t of this.threads.keys()) this.evaluate(t);
      this.timer = this.clock.setTimeout(check, this.options.checkMs);
    };
    this.timer = this.clock.setTimeout(check, this.options.checkMs);
  }

  stop(): void {
    this.clock.clearTimeout(this.timer);
  }

  private track(thread: number): Tracked {
    let t = this.threads.get(thread);
    if (t === undefined) {
      t = { detector: new PhiAccrual(this.phiOptions, this.heartbeatMs), status: 'healthy', better: 0, last: undefined, lastAt: undefined, down: false };
      this.threads.set(thread, t);
    }
    return t;
  }

  /** Lists a thread before its first heartbeat (it counts as healthy until it is overdue). */
  expect(thread: number): void {
    this.track(thread);
  }

  heartbeat(hb: Heartbeat): void {
    const t = this.track(hb.thread);
    if (t.down) {
      // the replacement's first heartbeat: a fresh detector
      t.down = false;
      t.detector = new PhiAccrual(this.phiOptions, this.heartbeatMs);
    }
    const now = this.clock.now();
    t.detector.heartbeat(now);
    t.last = hb;
    t.lastAt = now;
    this.evaluate(hb.thread);
  }

  threadDown(thread: number): void {
    const t = this.track(thread);
    t.down = true;
    this.evaluate(thread);
  }

  private evaluate(thread: number): void {
    const t = this.threads.get(thread)!;
    const now = this.clock.now();
    const phi = t.detector.phi(now);
    const lag = t.last?.lagMs ?? 0;
    const observed: HealthStatus = t.down
      ? 'failed'
      : phi >= this.phiOptions.threshold || lag >= this.options.criticalLagMs
        ? 'critical'
        : phi >= 1 || lag >= this.options.degradedLagMs
          ? 'degraded'
          : 'healthy';
    const rank = ORDER.indexOf(observed) - ORDER.indexOf(t.status);
    let next = t.status;
    if (rank > 0 || (t.status === 'failed' && !t.down)) {
      next = observed; // worse at once (and a replaced thread leaves `failed` at once)
      t.better = 0;
    } else if (rank < 0) {
      t.better++;
      if (t.better >= this.options.recoverAfter) {
        next = observed;
        t.better = 0;
      }
    } else t.better = 0;
    if (next !== t.status) {
      const previous = t.status;
      t.status = next;
      this.onChange({ thread, status: next, previous });
      const node = worst([...this.threads.values()].map((x) => x.status));
      if (node !== this.nodeStatus) {
        const was = this.nodeStatus;
        this.nodeStatus = node;
        this.onChange({ thread: undefined, status: node, previous: was });
      }
    }
  }

  get status(): HealthStatus {
    return this.nodeStatus;
  }

  snapshot(): ThreadHealth[] {
    const now = this.clock.now();
    return [...this.threads.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([thread, t]) => ({
        thread,
        status: t.status,
        phi: Math.round(t.detector.phi(now) * 100) / 100,
        lagMs: t.last?.lagMs ?? 0,
        utilization: t.last?.utilization ?? 0,
        silentMs: t.lastAt === undefined ? undefined : Math.round(now - t.lastAt),
      }));
  }
}

function stripUndefined(o: HealthOptions): Partial<PhiOptions> {
  const out: Partial<PhiOptions> = {};
  if (o.threshold !== undefined) out.threshold = o.threshold;
  if (o.minStdDevMs !== undefined) out.minStdDevMs = o.minStdDevMs;
  if (o.acceptablePauseMs !== undefined) out.acceptablePauseMs = o.acceptablePauseMs;
  if (o.windowSize !== undefined) out.windowSize = o.windowSize;
  return out;
}
