/**
 * CellBase: the state of one actor cell, shared by the layers that make up ActorCell.
 *
 * ActorCell is one object per actor, written as a chain of classes, one concept each (as
 * Akka's ActorCell is assembled from its `dungeon` traits):
 *   CellBase (this file: fields, construction, watch bookkeeping)
 *   → DispatchCell (cell-dispatch.ts: delivery, the run loop, ask cancellation)
 *   → SystemQueueCell (cell-system-queue.ts: system messages, hooks, exits to the parent)
 *   → LifecycleCell (cell-lifecycle.ts: start, stop, restart, kill, death)
 *   → ActorCell (actor-cell.ts: the ActorContext an actor sees, timers, watch/unwatch).
 * Methods one layer needs from a later one are declared abstract here.
 * Owns: the fields and their meaning; nothing here runs a message or changes status.
 * Threads: touched only by its own thread. Time: only through the host's clock.
 */
import type { Actor, ActorClass, SpawnOptions } from './actor.js';
import type { ActorCell } from './actor-cell.js';
import { ActorRef, type RefTarget } from './actor-ref.js';
import type { AskRegistry } from './ask.js';
import type { ExitReason } from './exit-reason.js';
import type { Host } from './host.js';
import { Mailbox, type Envelope } from './mailbox.js';
import type { CellStatus, SystemMessage } from './system-message.js';
import { Watches, type LocalWatcher } from './watches.js';
import type { Cancels } from './ask-cancels.js';
import type { TimerHandle } from '../runtime/clock.js';

export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

/** A stop or restart-stop being carried out. */
export type LifecycleRequest = Extract<SystemMessage, { kind: 'stop' | 'prepare-restart' }>;

export abstract class CellBase implements LocalWatcher, RefTarget {
  scheduled = false;
  status: CellStatus = 'new';
  /** A message, hook or parent duty is in flight; nothing else runs until it settles. */
  protected busy = false;
  /** Bumped whenever the instance is replaced or abandoned; stale async results compare it. */
  protected token = 0;
  instance: Actor | undefined;
  incarnation = 0;
  /** A runtime-internal actor: no lifecycle events, not in the tree. */
  internal = false;
  /** The supervisor's bookkeeping for this child (opaque here). */
  supervision: unknown;
  /** Restarts of this cell, kept by its supervisor. */
  restarts = 0;
  /** While not running, at most this many user messages are kept (the rest are dead letters). */
  stashLimit = Infinity;
  startedAt = 0;
  finalReason: ExitReason | undefined;
  readonly mailbox: Mailbox<SystemMessage>;
  readonly ref: ActorRef;
  sender: ActorRef | undefined;
  /** Set when the parent lives on another thread: exits are reported over the link. */
  remoteParent: { report(cell: ActorCell, reason: ExitReason, resumable: boolean): void } | undefined;
  /** Watch bookkeeping, allocated on first use. */
  protected watchSet: Watches | undefined;
  /** The stop or restart-stop being carried out, so a kill can complete it. */
  protected lifecycle: LifecycleRequest | undefined;
  /** The message whose async `receive` is running (its ask is rejected if the instance is abandoned). */
  protected inFlight: Envelope | undefined;
  /** Timers of the current incarnation (see scheduleOnce). */
  protected timers: Set<TimerHandle> | undefined;
  /** Children made with `context.spawn`, in start order. */
  contextChildren: ActorCell[] | undefined;
  /** The message whose synchronous part of `receive` is running. */
  protected current: Envelope | undefined;
  /** The abort controller of the message being processed, made when `signal` is first read. */
  protected messageAbort: AbortController | undefined;
  /** Asks cancelled by their askers: queued ones (skipped) and deferred replies (aborted), by reply route. */
  protected cancels: Cancels | undefined;

  constructor(
    readonly host: Host,
    readonly actorClass: ActorClass,
    readonly args: unknown,
    readonly path: string,
    readonly id: number,
    readonly parent: ActorCell | undefined,
    readonly name: string | undefined,
    options: SpawnOptions | undefined,
  ) {
    this.mailbox = new Mailbox<SystemMessage>(options?.mailbox);
    this.ref = new ActorRef({ node: host.node, incarnation: host.incarnation, thread: host.thread, id }, path, this);
  }

  /** This cell as the ActorCell it is (every CellBase is one). */
  protected get cell(): ActorCell {
    return this as unknown as ActorCell;
  }

  protected get watches(): Watches {
    return (this.watchSet ??= new Watches());
  }

  /** Another local cell starts watching this one. */
  addLocalWatcher(watcher: LocalWatcher): void {
    this.watches.addWatcher(watcher);
  }

  /** A local watcher unwatched this cell, or died. */
  removeLocalWatcher(watcher: LocalWatcher): void {
    this.watchSet?.removeWatcher(watcher);
  }

  // ---- implemented by later layers ---------------------------------------------------------

  /** Queues one user message (cell-dispatch.ts). */
  abstract deliver(env: Envelope): boolean;
  abstract readonly asks: AskRegistry;
  abstract readonly dead: boolean;

  /** Queues a `terminated` message for `ref` (cell-dispatch.ts). */
  abstract notifyTerminated(ref: ActorRef, reason: ExitReason): void;
  /** Runs one system message (cell-system-queue.ts). */
  protected abstract handleSystem(msg: SystemMessage): void;
  /** The instance is gone or failed: tell the parent (cell-system-queue.ts). */
  protected abstract exited(reason: ExitReason, resumable: boolean, keepInstance?: boolean): void;
  /** Dies for good (cell-lifecycle.ts). */
  abstract finalize(reason: ExitReason): void;
  /** Stops context children before a stop or restart (cell-lifecycle.ts). */
  protected abstract stopContextChildren(): void | Promise<void>;
  /** Cancels the timers of the incarnation that is ending (actor-cell.ts). */
  protected abstract cancelTimers(): void;
}
