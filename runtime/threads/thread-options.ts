/**
 * What a node's worker threads can be told (`ActorSystem.start({ threads, … })`), their
 * defaults, and the checks on them.
 */
import type { ResourceLimits } from 'node:worker_threads';
import type { LowLatencyOption } from '../../transport/spinner.js';
import type { WorkerModuleHook } from './module-hooks.js';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';

export interface ThreadOptions {
  /** Worker threads to start. Default: the number of cores. */
  threads?: number;
  /** V8 heap limits per worker thread (e.g. `{ maxOldGenerationSizeMb: 64 }`). */
  resourceLimits?: ResourceLimits;
  /** A worker whose event loop makes no progress for this long is terminated. Default 10 000 ms. */
  watchdogMs?: number;
  /** Largest encoded message, bytes. Default 16 MiB. */
  maxMessageBytes?: number;
  /** Each thread's heartbeat period, ms. Default 500. */
  heartbeatMs?: number;
  /**
   * Worker threads kept started and idle (modules loaded, no identity yet), so a thread that
   * dies is replaced by promoting one — recovery costs about a handshake instead of a worker
   * boot — and a new spare starts in the background once the replacement runs. Each costs
   * an idle worker's memory (~12 MB RSS here) and no CPU while it waits. `0`: no spares; a
   * dead thread is replaced by a cold start. Default 1 (when `threads` ≥ 1).
   */
  spareThreads?: number;
  /**
   * Low-latency mode for messages between threads (off by default): each thread busy-polls
   * shared-memory rings for `spinMicros` (default 50) after each exchange instead of parking
   * at once, so a cross-thread ask takes a few µs instead of an event-loop wake-up. Costs CPU:
   * a thread in a steady conversation keeps its core busy. See transport/spinner.ts.
   */
  lowLatency?: LowLatencyOption;
  /**
   * After a thread sends an ask (or a lifecycle request) to another thread, it polls that
   * link's port for the answer for up to this many µs before parking in the event loop
   * (default 50; 0: never). An answer taken while still running skips the thread's wake-up
   * (~40–50 µs across cores here): a cross-thread ask then takes ~20 µs instead of 60–100.
   * Costs CPU only while an answer is awaited, at most this long per ask; polls that keep
   * missing (a slow actor) stop until one pays again. Ignored in `lowLatency` mode, which
   * spins on its rings instead. See transport/spinner.ts.
   */
  askPollMicros?: number;
  /**
   * How long a new worker thread may take to load and answer, ms; past it the worker is
   * terminated and counts as crashed (`ERR_WORKER_TIMEOUT`). A spawn waiting for a worker to
   * (re)start waits at most this long too, then rejects `ERR_WORKER_TIMEOUT`. Default 30 000.
   */
  bootTimeoutMs?: number;
  /**
   * How long loading an actor's module and creating the actor on a worker thread may take, ms;
   * past it the spawn rejects — `ERR_MODULE_TIMEOUT` when the module did not finish loading
   * (a top-level `await` that never settles, say), `ERR_WORKER_TIMEOUT` when the worker did
   * not answer at all — and nothing runs; the thread keeps serving its other actors.
   * Default 30 000.
   */
  createTimeoutMs?: number;
  /**
   * Module hooks each worker thread registers (`module.register(specifier, { parentURL, data })`,
   * `data` plain data) before it loads any actor module — for loaders the app registered on the
   * main thread from code, which workers do not inherit. tsx started from node's options
   * (`--import tsx`, the `tsx` CLI, `NODE_OPTIONS`) needs nothing here: workers find it themselves.
   * A hook that cannot be registered makes every worker fail to boot, with the reason.
   */
  moduleHooks?: WorkerModuleHook[];
}

export const THREAD_DEFAULTS = {
  watchdogMs: 10_000,
  /** How often the main thread collects mailbox depths from the workers (placement, tree). */
  statsIntervalMs: 1000,
  /** How often a worker bumps its progress counter. */
  progressIntervalMs: 100,
  maxMessageBytes: 16 * 1024 * 1024,
  /** How long a new worker may take to answer before it counts as failed (ThreadOptions.bootTimeoutMs). */
  bootTimeoutMs: 30_000,
  /** How long loading an actor's module and creating it on a worker may take (ThreadOptions.createTimeoutMs). */
  createTimeoutMs: 30_000,
  /** How much longer than `createTimeoutMs` the main thread waits for a worker's own answer to a create. */
  createAnswerGraceMs: 1000,
  /** Spare workers kept ready for crash recovery (see ThreadOptions.spareThreads). */
  spareThreads: 1,
} as const;

/**
 * `bootTimeoutMs` and `createTimeoutMs`, checked: each a finite number > 0, else
 * `ERR_INVALID_ARGUMENT` naming the field.
 */
export function threadTimeoutsOf(options: ThreadOptions): { bootTimeoutMs: number; createTimeoutMs: number } {
  const check = (field: 'bootTimeoutMs' | 'createTimeoutMs'): number => {
    const ms = options[field] ?? THREAD_DEFAULTS[field];
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) {
      throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `${field} must be a number of ms > 0, got ${String(ms)}`, { field });
    }
    return ms;
  };
  return { bootTimeoutMs: check('bootTimeoutMs'), createTimeoutMs: check('createTimeoutMs') };
}

/**
 * `moduleHooks`, checked: an array of `{ specifier, parentURL }` strings (plus plain `data`),
 * else `ERR_INVALID_ARGUMENT` (field `moduleHooks`).
 */
export function moduleHooksOf(options: ThreadOptions): WorkerModuleHook[] {
  const hooks = options.moduleHooks ?? [];
  const ok = Array.isArray(hooks) && hooks.every((h) => typeof h?.specifier === 'string' && typeof h.parentURL === 'string');
  if (!ok) {
    throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'moduleHooks must be an array of { specifier, parentURL, data? }', { field: 'moduleHooks' });
  }
  return hooks.map((h) => ({ specifier: h.specifier, parentURL: h.parentURL, data: h.data }));
}

/** `spareThreads`, checked: an integer ≥ 0, else `ERR_INVALID_ARGUMENT` (field `spareThreads`). */
export function spareThreadsOf(options: ThreadOptions): number {
  const spares = options.spareThreads ?? THREAD_DEFAULTS.spareThreads;
  if (!Number.isInteger(spares) || spares < 0) {
    throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `spareThreads must be an integer >= 0, got ${spares}`, { field: 'spareThreads' });
  }
  return spares;
}
