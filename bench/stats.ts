/**
 * Measuring helpers for bench/: latency distributions (hdr-histogram-js), throughput runs
 * (tinybench), forced GC for heap figures, and the row format of the bench contract (bench/README.md).
 *
 * bench/ times itself with `performance.now()` (the runtime itself uses only actors/foundation/clock.ts).
 */
import * as hdr from 'hdr-histogram-js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Bench } from 'tinybench';

/**
 * One figure of the bench contract (bench/README.md). `variant` is our extension (see bench/README.md): it tells apart
 * two measurements of the same scenario, system and metric (e.g. `restart` in-thread vs
 * `thread-crash`); rows without it are the scenario's headline figures.
 */
export interface BenchRow {
  scenario: string;
  system: string;
  metric: string;
  value: number;
  unit: string;
  variant?: string;
}

/** Why a system has no figure for a scenario; shown in the table, not in the JSON rows. */
export interface BenchNote {
  scenario: string;
  system: string;
  note: string;
}

export interface ScenarioResult {
  rows: BenchRow[];
  notes: BenchNote[];
}

/** Records latencies in microseconds, with 0.01 µs resolution. */
export class Latency {
  private readonly h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 6_000_000_000, numberOfSignificantValueDigits: 3 });

  /** Records one sample given in milliseconds (performance.now differences). */
  recordMs(ms: number): void {
    this.h.recordValue(Math.max(1, Math.round(ms * 100_000)));
  }

  get count(): number {
    return this.h.totalCount;
  }

  percentile(p: number): number {
    return this.h.getValueAtPercentile(p) / 100;
  }

  rows(scenario: string, system: string, variant?: string): BenchRow[] {
    const v = variant === undefined ? {} : { variant };
    return [
      { scenario, system, metric: 'p50', value: round(this.percentile(50)), unit: 'us', ...v },
      { scenario, system, metric: 'p99', value: round(this.percentile(99)), unit: 'us', ...v },
      { scenario, system, metric: 'p999', value: round(this.percentile(99.9)), unit: 'us', ...v },
    ];
  }
}

export function round(v: number): number {
  return v >= 1000 ? Math.round(v) : Math.round(v * 100) / 100;
}

export function throughputRow(scenario: string, system: string, msgPerS: number, variant?: string): BenchRow {
  return { scenario, system, metric: 'throughput', value: round(msgPerS), unit: 'msg/s', ...(variant === undefined ? {} : { variant }) };
}

/** Lets the event loop run once (I/O, timers, other threads' messages). */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs `batch` (which moves `perIteration` messages and resolves when they all arrived)
 * `iterations` times under tinybench after one warm-up; returns messages per second at the
 * median iteration time.
 */
export async function throughput(name: string, perIteration: number, iterations: number, batch: () => Promise<void>): Promise<number> {
  const bench = new Bench({ iterations, time: 0, warmup: true, warmupIterations: 1, warmupTime: 0, throws: true });
  bench.add(name, batch);
  await bench.run();
  const result = bench.tasks[0]!.result as { latency?: { p50: number } };
  if (result.latency === undefined) throw new Error(`${name}: tinybench produced no statistics`);
  return (perIteration / result.latency.p50) * 1000;
}

/**
 * CPU cost: process CPU time (user + system, every thread of the process) ÷ wall time over
 * the measured stretches — how many cores were busy meanwhile (2 = both cores here).
 */
export class CoresBusy {
  private cpuMicros = 0;
  private wallMs = 0;

  async measure<T>(fn: () => Promise<T>): Promise<T> {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.wallMs += performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      this.cpuMicros += cpu.user + cpu.system;
    }
  }

  get cores(): number {
    return this.wallMs === 0 ? 0 : this.cpuMicros / 1000 / this.wallMs;
  }
}

let gcFn: (() => void) | undefined;

/** A full GC (V8's `gc`, enabled on first use without a command-line flag). */
export function collectGarbage(): void {
  if (gcFn === undefined) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
}

/** Heap in use after a full GC, bytes. */
export function heapAfterGc(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}
