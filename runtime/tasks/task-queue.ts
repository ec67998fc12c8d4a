/**
 * The durable task queue (BullMQ / SQS semantics over a TaskStore): submit, inspect, retry and
 * purge tasks; claim them under a lease and settle them; run consumers (task-consumer.ts).
 *
 * Owns: the lifecycle rules — queued → running → done | failed | dead, retry → queued:
 * - `submit` resolves once the task is durable; an idempotency key (per queue) makes a
 *   resubmit return the first task (its id, state and, once done, its result), writing nothing.
 * - A claim takes the highest priority first, FIFO within one, under a lease; a lease that
 *   runs out (the worker died, or its node) makes the task claimable again (attempts + 1).
 * - `complete`/`fail`/`extend` with a lease that was taken over reject `ERR_LEASE_LOST`
 *   (nothing written); a purged task `ERR_TASK_NOT_FOUND`.
 * - A failure is retried by the task's policy (backoff: `runAt` later) until `maxAttempts`
 *   deliveries, then the task is `dead` (the dead queue; also when its lease ran out on the
 *   last attempt). `failed`: it will not run again for another reason — its deadline passed
 *   (before a claim, or before the next retry) or the handler said the error is final.
 * - Delivery is at least once: a handler's side effects may happen again (a crash between
 *   them and the completion's commit); make them idempotent by the task's id or key.
 * Every state change is published as a `task` event (`events$`, metrics count them).
 * Does not own storage (the TaskStore) or the HTTP/CLI surfaces (runtime/admin/task-routes.ts,
 * runtime/cli/tasks.ts). Threads: the thread that made it. Time: the injected Clock (wall time,
 * rounded to ms, and randomness for jitter).
 */
import { randomUUID } from 'node:crypto';
import { RealClock, type Clock } from '../../actors/foundation/clock.js';
import { assertPlainData } from '../../transport/codec.js';
import { ApiaryError, ErrorCodes, serializeError } from '../../actors/foundation/errors.js';
import type { SystemEvent } from '../../actors/events.js';
import type { ActorRef } from '../../actors/actor-ref.js';
import {
  checkQueueName,
  checkSubmit,
  FINISHED_STATES,
  retryData,
  retryDelay,
  TASK_DEFAULTS,
  TASK_STATES,
  type SubmitOptions,
  type Task,
  type TaskState,
} from './task.js';
import type { CommitRefusal, TaskFilter, TaskStore } from './task-store.js';
import { TaskConsumer, type ConsumeOptions, type TaskHandler } from './task-consumer.js';

/** What a task queue needs: its store, and (optionally) the node whose clock and `events$` it uses. */
export interface TaskQueueOptions {
  store: TaskStore;
  /** An ActorSystem (or anything with a clock and `publish`): task events go to its `events$`. */
  system?: { clock: Clock; publish(event: SystemEvent): void; name?: string };
  /** Default: the system's clock, else the real one. */
  clock?: Clock;
  /** Who claims (leases name it): default `NODE:PID`. */
  owner?: string;
}

/** What a listing asks for. */
export interface ListOptions {
  queue?: string;
  state?: TaskState | readonly TaskState[];
  /** Default 100, at most 10,000. */
  limit?: number;
}

/** What a purge removes: one task, or every task matching (default: the finished ones). */
export type PurgeOptions = { id: string } | { queue?: string; states?: readonly TaskState[]; before?: number };

/** How a claim is made. */
export interface ClaimOptions {
  /** Default 1. */
  max?: number;
  /** Default {@link TASK_DEFAULTS}.leaseMs. */
  leaseMs?: number;
  owner?: string;
}

/** Makes a task queue over `store` (publishing on `system.events$` when a system is given). */
export function createTaskQueue(options: TaskQueueOptions): TaskQueue {
  return new TaskQueue(options);
}

/**
 * The durable task queue over one TaskStore (all its queues): see the module header for the
 * lifecycle rules. Made by {@link createTaskQueue}; `close()` stops its consumers, then the store.
 */
