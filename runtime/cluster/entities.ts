/**
 * Sharded entities: actors addressed by type and id, activated on demand on whichever node
 * owns the id's shard, passivated when idle, moved when nodes come and go — Akka Cluster
 * Sharding and Orleans' virtual actors. With a persistent entity class (its persistence id
 * derived from its id) and a shared store, an agent keeps what it knows wherever it runs.
 *
 * Owns, per type this node hosts ({@link Entities.define}), a region: its service actor
 * (registered `$apiary.entities.<type>`, subscribed to the topic `$entities/<type>` so every
 * node learns the regions), the shards it owns — one lease `entities/<type>/<shard>` each on
 * the node's store — and the entities it runs, under a `simple-one-for-one` supervisor of its
 * own (`/entities.<type>`, OTP restarts). Placement: each shard's preferred node is the one
 * with the highest hash of (type, shard, node) among the nodes hosting the type (rendezvous
 * hashing: a node joining or leaving moves only its share). Every `rebalanceMs` a region
 * takes the free shards it prefers and hands off (stops their entities, releases the lease)
 * those it holds that another live region prefers. A lost lease stops that shard's entities
 * at once. At most one node runs an id at a time, as far as the leases guarantee it.
 * Routing ({@link Entities.ref}): the id's shard (FNV-1a of the id), its lease holder's node,
 * that node's region; a region that does not hold the shard (any more) answers "not here" and
 * the sender looks again, until the ask's deadline.
 * Does not own: leases (runtime/persistence/lease.ts), the regions' discovery (topics.ts),
 * supervision.
 * Threads: thread 0 (entities may run on a worker: `thread`). Time: the system's clock.
 */
import type { ActorClass } from '../../actors/actor.js';
import { Actor } from '../../actors/actor.js';
import type { ActorRef } from '../../actors/actor-ref.js';
import type { Clock, TimerHandle } from '../../actors/foundation/clock.js';
import { ApiaryError, ErrorCodes, type ErrorCode } from '../../actors/foundation/errors.js';
import { sleep } from '../../actors/foundation/wait.js';
import type { ExitReason } from '../../actors/exit-reason.js';
import { supervisor, type SupervisorSpec } from '../../supervisor/child-spec.js';
import type { SupervisorRef } from '../../supervisor/supervisor-ref.js';
import { acquireLease, type HeldLease } from '../persistence/lease.js';
import type { LeaseStore } from '../persistence/store.js';
import type { Topics } from './topics.js';

/** Defaults of sharded entities (Akka: 10 × nodes shards, passivation after 120 s idle). */
export const ENTITY_DEFAULTS = Object.freeze({
  shards: 32,
  /** An entity with no message for this long is stopped (0: never). */
  passivateAfterMs: 120_000,
  /** Time-to-live of a shard's lease, ms. */
  ttlMs: 10_000,
  /** How often a region takes and hands off shards, ms. */
  rebalanceMs: 1000,
  /** An ask's default deadline, ms (as `ask`). */
  askTimeoutMs: 5000,
  /** Wait before looking for a shard's owner again, ms. */
  retryMs: 50,
});

export interface EntityOptions<Args = unknown> {
  /** Shards of the type (the same on every node); default 32. */
  shards?: number;
  passivateAfterMs?: number;
  ttlMs?: number;
  rebalanceMs?: number;
  /** A worker thread for the entities (as `spawn`'s `thread`). */
  thread?: number | 'auto';
  /** Extra constructor argument fields; the entity gets `{ ...args, id, type }`. */
  args?: Args;
}

/** An entity, wherever it runs: ask or tell it by id. */
export interface EntityRef<M = unknown, R = unknown> {
  readonly type: string;
  readonly id: string;
  /** Asks the entity (activating it if needed); rejects as an ask does, `ERR_ASK_TIMEOUT` when no owner answered in time. */
  ask(message: M, options?: { timeout?: number }): Promise<R>;
  /** Sends without waiting (at most once; dropped when no owner is found within the ask timeout). */
  tell(message: M): void;
}

/** What this node hosts of one type. */
export interface EntityRegionStatus {
  type: string;
  /** Shards this node owns now. */
  shards: number[];
  /** Entities running here now. */
  entities: number;
}

