/**
 * CellBase: the state of one actor cell, shared by the layers that make up ActorCell, and
 * what it costs an idle actor.
 *
 * ActorCell is one object per actor, written as a chain of classes, one concept each (as
 * Akka's ActorCell is assembled from its `dungeon` traits):
 *   CellBase (this file: fields, construction, watch bookkeeping)
 *   → DispatchCell (cell-dispatch.ts: delivery, the run loop, ask cancellation)
 *   → SystemQueueCell (cell-system-queue.ts: system messages, hooks, exits to the parent)
 *   → LifecycleCell (cell-lifecycle.ts: start, stop, restart, kill, death)
 *   → ActorCell (actor-cell.ts: the ActorContext an actor sees, timers, watch/unwatch).
 * Methods one layer needs from a later one are declared abstract here.
 * Owns: the fields and their meaning, and keeping an idle actor small (a million of them
 * are mostly GC work, which follows the objects that survive): the mailbox is made on the
 * first message, seldom-used state lives in one CellExtras made on first write, id and
 * path live in the ref. Nothing here runs a message or changes status.
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
import type { TimerHandle } from './foundation/clock.js';

export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

/** A stop or restart-stop being carried out. */
export type LifecycleRequest = Extract<SystemMessage, { kind: 'stop' | 'prepare-restart' }>;

/** How a cell whose parent lives on another thread reports its exits (over the link). */
export interface RemoteParent {
  report(cell: ActorCell, reason: ExitReason, resumable: boolean): void;
}

/**
 * The state most cells never use, in one object made on first write: an idle actor
 * carries none of it (a million idle actors are a million objects fewer to copy in GC).
 */
class CellExtras {
  name: string | undefined = undefined;
  internal = false;
  offTopLevel = false;
  restarts = 0;
  stashLimit = Infinity;
  remoteParent: RemoteParent | undefined = undefined;
  watchSet: Watches | undefined = undefined;
  lifecycle: LifecycleRequest | undefined = undefined;
  timers: Set<TimerHandle> | undefined = undefined;
  contextChildren: ActorCell[] | undefined = undefined;
  cancels: Cancels | undefined = undefined;
}

export abstract class CellBase implements LocalWatcher, RefTarget {
  scheduled = false;
  status: CellStatus = 'new';
  /** A message, hook or parent duty is in flight; nothing else runs until it settles. */
  protected busy = false;
  /** Bumped whenever the instance is replaced or abandoned; stale async results compare it. */
  protected token = 0;
  instance: Actor | undefined;
  incarnation = 0;
  /** The supervisor's bookkeeping for this child (opaque here). */
  supervision: unknown;
  /** Clock time (whole ms, rounded down) the current incarnation started. */
  startedAt = 0;
  finalReason: ExitReason | undefined;
  /** The mailbox once a message arrived (see {@link mailbox}); undefined while idle. */
  protected mb: Mailbox<SystemMessage> | undefined;
  readonly ref: ActorRef;
  sender: ActorRef | undefined;
  /** The message whose async `receive` is running (its ask is rejected if the instance is abandoned). */
  protected inFlight: Envelope | undefined;
  /** The message whose synchronous part of `receive` is running. */
  protected current: Envelope | undefined;
  /** The abort controller of the message being processed, made when `signal` is first read. */
  protected messageAbort: AbortController | undefined;
  /** Seldom-used state, made on first write. */
  private extras: CellExtras | undefined;

  constructor(
    readonly host: Host,
    readonly actorClass: ActorClass,
    readonly args: unknown,
    /** undefined: the default `<parent path>/$<id>`, made when first read. */
    path: string | undefined,
    id: number,
    readonly parent: ActorCell | undefined,
    name: string | undefined,
    options: SpawnOptions | undefined,
  ) {
    if (name !== undefined) this.more.name = name;
    // a bounded or otherwise configured mailbox is made now, with the options as given
    if (options?.mailbox !== undefined) this.mb = new Mailbox<SystemMessage>(options.mailbox);
    this.ref = new ActorRef({ node: host.node, incarnation: host.incarnation, thread: host.thread, id }, path, this);
  }

