/**
 * CellContext: the {@link ActorContext} an actor sees — its own object, not the cell.
 *
 * Owns: nothing but the way in. Every call is passed to the actor's cell, which keeps the
 * state; the cell itself stays out of reach (an ES private field), so an actor cannot call
 * `finalize`, `kill` or anything else that belongs to its parent and its thread.
 * Made lazily, on the first read of `this.context` (see Actor), so an actor that never
 * looks at its context costs no object for it.
 * Threads: one per actor instance, used on the cell's thread.
 */
import type { ActorClass, ActorContext, ArgsOfClass, DeferredReply, RefOf, SpawnOptions } from './actor.js';
import type { ActorCell } from './actor-cell.js';
import type { ActorRef } from './actor-ref.js';
import type { SystemEvent } from './events.js';
import type { ExitReason } from './exit-reason.js';
import type { Clock } from './foundation/clock.js';

export class CellContext implements ActorContext {
  readonly #cell: ActorCell;

  constructor(cell: ActorCell) {
    this.#cell = cell;
  }

  /** @internal The cell behind a context (for privileged behaviours such as the Supervisor). */
  static cellOf(context: ActorContext): ActorCell {
    return (context as CellContext).#cell;
  }

  get self(): ActorRef {
    return this.#cell.ref;
  }

  get path(): string {
    return this.#cell.path;
  }

  get incarnation(): number {
    return this.#cell.incarnation;
  }

  get sender(): ActorRef | undefined {
    return this.#cell.sender;
  }

  get clock(): Clock {
    return this.#cell.host.clock;
  }

  get signal(): AbortSignal {
    return this.#cell.messageSignal();
  }

  spawn<C extends ActorClass>(actor: C, options?: SpawnOptions<ArgsOfClass<C>>): Promise<RefOf<InstanceType<C>>> {
    return this.#cell.spawnChild(actor, options) as Promise<RefOf<InstanceType<C>>>;
  }

  watch(ref: ActorRef): void {
    this.#cell.watch(ref);
  }

  unwatch(ref: ActorRef): void {
    this.#cell.unwatch(ref);
  }

  stop(reason: ExitReason = 'normal'): void {
    this.#cell.stop(reason);
  }

  scheduleOnce(ms: number, message: unknown): () => void {
    return this.#cell.scheduleOnce(ms, message);
  }

  lookup<M = unknown, R = unknown>(name: string): ActorRef<M, R> | undefined {
    return this.#cell.host.registry.lookup(name) as ActorRef<M, R> | undefined;
  }

  replyLater<R = unknown>(): DeferredReply<R> | undefined {
    return this.#cell.replyLater<R>();
  }

  publish(event: SystemEvent): void {
    this.#cell.host.emit(event);
  }
}