/** What entities need of their node (the ActorSystem). */
export interface EntitiesHost {
  readonly name: string;
  readonly incarnation: number;
  readonly clock: Clock;
  readonly topics: Topics;
  store(): LeaseStore | undefined;
  /** Makes and starts a runtime service actor peers may address, registered under `name`. */
  service(name: string, actor: ActorClass, args: unknown): ActorRef;
  spawnSupervisor(spec: SupervisorSpec, name: string): Promise<ActorRef>;
  watch(ref: ActorRef): Promise<ExitReason>;
  stopActor(ref: ActorRef): Promise<ExitReason>;
}

/** `timeout`: what is left of the sender's deadline, ms (the entity is asked within it). `shards`: how many the type has. */
type RegionMessage = { $e: 'deliver'; shard: number; id: string; message: unknown; ask: boolean; timeout: number } | { $e: 'shards' };
type RegionAnswer = { ok: true; value?: unknown } | { ok: false; notHere: true } | { ok: false; code: string; message: string };

const TYPE = /^[A-Za-z0-9._-]{1,64}$/;
const topicOf = (type: string): string => `$entities/${type}`;
const leaseOf = (type: string, shard: number): string => `entities/${type}/${shard}`;

/** FNV-1a, 32 bits: the id's shard, and the rendezvous weights. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The node of `nodes` that prefers `shard` of `type` (highest rendezvous weight); undefined if none. */
export function preferredNode(type: string, shard: number, nodes: readonly string[]): string | undefined {
  let best: string | undefined;
  let weight = -1;
  for (const n of nodes) {
    const w = fnv1a(`${type}/${shard}/${n}`);
    if (w > weight || (w === weight && best !== undefined && n < best)) {
      best = n;
      weight = w;
    }
  }
  return best;
}

/** The entities of one node: `system.entities`. */
export class Entities {
  private readonly regions = new Map<string, Region>();
  private readonly shardsOf = new Map<string, number>();
  /** Where each shard was found last: type/shard → its region, and until when to trust that. */
  private readonly owners = new Map<string, { region: ActorRef; until: number }>();

  constructor(private readonly host: EntitiesHost) {}

