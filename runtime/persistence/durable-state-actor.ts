/**
 * DurableStateActor: an actor that keeps one state object in the store, saved whole (Orleans
 * grain state; Akka's DurableStateBehavior) — for agents that just remember, without an
 * event history.
 *
 * Owns: loading the state at start (after claiming the id, which fences every older
 * incarnation), `setState` (saves the next version under this incarnation's epoch; one save
 * in flight per actor, in call order; the state changes only once the save is durable) and
 * `clearState`.
 * Does not own: the store (store.ts), the durability rule of a message (durable-writes.ts:
 * the reply and the next message wait for the saves of this one), restart policy.
 * Threads: the actor's thread (store via storeOf). Time: the actor's clock stamps saves.
 * Failures as for PersistentActor: `ERR_PERSIST_FAILED` (cause) fails the actor, a restart
 * loads the last saved state; `ERR_PERSISTENCE_FENCED` fails it for good (see stopIfFenced).
 */
import { Actor } from '../../actors/actor.js';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import { DurableWrites, journaled, persistError } from './durable-writes.js';
import { explicitStore, writerOf } from './persistent-actor.js';
import { storeOf } from './store-of.js';
import type { Store } from './store.js';

/**
 * An actor whose state (plain data) is saved whole and loaded when it starts. `M`/`R` as for
 * Actor, `S` the state. Define `receive` and `started` as methods (the base class wraps them).
 *
 * ```ts
 * class Profile extends DurableStateActor<{ name: string }, void, { name?: string }> {
 *   readonly persistenceId = 'profile-7';
 *   initialState() { return {}; }
 *   async receive(m: { name: string }) { await this.setState({ ...this.state, name: m.name }); }
 * }
 * ```
 */
export abstract class DurableStateActor<M = any, R = unknown, S = unknown> extends Actor<M, R> {
  /** The id the state is saved under; the same id in a later incarnation loads it. */
  abstract readonly persistenceId: string;
  /** The state when none was saved (or after `clearState`). */
  abstract initialState(): S;

  readonly #writes: DurableWrites;
  readonly #explicit: Store | undefined;
  #store: Store | undefined;
  #epoch = 0;
  #version = 0;
  #state: S | undefined;
  #loaded = false;
  /** The last save or clear queued (saves run one at a time, in call order). */
  #queue: Promise<void> = Promise.resolve();

  constructor(args?: unknown) {
    super(args);
    this.#explicit = explicitStore(args);
    this.#writes = new DurableWrites(() => this.context);
    this.#writes.install(this as unknown as Parameters<DurableWrites['install']>[0], () => this.#load());
  }

  /** The last durable state (the initial state if none was saved). */
  protected get state(): S {
    if (!this.#loaded) throw new ApiaryError(ErrorCodes.UNSUPPORTED, `${this.persistenceId}: state is read before it was loaded (use it in started/receive)`);
    return this.#state as S;
  }

  /** Version of the stored state: 1 after the first save, +1 per save (0: never saved). */
  protected get version(): number {
    return this.#version;
  }

  /**
   * Saves `next` whole as the new state; resolves once it is durable (then `state` is
   * `next`). Rejects `ERR_PERSIST_FAILED` / `ERR_PERSISTENCE_FENCED` as persist does; the
   * message being handled is answered only after this settles.
   */
  protected setState(next: S): Promise<void> {
    return this.#enqueue('save', async (store, pid) => {
      const version = this.#version + 1;
      await store.saveState(pid, this.#epoch, version, next, this.context.clock.wallTime());
      this.#version = version;
      this.#state = next;
      journaled(this.context, pid, 'state', undefined, version);
    });
  }

  /** Removes the stored state; resolves once that is durable (then `state` is the initial state). */
  protected clearState(): Promise<void> {
    return this.#enqueue('clear', async (store, pid) => {
      await store.clearState(pid, this.#epoch);
      this.#state = this.initialState();
      journaled(this.context, pid, 'state-cleared');
    });
  }

  #enqueue(what: string, write: (store: Store, pid: string) => Promise<void>): Promise<void> {
    try {
      this.#writes.check();
      if (!this.#loaded) throw new ApiaryError(ErrorCodes.UNSUPPORTED, `${this.persistenceId}: ${what} before the state was loaded`);
    } catch (err) {
      return Promise.reject(err);
    }
    const pid = this.persistenceId;
    const run = this.#queue.then(async () => {
      this.#writes.check();
      try {
        await write(this.#store!, pid);
      } catch (err) {
        throw this.#writes.fail(persistError(pid, what, err));
      }
    });
    this.#queue = run.catch(() => {});
    return this.#writes.track(run);
  }

  async #load(): Promise<void> {
    const pid = this.persistenceId;
    if (typeof pid !== 'string' || pid.length === 0) {
      throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'a durable state actor needs a non-empty persistenceId', { field: 'persistenceId' });
    }
    const store = (this.#store = storeOf(this.context, this.#explicit));
    try {
      const claim = await store.claimState(pid, writerOf(this.context));
      this.#epoch = claim.epoch;
      const saved = await store.loadState(pid);
      this.#version = claim.version;
      this.#state = saved === undefined ? this.initialState() : (saved.state as S);
      this.#loaded = true;
    } catch (err) {
      throw persistError(pid, 'load', err);
    }
  }
}
