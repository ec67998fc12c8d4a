/**
 * Latency distributions for benchmarks (hdr-histogram-js) and the row format of DESIGN §4.
 */
import * as hdr from 'hdr-histogram-js';

export interface BenchRow {
  scenario: string;
  system: string;
  metric: string;
  value: number;
  unit: string;
}

/** Records round-trip times in microseconds. */
export class Latency {
  private readonly h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });

  /** Records one sample given in milliseconds (performance.now differences). */
  recordMs(ms: number): void {
    // hundredths of a microsecond kept as integer ticks of 0.01 µs
    this.h.recordValue(Math.max(1, Math.round(ms * 100_000)));
  }

  percentile(p: number): number {
    return this.h.getValueAtPercentile(p) / 100;
  }

  rows(scenario: string, system: string): BenchRow[] {
    return [
      { scenario, system, metric: 'p50', value: round(this.percentile(50)), unit: 'us' },
      { scenario, system, metric: 'p99', value: round(this.percentile(99)), unit: 'us' },
      { scenario, system, metric: 'p999', value: round(this.percentile(99.9)), unit: 'us' },
    ];
  }
}

export function round(v: number): number {
  return Math.round(v * 100) / 100;
}
