/**
 * Cluster singletons: an actor that runs on exactly one node at a time, wherever one of the
 * nodes that offer it can run it — Akka's Cluster Singleton with a lease, OTP's distributed
 * applications (`dist_ac`) in spirit.
 *
 * Owns: for each singleton this node offers, a manager that waits for the lease
 * `singleton/<name>` on the node's store (runtime/persistence/lease.ts), runs the actor under
 * a supervisor of its own while it holds the lease (OTP restarts within `intensity`/`period`),
 * stops it at once when the lease is lost, and gives the lease up — for another node to take —
 * when its supervisor gives up or the singleton is stopped here. Finding the instance: the
 * lease names the node that holds it; the instance is registered there under
 * `singleton:<name>` (restarts re-register it), so {@link Singletons.ref} looks it up there.
 * Safety: one instance at a time as far as the lease guarantees it (runtime/persistence/
 * lease.ts: the holder stops before the store lets another in, clocks running at the same
 * rate). A Redis store makes it cluster-wide (the server's clock); an LMDB store, across the
 * processes of one machine. In a partition, only a side that reaches the store keeps it.
 * Does not own: the lease protocol, supervision, lookup across nodes (the system's
 * `lookupOn`).
 * Threads: thread 0 (the instance may run on a worker thread: `thread`). Time: the system's clock.
 */
import type { ActorClass } from '../../actors/actor.js';
import type { ActorRef } from '../../actors/actor-ref.js';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import { sleep } from '../../actors/foundation/wait.js';
import type { Clock } from '../../actors/foundation/clock.js';
import type { ExitReason } from '../../actors/exit-reason.js';
import type { Shutdown } from '../../actors/shutdown.js';
import { supervisor, type SupervisorSpec } from '../../supervisor/child-spec.js';
import { LEASE_DEFAULTS, waitForLease, type HeldLease } from '../persistence/lease.js';
import type { LeaseStore } from '../persistence/store.js';

/** Defaults of singletons. */
export const SINGLETON_DEFAULTS = Object.freeze({
  /** The lease's time-to-live, ms: how long a dead holder keeps the singleton from running elsewhere (at most). */
  ttlMs: LEASE_DEFAULTS.ttlMs,
  /** How often a node that does not hold it tries the lease again, ms. */
  retryMs: 1000,
  /** ms the instance gets to stop when it must go (keep it well below 20 % of the TTL: the lease's safety margin). */
  shutdown: 1000,
});

export interface SingletonOptions<Args = unknown> {
  /** Constructor argument of the actor (plain data if it runs on a worker thread). */
  args?: Args;
  /** A worker thread of the holding node (as `spawn`'s `thread`); default its main thread. */
  thread?: number | 'auto';
  ttlMs?: number;
  retryMs?: number;
  /** Its supervisor's restart intensity and period (OTP; defaults 3 in 5000 ms). */
  intensity?: number;
  period?: number;
  shutdown?: Shutdown;
}

/** One singleton as this node knows it. */
export interface SingletonStatus {
  name: string;
  /** This node offers it (started it here). */
  offered: boolean;
  /** This node runs it now. */
  running: boolean;
  /** Who holds the lease (undefined: nobody now), its fencing token and node. */
  holder: { owner: string; node: string; token: number } | undefined;
}

/** What singletons need of their node (the ActorSystem). */
export interface SingletonHost {
  readonly name: string;
  readonly incarnation: number;
  readonly clock: Clock;
  /** The node's store (leases); undefined: none. */
  store(): LeaseStore | undefined;
  spawnSupervisor(spec: SupervisorSpec, name: string): Promise<ActorRef>;
  watch(ref: ActorRef): Promise<ExitReason>;
  kill(ref: ActorRef, reason: ExitReason): boolean;
  stopActor(ref: ActorRef): Promise<ExitReason>;
  lookup(name: string): ActorRef | undefined;
  lookupOn(node: string, name: string): Promise<ActorRef | undefined>;
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const leaseName = (name: string): string => `singleton/${name}`;
/** The registered name of the running instance, on its node. */
export const singletonInstanceName = (name: string): string => `singleton:${name}`;

/** The singletons of one node: `system.singletons`. */
export class Singletons {
  private readonly managers = new Map<string, Manager>();

  constructor(private readonly host: SingletonHost) {}