export class TaskQueue {
  readonly store: TaskStore;
  readonly clock: Clock;
  readonly owner: string;
  private readonly publish: ((e: SystemEvent) => void) | undefined;
  private readonly wakers = new Map<string, Set<() => void>>();
  private readonly consumers = new Set<TaskConsumer>();

  constructor(options: TaskQueueOptions) {
    this.store = options.store;
    this.clock = options.clock ?? options.system?.clock ?? new RealClock();
    this.owner = options.owner ?? `${options.system?.name ?? 'node'}:${process.pid}`;
    const system = options.system;
    this.publish = system === undefined ? undefined : (e) => system.publish(e);
  }

  /**
   * Stores a task; resolves once it is durable (a reject means it was not accepted:
   * `ERR_INVALID_ARGUMENT` naming the field, `ERR_STORE_UNAVAILABLE`). With an idempotency key
   * already used in this queue, resolves the first task as it is now (done: with its result).
   */
  async submit(task: { queue: string; payload: unknown }, options: SubmitOptions = {}): Promise<Task> {
    return (await this.submitted(task, options)).task;
  }

  /** Like {@link submit}, and says whether the task is new (`created: false`: its idempotency key was used before). */
  async submitted(task: { queue: string; payload: unknown }, options: SubmitOptions = {}): Promise<{ task: Task; created: boolean }> {
    checkQueueName(task.queue);
    checkSubmit(options);
    // plain data, nested at most CODEC_DEFAULTS.maxDepth: what every store can encode (ERR_UNSERIALIZABLE, nothing stored)
    assertPlainData(task.payload, 'payload');
    const now = this.now();
    const record: Task = {
      id: randomUUID(),
      queue: task.queue,
      payload: task.payload ?? null,
      priority: options.priority ?? TASK_DEFAULTS.priority,
      state: 'queued',
      attempts: 0,
      retry: retryData(options.retry ?? TASK_DEFAULTS.retry),
      createdAt: now,
      updatedAt: now,
      runAt: now + Math.round(options.delayMs ?? 0),
      seq: 0,
    };
    if (options.idempotencyKey !== undefined) record.idempotencyKey = options.idempotencyKey;
    if (options.deadline !== undefined) record.deadline = options.deadline;
    const { task: stored, created } = await this.store.insert(record);
    if (created) {
      this.emit(stored, undefined);
      this.wake(stored.queue);
    }
    return { task: stored, created };
  }

  /** The task; rejects `ERR_TASK_NOT_FOUND` (never existed, or purged). */
  async get(id: string): Promise<Task> {
    const t = await this.store.get(id);
    if (t === undefined) throw notFound(id);
    return t;
  }

