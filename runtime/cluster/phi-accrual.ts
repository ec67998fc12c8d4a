/**
 * The phi-accrual failure detector (Hayashibara et al.; Akka's PhiAccrualFailureDetector):
 * instead of a fixed timeout, how suspicious the silence since the last heartbeat is, given
 * the intervals seen so far. phi 1 ≈ 10 % chance the peer is still fine, phi 8 ≈ 10⁻⁸.
 *
 * Pure data plus functions over an interval window; time is passed in.
 */

export interface PhiOptions {
  /** Suspicion from which a peer counts as down. Default 8 (Akka). */
  threshold: number;
  /** Floor for the standard deviation, ms. Default 100 (Akka). */
  minStdDevMs: number;
  /** Extra silence tolerated on top of the mean interval (GC pauses, blips), ms. */
  acceptablePauseMs: number;
  /** Intervals remembered. Default 100. */
  windowSize: number;
}

export const PHI_DEFAULTS: PhiOptions = { threshold: 8, minStdDevMs: 100, acceptablePauseMs: 1000, windowSize: 100 };

export class PhiAccrual {
  private readonly intervals: number[] = [];
  private last: number | undefined;
  private sum = 0;
  private sumSquares = 0;

  constructor(
    private readonly options: PhiOptions = PHI_DEFAULTS,
    /** Assumed interval before any is observed, ms. */
    private readonly firstIntervalMs = 500,
  ) {}

  /** Records a heartbeat at `now` (ms). */
  heartbeat(now: number): void {
    if (this.last !== undefined) this.add(now - this.last);
    else {
      // seed as Akka does: a first interval with a generous deviation
      this.add(this.firstIntervalMs - this.firstIntervalMs / 4);
      this.add(this.firstIntervalMs + this.firstIntervalMs / 4);
    }
    this.last = now;
  }

  private add(interval: number): void {
    this.intervals.push(interval);
    this.sum += interval;
    this.sumSquares += interval * interval;
    if (this.intervals.length > this.options.windowSize) {
      const old = this.intervals.shift()!;
      this.sum -= old;
      this.sumSquares -= old * old;
    }
  }

  /** Suspicion at `now`; 0 before the first heartbeat. */
  phi(now: number): number {
    if (this.last === undefined) return 0;
    const n = this.intervals.length;
    const mean = this.sum / n;
    const variance = Math.max(0, this.sumSquares / n - mean * mean);
    return phi(now - this.last, mean + this.options.acceptablePauseMs, Math.max(Math.sqrt(variance), this.options.minStdDevMs));
  }
}

/** Akka's logistic approximation of −log10(1 − CDF(timeDiff)) for a normal distribution. */
export function phi(timeDiff: number, mean: number, stdDev: number): number {
  const y = (timeDiff - mean) / stdDev;
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
  return timeDiff > mean ? -Math.log10(e / (1 + e)) : -Math.log10(1 - 1 / (1 + e));
}
