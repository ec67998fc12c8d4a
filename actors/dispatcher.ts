/**
 * The dispatcher runs the mailboxes of one thread.
 *
 * Owns: the run queue of actors that have work, the per-actor throughput budget and the
 * per-turn budget. A turn starts in a microtask (low latency for the first message) and
 * ends after `turnBudget` messages; the next turn is scheduled with `setImmediate`, so a
 * flood of messages — even to actors with async `receive` — never starves timers or I/O.
 * Does not own: what a message does (the cell decides).
 * Threads: one dispatcher per thread.
 */
import { Deque } from './foundation/deque.js';
import { DEFAULTS } from './defaults.js';

/** Something the dispatcher can run: drains at most `budget` messages, returns how many ran. */
export interface Runnable {
  /** Set by the dispatcher while the runnable sits in the run queue. */
  scheduled: boolean;
  run(budget: number): number;
  /** True when it has work it could do right now. */
  readonly runnable: boolean;
}

export interface DispatcherOptions {
  throughput?: number;
  turnBudget?: number;
}

export class Dispatcher {
  private readonly queue = new Deque<Runnable>(64);
  private running = false;
  private pending: 0 | 1 | 2 = 0; // 0 none, 1 microtask, 2 immediate
  private sinceYield = 0;
  private idleWaiters: (() => void)[] = [];
  readonly throughput: number;
  readonly turnBudget: number;

  constructor(options: DispatcherOptions = {}) {
    this.throughput = Math.max(1, options.throughput ?? DEFAULTS.throughput);
    this.turnBudget = Math.max(this.throughput, options.turnBudget ?? DEFAULTS.turnBudget);
  }

  /** Puts `r` on the run queue if it is not already there, and makes sure a turn will run. */
  schedule(r: Runnable): void {
    if (r.scheduled) return;
    r.scheduled = true;
    this.queue.push(r);
    if (!this.running && this.pending === 0) this.kick();
  }

  /**
   * Called at the start of a macrotask that delivers messages (a thread link receiving a
   * batch): the event loop has just had its turn, so the per-turn budget starts afresh and
   * the new work runs now rather than behind a pending `setImmediate` — otherwise a steady
   * inflow piles up in mailboxes between immediates.
   */
  enteredFromEventLoop(): void {
    if (this.running) return;
    this.sinceYield = 0;
    if (this.pending === 2 && this.queue.length > 0) {
      this.pending = 1;
      queueMicrotask(this.onMicrotask);
    }
  }

  /** True when no actor has a message it could process now. */
  get idle(): boolean {
    return !this.running && this.pending === 0 && this.queue.length === 0;
  }

  /**
   * Resolves once the dispatcher is idle after at least one event-loop turn, i.e. every
   * message that could be processed has been, and every settled promise has run on.
   * Pending timers and unsettled async `receive`s do not count as work.
   */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      if (this.idleWaiters.length === 1) this.pollIdle(0);
    });
  }

  private pollIdle(quietTurns: number): void {
    setImmediate(() => {
      if (!this.idle) return this.pollIdle(0);
      // Two quiet turns: promise chains that hop through setImmediate have settled too.
      if (quietTurns < 2) return this.pollIdle(quietTurns + 1);
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    });
  }

  private kick(): void {
    if (this.sinceYield >= this.turnBudget) {
      this.pending = 2;
      setImmediate(this.onImmediate);
    } else {
      this.pending = 1;
      queueMicrotask(this.onMicrotask);
    }
  }

  private readonly onMicrotask = (): void => {
    this.pending = 0;
    this.turn();
  };

  private readonly onImmediate = (): void => {
    this.pending = 0;
    this.sinceYield = 0;
    this.turn();
  };

  private turn(): void {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0 && this.sinceYield < this.turnBudget) {
        const r = this.queue.shift()!;
        r.scheduled = false;
        this.sinceYield += Math.max(1, r.run(this.throughput));
        if (r.runnable && !r.scheduled) {
          r.scheduled = true;
          this.queue.push(r);
        }
      }
    } finally {
      this.running = false;
    }
    if (this.queue.length > 0 && this.pending === 0) {
      this.pending = 2;
      setImmediate(this.onImmediate);
    }
  }
}