  /**
   * Hosts entities of `type` on this node: `actor` is constructed with `{ ...args, id, type }`
   * when a message for an id whose shard this node owns arrives. Call it on every node that
   * may run them, with the same class and `shards`. Throws `ERR_INVALID_ARGUMENT` (bad type or
   * shards), `ERR_NAME_TAKEN` (defined twice here), `ERR_STORE_UNAVAILABLE` (no store).
   */
  define<A extends ActorClass>(type: string, actor: A, options: EntityOptions = {}): void {
    if (typeof type !== 'string' || !TYPE.test(type)) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'an entity type is 1 to 64 letters, digits, . _ -', { field: 'type' });
    const shards = options.shards ?? ENTITY_DEFAULTS.shards;
    if (!Number.isInteger(shards) || shards < 1 || shards > 10_000) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'shards must be an integer from 1 to 10000', { field: 'shards' });
    if (this.regions.has(type)) throw new ApiaryError(ErrorCodes.NAME_TAKEN, `this node hosts entities of type ${type} already`, { field: 'type' });
    const store = this.host.store();
    if (store === undefined) throw new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, `entities of type ${type} need the node's store for their shards' leases`, { field: 'store' });
    const region = new Region(this.host, store, type, actor, { ...options, shards });
    this.regions.set(type, region);
    this.shardsOf.set(type, shards);
    region.start();
  }

  /**
   * The entity `id` of `type`, wherever it runs (or will run). The type need not be hosted on
   * this node: its shard count is then asked of a node that hosts it (once). Throws
   * `ERR_INVALID_ARGUMENT` for a bad type or id (1 to 256 characters).
   */
  ref<M = unknown, R = unknown>(type: string, id: string): EntityRef<M, R> {
    if (typeof type !== 'string' || !TYPE.test(type)) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'an entity type is 1 to 64 letters, digits, . _ -', { field: 'type' });
    if (typeof id !== 'string' || id.length === 0 || id.length > 256) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'an entity id is 1 to 256 characters', { field: 'id' });
    const hash = fnv1a(id);
    const send = (message: M, ask: boolean, timeout: number) => this.send(type, hash, id, message, ask, timeout);
    return {
      type,
      id,
      ask: async (message, options) => (await send(message, true, options?.timeout ?? ENTITY_DEFAULTS.askTimeoutMs)) as R,
      tell: (message) => void send(message, false, ENTITY_DEFAULTS.askTimeoutMs).catch(() => undefined),
    };
  }

  /** What this node hosts, per type. */
  status(): EntityRegionStatus[] {
    return [...this.regions.values()].map((r) => r.status());
  }

  /** Hands off every shard of this node (entities stopped, leases released) and stops its regions. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.regions.values()].map((r) => r.stop()));
    this.regions.clear();
  }

  private async send(type: string, hash: number, id: string, message: unknown, ask: boolean, timeout: number): Promise<unknown> {
    const { clock } = this.host;
    const deadline = clock.now() + timeout;
    for (;;) {
      const left = deadline - clock.now();
      const shards = this.shardsOf.get(type) ?? (await this.askShards(type, left));
      if (left <= 0 || shards === undefined) {
        if (left <= 0) throw new ApiaryError(ErrorCodes.ASK_TIMEOUT, `entity ${type}/${id}: no node hosting ${type} answered within ${timeout} ms`);
        await sleep(clock, Math.min(ENTITY_DEFAULTS.retryMs, Math.max(0, deadline - clock.now())));
        continue;
      }
      const shard = hash % shards;
      const key = `${type}/${shard}`;
      const region = await this.ownerOf(type, shard, key).catch(() => undefined);
      if (region !== undefined) {
        const msg: RegionMessage = { $e: 'deliver', shard, id, message, ask, timeout: deadline - clock.now() };
        let answer: RegionAnswer | undefined;
        try {
          answer = (await region.ask(msg, { timeout: Math.max(1, deadline - clock.now()) })) as RegionAnswer;
        } catch (err) {
          if (err instanceof ApiaryError && err.code === ErrorCodes.ASK_TIMEOUT) throw err;
          answer = undefined; // its node went away: look again
        }
        if (answer?.ok === true) return answer.value;
        if (answer !== undefined && 'code' in answer) throw new ApiaryError(answer.code as ErrorCode, answer.message);
      }
      this.owners.delete(key);
      await sleep(clock, Math.min(ENTITY_DEFAULTS.retryMs, Math.max(0, deadline - clock.now())));
    }
  }

  /** The shard count of a type this node does not host, asked of a region that does (then kept); undefined while none answers. */
  private async askShards(type: string, timeout: number): Promise<number | undefined> {
    const region = this.host.topics.subscribers(topicOf(type))[0];
    if (region === undefined || timeout <= 0) return undefined;
    try {
      const answer = (await region.ask({ $e: 'shards' } satisfies RegionMessage, { timeout })) as RegionAnswer;
      if (answer.ok && Number.isInteger(answer.value) && (answer.value as number) >= 1) {
        this.shardsOf.set(type, answer.value as number);
        return answer.value as number;
      }
    } catch {
      // that node went away: the next try asks another
    }
    return undefined;
  }

  /** The region that owns `shard` of `type` now (cached for a rebalance period), or undefined. */
  private async ownerOf(type: string, shard: number, key: string): Promise<ActorRef | undefined> {
    const now = this.host.clock.now();
    const cached = this.owners.get(key);
    if (cached !== undefined && cached.until > now) return cached.region;
    const store = this.host.store();
    if (store === undefined) throw new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, 'entities need the node\'s store');
    const holder = await store.leaseHolder(leaseOf(type, shard), this.host.clock.wallTime());
    const node = (holder?.data as { node?: unknown } | undefined)?.node;
    if (typeof node !== 'string') return undefined;
    const region = this.host.topics.subscribers(topicOf(type)).find((r) => r.node === node);
    if (region !== undefined) this.owners.set(key, { region, until: now + ENTITY_DEFAULTS.rebalanceMs });
    return region;
  }
}

interface Running {
  ref: ActorRef | undefined;
  starting: Promise<ActorRef> | undefined;
  shard: number;
  lastAt: number;
}

/** One type on this node: its shards, its entities, its service actor. */
class Region {
  private readonly leases = new Map<number, HeldLease>();
  private readonly running = new Map<string, Running>();
  private scope: ActorRef | undefined;
  private sup: SupervisorRef | undefined;
  private supStarting: Promise<SupervisorRef> | undefined;
  private timer: TimerHandle | undefined;
  private stopped = false;
  private balancing = false;
  private readonly shards: number;
  private readonly ttlMs: number;
  private readonly rebalanceMs: number;
  private readonly passivateAfterMs: number;

