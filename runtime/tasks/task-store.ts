/**
 * The task store contract: the atomic operations the task queue needs from a backend —
 * memory (tests), LMDB (one node; the embedded default) and Redis (competing consumers on
 * several nodes). Each passes test/unit/task-queue.test.ts.
 *
 * Owns: the semantics every backend keeps. Does not own the lifecycle rules (retries,
 * deadlines, dead queue: task-queue.ts decides the next record, the store applies it).
 * - A promise that resolves means durable (LMDB: a committed transaction — many calls of one
 *   event-loop turn share one commit; Redis: acknowledged by the server). `claim` and `extend`
 *   on LMDB may resolve before their commit: a lease lost in a crash only means the task runs
 *   again (at-least-once), never that it is lost.
 * - A backend that cannot be reached rejects `ERR_STORE_UNAVAILABLE` (nothing written);
 *   unreadable data `ERR_STORE_CORRUPT`. Never a silent empty result.
 * - `claim` is atomic: two consumers (on one node or several) never hold the same task.
 * Threads: the thread that opened it. Time: callers pass `now` (wall-clock ms).
 */
import type { Task, TaskState } from './task.js';

/** A task just claimed, and the state it was in before (running: its lease had run out). */
export interface Claimed {
  task: Task;
  previous: TaskState;
}

/** What {@link TaskStore.claim} needs. */
export interface ClaimRequest {
  owner: string;
  /** At most this many tasks. */
  max: number;
  /** The lease's end (wall-clock ms). */
  until: number;
  now: number;
  /** A fresh lease token per task. */
  token: () => string;
}

/** The condition of a {@link TaskStore.commit}: the lease token held, or one of these states. */
export type CommitGuard = { token: string } | { states: readonly TaskState[] };

/** Why a commit wrote nothing. */
export type CommitRefusal = 'missing' | 'lease' | 'state';

/** Which tasks a listing or a purge means. */
export interface TaskFilter {
  queue?: string;
  states?: readonly TaskState[];
  /** Only tasks last updated before this wall-clock ms (purge). */
  before?: number;
}

export interface TaskStore {
  /** `memory`, `lmdb` or `redis`. */
  readonly kind: string;
  /**
   * Stores a new task (its `seq` is given here), unless its queue already holds a task with
   * the same idempotency key: then that task is returned, `created: false`, nothing written.
   */
  insert(task: Task): Promise<{ task: Task; created: boolean }>;
  get(id: string): Promise<Task | undefined>;
  /**
   * Up to `max` tasks of `queue`, highest priority first, FIFO within one, that are queued
   * with `runAt <= now` or running with a lease that ended by `now`: each becomes running
   * under a new lease (`attempts + 1`, `startedAt` kept from the first delivery).
   */
  claim(queue: string, request: ClaimRequest): Promise<Claimed[]>;
  /**
   * Replaces the task with `next` (same id) if the guard holds: the stored lease token is
   * `guard.token` and its lease has not been taken over, or its state is one of
   * `guard.states`. Resolves the refusal reason, or undefined when written.
   */
  commit(next: Task, guard: CommitGuard): Promise<CommitRefusal | undefined>;
  /** Tasks in submission order (oldest first), at most `limit`. */
  list(filter: TaskFilter, limit: number): Promise<Task[]>;
  /** Deletes the tasks the filter means (their idempotency keys are free again); how many. */
  purge(filter: TaskFilter): Promise<number>;
  /** Deletes one task; false if there was none. */
  remove(id: string): Promise<boolean>;
  /** Counts by state of one queue (or all). */
  counts(queue?: string): Promise<Record<TaskState, number>>;
  /** Closes what this store opened (not a database or client it was given). Later calls reject `ERR_STORE_UNAVAILABLE`. */
  close(): Promise<void>;
}
