/**
 * TaskConsumer: one consumer of one queue — claims due tasks up to its concurrency, runs each
 * with its handler (a function, or an ask to a worker actor: task-queue.ts makes it), extends
 * the lease every third of it while the handler runs, and completes or fails the task by the
 * outcome. Several consumers (on this node or others, with Redis) compete for one queue.
 *
 * Owns: its in-flight set, its timers and counters. Does not own the lifecycle rules
 * (task-queue.ts). A local submit or retry wakes it at once; otherwise it looks every
 * `pollMs` (delayed tasks, retries' backoff, leases that ran out, other nodes' submits).
 * Errors of the store (ERR_STORE_UNAVAILABLE) are counted and retried at the next poll; a
 * completion refused ERR_LEASE_LOST is counted `lost` (the task ran again elsewhere).
 * Threads: the queue's thread. Time: the queue's Clock (polls, lease extensions); a wake is
 * `setImmediate` (the next turn, so many submits of one turn make one claim).
 */
import type { TimerHandle } from '../../actors/foundation/clock.js';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import { TASK_DEFAULTS, type Task } from './task.js';
import type { TaskQueue } from './task-queue.js';

/** Runs one task: resolves its result, or throws to fail it. */
export type TaskHandler = (payload: any, task: Task) => unknown;

export interface ConsumeOptions {
  /** Tasks run at once (default 16). */
  concurrency?: number;
  /** Lease per claim, extended every third of it while the handler runs (default 30 s). */
  leaseMs?: number;
  /** How often an idle consumer looks for due tasks (default 250 ms). */
  pollMs?: number;
  /** An actor worker's ask timeout (default 5 min); past it the attempt fails. */
  askTimeoutMs?: number;
  /** Who claims (default the queue's owner). */
  owner?: string;
}

/** What a consumer did so far. */
export interface ConsumerStats {
  done: number;
  failed: number;
  /** Completions refused ERR_LEASE_LOST (the task was taken over). */
  lost: number;
  /** Claims or settlements that the store refused (e.g. ERR_STORE_UNAVAILABLE). */
  storeErrors: number;
}

/** One running consumer (made by `TaskQueue.consume`): `stats`, `running`, `stop()`. */
export class TaskConsumer {
  readonly stats: ConsumerStats = { done: 0, failed: 0, lost: 0, storeErrors: 0 };
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly owner: string | undefined;
  private inflight = 0;
  private claiming = false;
  private again = false;
  private stopped = false;
  private timer: TimerHandle | undefined;
  private soon: NodeJS.Immediate | undefined;
  private readonly stopHooks: (() => void)[] = [];
  private idle: (() => void) | undefined;

  constructor(
    private readonly tasks: TaskQueue,
    readonly queue: string,
    private readonly run: TaskHandler,
    options: ConsumeOptions,
    private readonly forget: () => void,
  ) {
    this.concurrency = options.concurrency ?? TASK_DEFAULTS.concurrency;
    this.leaseMs = options.leaseMs ?? TASK_DEFAULTS.leaseMs;
    this.pollMs = options.pollMs ?? TASK_DEFAULTS.pollMs;
    this.owner = options.owner;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'concurrency must be an integer ≥ 1', { field: 'concurrency' });
    if (!(this.leaseMs >= 10)) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'leaseMs must be ≥ 10', { field: 'leaseMs' });
  }

  /** Tasks running now. */
  get running(): number {
    return this.inflight;
  }

  /** Looks for tasks soon (coalesced: many wakes in one turn make one claim). */
  wake(): void {
    if (this.stopped || this.soon !== undefined) return;
    // scheduling, not time: the next turn (after this turn's submits), not a timer's ≥ 1 ms
    this.soon = setImmediate(() => {
      this.soon = undefined;
      void this.tick();
    });
  }

  /** Claims no more; resolves when the running tasks are settled. */
  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.tasks.clock.clearTimeout(this.timer);
      if (this.soon !== undefined) clearImmediate(this.soon);
      this.soon = undefined;
      for (const h of this.stopHooks) h();
      this.forget();
    }
    if (this.inflight > 0 || this.claiming) await new Promise<void>((resolve) => (this.idle = resolve));
  }

  /** Runs `hook` when the consumer stops. */
  onStop(hook: () => void): void {
    this.stopHooks.push(hook);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    const free = this.concurrency - this.inflight;
    if (free <= 0) return; // a finishing task wakes it
    this.claiming = true;
    let got = 0;
    try {
      const claimed = await this.tasks.claim(this.queue, this.owner === undefined ? { max: free, leaseMs: this.leaseMs } : { max: free, leaseMs: this.leaseMs, owner: this.owner });
      got = claimed.length;
      for (const t of claimed) void this.runOne(t);
    } catch {
      this.stats.storeErrors++;
    } finally {
      this.claiming = false;
    }
    if (this.stopped) return this.settleIdle();
    if (got === free || this.again) {
      this.again = false;
      this.wake();
    } else {
      this.tasks.clock.clearTimeout(this.timer);
      this.timer = this.tasks.clock.setTimeout(() => void this.tick(), this.pollMs);
    }
  }

  private async runOne(claimed: Task): Promise<void> {
    this.inflight++;
    let held = claimed;
    let lost = false;
    let extender: TimerHandle | undefined;
    const extendEvery = Math.max(5, Math.floor(this.leaseMs / 3));
    const extend = () => {
      extender = this.tasks.clock.setTimeout(() => {
        this.tasks.extend(held, this.leaseMs).then(
          (t) => {
            held = t;
            if (extender !== undefined) extend();
          },
          (err: unknown) => {
            if (err instanceof ApiaryError && (err.code === ErrorCodes.LEASE_LOST || err.code === ErrorCodes.TASK_NOT_FOUND)) lost = true;
            else if (extender !== undefined) extend();
          },
        );
      }, extendEvery);
    };
    extend();
    let ok = false;
    let value: unknown;
    try {
      value = await this.run(claimed.payload, claimed);
      ok = true;
    } catch (err) {
      value = err;
    }
    this.tasks.clock.clearTimeout(extender);
    extender = undefined;
    try {
      if (lost) this.stats.lost++;
      else if (ok && (await this.completeOrFail(held, value))) this.stats.done++;
      else if (ok) this.stats.failed++;
      else {
        await this.tasks.fail(held, value);
        this.stats.failed++;
      }
    } catch (err) {
      if (err instanceof ApiaryError && (err.code === ErrorCodes.LEASE_LOST || err.code === ErrorCodes.TASK_NOT_FOUND)) this.stats.lost++;
      else this.stats.storeErrors++;
    } finally {
      this.inflight--;
      if (this.stopped) this.settleIdle();
      else this.wake();
    }
  }

  /** Completes with the handler's value; a value no store can encode fails the attempt instead (false). */
  private async completeOrFail(held: Task, value: unknown): Promise<boolean> {
    try {
      await this.tasks.complete(held, value);
      return true;
    } catch (err) {
      if (!(err instanceof ApiaryError && err.code === ErrorCodes.UNSERIALIZABLE)) throw err;
      await this.tasks.fail(held, err);
      return false;
    }
  }

  private settleIdle(): void {
    if (this.inflight === 0 && !this.claiming && this.idle !== undefined) {
      const done = this.idle;
      this.idle = undefined;
      done();
    }
  }
}
