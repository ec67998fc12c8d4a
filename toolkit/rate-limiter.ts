/**
 * Rate limiter: a token bucket refilled in steps (`tokens` every `intervalMs`, up to
 * `burst`), global or one bucket per key (e.g. per API key or per model).
 *
 * Owns: the pure bucket step ({@link takeToken}) and the {@link RateLimiter} that keeps the
 * buckets, admits calls (`tryAcquire`), or waits up to `maxWaitMs` for a token before
 * rejecting `ERR_RATE_LIMITED` (`acquire`). Stepped refill means a window of one interval
 * admits exactly `tokens` calls once the initial burst is spent.
 * A limiter created with a `name` and `settings` (e.g. `system.settings`) uses the config's
 * values for that name (`rateLimits: { NAME: { tokens, intervalMs, burst, maxWaitMs } }`)
 * over its own, and follows a config reload from its next call on: buckets keep their
 * tokens (capped at the new burst).
 * Does not own: where the call goes (guard.ts). Time: the injected clock. Threads: one.
 */
import type { Clock } from '../actors/foundation/clock.js';
import { ApiaryError, ErrorCodes } from '../actors/foundation/errors.js';
import { check, sleep } from './abort.js';
import { DEFAULTS } from './defaults.js';
import type { RateLimitSettings } from '../runtime/config/live-settings.js';

/** Where a named limiter looks up its live values (`system.settings` is one). */
export interface RateLimitSource {
  rateLimit(name: string): RateLimitSettings | undefined;
}

export interface BucketPolicy {
  /** Tokens added each interval. */
  readonly tokens: number;
  readonly intervalMs: number;
  /** Most tokens a bucket holds (default `tokens`). */
  readonly burst: number;
}

export interface Bucket {
  readonly tokens: number;
  /** Start of the interval the bucket was last refilled for. */
  readonly refilledAt: number;
}

/** A full bucket at `now`. */
export function fullBucket(policy: BucketPolicy, now: number): Bucket {
  return { tokens: policy.burst, refilledAt: now };
}

/**
 * Takes one token at `now` if there is one. Returns the new bucket and, when refused, how
 * many ms until the next refill.
 */
export function takeToken(policy: BucketPolicy, b: Bucket, now: number): { ok: boolean; bucket: Bucket; waitMs: number } {
  const steps = Math.floor((now - b.refilledAt) / policy.intervalMs);
  let bucket = b;
  if (steps > 0) {
    bucket = { tokens: Math.min(policy.burst, b.tokens + steps * policy.tokens), refilledAt: b.refilledAt + steps * policy.intervalMs };
  }
  if (bucket.tokens >= 1) return { ok: true, bucket: { tokens: bucket.tokens - 1, refilledAt: bucket.refilledAt }, waitMs: 0 };
  return { ok: false, bucket, waitMs: bucket.refilledAt + policy.intervalMs - now };
}

export interface RateLimiterOptions {
  tokens: number;
  intervalMs: number;
  burst?: number;
  clock: Clock;
  /** `acquire` waits at most this long for a token, ms; default 0 (reject at once). */
  maxWaitMs?: number;
  /** Per-key buckets kept at most (least recently used dropped first). Default 10 000. */
  maxKeys?: number;
  /** The name config knows this limit by (with `settings`). */
  name?: string;
  /** Live values by name (`system.settings`): the config's `rateLimits[name]` fields win over these options. */
  settings?: RateLimitSource;
}

/** Admits calls at a bounded rate, globally (no key) or per key. */
export class RateLimiter {
  readonly name: string | undefined;
  private readonly clock: Clock;
  private readonly maxKeys: number;
  private readonly buckets = new Map<string, Bucket>();
  private readonly own: { policy: BucketPolicy; maxWaitMs: number };
  private readonly settings: RateLimitSource | undefined;
  /** The settings entry the current values were made from (entries keep identity until they change). */
  private followed: RateLimitSettings | undefined;
  private current: { policy: BucketPolicy; maxWaitMs: number };

  constructor(options: RateLimiterOptions) {
    check(options.tokens >= 1, 'tokens', 'must be ≥ 1');
    check(options.intervalMs > 0, 'intervalMs', 'must be > 0');
    check((options.burst ?? options.tokens) >= 1, 'burst', 'must be ≥ 1');
    check(options.settings === undefined || options.name !== undefined, 'name', 'is needed with settings');
    const policy = Object.freeze({ tokens: options.tokens, intervalMs: options.intervalMs, burst: options.burst ?? options.tokens });
    this.own = this.current = { policy, maxWaitMs: options.maxWaitMs ?? 0 };
    this.name = options.name;
    this.settings = options.settings;
    this.clock = options.clock;
    this.maxKeys = options.maxKeys ?? DEFAULTS.limiter.maxKeys;
  }

  /** The bucket policy in force (the config's values for this name over the code's). */
  get policy(): BucketPolicy {
    return this.values().policy;
  }

  /** How long `acquire` waits for a token now, ms. */
  get maxWaitMs(): number {
    return this.values().maxWaitMs;
  }

  private values(): { policy: BucketPolicy; maxWaitMs: number } {
    if (this.settings === undefined) return this.current;
    const s = this.settings.rateLimit(this.name!);
    if (s === this.followed) return this.current;
    this.followed = s;
    if (s === undefined) return (this.current = this.own);
    const own = this.own.policy;
    const tokens = s.tokens ?? own.tokens;
    // a burst the code left at its default follows a changed `tokens`
    const burst = s.burst ?? (own.burst === own.tokens ? tokens : own.burst);
    const policy = Object.freeze({ tokens, intervalMs: s.intervalMs ?? own.intervalMs, burst });
    return (this.current = { policy, maxWaitMs: s.maxWaitMs ?? this.own.maxWaitMs });
  }

  /** Takes a token for `key` now: true if admitted, false (nothing taken) otherwise. */
  tryAcquire(key = ''): boolean {
    return this.step(key).ok;
  }

  /**
   * Resolves once a token for `key` is taken; rejects `ERR_RATE_LIMITED` when none comes
   * within `maxWaitMs`, `ERR_ABORTED` if `signal` fires while waiting.
   */
  async acquire(key = '', signal?: AbortSignal): Promise<void> {
    const deadline = this.clock.now() + this.maxWaitMs;
    for (;;) {
      const r = this.step(key);
      if (r.ok) return;
      if (this.clock.now() + r.waitMs > deadline) {
        throw new ApiaryError(ErrorCodes.RATE_LIMITED, `rate limit${key ? ` for ${key}` : ''}: no token for ${Math.ceil(r.waitMs)} ms`);
      }
      await sleep(this.clock, r.waitMs, signal);
    }
  }

  /** Number of keys with a bucket. */
  get keys(): number {
    return this.buckets.size;
  }

  private step(key: string): { ok: boolean; waitMs: number } {
    const now = this.clock.now();
    const policy = this.policy;
    const known = this.buckets.get(key);
    // a lowered burst (config reload) caps what a bucket holds
    const b = known === undefined ? fullBucket(policy, now) : known.tokens > policy.burst ? { tokens: policy.burst, refilledAt: known.refilledAt } : known;
    const r = takeToken(policy, b, now);
    this.buckets.delete(key); // re-insert: Map order is recency
    this.buckets.set(key, r.bucket);
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    return r;
  }
}
