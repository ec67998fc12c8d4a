/**
 * Retry policies as immutable data plus one pure step function (Effect's `Schedule`).
 *
 * Owns: the delay before each retry — fixed, linear, exponential, with full or equal jitter
 * (AWS "Exponential Backoff and Jitter") — capped by `maxDelay`; when to stop (`maxAttempts`,
 * total `deadline`, `retryOn`/`stopOn` predicates by error code or class); a server's
 * Retry-After hint (`retryAfter` ms on the error or its cause) waits at least that long.
 * Does not own: waiting or calling (with-retry.ts). No clock here: `now` and `random` are
 * passed in, so a test steps the policy without any timer.
 */
import { check, codeOf } from './abort.js';
import { DEFAULTS } from './defaults.js';
import { ErrorCodes } from '../actors/foundation/errors.js';

/** How the un-jittered delay grows with the attempt number n (1 = the first retry). */
export type DelayShape =
  | { kind: 'fixed'; delay: number }
  | { kind: 'linear'; initial: number; step: number }
  | { kind: 'exponential'; initial: number; factor: number };

/** `full`: uniform in [0, d]; `equal`: d/2 + uniform in [0, d/2]; `none`: d. */
export type Jitter = 'none' | 'full' | 'equal';

/** Decides from an error whether it qualifies. */
export type ErrorPredicate = (err: unknown) => boolean;

export interface RetryPolicy {
  readonly shape: DelayShape;
  readonly jitter: Jitter;
  /** Attempts in all, the first included; reaching it stops with `attempts`. */
  readonly maxAttempts: number;
  /** Cap on one wait, ms (before a Retry-After hint, which may exceed it). */
  readonly maxDelay: number;
  /** Total ms from the first attempt; a retry whose wait would end past it is not made. */
  readonly deadline: number;
  /** Only errors it accepts are retried (default: all but `ERR_ABORTED` and `ERR_CIRCUIT_OPEN`). */
  readonly retryOn: ErrorPredicate;
  /** Errors it accepts stop retrying at once (checked first). */
  readonly stopOn: ErrorPredicate;
  /** Wait at least the error's `retryAfter` ms (HTTP 429/503 Retry-After). Default true. */
  readonly honourRetryAfter: boolean;
}

export type RetryOptions = Partial<Omit<RetryPolicy, 'shape'>>;

/** Why a policy stopped retrying. */
export type StopReason = 'attempts' | 'deadline' | 'stop-on' | 'not-retryable';

/** The step: retry after `delay` ms, or stop with a reason. */
export type RetryDecision = { retry: true; delay: number } | { retry: false; reason: StopReason };

const NEVER: ErrorPredicate = () => false;
const DEFAULT_RETRY_ON: ErrorPredicate = (err) => {
  const code = codeOf(err);
  return code !== ErrorCodes.ABORTED && code !== ErrorCodes.CIRCUIT_OPEN;
};

/** A predicate accepting errors whose `code` (or their cause's) is one of `codes`. */
export function byCode(...codes: string[]): ErrorPredicate {
  const set = new Set(codes);
  return (err) => {
    const code = codeOf(err) ?? codeOf((err as { cause?: unknown } | null)?.cause);
    return code !== undefined && set.has(code);
  };
}

/** A predicate accepting instances of any of `classes`. */
export function byClass(...classes: (abstract new (...args: any[]) => unknown)[]): ErrorPredicate {
  return (err) => classes.some((c) => err instanceof c);
}

