/**
 * Fallback: what answers when a call fails (or a breaker, limiter or bulkhead refused it) —
 * a function of the error, or another ref asked the same message (a cheaper model, a cache).
 *
 * Owns: choosing the fallback answer. Does not own: deciding the call failed (the caller's
 * promise does). Threads: the caller's; no time of its own.
 */
import { ActorRef } from '../actors/actor-ref.js';

/** A function of the error (and the message), or a ref asked the same message instead. */
export type Fallback<M, R> = ((err: unknown, message: M) => R | Promise<R>) | ActorRef<M, R>;

/**
 * Settles like `call()`, except that a rejection for which `when(err)` holds (default:
 * every rejection) is replaced by the fallback's answer (whose own failure rejects).
 */
export async function withFallback<M, R>(
  call: () => Promise<R>,
  fallback: Fallback<M, R>,
  message: M,
  options: { when?: (err: unknown) => boolean; signal?: AbortSignal } = {},
): Promise<R> {
  try {
    return await call();
  } catch (err) {
    if (options.when !== undefined && !options.when(err)) throw err;
    if (fallback instanceof ActorRef) return fallback.ask(message, options.signal ? { signal: options.signal } : undefined);
    return fallback(err, message);
  }
}
