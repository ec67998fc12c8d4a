/**
 * PersistentActor: an event-sourced actor (Akka Persistence's EventSourcedBehavior) — its
 * state is what its journaled events, applied in order, make of `initialState()`.
 *
 * Owns: recovery (claim the persistence id — fencing every older incarnation — then load the
 * latest snapshot and replay the events after it through `applyEvent`), all before the
 * actor's own `started` and its first message; `persist`/`persistAll` (one append in flight
 * per actor; events persisted while one is in flight go together in the next; an event is
 * applied to the state only once it is durable); a snapshot every `snapshotEvery` events.
 * Does not own: where events are kept (the Store, store.ts: it batches the appends of many
 * actors into one commit), restart policy (the supervisor), the durability rule of a message
 * (durable-writes.ts: the reply and the next message wait for every write of this one).
 * Threads: the actor's thread; its store is found by storeOf (store-of.ts). Time: the
 * actor's clock (`wallTime` stamps events and snapshots).
 *
 * Semantics (DESIGN §3): an event is durable before the next message is processed and before
 * the reply to the message that persisted it is sent. A failed write fails the actor
 * `ERR_PERSIST_FAILED` (cause: the store's error) — its supervisor decides, and a restart
 * replays. A fenced write (`ERR_PERSISTENCE_FENCED`: another incarnation claimed the id) fails
 * it with that code and it never writes again; supervise with {@link stopIfFenced} so the
 * stale incarnation stops instead of being restarted into a fight over the id.
 */
import { Actor, type ActorContext } from '../../actors/actor.js';
import type { ExitReason } from '../../actors/exit-reason.js';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import type { Decider } from '../../supervisor/child-spec.js';
import { DurableWrites, journaled, persistError } from './durable-writes.js';
import { isStore, storeOf } from './store-of.js';
import type { Store } from './store.js';

/** Defaults of persistent actors (Akka's `snapshot-every`, its journal's replay batch). */
export const PERSISTENCE_DEFAULTS = Object.freeze({
  /** A snapshot after every this many events (0: never). */
  snapshotEvery: 100,
  /** Events read per store call during a replay. */
  replayBatch: 1000,
  /** Delete the events a saved snapshot covers (Akka keeps them by default; so do we). */
  deleteEventsOnSnapshot: false,
});

/**
 * Spawn args a persistent actor understands besides its own: a `store` object (same thread
 * only — unit tests) used instead of the thread's store.
 */
export interface PersistenceArgs {
  store?: Store;
}

/** The store given in the spawn args, if any. */
export function explicitStore(args: unknown): Store | undefined {
  const s = args !== null && typeof args === 'object' ? (args as PersistenceArgs).store : undefined;
  return isStore(s) ? s : undefined;
}

/** Who writes, for the store's diagnostics: `node/thread/path#incarnation`. */
export function writerOf(context: ActorContext): string {
  const { node, thread } = context.self.address;
  return `${node}/${thread}${context.path}#${context.incarnation}`;
}

/**
 * A supervisor decider (`decider` of a supervisor spec) that stops a child failed with
 * `ERR_PERSISTENCE_FENCED` (a newer incarnation owns its id: restarting it would fence that
 * one in turn) and restarts on every other error.
 */
export const stopIfFenced: Decider = (reason: ExitReason) =>
  typeof reason === 'object' && reason.error.code === ErrorCodes.PERSISTENCE_FENCED ? 'stop' : 'restart';

