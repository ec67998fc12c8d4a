/**
 * ActorCell: one actor's mailbox, current instance and lifecycle on its thread — and the
 * ActorContext its actor sees.
 *
 * The cell outlives restarts: a supervisor replaces the *instance*, so the ref stays valid
 * and queued messages survive (Akka's restart semantics). It is one object, assembled from
 * one layer per concept (see cell-base.ts for the chain): delivery and the run loop
 * (cell-dispatch.ts), system messages and exits (cell-system-queue.ts), start/stop/kill
 * and death (cell-lifecycle.ts).
 * Owns (this file): the context API — self, spawn of context children, watch/unwatch
 * (local and remote watchers), stop, timers of the current incarnation, lookup, the
 * per-message abort signal, deferred replies, publish.
 * Does not own: deciding what to do when the actor exits (its parent decides) or timing
 * graceful stops (see shutdown.ts).
 * Threads: touched only by its own thread. Time: only through the host's clock.
 */
import { ApiaryError, ErrorCodes } from './foundation/errors.js';
import type { ActorClass, ActorContext, ArgsOfClass, DeferredReply, RefOf, SpawnOptions } from './actor.js';
import type { ActorRef, RefTarget } from './actor-ref.js';
import { Cancels, NEVER_ABORTED } from './ask-cancels.js';
import { CellBase } from './cell-base.js';
import { LifecycleCell } from './cell-lifecycle.js';
import type { ChildHandle } from './child-handle.js';
import type { Runnable } from './dispatcher.js';
import type { SystemEvent } from './events.js';
import type { ExitReason } from './exit-reason.js';

export { PARENT_BEHAVIOUR } from './system-message.js';
export type { CellStatus, ChildExit, ParentBehaviour, SystemMessage } from './system-message.js';
export { PROCESSING_SAMPLE } from './cell-dispatch.js';

export class ActorCell extends LifecycleCell implements ActorContext, Runnable, RefTarget, ChildHandle {
  get self(): ActorRef {
    return this.ref;
  }

  get clock() {
    return this.host.clock;
  }

  spawn<C extends ActorClass>(actor: C, options?: SpawnOptions<ArgsOfClass<C>>): Promise<RefOf<InstanceType<C>>> {
    if (this.status === 'dead' || this.status === 'stopping') {
      return Promise.reject(new ApiaryError(ErrorCodes.ACTOR_STOPPED, `${this.path} is stopping; cannot spawn`));
    }
    const child = this.host.createCell(actor, options, this);
    (this.contextChildren ??= []).push(child);
    return this.host.startCell(child) as Promise<RefOf<InstanceType<C>>>;
  }

  // ---- watches ---------------------------------------------------------------------------

  watch(ref: ActorRef): void {
    if (ref.equals(this.ref) || !this.watches.watch(ref)) return;
    const target = ref.target;
    if (target instanceof CellBase) {
      if (target.status === 'dead') this.notifyTerminated(ref, target.finalReason ?? 'noproc');
      else target.addLocalWatcher(this);
    } else if (target.addWatcher !== undefined) {
      target.addWatcher(this);
    } else if (target.dead) {
      this.notifyTerminated(ref, 'noproc');
    }
  }

  unwatch(ref: ActorRef): void {
    if (!this.watchSet?.unwatch(ref)) return;
    const target = ref.target;
    if (target instanceof CellBase) target.removeLocalWatcher(this);
    else target.removeWatcher?.(this);
  }

  /** A watcher on another thread; told at once if this actor is already dead. */
  addRemoteWatcher(watcher: ActorRef): void {
    if (this.status === 'dead') return this.host.sendTerminated(watcher, this.ref, this.finalReason ?? 'noproc');
    this.watches.addRemoteWatcher(watcher);
  }

  removeRemoteWatcher(watcher: ActorRef): void {
    this.watchSet?.removeRemoteWatcher(watcher);
  }

  stop(reason: ExitReason = 'normal'): void {
    this.enqueueSystem({ kind: 'exit', reason });
  }

  // ---- timers ----------------------------------------------------------------------------

  scheduleOnce(ms: number, message: unknown): () => void {
    const timers = (this.timers ??= new Set());
    const handle = this.host.clock.setTimeout(() => {
      timers.delete(handle);
      this.ref.tell(message);
    }, ms);
    timers.add(handle);
    return () => {
      if (timers.delete(handle)) this.host.clock.clearTimeout(handle);
    };
  }

  /** Cancels the timers of the incarnation that is ending. */
  protected cancelTimers(): void {
    const timers = this.timers;
    if (timers === undefined) return;
    this.timers = undefined;
    for (const t of timers) this.host.clock.clearTimeout(t);
  }

  // ---- the message being processed -------------------------------------------------------

  lookup<M = unknown, R = unknown>(name: string): ActorRef<M, R> | undefined {
    return this.host.registry.lookup(name) as ActorRef<M, R> | undefined;
  }

  get signal(): AbortSignal {
    if (this.current === undefined && this.inFlight === undefined) return NEVER_ABORTED;
    return (this.messageAbort ??= new AbortController()).signal;
  }

  replyLater<R = unknown>(): DeferredReply<R> | undefined {
    const env = this.current ?? this.inFlight;
    if (env === undefined || env.ask === 0) return undefined;
    const id = env.ask;
    const replyTo = env.replyTo!;
    env.ask = 0; // the cell no longer answers it
    const aborted = this.messageAbort?.signal.aborted === true;
    return (this.cancels ??= new Cancels()).defer<R>(replyTo, id, aborted);
  }

  publish(event: SystemEvent): void {
    this.host.emit(event);
  }

  /** User messages waiting. */
  get mailboxSize(): number {
    return this.mb === undefined ? 0 : this.mb.size;
  }

  get thread(): number {
    return this.host.thread;
  }

  get node(): string {
    return this.host.node;
  }
}
