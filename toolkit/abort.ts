/**
 * Waiting that a caller can cancel, for the toolkit: `sleep` on an injected clock and the one
 * `ERR_ABORTED` error every toolkit part rejects with when its AbortSignal fires (both live in
 * actors/foundation/wait.ts, where the runtime uses them too), a timeout, argument checks.
 *
 * Owns: nothing but these helpers. Time: the given Clock only; threads: any (one clock per thread).
 */
import type { Clock } from '../actors/foundation/clock.js';
import { ApiaryError, ErrorCodes } from '../actors/foundation/errors.js';

export { abortedError, sleep } from '../actors/foundation/wait.js';

/**
 * Settles like `promise`, but rejects `code` after `ms` on `clock` (the promise's later
 * outcome is ignored). `ms` Infinity or undefined: the promise itself.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number | undefined, clock: Clock, code = ErrorCodes.TIMEOUT): Promise<T> {
  if (ms === undefined || !Number.isFinite(ms)) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(new ApiaryError(code, `the call did not settle within ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clock.clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clock.clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** The `code` of an error-like value, if it has a string one. */
export function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Throws `ERR_INVALID_ARGUMENT` naming `field` unless `ok`. */
export function check(ok: boolean, field: string, what: string): void {
  if (!ok) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `${field} ${what}`, { field });
}
