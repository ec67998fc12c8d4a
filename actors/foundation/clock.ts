/**
 * Time and randomness for the whole runtime.
 *
 * Owns: the only calls to `setTimeout`, `clearTimeout`, `performance.now`, `Date.now` and
 * `Math.random` in apiary. Everything that waits, times out, backs off or jitters takes a
 * {@link Clock}, so tests drive time with a {@link ManualClock} and never sleep.
 * Does not own: event-loop yielding (the dispatcher's `setImmediate` is scheduling, not time).
 * Threads: one clock per thread; a clock is never shared across threads.
 */

/** A handle returned by {@link Clock.setTimeout}; pass it to {@link Clock.clearTimeout}. */
export interface TimerHandle {
  readonly id: number;
}

/** The source of time, timers and randomness that every apiary component is given. */
export interface Clock {
  /** Monotonic milliseconds; only differences are meaningful. */
  now(): number;
  /** Wall-clock milliseconds since the Unix epoch, for timestamps shown to people. */
  wallTime(): number;
  /** Runs `fn` once after `ms` milliseconds. The timer does not keep the process alive. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; cancelling a fired or unknown timer does nothing. */
  clearTimeout(handle: TimerHandle | undefined): void;
  /** A number in [0, 1). Seeded in a {@link ManualClock}, so jitter is reproducible. */
  random(): number;
}

/** The real clock: `performance.now`, Node timers, `Math.random`. */
export class RealClock implements Clock {
  private nextId = 1;
  private readonly timers = new Map<number, NodeJS.Timeout>();

  now(): number {
    return performance.now();
  }

  wallTime(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    const t = setTimeout(() => {
      this.timers.delete(id);
      fn();
    }, Math.max(0, ms));
    t.unref();
    this.timers.set(id, t);
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const t = this.timers.get(handle.id);
    if (t) {
      clearTimeout(t);
      this.timers.delete(handle.id);
    }
  }

  random(): number {
    return Math.random();
  }
}

interface ManualTimer {
  id: number;
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that moves only when told to. Timers fire synchronously inside {@link advance},
 * in deadline order (ties in creation order). `random()` is a seeded PRNG (mulberry32).
 */
export class ManualClock implements Clock {
  private current: number;
  private nextId = 1;
  private seq = 0;
  private timers: ManualTimer[] = [];
  private seed: number;

  constructor(options: { start?: number; seed?: number } = {}) {
    this.current = options.start ?? 0;
    this.seed = (options.seed ?? 0x9e3779b9) >>> 0;
  }

  now(): number {
    return this.current;
  }

  wallTime(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.push({ id, at: this.current + Math.max(0, ms), seq: this.seq++, fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (!handle) return;
    this.timers = this.timers.filter((t) => t.id !== handle.id);
  }

  /** Number of timers not yet fired. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Deadline of the earliest pending timer, or undefined. */
  nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const t of this.timers) if (min === undefined || t.at < min) min = t.at;
    return min;
  }

  /**
   * Moves time forward by `ms`, firing every timer whose deadline is reached, earliest
   * first; a timer set by a firing timer fires too if its deadline falls inside the window.
   */
  advance(ms: number): void {
    const target = this.current + Math.max(0, ms);
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.timers) {
        if (t.at <= target && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      const fired = next;
      this.timers = this.timers.filter((t) => t !== fired);
      this.current = Math.max(this.current, fired.at);
      fired.fn();
    }
    this.current = target;
  }

  random(): number {
    // mulberry32
    this.seed = (this.seed + 0x6d2b79f5) >>> 0;
    let t = this.seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/**
 * Real monotonic milliseconds (sub-microsecond resolution), whatever clock the host was
 * given: only for bounding a busy-wait (transport/spinner.ts), never for timeouts or backoff.
 */
export function monotonicNow(): number {
  return performance.now();
}

/**
 * Waits `ms` of real time and keeps the process alive meanwhile (unlike Clock timers):
 * for command-line loops such as `apiary tree --watch`, not for the runtime.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Keeps the process alive until the returned function is called (Clock timers do not): for
 * the CLI while a node stops, so hooks that wait on the clock are not cut short by the
 * event loop running dry. Not for the runtime.
 */
export function keepAlive(): () => void {
  const handle = setInterval(() => {}, 1 << 30);
  return () => clearInterval(handle);
}
