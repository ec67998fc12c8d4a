/**
 * The demo's simulated external API (an LLM summarisation endpoint) and the agent that
 * calls it through the toolkit.
 *
 * {@link SimulatedApi} is in-process (no network): each call takes 20–80 ms of clock time,
 * answers `429` with a Retry-After (ms) when called more than `limitPerSecond` times in a
 * second or at `throttleRate`, and `503` at `errorRate`. The {@link Summariser} agent sits
 * behind a circuit breaker, retries with exponential backoff and full jitter (honouring
 * Retry-After) and a client-side rate limit below the API's, so most 429s never happen and
 * the breaker opens only when the endpoint is really down. Breaker changes are
 * `breaker-state` events (the demo logs them). Time and randomness: the actor's clock.
 */
import { Actor } from '../actors/actor.js';
import type { Clock } from '../actors/foundation/clock.js';
import { CircuitBreaker } from '../toolkit/circuit-breaker.js';
import { exponentialRetry } from '../toolkit/retry-policy.js';
import { RateLimiter, type RateLimitSource } from '../toolkit/rate-limiter.js';
import { guarded, type GuardParts } from '../toolkit/guard.js';
import { sleep } from '../toolkit/abort.js';
import type { Report } from './demo-agents.js';

/** An HTTP-like failure of the simulated API: `status`, and `retryAfter` ms for 429/503. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly retryAfter?: number,
  ) {
    super(`simulated API answered ${status}`);
  }
}

export interface SimulatedApiOptions {
  /** Probability of a 503 per call. */
  errorRate: number;
  /** Probability of a 429 per call (besides the per-second limit). */
  throttleRate: number;
  /** Calls per second before it answers 429. */
  limitPerSecond: number;
}

/** A flaky, rate-limited endpoint, simulated in-process. */
export class SimulatedApi {
  private windowStart = 0;
  private calls = 0;
  constructor(
    private readonly clock: Clock,
    private readonly o: SimulatedApiOptions,
  ) {}

  async summarise(report: Report, signal?: AbortSignal): Promise<string> {
    const now = this.clock.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.calls = 0;
    }
    await sleep(this.clock, 20 + this.clock.random() * 60, signal);
    if (++this.calls > this.o.limitPerSecond || this.clock.random() < this.o.throttleRate) throw new ApiError(429, 300);
    if (this.clock.random() < this.o.errorRate) throw new ApiError(503);
    return `${report.topRegion} leads with ${Math.round((report.regions[0]?.total ?? 0) / Math.max(1, report.revenue) * 100)}% of revenue`;
  }
}

/** Constructor argument of {@link Summariser}. */
export interface SummariserArgs extends SimulatedApiOptions {
  /**
   * Live rate limits by name (`system.settings`): the client-side limit is called
   * `summary-api`, so `rateLimits: { "summary-api": { tokens: 1 } }` in the node's config
   * changes it, also on a config reload.
   */
  settings?: RateLimitSource;
}

/** The name of the Summariser's client-side rate limit in config (`rateLimits`). */
export const SUMMARY_API_LIMIT = 'summary-api';

/** The API-calling agent: summarises a report through breaker + retry + rate limit. */
export class Summariser extends Actor<{ type: 'summarise'; report: Report }, string | undefined> {
  private readonly api: SimulatedApi;
  private readonly parts: GuardParts<Report, string>;

  constructor(args: SummariserArgs) {
    super();
    const clock = this.context.clock;
    this.api = new SimulatedApi(clock, args);
    this.parts = {
      clock,
      breaker: new CircuitBreaker({
        name: 'summary-api',
        clock,
        failureThreshold: 3,
        resetTimeout: 5000,
        callTimeout: 2000,
        onStateChange: (e) => this.context.publish(e),
      }),
      retry: exponentialRetry(100, 2, { maxAttempts: 4, jitter: 'full', maxDelay: 1000, deadline: 2500 }),
      limiter: new RateLimiter({ name: SUMMARY_API_LIMIT, settings: args.settings, tokens: 2, intervalMs: 1000, clock, maxWaitMs: 1000 }),
    };
  }

  /** Answers later (calls overlap, bounded by the limiter); a failure rejects the ask, never crashes the agent. */
  receive(msg: { type: 'summarise'; report: Report }): undefined {
    const reply = this.context.replyLater<string>();
    const out = guarded((report, signal) => this.api.summarise(report, signal), this.parts, msg.report, reply?.signal);
    if (reply) out.then(reply.resolve, reply.reject);
    else out.catch(() => {});
    return undefined;
  }
}
