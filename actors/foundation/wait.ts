/**
 * Waiting on an injected clock that a caller can cancel: `sleep`, and the one `ERR_ABORTED`
 * error a cancelled wait (or call) rejects with. Used by the runtime (leases, singletons,
 * entities) and the toolkit alike.
 *
 * Owns: nothing but these helpers. Time: the given Clock only; threads: any (one clock per thread).
 */
import type { Clock } from './clock.js';
import { ApiaryError, ErrorCodes } from './errors.js';

/** The error a cancelled wait or call rejects with (`ERR_ABORTED`). */
export function abortedError(what = 'the call'): ApiaryError {
  return new ApiaryError(ErrorCodes.ABORTED, `${what} was aborted`);
}

/**
 * Resolves after `ms` on `clock`; rejects `ERR_ABORTED` at once if `signal` fires first
 * (the timer is cleared, nothing else happens).
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortedError('the wait'));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clock.clearTimeout(timer);
      reject(abortedError('the wait'));
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
