/**
 * Bulkhead: at most `maxConcurrent` calls run at once, at most `maxQueue` wait for a slot
 * (FIFO); one more is rejected at once with `ERR_BULKHEAD_FULL` — so one slow dependency
 * cannot take every agent's concurrency with it.
 *
 * Owns: the slot count and the wait queue. Does not own: timeouts (the call's own).
 * Threads: one; no time involved (an aborted waiter leaves the queue with `ERR_ABORTED`).
 */
import { ApiaryError, ErrorCodes } from '../actors/foundation/errors.js';
import { abortedError, check } from './abort.js';
import { DEFAULTS } from './defaults.js';

export interface BulkheadOptions {
  maxConcurrent?: number;
  maxQueue?: number;
  /** Names it in errors. */
  name?: string;
}

interface Waiter {
  start: () => void;
  abort: () => void;
}

export class Bulkhead {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  readonly name: string;
  private running = 0;
  private readonly waiting: Waiter[] = [];

  constructor(options: BulkheadOptions = {}) {
    this.maxConcurrent = options.maxConcurrent ?? DEFAULTS.bulkhead.maxConcurrent;
    this.maxQueue = options.maxQueue ?? DEFAULTS.bulkhead.maxQueue;
    this.name = options.name ?? 'bulkhead';
    check(Number.isInteger(this.maxConcurrent) && this.maxConcurrent >= 1, 'maxConcurrent', 'must be an integer ≥ 1');
    check(Number.isInteger(this.maxQueue) && this.maxQueue >= 0, 'maxQueue', 'must be an integer ≥ 0');
  }

  /** Calls running now. */
  get active(): number {
    return this.running;
  }

  /** Calls waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Runs `fn` in a slot, after waiting in line if all are busy. Rejects `ERR_BULKHEAD_FULL`
   * (without calling it) when the line is full, `ERR_ABORTED` if `signal` fires while it waits.
   */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.running >= this.maxConcurrent) {
      if (this.waiting.length >= this.maxQueue) {
        throw new ApiaryError(ErrorCodes.BULKHEAD_FULL, `bulkhead ${this.name} is full (${this.running} running, ${this.waiting.length} waiting)`);
      }
      await this.wait(signal);
    } else {
      this.running++;
    }
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next !== undefined) next.start(); // the slot passes on
      else this.running--;
    }
  }

  private wait(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortedError('the bulkhead wait'));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiting.indexOf(w);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(abortedError('the bulkhead wait'));
      };
      const w: Waiter = {
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        abort: onAbort,
      };
      this.waiting.push(w);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
