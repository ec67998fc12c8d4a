/**
 * Restart backoff (Akka's `restartWithBackoff`) as pure functions, stepped by the supervisor.
 */

export interface BackoffOptions {
  /** Delay before the first restart, ms. */
  minBackoff: number;
  /** Cap on the un-jittered delay, ms. */
  maxBackoff: number;
  /** Jitter: the delay is scaled by a random factor in [1 - randomFactor, 1 + randomFactor]. Default 0.2. */
  randomFactor?: number;
  /** A child that ran this long (ms) without exiting starts again from `minBackoff`. Default `minBackoff`. */
  resetAfter?: number;
  /** Messages kept while the child waits; beyond it they become dead letters. Default 1000. */
  stashCapacity?: number;
}

export type BackoffPolicy = Required<BackoffOptions>;

/**
 * The delay before restart number `attempt` (0-based since the last reset):
 * `min(maxBackoff, minBackoff·2^attempt) · (1 + randomFactor·(2·random − 1))`.
 * `random` is a number in [0, 1) from the clock, so a manual clock makes it reproducible.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: number): number {
  const base = Math.min(policy.maxBackoff, policy.minBackoff * 2 ** Math.min(attempt, 52));
  return Math.max(0, base * (1 + policy.randomFactor * (2 * random - 1)));
}

/** The attempt number to use for a child that ran `ranFor` ms before exiting. */
export function attemptAfterRun(policy: BackoffPolicy, attempt: number, ranFor: number): number {
  return ranFor >= policy.resetAfter ? 0 : attempt;
}
