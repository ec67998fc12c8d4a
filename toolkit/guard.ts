/**
 * Guard: the resilience pipeline in front of a function or any ref — fallback ∘ retry ∘
 * breaker ∘ rate limit ∘ bulkhead ∘ call — as a function ({@link guarded}, {@link guardRef})
 * and as an actor ({@link Guard}) that other actors address like the agent behind it.
 *
 * Owns: the composition order — each retry attempt passes the breaker, takes a token and a
 * bulkhead slot; a refusal (`ERR_CIRCUIT_OPEN`, `ERR_RATE_LIMITED`, `ERR_BULKHEAD_FULL`) is
 * a failed attempt like any other and is not retried by the default policy only for an
 * open circuit. Does not own: the policies' state (each part keeps its own).
 * Threads: the Guard actor answers asks with `replyLater`, so calls overlap; its target may
 * be local, on another thread or (later) another node. Time: the given / actor's clock.
 */
import { Actor } from '../actors/actor.js';
import type { ActorRef } from '../actors/actor-ref.js';
import type { Clock } from '../actors/foundation/clock.js';
import { withTimeout } from './abort.js';
import { DEFAULTS as ACTOR_DEFAULTS } from '../actors/defaults.js';
import { Bulkhead, type BulkheadOptions } from './bulkhead.js';
import { CircuitBreaker, type BreakerOptions, type BreakerStateName } from './circuit-breaker.js';
import { withFallback, type Fallback } from './fallback.js';
import { RateLimiter, type RateLimiterOptions } from './rate-limiter.js';
import type { RetryPolicy } from './retry-policy.js';
import { withRetry } from './with-retry.js';

/** The parts of a guard; every one is optional. */
export interface GuardParts<M, R> {
  clock: Clock;
  breaker?: CircuitBreaker;
  retry?: RetryPolicy;
  limiter?: RateLimiter;
  /** The limiter key of a message (per-key limits); default one global bucket. */
  keyOf?: (message: M) => string;
  bulkhead?: Bulkhead;
  fallback?: Fallback<M, R>;
  /** ms per attempt; a late attempt fails `ERR_TIMEOUT` (a breaker failure). */
  timeout?: number;
}

/**
 * Runs `call(message, signal)` through the parts. Rejects as the last failing part says
 * (see the module header), or with the fallback's answer replacing the failure.
 */
export function guarded<M, R>(
  call: (message: M, signal: AbortSignal | undefined) => Promise<R>,
  parts: GuardParts<M, R>,
  message: M,
  signal?: AbortSignal,
): Promise<R> {
  const attempt = (): Promise<R> => {
    const inner = async (): Promise<R> => {
      if (parts.limiter) await parts.limiter.acquire(parts.keyOf?.(message) ?? '', signal);
      const run = (): Promise<R> => withTimeout(call(message, signal), parts.timeout, parts.clock);
      return parts.bulkhead ? parts.bulkhead.run(run, signal) : run();
    };
    return parts.breaker ? parts.breaker.call(inner) : inner();
  };
  const retried = parts.retry ? () => withRetry(() => attempt(), parts.retry!, { clock: parts.clock, signal }) : attempt;
  return parts.fallback ? withFallback(retried, parts.fallback, message, signal ? { signal } : {}) : retried();
}

/** `ref.ask` through the guard's parts: a function any code (or actor) can call. */
export function guardRef<M, R>(ref: ActorRef<M, R>, parts: GuardParts<M, R>): (message: M, signal?: AbortSignal) => Promise<R> {
  return (message, signal) => guarded(askVia(ref, parts.timeout), parts, message, signal);
}

/** One attempt as an ask: the attempt timeout is the ask's (default the ask default, 5 s). */
function askVia<M, R>(ref: ActorRef<M, R>, timeout: number | undefined): (m: M, s: AbortSignal | undefined) => Promise<R> {
  const t = timeout ?? ACTOR_DEFAULTS.askTimeout;
  return (m, s) => ref.ask(m, s ? { signal: s, timeout: t } : { timeout: t });
}

/** Constructor argument of {@link Guard}: the target and plain options for each part. */
export interface GuardArgs<M = unknown, R = unknown> {
  target: ActorRef<M, R>;
  /** Breaker options (its clock is the actor's; its events go to `events$`). */
  breaker?: Omit<BreakerOptions, 'clock' | 'onStateChange'>;
  retry?: RetryPolicy;
  limiter?: Omit<RateLimiterOptions, 'clock'>;
  keyOf?: (message: M) => string;
  bulkhead?: BulkheadOptions;
  fallback?: Fallback<M, R>;
  timeout?: number;
}

/** Control messages a Guard answers itself. */
export type GuardControl = { type: 'guard:state' } | { type: 'guard:force-open' } | { type: 'guard:force-close' } | { type: 'guard:reset' };

const CONTROL = new Set(['guard:state', 'guard:force-open', 'guard:force-close', 'guard:reset']);

/**
 * An actor in front of `target`: asks are answered with the guarded ask's outcome (several
 * in flight at once), tells are sent through the same parts and their failures dropped.
 * `{ type: 'guard:state' }` answers the breaker state; `guard:force-open`/`force-close`/`reset`
 * drive it. Breaker changes are `breaker-state` events. Options hold functions, so a Guard
 * lives on the thread that spawns it; its target can be anywhere.
 */
export class Guard<M = unknown, R = unknown> extends Actor<M | GuardControl, R | BreakerStateName | undefined> {
  private readonly parts: GuardParts<M, R>;
  private readonly target: ActorRef<M, R>;
  readonly breaker: CircuitBreaker | undefined;

  constructor(args: GuardArgs<M, R>) {
    super();
    const clock = this.context.clock;
    this.target = args.target;
    this.breaker = args.breaker
      ? new CircuitBreaker({ ...args.breaker, clock, onStateChange: (e) => this.context.publish(e) })
      : undefined;
    this.parts = {
      clock,
      ...(this.breaker ? { breaker: this.breaker } : {}),
      ...(args.retry ? { retry: args.retry } : {}),
      ...(args.limiter ? { limiter: new RateLimiter({ ...args.limiter, clock }) } : {}),
      ...(args.keyOf ? { keyOf: args.keyOf } : {}),
      ...(args.bulkhead ? { bulkhead: new Bulkhead(args.bulkhead) } : {}),
      ...(args.fallback ? { fallback: args.fallback } : {}),
      ...(args.timeout !== undefined ? { timeout: args.timeout } : {}),
    };
  }

  receive(message: M | GuardControl): R | BreakerStateName | undefined {
    const type = (message as { type?: unknown } | null)?.type;
    if (typeof type === 'string' && CONTROL.has(type)) return this.control(type);
    const reply = this.context.replyLater<R>();
    const out = guarded(askVia(this.target, this.parts.timeout), this.parts, message as M, reply?.signal);
    if (reply) out.then(reply.resolve, reply.reject);
    else out.catch(() => {});
    return undefined;
  }

  private control(type: string): BreakerStateName | undefined {
    if (type === 'guard:force-open') this.breaker?.forceOpen();
    else if (type === 'guard:force-close') this.breaker?.forceClose();
    else if (type === 'guard:reset') this.breaker?.reset();
    return this.breaker?.state;
  }
}