/** Builds a policy; bad numbers throw `ERR_INVALID_ARGUMENT` with the `field`. */
export function retryPolicy(shape: DelayShape, options: RetryOptions = {}): RetryPolicy {
  const p: RetryPolicy = Object.freeze({
    shape: Object.freeze({ ...shape }),
    jitter: options.jitter ?? 'none',
    maxAttempts: options.maxAttempts ?? DEFAULTS.retry.maxAttempts,
    maxDelay: options.maxDelay ?? DEFAULTS.retry.maxDelay,
    deadline: options.deadline ?? DEFAULTS.retry.deadline,
    retryOn: options.retryOn ?? DEFAULT_RETRY_ON,
    stopOn: options.stopOn ?? NEVER,
    honourRetryAfter: options.honourRetryAfter ?? true,
  });
  check(Number.isInteger(p.maxAttempts) && p.maxAttempts >= 1, 'maxAttempts', 'must be an integer ≥ 1');
  check(p.maxDelay >= 0, 'maxDelay', 'must be ≥ 0');
  check(p.deadline > 0, 'deadline', 'must be > 0');
  check(['none', 'full', 'equal'].includes(p.jitter), 'jitter', "must be 'none', 'full' or 'equal'");
  const s = p.shape;
  if (s.kind === 'fixed') check(s.delay >= 0, 'delay', 'must be ≥ 0');
  else if (s.kind === 'linear') check(s.initial >= 0 && s.step >= 0, 'step', 'initial and step must be ≥ 0');
  else check(s.initial >= 0 && s.factor >= 1, 'factor', 'initial must be ≥ 0 and factor ≥ 1');
  return p;
}

/** Always `delay` ms between attempts. */
export const fixedRetry = (delay: number, options?: RetryOptions): RetryPolicy => retryPolicy({ kind: 'fixed', delay }, options);
/** `initial + step·(n−1)` ms before retry n. */
export const linearRetry = (initial: number, step: number, options?: RetryOptions): RetryPolicy =>
  retryPolicy({ kind: 'linear', initial, step }, options);
/** `initial·factor^(n−1)` ms before retry n (factor default 2). */
export const exponentialRetry = (initial: number, factor = 2, options?: RetryOptions): RetryPolicy =>
  retryPolicy({ kind: 'exponential', initial, factor }, options);

/** The capped, un-jittered delay before retry `n` (1-based). */
export function baseDelay(policy: RetryPolicy, n: number): number {
  const s = policy.shape;
  const raw = s.kind === 'fixed' ? s.delay : s.kind === 'linear' ? s.initial + s.step * (n - 1) : s.initial * s.factor ** Math.min(n - 1, 1000);
  return Math.min(policy.maxDelay, raw);
}

/** The delay before retry `n` with the policy's jitter applied; `random` in [0, 1). */
export function jitteredDelay(policy: RetryPolicy, n: number, random: number): number {
  const d = baseDelay(policy, n);
  if (policy.jitter === 'full') return random * d;
  if (policy.jitter === 'equal') return d / 2 + (random * d) / 2;
  return d;
}

/** A Retry-After hint in ms carried by the error (`retryAfter`) or its cause, if any. */
export function retryAfterOf(err: unknown): number | undefined {
  for (let e = err, i = 0; e !== null && typeof e === 'object' && i < 3; e = (e as { cause?: unknown }).cause, i++) {
    const v = (e as { retryAfter?: unknown }).retryAfter;
    if (typeof v === 'number' && v >= 0 && Number.isFinite(v)) return v;
  }
  return undefined;
}

/**
 * The step function: after `attempts` failed attempts (the last one failing with `err`),
 * `elapsed` ms after the first one started, retry after how long — or stop, and why.
 */
export function nextRetry(policy: RetryPolicy, attempts: number, elapsed: number, err: unknown, random: number): RetryDecision {
  if (policy.stopOn(err)) return { retry: false, reason: 'stop-on' };
  if (!policy.retryOn(err)) return { retry: false, reason: 'not-retryable' };
  if (attempts >= policy.maxAttempts) return { retry: false, reason: 'attempts' };
  let delay = jitteredDelay(policy, attempts, random);
  const hint = policy.honourRetryAfter ? retryAfterOf(err) : undefined;
  if (hint !== undefined && hint > delay) delay = hint;
  if (elapsed + delay > policy.deadline) return { retry: false, reason: 'deadline' };
  return { retry: true, delay };
}