  constructor(
    private readonly host: EntitiesHost,
    private readonly store: LeaseStore,
    private readonly type: string,
    private readonly actor: ActorClass,
    private readonly options: EntityOptions & { shards: number },
  ) {
    this.shards = options.shards;
    this.ttlMs = options.ttlMs ?? ENTITY_DEFAULTS.ttlMs;
    this.rebalanceMs = options.rebalanceMs ?? ENTITY_DEFAULTS.rebalanceMs;
    this.passivateAfterMs = options.passivateAfterMs ?? ENTITY_DEFAULTS.passivateAfterMs;
  }

  start(): void {
    this.scope = this.host.service(`$apiary.entities.${this.type}`, RegionActor, this);
    this.host.topics.subscribe(topicOf(this.type), this.scope);
    this.schedule(0);
  }

  status(): EntityRegionStatus {
    let entities = 0;
    for (const r of this.running.values()) if (r.ref !== undefined) entities++;
    return { type: this.type, shards: [...this.leases.keys()].sort((a, b) => a - b), entities };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.host.clock.clearTimeout(this.timer);
    if (this.scope !== undefined) this.host.topics.unsubscribe(topicOf(this.type), this.scope);
    await Promise.all([...this.leases.keys()].map((s) => this.handOff(s)));
    if (this.sup !== undefined) await this.host.stopActor(this.sup);
    if (this.scope !== undefined) await this.host.stopActor(this.scope);
  }

  /** The type's shard count (the same on every node that hosts it). */
  get shardCount(): number {
    return this.shards;
  }

  /** A message for an entity of this region: delivered if this node holds its shard, else "not here". */
  async deliver(m: Extract<RegionMessage, { $e: 'deliver' }>, sender: ActorRef | undefined): Promise<RegionAnswer> {
    if (typeof m.id !== 'string' || !Number.isInteger(m.shard) || m.shard < 0 || m.shard >= this.shards || !this.leases.get(m.shard)?.held) return { ok: false, notHere: true };
    let entity: ActorRef;
    try {
      entity = await this.entity(m.shard, m.id);
    } catch (err) {
      return answerOf(err);
    }
    if (!this.leases.get(m.shard)?.held) return { ok: false, notHere: true };
    if (!m.ask) {
      entity.tell(m.message, sender === undefined ? undefined : { sender });
      return { ok: true };
    }
    try {
      const timeout = typeof m.timeout === 'number' && m.timeout > 0 ? m.timeout : ENTITY_DEFAULTS.askTimeoutMs;
      return { ok: true, value: await entity.ask(m.message, { timeout, ...(sender === undefined ? {} : { sender }) }) };
    } catch (err) {
      return answerOf(err);
    }
  }

  /** The running entity `id` (started now if it is not). */
  private async entity(shard: number, id: string): Promise<ActorRef> {
    const now = this.host.clock.now();
    const known = this.running.get(id);
    if (known !== undefined) {
      known.lastAt = now;
      if (known.ref !== undefined) return known.ref;
      if (known.starting !== undefined) return known.starting;
    }
    const sup = await this.supervisor();
    const entry: Running = { ref: undefined, starting: undefined, shard, lastAt: now };
    this.running.set(id, entry);
    entry.starting = sup.startChild({ ...(this.options.args as object | undefined), id, type: this.type }).then(
      (ref) => {
        entry.ref = ref;
        entry.starting = undefined;
        void this.host.watch(ref).then(() => {
          if (this.running.get(id) === entry) this.running.delete(id);
        });
        return ref;
      },
      (err: unknown) => {
        if (this.running.get(id) === entry) this.running.delete(id);
        throw err;
      },
    );
    return entry.starting;
  }

  /** The region's supervisor, started once (concurrent first activations share the start). */
  private supervisor(): Promise<SupervisorRef> {
    if (this.sup !== undefined) return Promise.resolve(this.sup);
    return (this.supStarting ??= this.startSupervisor().finally(() => (this.supStarting = undefined)));
  }

