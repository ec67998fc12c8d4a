/**
 * The durable task: its record, lifecycle states, priorities, the retry policy kept with it
 * (plain data, so it is stored with the task) and the checks on what a submitter passes.
 *
 * Owns: the {@link Task} shape every task store keeps, {@link TASK_DEFAULTS}, the pure
 * backoff step {@link retryDelay} and {@link checkSubmit}. Does not own storing (task-store.ts
 * and its backends) or delivering (task-queue.ts, task-consumer.ts).
 * The retry policy is data shaped like the toolkit's `RetryPolicy` (`shape`, `jitter`,
 * `maxAttempts`, `maxDelay`): a toolkit policy (`exponentialRetry(100, 2, { maxAttempts: 5 })`)
 * can be passed as is — its predicates are not stored (runtime sits below toolkit and imports
 * nothing from it). Time: none here; callers pass `now` and `random`.
 */
import { ApiaryError, ErrorCodes, type SerializedError } from '../../actors/foundation/errors.js';

/** Where a task is in its life: queued → running → done | failed | dead (retry: back to queued). */
export type TaskState = 'queued' | 'running' | 'done' | 'failed' | 'dead';
/** Every state, in lifecycle order. */
export const TASK_STATES: readonly TaskState[] = ['queued', 'running', 'done', 'failed', 'dead'];
/** States a task never leaves by itself (only `retry` or `purge` act on them). */
export const FINISHED_STATES: readonly TaskState[] = ['done', 'failed', 'dead'];

/** Claim order: every `critical` task before any `high`, …; FIFO (submission order) within one. */
export type TaskPriority = 'critical' | 'high' | 'medium' | 'low';
/** Every priority, the first claimed first. */
export const TASK_PRIORITIES: readonly TaskPriority[] = ['critical', 'high', 'medium', 'low'];
/** The rank of a priority: 0 (critical) claims first. */
export function priorityRank(p: TaskPriority): number {
  return TASK_PRIORITIES.indexOf(p);
}

/** How the wait before retry n grows (the toolkit's `DelayShape`). */
export type TaskBackoff =
  | { kind: 'fixed'; delay: number }
  | { kind: 'linear'; initial: number; step: number }
  | { kind: 'exponential'; initial: number; factor: number };

/**
 * A task's retry policy, stored with it. `maxAttempts` counts deliveries (the first included):
 * a task that failed (or whose lease ran out) that many times goes `dead`.
 */
export interface TaskRetry {
  readonly shape: TaskBackoff;
  /** `full`: uniform in [0, d]; `equal`: d/2 + uniform in [0, d/2]; `none` (default): d. */
  readonly jitter?: 'none' | 'full' | 'equal';
  readonly maxAttempts: number;
  /** Cap on one wait, ms (default {@link TASK_DEFAULTS}.retry.maxDelay). */
  readonly maxDelay?: number;
}

/** A worker's hold on a running task: only the holder of `token` may settle or extend it, until `until`. */
export interface TaskLease {
  owner: string;
  token: string;
  /** Wall-clock ms; past it the task may be claimed again (attempts + 1). */
  until: number;
}

/** One task as stored. Times are wall-clock ms of the node that changed it. */
export interface Task {
  id: string;
  queue: string;
  /** Plain data (JSON-safe on Redis). */
  payload: unknown;
  priority: TaskPriority;
  state: TaskState;
  /** Deliveries so far (each claim adds one, a lease that ran out included). */
  attempts: number;
  retry: TaskRetry;
  /** Per queue: a second submit with the same key returns this task. */
  idempotencyKey?: string;
  /** Wall-clock ms: a task not finished by then is `failed` (never claimed after it). */
  deadline?: number;
  createdAt: number;
  updatedAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** Not claimable before this wall-clock ms (a delayed submit, a retry's backoff). */
  runAt: number;
  lease?: TaskLease;
  result?: unknown;
  error?: SerializedError;
  /** Submission order, given by the store (FIFO within a priority). */
  seq: number;
}

/** Defaults of the task queue (BullMQ's and SQS's usual ones, scaled to agents). */
export const TASK_DEFAULTS = {
  priority: 'medium' as TaskPriority,
  /** 3 deliveries, 1 s, 2 s between them, at most 60 s. */
  retry: { shape: { kind: 'exponential', initial: 1000, factor: 2 }, jitter: 'none', maxAttempts: 3, maxDelay: 60_000 } as TaskRetry,
  /** Lease (visibility timeout) a claim takes; a consumer extends it every third of it. */
  leaseMs: 30_000,
  /** Tasks one consumer runs at once. */
  concurrency: 16,
  /** How often an idle consumer looks for due tasks (a local submit wakes it at once). */
  pollMs: 250,
  /** Longest ask to a worker actor before the attempt counts as failed. */
  askTimeoutMs: 5 * 60_000,
  /** Rows `list` returns when no limit is given, and the most it returns. */
  listLimit: 100,
  maxListLimit: 10_000,
  /** Longest queue name and idempotency key, characters. */
  maxNameLength: 200,
  /** How long the Redis task store waits for its first connection. */
  redisConnectTimeoutMs: 2000,
  /** Redis reconnects: 50 ms × attempt, at most this often apart. */
  redisMaxReconnectDelayMs: 500,
} as const;

/** What a submitter says beyond the payload. */
export interface SubmitOptions {
  /** Per queue: a resubmit with the same key returns the first task (and, once done, its result). */
  idempotencyKey?: string;
  priority?: TaskPriority;
  /** Wall-clock ms (epoch): not finished by then → `failed` with `ERR_TIMEOUT`. */
  deadline?: number;
  retry?: TaskRetry;
  /** Not claimable for this many ms. */
  delayMs?: number;
}

function bad(field: string, message: string): never {
  throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `${field} ${message}`, { field });
}