/** Events persisted while the previous append was in flight: written together, settled together. */
class Batch<E> {
  readonly events: E[] = [];
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (err: unknown) => void;
  constructor() {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/**
 * An event-sourced actor. `M`/`R` as for Actor, `S` the state, `E` the events (plain data).
 * Define `receive` and `started` as methods (not arrow-function fields): the base class
 * wraps them to keep the durability rules. `applyEvent` must not throw or have effects (it
 * also runs on replay) and should return a new state rather than change the old one.
 *
 * ```ts
 * class Counter extends PersistentActor<{ add: number }, number, number, number> {
 *   readonly persistenceId = 'counter-1';
 *   initialState() { return 0; }
 *   applyEvent(total: number, n: number) { return total + n; }
 *   async receive(m: { add: number }) { await this.persist(m.add); return this.state; }
 * }
 * ```
 */
export abstract class PersistentActor<M = any, R = unknown, S = unknown, E = unknown> extends Actor<M, R> {
  /** The journal stream this actor owns; the same id in a later incarnation recovers it. */
  abstract readonly persistenceId: string;
  /** A snapshot after every this many events (0: never). Override as a field. */
  protected snapshotEvery: number = PERSISTENCE_DEFAULTS.snapshotEvery;
  /** Delete events a saved snapshot covers. Override as a field. */
  protected deleteEventsOnSnapshot: boolean = PERSISTENCE_DEFAULTS.deleteEventsOnSnapshot;

  /** The state before any event. */
  abstract initialState(): S;
  /** The state after `event`: pure, and must not throw (it also runs on replay). */
  abstract applyEvent(state: S, event: E): S;

  readonly #writes: DurableWrites;
  readonly #explicit: Store | undefined;
  #store: Store | undefined;
  #epoch = 0;
  #state: S | undefined;
  /** Highest durable seq (applied to #state). */
  #seq = 0;
  /** Seq of the latest snapshot saved (or recovered). */
  #snapshotSeq = 0;
  #pending: Batch<E> | undefined;
  #writing = false;
  #recovered = false;

  constructor(args?: unknown) {
    super(args);
    this.#explicit = explicitStore(args);
    this.#writes = new DurableWrites(() => this.context);
    this.#writes.install(this as unknown as Parameters<DurableWrites['install']>[0], () => this.#recover());
  }

  /** The state: every durable event applied. Read it after `await this.persist(…)` to see that event. */
  protected get state(): S {
    if (!this.#recovered) throw new ApiaryError(ErrorCodes.UNSUPPORTED, `${this.persistenceId}: state is read before recovery (use it in started/receive)`);
    return this.#state as S;
  }

  /** Sequence number of the last durable event (0: none). */
  protected get lastSequenceNr(): number {
    return this.#seq;
  }

  /**
   * Journals `event`; resolves once it is durable and applied to `state`. Rejects
   * `ERR_PERSIST_FAILED` (the actor fails; a restart replays) or `ERR_PERSISTENCE_FENCED`
   * (a newer incarnation owns the id; nothing was written). The message being handled is
   * answered, and the next one started, only after this settles — awaited or not.
   */
  protected persist(event: E): Promise<void> {
    return this.#enqueue(event, undefined);
  }

  /** Journals `events` atomically (all or none), in order; otherwise like {@link persist}. */
  protected persistAll(events: readonly E[]): Promise<void> {
    if (events.length === 0) return this.#writes.failure === undefined ? Promise.resolve() : Promise.reject(this.#writes.failure);
    return this.#enqueue(undefined, events);
  }

  /**
   * Adds `one` (or `many`) to the pending batch; the first of a batch schedules its flush and
   * has the message wait for it. Every persist of a batch returns the batch's one promise.
   */
  #enqueue(one: E | undefined, many: readonly E[] | undefined): Promise<void> {
    try {
      this.#writes.check();
      if (!this.#recovered) throw new ApiaryError(ErrorCodes.UNSUPPORTED, `${this.persistenceId}: persist before recovery finished`);
    } catch (err) {
      return Promise.reject(err);
    }
    let batch = this.#pending;
    if (batch === undefined) {
      batch = this.#pending = new Batch<E>();
      this.#writes.track(batch.done);
      if (!this.#writing) {
        this.#writing = true;
        // events persisted in the rest of this turn join the same append
        queueMicrotask(this.#flushSoon);
      }
    }
    if (many === undefined) batch.events.push(one as E);
    else for (const e of many) batch.events.push(e);
    return batch.done;
  }

  readonly #flushSoon = (): void => void this.#flush();

  /** Writes the pending batch, then the next one (if persisted meanwhile), until none. */
  async #flush(): Promise<void> {
    const store = this.#store!;
    const pid = this.persistenceId;
    for (let batch = this.#pending; batch !== undefined; batch = this.#pending) {
      this.#pending = undefined;
      if (this.#writes.failure !== undefined) {
        batch.reject(this.#writes.failure);
        continue;
      }
      const first = this.#seq + 1;
      try {
        await store.append(pid, this.#epoch, first, batch.events, this.context.clock.wallTime());
      } catch (err) {
        batch.reject(this.#writes.fail(persistError(pid, 'append', err)));
        continue;
      }
      this.#seq += batch.events.length;
      journaled(this.context, pid, 'events', first, this.#seq);
      try {
        let state = this.#state as S;
        for (const e of batch.events) state = this.applyEvent(state, e);
        this.#state = state;
      } catch (err) {
        // durable but not applicable: a bug in applyEvent; the actor fails with its error
        batch.reject(this.#writes.fail(err));
        continue;
      }
      batch.resolve();
      if (this.snapshotEvery > 0 && this.#seq - this.#snapshotSeq >= this.snapshotEvery) await this.#snapshot(store, pid);
    }
    this.#writing = false;
  }

  /** Saves a snapshot of the state now; its failure is not the actor's (events stay the truth), except fencing. */
  async #snapshot(store: Store, pid: string): Promise<void> {
    const seq = this.#seq;
    try {
      await store.saveSnapshot(pid, this.#epoch, { seq, state: this.#state, at: this.context.clock.wallTime() });
      this.#snapshotSeq = seq;
      journaled(this.context, pid, 'snapshot', undefined, seq);
      if (this.deleteEventsOnSnapshot) await store.deleteTo(pid, this.#epoch, seq);
    } catch (err) {
      if (persistError(pid, 'snapshot', err).code === ErrorCodes.PERSISTENCE_FENCED) this.#writes.fail(err as ApiaryError);
    }
  }

  /** Claims the id (fencing older writers), then snapshot + replay. Throws `ERR_PERSIST_FAILED` (cause) if the store fails. */
  async #recover(): Promise<void> {
    const pid = this.persistenceId;
    if (typeof pid !== 'string' || pid.length === 0) {
      throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'a persistent actor needs a non-empty persistenceId', { field: 'persistenceId' });
    }
    const store = (this.#store = storeOf(this.context, this.#explicit));
    try {
      const claim = await store.claim(pid, writerOf(this.context));
      this.#epoch = claim.epoch;
      const snapshot = await store.loadSnapshot(pid);
      let state = snapshot === undefined ? this.initialState() : (snapshot.state as S);
      let seq = snapshot?.seq ?? 0;
      const batch = Math.max(1, PERSISTENCE_DEFAULTS.replayBatch);
      while (seq < claim.highestSeq) {
        const events = await store.read(pid, seq + 1, Math.min(claim.highestSeq, seq + batch));
        if (events.length === 0 || events[0]!.seq !== seq + 1) {
          throw new ApiaryError(ErrorCodes.STORE_CORRUPT, `${pid}: the journal has no event ${seq + 1} (highest ${claim.highestSeq})`);
        }
        for (const e of events) {
          if (e.seq !== seq + 1) throw new ApiaryError(ErrorCodes.STORE_CORRUPT, `${pid}: event ${seq + 1} is missing from the journal`);
          state = this.applyEvent(state, e.event as E);
          seq = e.seq;
        }
      }
      this.#state = state;
      this.#seq = Math.max(seq, claim.highestSeq);
      this.#snapshotSeq = snapshot?.seq ?? 0;
      this.#recovered = true;
    } catch (err) {
      throw persistError(pid, 'recovery', err);
    }
  }
}
