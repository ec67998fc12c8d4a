/**
 * Circuit breaker: closed → open → half-open, as pure data plus step functions, and the
 * {@link CircuitBreaker} object that owns one state and wraps calls with it.
 *
 * Owns: when to trip (consecutive failures, or a failure rate over a bucketed sliding
 * window once a minimum number of calls was seen), failing fast while open
 * (`ERR_CIRCUIT_OPEN`), letting exactly one probe through after the reset timeout (the rest
 * fail fast until it settles), closing on its success, reopening on its failure with the
 * timeout grown by `resetFactor` up to `maxResetTimeout`, forced states, and call timeouts
 * (`ERR_TIMEOUT`, a failure). State changes go to `onStateChange` (as `breaker-state` events),
 * and so does the initial state, once, at construction (`previous` equal to `state`), so a
 * breaker is visible (`apiary_breaker_state`) before its first call.
 * Does not own: retries (with-retry.ts) or where a call goes (guard.ts fronts refs).
 * Time: `now` is passed to the pure functions; the object reads its injected clock.
 * Threads: a breaker object lives on one thread; share it by putting a Guard actor in front of a ref.
 */
import type { Clock } from '../actors/foundation/clock.js';
import { ApiaryError, ErrorCodes } from '../actors/foundation/errors.js';
import { check, withTimeout } from './abort.js';
import { DEFAULTS } from './defaults.js';

export type BreakerStateName = 'closed' | 'open' | 'half-open';

export interface BreakerPolicy {
  /** Consecutive failures that open the breaker. */
  readonly failureThreshold: number;
  /** Optional rate trip: open when failures/calls ≥ `threshold` over `windowMs`, once `minCalls` were seen. */
  readonly failureRate: { threshold: number; windowMs: number; minCalls: number } | undefined;
  /** ms open before the probe. */
  readonly resetTimeout: number;
  readonly resetFactor: number;
  readonly maxResetTimeout: number;
  /** A call not settled within this many ms fails with `ERR_TIMEOUT` (a failure). */
  readonly callTimeout: number | undefined;
  /** Which errors count as failures (default: all). Others pass through as successes. */
  readonly isFailure: (err: unknown) => boolean;
}

export interface BreakerState {
  readonly state: BreakerStateName;
  readonly consecutiveFailures: number;
  /** Sliding window buckets (oldest first): start time, calls, failures. */
  readonly buckets: readonly { start: number; calls: number; failures: number }[];
  readonly openedAt: number;
  /** The current reset timeout (grows on failed probes). */
  readonly resetTimeout: number;
  /** A half-open probe is in flight. */
  readonly probing: boolean;
  readonly forced: 'open' | 'closed' | undefined;
}

export function breakerPolicy(options: Partial<BreakerPolicy> = {}): BreakerPolicy {
  const p: BreakerPolicy = Object.freeze({
    failureThreshold: options.failureThreshold ?? DEFAULTS.breaker.failureThreshold,
    failureRate: options.failureRate,
    resetTimeout: options.resetTimeout ?? DEFAULTS.breaker.resetTimeout,
    resetFactor: options.resetFactor ?? DEFAULTS.breaker.resetFactor,
    maxResetTimeout: options.maxResetTimeout ?? Math.max(options.resetTimeout ?? 0, DEFAULTS.breaker.maxResetTimeout),
    callTimeout: options.callTimeout,
    isFailure: options.isFailure ?? (() => true),
  });
  check(Number.isInteger(p.failureThreshold) && p.failureThreshold >= 1, 'failureThreshold', 'must be an integer ≥ 1');
  check(p.resetTimeout > 0, 'resetTimeout', 'must be > 0');
  check(p.resetFactor >= 1, 'resetFactor', 'must be ≥ 1');
  check(p.maxResetTimeout >= p.resetTimeout, 'maxResetTimeout', 'must be ≥ resetTimeout');
  if (p.failureRate) {
    const r = p.failureRate;
    check(r.threshold > 0 && r.threshold <= 1, 'failureRate.threshold', 'must be in (0, 1]');
    check(r.windowMs > 0, 'failureRate.windowMs', 'must be > 0');
    check(Number.isInteger(r.minCalls) && r.minCalls >= 1, 'failureRate.minCalls', 'must be an integer ≥ 1');
  }
  return p;
}

export function initialBreakerState(policy: BreakerPolicy): BreakerState {
  return { state: 'closed', consecutiveFailures: 0, buckets: [], openedAt: 0, resetTimeout: policy.resetTimeout, probing: false, forced: undefined };
}

/** The state as of `now`: an open breaker whose reset timeout passed is half-open. */
export function breakerAt(s: BreakerState, now: number): BreakerState {
  if (s.state === 'open' && s.forced === undefined && now >= s.openedAt + s.resetTimeout) return { ...s, state: 'half-open', probing: false };
  return s;
}

/**
 * May a call go through at `now`? Half-open admits exactly one probe (the state then says
 * `probing`) and refuses the rest until it settles.
 */
export function admit(s: BreakerState, now: number): { admitted: boolean; probe: boolean; state: BreakerState } {
  const cur = breakerAt(s, now);
  if (cur.forced === 'closed') return { admitted: true, probe: false, state: cur };
  if (cur.state === 'closed') return { admitted: true, probe: false, state: cur };
  if (cur.state === 'half-open' && !cur.probing) return { admitted: true, probe: true, state: { ...cur, probing: true } };
  return { admitted: false, probe: false, state: cur };
}