  /** Tasks in submission order, filtered by queue and state. */
  async list(options: ListOptions = {}): Promise<Task[]> {
    const filter: TaskFilter = {};
    if (options.queue !== undefined) filter.queue = options.queue;
    if (options.state !== undefined) filter.states = typeof options.state === 'string' ? [options.state] : options.state;
    for (const s of filter.states ?? []) {
      if (!TASK_STATES.includes(s)) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `state must be one of ${TASK_STATES.join(', ')}`, { field: 'state' });
    }
    const limit = options.limit ?? TASK_DEFAULTS.listLimit;
    if (!Number.isInteger(limit) || limit < 1 || limit > TASK_DEFAULTS.maxListLimit) {
      throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `limit must be an integer in 1–${TASK_DEFAULTS.maxListLimit}`, { field: 'limit' });
    }
    return this.store.list(filter, limit);
  }

  /** How many tasks are in each state (of one queue, or all). */
  counts(queue?: string): Promise<Record<TaskState, number>> {
    return this.store.counts(queue);
  }

  /**
   * Queues a `dead` or `failed` task again, now, with its attempts back to 0. Rejects
   * `ERR_TASK_NOT_FOUND`, or `ERR_INVALID_ARGUMENT` (field `state`) for a task in another state.
   */
  async retry(id: string): Promise<Task> {
    const cur = await this.get(id);
    if (cur.state !== 'dead' && cur.state !== 'failed') {
      throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `task ${id} is ${cur.state}: only dead or failed tasks can be retried`, { field: 'state' });
    }
    const now = this.now();
    const next: Task = strip({ ...cur, state: 'queued', attempts: 0, runAt: now, updatedAt: now }, ['error', 'finishedAt', 'lease', 'result']);
    await this.settle(next, { states: ['dead', 'failed'] }, cur.state);
    this.wake(next.queue);
    return next;
  }

  /**
   * Deletes one task (`{ id }`: rejects `ERR_TASK_NOT_FOUND` if there is none) or every task
   * matching (default states: done, failed, dead — queued and running tasks only when named).
   * Their idempotency keys are free again. Resolves how many were deleted.
   */
  async purge(options: PurgeOptions = {}): Promise<number> {
    if ('id' in options) {
      if (!(await this.store.remove(options.id))) throw notFound(options.id);
      return 1;
    }
    const filter: TaskFilter = { states: options.states ?? FINISHED_STATES };
    if (options.queue !== undefined) filter.queue = options.queue;
    if (options.before !== undefined) filter.before = options.before;
    return this.store.purge(filter);
  }

  /**
   * Claims up to `max` due tasks of `queue` under a lease (running, attempts + 1). A task whose
   * deadline passed is `failed` instead, one past its attempts (its lease ran out on the last
   * one) `dead`: neither is returned.
   */
  async claim(queue: string, options: ClaimOptions = {}): Promise<Task[]> {
    const now = this.now();
    const leaseMs = options.leaseMs ?? TASK_DEFAULTS.leaseMs;
    const claimed = await this.store.claim(queue, { owner: options.owner ?? this.owner, max: options.max ?? 1, until: now + leaseMs, now, token: randomUUID });
    const out: Task[] = [];
    for (const { task, previous } of claimed) {
      this.emit(task, previous);
      if (task.deadline !== undefined && now > task.deadline) {
        await this.finishAs(task, 'failed', new ApiaryError(ErrorCodes.TIMEOUT, `task ${task.id} passed its deadline before it ran`), now);
      } else if (task.attempts > task.retry.maxAttempts) {
        const err = new ApiaryError(ErrorCodes.LEASE_LOST, `task ${task.id}: its lease ran out on the last of ${task.retry.maxAttempts} attempts`);
        await this.finishAs(task, 'dead', err, now);
      } else out.push(task);
    }
    return out;
  }

  /**
   * Records `result` for a task this worker holds (`claimed`: as claim or extend returned it):
   * done, durable when it resolves. Rejects `ERR_LEASE_LOST` if the lease was taken over.
   */
  async complete(claimed: Task, result?: unknown): Promise<Task> {
    // a result no store can encode fails the attempt (ERR_UNSERIALIZABLE), never the store
    if (result !== undefined) assertPlainData(result, 'result');
    const now = this.now();
    const next = strip({ ...claimed, state: 'done', updatedAt: now, finishedAt: now }, ['lease', 'error']);
    if (result !== undefined) next.result = result;
    await this.settle(next, { token: leaseToken(claimed) }, 'running');
    return next;
  }

  /**
   * Records a failed attempt: queued again after the policy's backoff, or `dead` past its
   * attempts, or `failed` when `final` is set or the retry would start past the deadline.
   * Rejects `ERR_LEASE_LOST` if the lease was taken over.
   */
  async fail(claimed: Task, error: unknown, options: { final?: boolean } = {}): Promise<Task> {
    const now = this.now();
    const err = serializeError(error);
    const delay = retryDelay(claimed.retry, claimed.attempts, this.clock.random());
    const pastDeadline = claimed.deadline !== undefined && now + delay > claimed.deadline;
    let next: Task;
    if (options.final === true || pastDeadline) next = strip({ ...claimed, state: 'failed', error: err, updatedAt: now, finishedAt: now }, ['lease']);
    else if (claimed.attempts >= claimed.retry.maxAttempts) next = strip({ ...claimed, state: 'dead', error: err, updatedAt: now, finishedAt: now }, ['lease']);
    else next = strip({ ...claimed, state: 'queued', error: err, updatedAt: now, runAt: now + delay }, ['lease']);
    await this.settle(next, { token: leaseToken(claimed) }, 'running');
    if (next.state === 'queued') this.wake(next.queue);
    return next;
  }

  /** Extends the lease of a task this worker holds by `leaseMs` from now; resolves the task with the new lease. Rejects `ERR_LEASE_LOST`. */
  async extend(claimed: Task, leaseMs: number = TASK_DEFAULTS.leaseMs): Promise<Task> {
    const now = this.now();
    const lease = claimed.lease;
    if (lease === undefined) throw new ApiaryError(ErrorCodes.LEASE_LOST, `task ${claimed.id} is not held`);
    const next: Task = { ...claimed, lease: { ...lease, until: now + leaseMs }, updatedAt: now };
    const refused = await this.store.commit(next, { token: lease.token });
    if (refused !== undefined) throw refusal(refused, next.id);
    return next;
  }

  /**
   * Runs tasks of `queue` with `worker` — a function of the payload, or an actor asked with
   * the payload (its reply is the result) — `concurrency` at a time, extending each lease while
   * it runs. A resolved value completes the task, a throw or rejection fails it (retried by its
   * policy). At-least-once: a task may run again after a crash, so side effects should be
   * idempotent (by task id or idempotency key).
   */
  consume(queue: string, worker: TaskHandler | ActorRef, options: ConsumeOptions = {}): TaskConsumer {
    checkQueueName(queue);
    const run: TaskHandler =
      typeof worker === 'function'
        ? worker
        : (payload) => worker.ask(payload, { timeout: options.askTimeoutMs ?? TASK_DEFAULTS.askTimeoutMs });
    const consumer = new TaskConsumer(this, queue, run, options, () => this.consumers.delete(consumer));
    this.consumers.add(consumer);
    let set = this.wakers.get(queue);
    if (set === undefined) this.wakers.set(queue, (set = new Set()));
    const wake = () => consumer.wake();
    set.add(wake);
    consumer.onStop(() => set!.delete(wake));
    consumer.wake();
    return consumer;
  }

  /** Stops every consumer (their running tasks finish first), then closes the store. */
  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.stop()));
    await this.store.close();
  }

  private async finishAs(task: Task, state: 'failed' | 'dead', error: ApiaryError, now: number): Promise<void> {
    const next = strip({ ...task, state, error: serializeError(error), updatedAt: now, finishedAt: now }, ['lease']);
    try {
      await this.settle(next, { token: leaseToken(task) }, 'running');
    } catch (err) {
      if (!(err instanceof ApiaryError && err.code === ErrorCodes.LEASE_LOST)) throw err;
    }
  }

  private async settle(next: Task, guard: { token: string } | { states: readonly TaskState[] }, previous: TaskState): Promise<void> {
    const refused: CommitRefusal | undefined = await this.store.commit(next, guard);
    if (refused !== undefined) throw refusal(refused, next.id);
    this.emit(next, previous);
  }

  private emit(t: Task, previous: TaskState | undefined): void {
    this.publish?.({ type: 'task', queue: t.queue, id: t.id, state: t.state, previous, attempts: t.attempts, at: t.updatedAt });
  }

  private wake(queue: string): void {
    const set = this.wakers.get(queue);
    if (set !== undefined) for (const w of set) w();
  }

  private now(): number {
    return Math.round(this.clock.wallTime());
  }
}

function leaseToken(t: Task): string {
  if (t.lease === undefined) throw new ApiaryError(ErrorCodes.LEASE_LOST, `task ${t.id} is not held (no lease)`);
  return t.lease.token;
}

function strip(t: Task, keys: readonly (keyof Task)[]): Task {
  for (const k of keys) delete t[k];
  return t;
}

function notFound(id: string): ApiaryError {
  return new ApiaryError(ErrorCodes.TASK_NOT_FOUND, `no task ${id}`);
}

function refusal(r: CommitRefusal, id: string): ApiaryError {
  if (r === 'missing') return notFound(id);
  if (r === 'lease') return new ApiaryError(ErrorCodes.LEASE_LOST, `task ${id}: its lease was taken over (it ran out and another worker claimed it); nothing recorded`);
  return new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `task ${id} changed state meanwhile`, { field: 'state' });
}
