/**
 * Pending asks of one thread: the reply side of request/response.
 *
 * Owns: ask ids, their promises and timeout timers. A reply for an unknown id (timed out,
 * already answered) is dropped here — it can never reach a later ask, because ids are
 * never reused within a thread's life.
 * Threads: one registry per thread; replies from other threads arrive as plain data.
 */
import type { Clock, TimerHandle } from '../runtime/clock.js';
import { ApiaryError, ErrorCodes } from '../runtime/errors.js';
import { LatencyHistogram } from './latency-histogram.js';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  timer: TimerHandle | undefined;
  startedAt: number;
}

export class AskRegistry {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Replies that arrived after their ask was settled (timeout or rejection). */
  lateReplies = 0;

  constructor(
    private readonly clock: Clock,
    /** Round-trip times of answered asks, ms. */
    readonly latency: LatencyHistogram = new LatencyHistogram(),
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** Opens an ask; the promise rejects `ERR_ASK_TIMEOUT` after `timeout` ms (none if Infinity). */
  open<R>(timeout: number, describe: () => string): { id: number; promise: Promise<R> } {
    const id = this.nextId++;
    const promise = new Promise<R>((resolve, reject) => {
      const entry: Pending = {
        resolve: resolve as (v: unknown) => void,
        reject,
        timer: undefined,
        startedAt: this.clock.now(),
      };
      if (Number.isFinite(timeout)) {
        entry.timer = this.clock.setTimeout(() => {
          if (this.pending.delete(id)) {
            reject(new ApiaryError(ErrorCodes.ASK_TIMEOUT, `ask to ${describe()} timed out after ${timeout} ms`));
          }
        }, timeout);
      }
      this.pending.set(id, entry);
    });
    return { id, promise };
  }

  /** True while ask `id` waits for its answer. */
  isOpen(id: number): boolean {
    return this.pending.has(id);
  }

  /** Delivers a reply; returns false (and counts a late reply) if the ask is no longer open. */
  resolve(id: number, value: unknown): boolean {
    const entry = this.pending.get(id);
    if (!entry) {
      this.lateReplies++;
      return false;
    }
    this.pending.delete(id);
    this.clock.clearTimeout(entry.timer);
    this.latency.observe(this.clock.now() - entry.startedAt);
    entry.resolve(value);
    return true;
  }

  /** Rejects an open ask; returns false if it is no longer open. */
  reject(id: number, err: unknown): boolean {
    const entry = this.pending.get(id);
    if (!entry) return false;
    this.pending.delete(id);
    this.clock.clearTimeout(entry.timer);
    entry.reject(err);
    return true;
  }

  /** Rejects every open ask (used when the thread's system stops). */
  rejectAll(err: unknown): void {
    for (const id of [...this.pending.keys()]) this.reject(id, err);
  }
}
