/**
 * A fixed-bucket latency histogram cheap enough for the message path (no allocation per
 * observation), mergeable across threads: counts per upper bound in ms, plus sum and count,
 * exactly what a Prometheus histogram exposes.
 *
 * Owns: the bucket bounds every thread uses (one layout, so merging is adding arrays).
 * Does not own: rendering them (runtime/observability/metrics.ts).
 * Threads: one histogram per thread, never shared. Time: callers pass durations in ms.
 */

/**
 * Upper bounds, ms (the last bucket, +Inf, is implicit): 10 µs for in-thread messages up to
 * 10 minutes for LLM calls and long tool runs, so a slow ask still lands in a finite bucket.
 */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000,
];

export interface HistogramData {
  /** Non-cumulative counts per bucket; one more than LATENCY_BUCKETS_MS (+Inf last). */
  counts: number[];
  sumMs: number;
  count: number;
}

export class LatencyHistogram {
  readonly counts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  sumMs = 0;
  count = 0;

  /** Counts one duration (ms); a linear scan that stops early, as most observations are short. */
  observe(ms: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[i]!) i++;
    this.counts[i]!++;
    this.sumMs += ms;
    this.count++;
  }

  data(): HistogramData {
    return { counts: [...this.counts], sumMs: this.sumMs, count: this.count };
  }
}

/** Adds histograms together (threads of one node): one pass over a few dozen numbers each. */
export function mergeHistograms(parts: HistogramData[]): HistogramData {
  const out: HistogramData = { counts: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0), sumMs: 0, count: 0 };
  for (const p of parts) {
    p.counts.forEach((c, i) => (out.counts[i]! += c));
    out.sumMs += p.sumMs;
    out.count += p.count;
  }
  return out;
}
