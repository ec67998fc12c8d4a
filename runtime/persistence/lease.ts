/**
 * A held lease, kept alive: acquire a name on the node's store (store.ts `LeaseStore`), renew
 * it every third of its time-to-live, and know — by this holder's own clock, never later than
 * the store would — when it is lost (Akka's Lease with `checkLease`; a distributed lock with
 * a time limit and a fencing token).
 *
 * Owns: the renew timer of one held lease and the holder's deadline: the lease counts as held
 * until `acquired-at + ttl − margin` on this process's monotonic clock, pushed on by each
 * renew the store confirms (measured from when the renew was *sent*, so a slow answer never
 * extends it). A renew refused (`ERR_LEASE_LOST`), or no confirmed renew before the deadline
 * (the store unreachable, the process paused), makes it lost: `lost` resolves and `held` turns
 * false, so the holder stops what the lease guards before another can take it over — as long
 * as clocks run at the same rate (the margin covers a small drift).
 * Does not own: expiry itself (the store's clock), what the lease guards.
 * Threads: the thread that acquired it. Time: the given Clock (timers, monotonic `now`, wall
 * time as the `now` of LMDB/memory stores).
 */
import type { Clock, TimerHandle } from '../../actors/foundation/clock.js';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import { sleep } from '../../actors/foundation/wait.js';
import type { LeaseGrant, LeaseStore } from './store.js';

/** Defaults of held leases (Akka's lease `heartbeat-timeout` 120 s is for Kubernetes; ours are for a store a few ms away). */
export const LEASE_DEFAULTS = Object.freeze({
  /** Time-to-live of a lease, ms. */
  ttlMs: 10_000,
  /** Share of the TTL the holder gives up early (clock drift, a renew in flight). */
  safetyMargin: 0.2,
  /** How often {@link waitForLease} tries again, ms. */
  retryMs: 1000,
});

export interface LeaseOptions {
  /** Who holds it (names the holder in `leaseHolder`, e.g. `node#incarnation`). */
  owner: string;
  clock: Clock;
  /** Time-to-live, ms (≥ 30); renewed every third of it. */
  ttlMs?: number;
  /** Plain data published with the lease (e.g. where the guarded work runs). */
  data?: unknown;
}

/** A lease this holder has (until `lost` or `release`). */
export class HeldLease {
  private deadline: number;
  private timer: TimerHandle | undefined;
  private ended = false;
  private settleLost!: (reason: unknown) => void;
  /** Resolves with why, once the lease is lost (not on {@link release}). */
  readonly lost: Promise<unknown>;
  private current: LeaseGrant;

  /** @internal made by {@link acquireLease} */
  constructor(
    private readonly store: LeaseStore,
    grant: LeaseGrant,
    sentAt: number,
    private readonly ttlMs: number,
    private readonly clock: Clock,
    private data: unknown,
  ) {
    this.current = grant;
    this.deadline = sentAt + ttlMs * (1 - LEASE_DEFAULTS.safetyMargin);
    this.lost = new Promise((resolve) => (this.settleLost = resolve));
    this.schedule();
  }

  get name(): string {
    return this.current.name;
  }

  get owner(): string {
    return this.current.owner;
  }

  /** The fencing token: pass it with what the holder writes. */
  get token(): number {
    return this.current.token;
  }

  /** True while this holder may act on the lease: not lost, not released, before its own deadline. */
  get held(): boolean {
    return !this.ended && this.clock.now() < this.deadline;
  }

  /** Changes the data published with the lease at the next renew. */
  publish(data: unknown): void {
    this.data = data;
  }

  /** Stops renewing and gives the lease up (others may take it at once). */
  async release(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.clock.clearTimeout(this.timer);
    await this.store.releaseLease(this.current.name, this.current.owner, this.current.token).catch(() => false);
  }

  private schedule(): void {
    if (this.ended) return;
    const untilDeadline = this.deadline - this.clock.now();
    this.timer = this.clock.setTimeout(() => void this.renew(), Math.max(0, Math.min(this.ttlMs / 3, untilDeadline)));
  }

  private async renew(): Promise<void> {
    if (this.ended) return;
    if (this.clock.now() >= this.deadline) return this.lose(new ApiaryError(ErrorCodes.LEASE_LOST, `lease ${this.name}: not renewed within its time (the store did not answer)`));
    const sentAt = this.clock.now();
    try {
      this.current = await this.store.renewLease(this.current.name, this.current.owner, this.current.token, this.ttlMs, this.clock.wallTime(), this.data);
    } catch (err) {
      if (err instanceof ApiaryError && err.code === ErrorCodes.LEASE_LOST) return this.lose(err);
      // unreachable for now: try again soon, until the deadline says it is lost
      if (!this.ended) this.timer = this.clock.setTimeout(() => void this.renew(), Math.max(0, Math.min(this.ttlMs / 10, this.deadline - this.clock.now())));
      return;
    }
    if (this.ended) return;
    this.deadline = sentAt + this.ttlMs * (1 - LEASE_DEFAULTS.safetyMargin);
    this.schedule();
  }

  private lose(reason: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.clock.clearTimeout(this.timer);
    this.settleLost(reason);
  }
}

function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs < 30) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'a lease needs a ttlMs of at least 30 ms', { field: 'ttlMs' });
}

/**
 * Takes the lease `name` on `store` for `options.owner`, kept renewed; undefined when another
 * owner holds it. Rejects as the store does (`ERR_STORE_UNAVAILABLE`), `ERR_INVALID_ARGUMENT`
 * for a bad name or TTL.
 */
export async function acquireLease(store: LeaseStore, name: string, options: LeaseOptions): Promise<HeldLease | undefined> {
  if (typeof name !== 'string' || name.length === 0 || name.length > 256) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'a lease name is 1 to 256 characters', { field: 'name' });
  const ttlMs = options.ttlMs ?? LEASE_DEFAULTS.ttlMs;
  checkTtl(ttlMs);
  const sentAt = options.clock.now();
  const grant = await store.acquireLease(name, options.owner, ttlMs, options.clock.wallTime(), options.data);
  return grant === undefined ? undefined : new HeldLease(store, grant, sentAt, ttlMs, options.clock, options.data);
}

/**
 * {@link acquireLease}, tried every `retryMs` until it is taken; rejects `ERR_ABORTED` when
 * `signal` aborts first. Store failures are retried too (a store down is waited out).
 */
export async function waitForLease(store: LeaseStore, name: string, options: LeaseOptions & { retryMs?: number; signal?: AbortSignal }): Promise<HeldLease> {
  const retryMs = options.retryMs ?? LEASE_DEFAULTS.retryMs;
  for (;;) {
    if (options.signal?.aborted) throw new ApiaryError(ErrorCodes.ABORTED, `waiting for lease ${name} was aborted`);
    try {
      const held = await acquireLease(store, name, options);
      if (held !== undefined) return held;
    } catch (err) {
      if (!(err instanceof ApiaryError) || err.code !== ErrorCodes.STORE_UNAVAILABLE) throw err;
    }
    try {
      await sleep(options.clock, retryMs, options.signal);
    } catch {
      throw new ApiaryError(ErrorCodes.ABORTED, `waiting for lease ${name} was aborted`);
    }
  }
}
