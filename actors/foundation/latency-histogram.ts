/**
 * A fixed-bucket latency histogram cheap enough for the message path (no allocation per
 * observation), mergeable across threads: counts per upper bound in ms, plus sum and count,
 * exactly what a Prometheus histogram exposes.
 */

/** Upper bounds, ms (the last bucket, +Inf, is implicit). */
export const LATENCY_BUCKETS_MS: readonly number[] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

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

/** Adds histograms together (threads of one node). */
export function mergeHistograms(parts: HistogramData[]): HistogramData {
  const out: HistogramData = { counts: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0), sumMs: 0, count: 0 };
  for (const p of parts) {
    p.counts.forEach((c, i) => (out.counts[i]! += c));
    out.sumMs += p.sumMs;
    out.count += p.count;
  }
  return out;
}
