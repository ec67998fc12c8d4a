/**
 * Watchdog: notices a worker thread whose event loop makes no progress.
 *
 * Owns: the progress counters (one Int32 slot per thread in a SharedArrayBuffer that each
 * worker bumps from a timer, so a blocked event loop stops bumping it), the periodic check,
 * and calling `onBlocked(thread)` once a watched thread has not moved for `limitMs`.
 * Does not own: what happens to a blocked thread (runtime/threads/thread-manager.ts terminates it).
 * Time: the host clock. Main thread only.
 */
import type { Clock, TimerHandle } from '../../actors/foundation/clock.js';

export class Watchdog {
  /** Handed to every worker (its boot data): slot `thread` is that worker's counter. */
  readonly buffer: SharedArrayBuffer;
  private readonly counters: Int32Array;
  /** Watched threads: the counter last seen and when it last moved. */
  private readonly watched = new Map<number, { seen: number; at: number }>();
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    threads: number,
    readonly limitMs: number,
    private readonly onBlocked: (thread: number) => void,
  ) {
    this.buffer = new SharedArrayBuffer(4 * (threads + 1));
    this.counters = new Int32Array(this.buffer);
  }

  /** Thread `thread` (a worker that just answered) is watched from now on. */
  watch(thread: number): void {
    this.watched.set(thread, { seen: Atomics.load(this.counters, thread), at: this.clock.now() });
  }

  unwatch(thread: number): void {
    this.watched.delete(thread);
  }

  start(): void {
    const every = Math.max(50, Math.min(1000, this.limitMs / 4));
    const check = (): void => {
      const now = this.clock.now();
      for (const [thread, w] of this.watched) {
        const seen = Atomics.load(this.counters, thread);
        if (seen !== w.seen) {
          w.seen = seen;
          w.at = now;
        } else if (now - w.at > this.limitMs) {
          this.watched.delete(thread);
          this.onBlocked(thread);
        }
      }
      this.timer = this.clock.setTimeout(check, every);
    };
    this.timer = this.clock.setTimeout(check, every);
  }

  stop(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.watched.clear();
  }
}