  /**
   * Offers `actor` as the singleton `name` on this node: it runs here whenever this node gets
   * its lease, and elsewhere otherwise. Call it on every node that may run it, with the same
   * class. Throws `ERR_INVALID_ARGUMENT` for a bad name, `ERR_NAME_TAKEN` if this node offers
   * it already, `ERR_STORE_UNAVAILABLE` when the node has no store.
   */
  start<A extends ActorClass>(name: string, actor: A, options: SingletonOptions = {}): void {
    if (typeof name !== 'string' || !NAME.test(name)) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'a singleton name is 1 to 64 letters, digits, . _ -', { field: 'name' });
    if (this.managers.has(name)) throw new ApiaryError(ErrorCodes.NAME_TAKEN, `this node offers singleton ${name} already`, { field: 'name' });
    const store = this.host.store();
    if (store === undefined) throw new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, `singleton ${name} needs the node's store for its lease (give the ActorSystem a store; Redis for several machines)`, { field: 'store' });
    const spec = supervisor({
      strategy: 'one-for-one',
      intensity: options.intensity ?? 3,
      period: options.period ?? 5000,
      children: [
        {
          id: name,
          actor,
          name: singletonInstanceName(name),
          shutdown: options.shutdown ?? SINGLETON_DEFAULTS.shutdown,
          ...(options.args === undefined ? {} : { args: options.args }),
          ...(options.thread === undefined ? {} : { thread: options.thread }),
        },
      ],
    });
    const manager = new Manager(this.host, store, name, spec, options);
    this.managers.set(name, manager);
    void manager.run();
  }

  /**
   * The running instance of singleton `name` wherever it runs (this node or another of the
   * cluster), or undefined while none runs (between holders). Rejects as the store does.
   */
  async ref(name: string): Promise<ActorRef | undefined> {
    const store = this.host.store();
    if (store === undefined) throw new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, 'singletons need the node\'s store', { field: 'store' });
    const holder = await store.leaseHolder(leaseName(name), this.host.clock.wallTime());
    const node = (holder?.data as { node?: unknown } | undefined)?.node;
    if (typeof node !== 'string') return undefined;
    try {
      return node === this.host.name ? this.host.lookup(singletonInstanceName(name)) : await this.host.lookupOn(node, singletonInstanceName(name));
    } catch {
      return undefined; // its node is not up (any more): the next holder will be
    }
  }

  /** Every singleton this node offers, and who runs it. */
  async status(): Promise<SingletonStatus[]> {
    const store = this.host.store();
    const out: SingletonStatus[] = [];
    for (const [name, m] of this.managers) {
      const holder = store === undefined ? undefined : await store.leaseHolder(leaseName(name), this.host.clock.wallTime()).catch(() => undefined);
      const node = (holder?.data as { node?: unknown } | undefined)?.node;
      out.push({ name, offered: true, running: m.running, holder: holder === undefined ? undefined : { owner: holder.owner, node: typeof node === 'string' ? node : '', token: holder.token } });
    }
    return out;
  }

  /** Stops offering `name` here: its instance (if here) stops and the lease is given up for another node. */
  async stop(name: string): Promise<void> {
    const m = this.managers.get(name);
    if (m === undefined) return;
    this.managers.delete(name);
    await m.stop();
  }

  /** Stops every singleton of this node (the system's stop does, before its tree). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.managers.keys()].map((n) => this.stop(n)));
  }
}

/** One singleton offered by this node: lease → run → (lost | gave up | stopped) → again. */
class Manager {
  private readonly abort = new AbortController();
  private lease: HeldLease | undefined;
  private supervisorRef: ActorRef | undefined;
  private done: Promise<void> | undefined;

  constructor(
    private readonly host: SingletonHost,
    private readonly store: LeaseStore,
    private readonly name: string,
    private readonly spec: SupervisorSpec,
    private readonly options: SingletonOptions,
  ) {}

  get running(): boolean {
    return this.supervisorRef !== undefined;
  }

  run(): Promise<void> {
    return (this.done ??= this.loop());
  }

  private async loop(): Promise<void> {
    const { clock } = this.host;
    const retryMs = this.options.retryMs ?? SINGLETON_DEFAULTS.retryMs;
    while (!this.abort.signal.aborted) {
      let lease: HeldLease;
      try {
        lease = await waitForLease(this.store, leaseName(this.name), {
          owner: `${this.host.name}#${this.host.incarnation}`,
          clock,
          ttlMs: this.options.ttlMs ?? SINGLETON_DEFAULTS.ttlMs,
          retryMs,
          signal: this.abort.signal,
          data: { node: this.host.name },
        });
      } catch {
        if (this.abort.signal.aborted) return;
        await sleep(clock, retryMs);
        continue;
      }
      if (this.abort.signal.aborted) return void (await lease.release());
      this.lease = lease;
      let sup: ActorRef;
      try {
        sup = await this.host.spawnSupervisor(this.spec, `singleton.${this.name}`);
      } catch {
        await lease.release();
        this.lease = undefined;
        await sleep(clock, retryMs);
        continue;
      }
      if (this.abort.signal.aborted) {
        // stopped while it was starting: nobody else will stop it
        await this.host.stopActor(sup);
        await lease.release();
        this.lease = undefined;
        return;
      }
      this.supervisorRef = sup;
      // whichever comes first: the lease is lost (stop it now), or the supervisor exits (gave up, or stopped)
      const lost = lease.lost.then(() => 'lost' as const);
      const exited = this.host.watch(sup).then(() => 'exited' as const);
      const why = await Promise.race([lost, exited]);
      if (why === 'lost') {
        this.host.kill(sup, { error: { name: 'LeaseLost', message: `singleton ${this.name}: its lease was lost`, code: ErrorCodes.LEASE_LOST } });
        await exited;
      }
      this.supervisorRef = undefined;
      this.lease = undefined;
      await lease.release();
      if (why === 'exited' && !this.abort.signal.aborted) await sleep(clock, retryMs); // let another node try first
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    const sup = this.supervisorRef;
    if (sup !== undefined) await this.host.stopActor(sup);
    await this.done;
    await this.lease?.release();
  }
}