/** Records one call's outcome (`failed`) at `now`; `probe` says it was the half-open probe. */
export function record(policy: BreakerPolicy, s: BreakerState, now: number, failed: boolean, probe: boolean): BreakerState {
  if (s.forced !== undefined) return s;
  if (probe) {
    if (!failed) return { ...initialBreakerState(policy) };
    const grown = Math.min(policy.maxResetTimeout, s.resetTimeout * policy.resetFactor);
    return { ...s, state: 'open', openedAt: now, resetTimeout: grown, probing: false };
  }
  if (s.state !== 'closed') return s; // a call admitted before the trip settling late
  const buckets = policy.failureRate ? addToWindow(policy.failureRate.windowMs, s.buckets, now, failed) : s.buckets;
  const consecutiveFailures = failed ? s.consecutiveFailures + 1 : 0;
  let trip = consecutiveFailures >= policy.failureThreshold;
  if (!trip && policy.failureRate && failed) {
    let calls = 0;
    let failures = 0;
    for (const b of buckets) {
      calls += b.calls;
      failures += b.failures;
    }
    trip = calls >= policy.failureRate.minCalls && failures / calls >= policy.failureRate.threshold;
  }
  if (trip) return { ...s, state: 'open', openedAt: now, consecutiveFailures: 0, buckets: [], resetTimeout: policy.resetTimeout, probing: false };
  return { ...s, consecutiveFailures, buckets };
}

function addToWindow(windowMs: number, buckets: BreakerState['buckets'], now: number, failed: boolean): BreakerState['buckets'] {
  const width = windowMs / DEFAULTS.breaker.windowBuckets;
  const start = Math.floor(now / width) * width;
  const kept = buckets.filter((b) => b.start > now - windowMs);
  const last = kept.at(-1);
  if (last !== undefined && last.start === start) {
    kept[kept.length - 1] = { start, calls: last.calls + 1, failures: last.failures + (failed ? 1 : 0) };
  } else {
    kept.push({ start, calls: 1, failures: failed ? 1 : 0 });
  }
  return kept;
}

export interface BreakerOptions extends Partial<BreakerPolicy> {
  /** Names the breaker in events, errors and the metric. Default `breaker`. */
  name?: string;
  clock: Clock;
  /**
   * Told the initial state at construction (an event whose `previous` equals `state`,
   * `closed`) and then every state change (`breaker-state` events; pass `system.publish`).
   * Count transitions only where `previous !== state`.
   */
  onStateChange?: (event: { type: 'breaker-state'; name: string; state: BreakerStateName; previous: BreakerStateName; at: number }) => void;
}

/** One breaker's state and the calls it guards. */
export class CircuitBreaker {
  readonly name: string;
  readonly policy: BreakerPolicy;
  private s: BreakerState;
  private readonly clock: Clock;
  private readonly onStateChange: BreakerOptions['onStateChange'];

  constructor(options: BreakerOptions) {
    this.name = options.name ?? 'breaker';
    this.policy = breakerPolicy(options);
    this.clock = options.clock;
    this.onStateChange = options.onStateChange;
    this.s = initialBreakerState(this.policy);
    this.onStateChange?.({ type: 'breaker-state', name: this.name, state: this.s.state, previous: this.s.state, at: this.clock.now() });
  }

  /** The state now (an open breaker past its reset timeout reads `half-open`). */
  get state(): BreakerStateName {
    this.set(breakerAt(this.s, this.clock.now()));
    return this.s.state;
  }

  /** The current reset timeout, ms (grows with failed probes). */
  get resetTimeout(): number {
    return this.s.resetTimeout;
  }

  /**
   * Runs `fn` if the breaker admits it, else rejects `ERR_CIRCUIT_OPEN` without calling it.
   * Its outcome (a timeout included) is recorded; its error is rethrown as is.
   */
  async call<T>(fn: () => Promise<T>): Promise<T> {
    const now = this.clock.now();
    const a = admit(this.s, now);
    this.set(a.state);
    if (!a.admitted) throw new ApiaryError(ErrorCodes.CIRCUIT_OPEN, `circuit ${this.name} is ${a.state.state}`);
    try {
      const value = await withTimeout(Promise.resolve().then(fn), this.policy.callTimeout, this.clock);
      this.set(record(this.policy, this.s, this.clock.now(), false, a.probe));
      return value;
    } catch (err) {
      this.set(record(this.policy, this.s, this.clock.now(), this.policy.isFailure(err), a.probe));
      throw err;
    }
  }

  /** `fn` guarded by this breaker. */
  wrap<A extends unknown[], T>(fn: (...args: A) => Promise<T>): (...args: A) => Promise<T> {
    return (...args) => this.call(() => fn(...args));
  }

  /** Holds the breaker open (every call fails fast) until `forceClose` or `reset`. */
  forceOpen(): void {
    this.set({ ...this.s, state: 'open', forced: 'open', openedAt: this.clock.now(), probing: false });
  }

  /** Holds it closed (every call passes, nothing trips it) until `forceOpen` or `reset`. */
  forceClose(): void {
    this.set({ ...initialBreakerState(this.policy), forced: 'closed' });
  }

  /** Back to a fresh closed breaker, not forced. */
  reset(): void {
    this.set(initialBreakerState(this.policy));
  }

  private set(next: BreakerState): void {
    const previous = this.s.state;
    this.s = next;
    if (next.state !== previous) this.onStateChange?.({ type: 'breaker-state', name: this.name, state: next.state, previous, at: this.clock.now() });
  }
}
