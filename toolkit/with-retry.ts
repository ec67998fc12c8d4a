/**
 * withRetry: runs an async call again after failures, as its RetryPolicy says.
 *
 * Owns: the loop — call, ask the pure policy, wait on the injected clock, call again — and
 * its cancellation: an AbortSignal stops the wait at once (`ERR_ABORTED`) and is passed to
 * each attempt. Does not own: the delays or when to stop (retry-policy.ts).
 * Time: the given Clock only; threads: the caller's.
 */
import type { Clock } from '../actors/foundation/clock.js';
import { ApiaryError, ErrorCodes } from '../actors/foundation/errors.js';
import { abortedError, sleep } from './abort.js';
import { nextRetry, type RetryPolicy } from './retry-policy.js';

export interface WithRetryOptions {
  clock: Clock;
  /** Aborting it rejects `ERR_ABORTED` during a wait and is handed to the running attempt. */
  signal?: AbortSignal;
  /** Called before each wait with the attempt that failed (1-based), its error and the delay. */
  onRetry?: (attempt: number, err: unknown, delay: number) => void;
}

/**
 * Calls `fn(attempt, signal)` until it resolves or the policy stops. Rejects with the last
 * error itself when the policy refuses it (`stopOn`, not `retryOn`), with
 * `ERR_RETRIES_EXHAUSTED` (cause: the last error) when attempts or the deadline run out, and
 * with `ERR_ABORTED` when the signal fires.
 */
export async function withRetry<T>(
  fn: (attempt: number, signal: AbortSignal | undefined) => Promise<T>,
  policy: RetryPolicy,
  options: WithRetryOptions,
): Promise<T> {
  const { clock, signal } = options;
  const startedAt = clock.now();
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw abortedError();
    try {
      return await fn(attempt, signal);
    } catch (err) {
      if (signal?.aborted) throw abortedError();
      const decision = nextRetry(policy, attempt, clock.now() - startedAt, err, clock.random());
      if (!decision.retry) {
        if (decision.reason === 'stop-on' || decision.reason === 'not-retryable') throw err;
        throw new ApiaryError(ErrorCodes.RETRIES_EXHAUSTED, `gave up after ${attempt} attempts (${decision.reason})`, { cause: err });
      }
      options.onRetry?.(attempt, err, decision.delay);
      await sleep(clock, decision.delay, signal);
    }
  }
}