  /**
   * The system and user queues. A default (unbounded) mailbox is made on first use: an
   * actor that never gets a message never has one. Reads that must not allocate look at `mb`.
   */
  get mailbox(): Mailbox<SystemMessage> {
    return (this.mb ??= new Mailbox<SystemMessage>());
  }

  /** Id on this thread (kept in the ref, not twice). */
  get id(): number {
    return this.ref.id;
  }

  /** Tree path (kept in the ref, not twice). */
  get path(): string {
    return this.ref.path;
  }

  /** The default path of an unnamed actor, for its ref (which asks only when it is first read). */
  derivePath(): string {
    const parent = this.parent;
    return parent === undefined ? `/$${this.id}` : `${parent.path}/$${this.id}`;
  }

  /** The registered name, if any. */
  get name(): string | undefined {
    return this.extras?.name;
  }

  private get more(): CellExtras {
    return (this.extras ??= new CellExtras());
  }

  /** A runtime-internal actor: no lifecycle events, not in the tree. */
  get internal(): boolean {
    return this.extras !== undefined && this.extras.internal;
  }
  set internal(v: boolean) {
    this.more.internal = v;
  }

  /**
   * Has no parent on this thread but is not one of its top-level actors (it was made for a
   * parent on another thread or node, or is runtime-internal); see top-level.ts.
   */
  get offTopLevel(): boolean {
    return this.extras !== undefined && this.extras.offTopLevel;
  }
  set offTopLevel(v: boolean) {
    this.more.offTopLevel = v;
  }

  /** Restarts of this cell, kept by its supervisor. */
  get restarts(): number {
    return this.extras === undefined ? 0 : this.extras.restarts;
  }
  set restarts(v: number) {
    this.more.restarts = v;
  }

  /** While not running, at most this many user messages are kept (the rest are dead letters). */
  get stashLimit(): number {
    return this.extras === undefined ? Infinity : this.extras.stashLimit;
  }
  set stashLimit(v: number) {
    this.more.stashLimit = v;
  }

  /** Set when the parent lives on another thread: exits are reported over the link. */
  get remoteParent(): RemoteParent | undefined {
    return this.extras?.remoteParent;
  }
  set remoteParent(v: RemoteParent | undefined) {
    this.more.remoteParent = v;
  }

  /** Children made with `context.spawn`, in start order. */
  get contextChildren(): ActorCell[] | undefined {
    return this.extras?.contextChildren;
  }
  set contextChildren(v: ActorCell[] | undefined) {
    this.more.contextChildren = v;
  }

  /** Watch bookkeeping, allocated on first use. */
  protected get watchSet(): Watches | undefined {
    return this.extras?.watchSet;
  }
  protected set watchSet(v: Watches | undefined) {
    this.more.watchSet = v;
  }

  /** The stop or restart-stop being carried out, so a kill can complete it. */
  protected get lifecycle(): LifecycleRequest | undefined {
    return this.extras?.lifecycle;
  }
  protected set lifecycle(v: LifecycleRequest | undefined) {
    if (v !== undefined || this.extras !== undefined) this.more.lifecycle = v;
  }

  /** Timers of the current incarnation (see scheduleOnce). */
  protected get timers(): Set<TimerHandle> | undefined {
    return this.extras?.timers;
  }
  protected set timers(v: Set<TimerHandle> | undefined) {
    this.more.timers = v;
  }

  /** Asks cancelled by their askers: queued ones (skipped) and deferred replies (aborted), by reply route. */
  protected get cancels(): Cancels | undefined {
    return this.extras?.cancels;
  }
  protected set cancels(v: Cancels | undefined) {
    this.more.cancels = v;
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