/** Checks a queue name; throws `ERR_INVALID_ARGUMENT` (field `queue`). */
export function checkQueueName(queue: unknown): string {
  if (typeof queue !== 'string' || queue.length === 0 || queue.length > TASK_DEFAULTS.maxNameLength || !/^[\w.:@/-]+$/.test(queue)) {
    bad('queue', `must be 1–${TASK_DEFAULTS.maxNameLength} characters of [A-Za-z0-9_.:@/-]`);
  }
  return queue;
}

/** Checks submit options; throws `ERR_INVALID_ARGUMENT` naming the field. */
export function checkSubmit(options: SubmitOptions): void {
  const { idempotencyKey: key, priority, deadline, retry, delayMs } = options;
  if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > TASK_DEFAULTS.maxNameLength)) {
    bad('idempotencyKey', `must be a string of 1–${TASK_DEFAULTS.maxNameLength} characters`);
  }
  if (priority !== undefined && !TASK_PRIORITIES.includes(priority)) bad('priority', `must be one of ${TASK_PRIORITIES.join(', ')}`);
  if (deadline !== undefined && !(typeof deadline === 'number' && Number.isFinite(deadline) && deadline > 0)) bad('deadline', 'must be wall-clock ms');
  if (delayMs !== undefined && !(typeof delayMs === 'number' && Number.isFinite(delayMs) && delayMs >= 0)) bad('delayMs', 'must be ≥ 0');
  if (retry !== undefined) checkRetry(retry);
}

function checkRetry(r: TaskRetry): void {
  if (typeof r !== 'object' || r === null) bad('retry', 'must be a retry policy');
  if (!Number.isInteger(r.maxAttempts) || r.maxAttempts < 1) bad('retry.maxAttempts', 'must be an integer ≥ 1');
  if (r.maxDelay !== undefined && !(r.maxDelay >= 0)) bad('retry.maxDelay', 'must be ≥ 0');
  if (r.jitter !== undefined && !['none', 'full', 'equal'].includes(r.jitter)) bad('retry.jitter', "must be 'none', 'full' or 'equal'");
  const s = r.shape as TaskBackoff | undefined;
  const ok =
    s !== undefined &&
    ((s.kind === 'fixed' && s.delay >= 0) ||
      (s.kind === 'linear' && s.initial >= 0 && s.step >= 0) ||
      (s.kind === 'exponential' && s.initial >= 0 && s.factor >= 1));
  if (!ok) bad('retry.shape', 'must be fixed {delay}, linear {initial, step} or exponential {initial, factor ≥ 1}');
}

/** The retry policy as stored: only its data (a toolkit policy's predicates are dropped). */
export function retryData(r: TaskRetry): TaskRetry {
  const out: { shape: TaskBackoff; jitter?: 'none' | 'full' | 'equal'; maxAttempts: number; maxDelay?: number } = {
    shape: { ...r.shape },
    maxAttempts: r.maxAttempts,
  };
  if (r.jitter !== undefined) out.jitter = r.jitter;
  if (r.maxDelay !== undefined) out.maxDelay = r.maxDelay;
  return out;
}

/** The wait before retry `n` (1 = after the first failure), capped and jittered; `random` in [0, 1). */
export function retryDelay(r: TaskRetry, n: number, random: number): number {
  const s = r.shape;
  const raw = s.kind === 'fixed' ? s.delay : s.kind === 'linear' ? s.initial + s.step * (n - 1) : s.initial * s.factor ** Math.min(n - 1, 1000);
  const d = Math.min(r.maxDelay ?? TASK_DEFAULTS.retry.maxDelay!, raw);
  if (r.jitter === 'full') return Math.round(random * d);
  if (r.jitter === 'equal') return Math.round(d / 2 + (random * d) / 2);
  return Math.round(d);
}