  private async startSupervisor(): Promise<SupervisorRef> {
    const spec = supervisor({
      strategy: 'simple-one-for-one',
      intensity: 1000,
      period: 5000,
      template: { actor: this.actor, restart: 'transient', ...(this.options.thread === undefined ? {} : { thread: this.options.thread }) },
    });
    const ref = (await this.host.spawnSupervisor(spec, `entities.${this.type}`)) as SupervisorRef;
    this.sup = ref;
    void this.host.watch(ref).then(() => {
      if (this.sup === ref) this.sup = undefined;
      this.running.clear();
    });
    return ref;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.host.clock.setTimeout(() => void this.rebalance(), ms);
  }

  /** Takes the free shards this node prefers, hands off those another live region prefers, passivates idle entities. */
  private async rebalance(): Promise<void> {
    if (this.stopped || this.balancing) return;
    this.balancing = true;
    try {
      const nodes = [...new Set(this.host.topics.subscribers(topicOf(this.type)).map((r) => r.node))].sort();
      const me = this.host.name;
      for (let shard = 0; shard < this.shards && !this.stopped; shard++) {
        const held = this.leases.get(shard);
        if (held !== undefined && !held.held) {
          this.leases.delete(shard);
          await this.stopShard(shard);
          continue;
        }
        const preferred = preferredNode(this.type, shard, nodes);
        if (held === undefined && preferred === me) await this.take(shard);
        else if (held !== undefined && preferred !== undefined && preferred !== me) await this.handOff(shard);
      }
      this.passivate();
    } finally {
      this.balancing = false;
      this.schedule(this.rebalanceMs);
    }
  }

  private async take(shard: number): Promise<void> {
    try {
      const lease = await acquireLease(this.store, leaseOf(this.type, shard), {
        owner: `${this.host.name}#${this.host.incarnation}`,
        clock: this.host.clock,
        ttlMs: this.ttlMs,
        data: { node: this.host.name },
      });
      if (lease === undefined) return;
      if (this.stopped) return void (await lease.release());
      this.leases.set(shard, lease);
      // lost (not renewed in time, or taken): its entities stop at once
      void lease.lost.then(() => {
        if (this.leases.get(shard) === lease) this.leases.delete(shard);
        void this.stopShard(shard);
      });
    } catch {
      // the store is unreachable: the next round tries again
    }
  }

  /** Stops the shard's entities, then gives its lease up for the node that prefers it. */
  private async handOff(shard: number): Promise<void> {
    const lease = this.leases.get(shard);
    this.leases.delete(shard);
    await this.stopShard(shard);
    await lease?.release();
  }

  private async stopShard(shard: number): Promise<void> {
    const sup = this.sup;
    const stops: Promise<unknown>[] = [];
    for (const [id, r] of this.running) {
      if (r.shard !== shard) continue;
      this.running.delete(id);
      const ref = r.ref ?? (await r.starting?.catch(() => undefined));
      if (ref !== undefined && sup !== undefined) stops.push(sup.terminateChild(ref).catch(() => undefined));
    }
    await Promise.all(stops);
  }

  private passivate(): void {
    if (this.passivateAfterMs <= 0 || this.sup === undefined) return;
    const idleSince = this.host.clock.now() - this.passivateAfterMs;
    for (const [id, r] of this.running) {
      if (r.ref === undefined || r.lastAt > idleSince) continue;
      this.running.delete(id);
      void this.sup.terminateChild(r.ref).catch(() => undefined);
    }
  }
}

function answerOf(err: unknown): RegionAnswer {
  if (err instanceof ApiaryError) return { ok: false, code: err.code, message: err.message };
  return { ok: false, code: ErrorCodes.ACTOR_FAILED, message: err instanceof Error ? err.message : String(err) };
}

/** A region's service actor: answers every delivery without waiting for the entity (replyLater). */
class RegionActor extends Actor<unknown, unknown> {
  constructor(private readonly region: Region) {
    super();
  }

  receive(msg: unknown): unknown {
    const m = msg as RegionMessage;
    if (m !== null && typeof m === 'object' && m.$e === 'shards') return { ok: true, value: this.region.shardCount };
    if (m === null || typeof m !== 'object' || m.$e !== 'deliver') return { ok: false, code: ErrorCodes.INVALID_ARGUMENT, message: 'not an entity delivery' };
    const reply = this.context.replyLater<RegionAnswer>();
    const done = this.region.deliver(m, this.context.sender);
    if (reply === undefined) void done;
    else void done.then(reply.resolve, reply.reject);
    return undefined;
  }
}
