/**
 * Host: the actor runtime of one thread.
 *
 * Owns: the cells living on this thread (by id), top-level actors in spawn order, the
 * dispatcher, pending asks, this thread's names, dead letters and the event stream; turning an
 * address into a ref (its own cell's, or a target the routes give for anything elsewhere).
 * Does not own: supervision policy (supervisor/), the node-level API (runtime/ActorSystem),
 * or the way to other threads and nodes — that comes in at construction as `connect`'s
 * routes (actors/routes.ts), so the actor core never imports the transport.
 * Threads: exactly one host per thread. Time: `clock` only.
 */
import type { Clock } from './foundation/clock.js';
import { ApiaryError, ErrorCodes } from './foundation/errors.js';
import type { ActorClass, SpawnOptions } from './actor.js';
import { ActorCell, type RemoteParent } from './actor-cell.js';
import { isParentBehaviour, PARENT_BEHAVIOUR } from './system-message.js';
import { ActorRef } from './actor-ref.js';
import { AskRegistry } from './ask.js';
import { Dispatcher, type DispatcherOptions } from './dispatcher.js';
import { messageTypeOf, type DeadLetterReason, type JournalWriteKind, type SystemEvent } from './events.js';
import { releaseCredit, type Envelope } from './mailbox.js';
import { DEFAULTS } from './defaults.js';
import { Registry } from './registry.js';
import { CellTable } from './cell-table.js';
import { TopLevelCells } from './top-level.js';
import { LatencyHistogram } from './foundation/latency-histogram.js';
import type { Address } from './address.js';
import type { ExitReason } from './exit-reason.js';
import type { ChildHandle } from './child-handle.js';
import { DeadTarget } from './dead-target.js';
import { RecentExits } from './recent-exits.js';
import type { HostConnections, PlacedChildRequest, Routes } from './routes.js';

/** A cell whose start failed dies, and the spawn rejects with the start error. */
function startFailed(cell: ActorCell, err: unknown): never {
  cell.finalize({ error: { name: 'ApiaryError', message: (err as Error).message, code: ErrorCodes.START_FAILED } });
  throw err;
}

/** Children of a cell on this thread, for path walking: a parent behaviour's, or context-spawned ones. */
function childrenOf(cell: ActorCell): Iterable<ActorCell> {
  const behaviour = cell.instance;
  if (isParentBehaviour(behaviour)) return cellsOnly(behaviour[PARENT_BEHAVIOUR].children());
  return cell.contextChildren ?? [];
}

function* cellsOnly(handles: Iterable<ChildHandle>): IterableIterator<ActorCell> {
  for (const h of handles) if (h instanceof ActorCell) yield h;
}

/**
 * Where a host publishes its events: an RxJS `Subject` on the main thread (the node's
 * `events$`). The host itself does not import rxjs, so a worker thread never loads it
 * (its CommonJS entry, every operator, was a third of a worker's boot).
 */
export interface EventChannel {
  /** False: nobody listens, so events are not even built. */
  readonly observed: boolean;
  next(event: SystemEvent): void;
  complete(): void;
}

/** Drops every event: the channel of a host nobody observes directly (a worker's). */
const NO_EVENTS: EventChannel = { observed: false, next() {}, complete() {} };

export interface HostOptions extends DispatcherOptions {
  node: string;
  incarnation: number;
  thread: number;
  clock: Clock;
  /**
   * First actor id. A replacement worker thread starts past every id its predecessor could
   * have used, so a stale ref to an actor of a crashed thread never reaches a new actor.
   */
  firstId?: number;
  /** Where events go (besides HostConnections.forwardEvent). Default: nowhere. */
  events?: EventChannel;
  /**
   * How this thread reaches beyond itself, made once the host exists (the routes need it to
   * deliver what arrives). Default: nothing beyond — every other address is a dead target.
   */
  connect?: (host: Host) => HostConnections;
  /**
   * Finds the persistence store actors on this thread use (runtime/persistence/store.ts;
   * opaque to the actor core, called by runtime/persistence/store-of.ts when a persistent
   * actor recovers — so a store opened after the host was made is seen). Default: none — a
   * persistent actor then fails to start `ERR_STORE_UNAVAILABLE`. (Hook added for issue 15.)
   */
  store?: () => object | undefined;
}

/** Where a new cell sits (see {@link Host.createCell}); fixed when it is made. */
export interface CellPlacement {
  /** Its parent on this thread. */
  parent?: ActorCell;
  /** Its path segment under the parent (default: its name, else `$<id>`). */
  segment?: string;
  /** Its whole path, when the parent lives elsewhere and named it. */
  path?: string;
  /** Its parent lives on another thread or node: exits are reported through this. */
  remoteParent?: RemoteParent;
  /** A runtime-internal actor: no lifecycle events, not in the tree, not addressable by peers. */
  internal?: boolean;
  /** With `internal`: peers may still address it by its registered name (a runtime service: the topics scope). */
  service?: boolean;
  /**
   * False: a parentless cell that is not one of this thread's top-level actors (it was made
   * for a parent on another thread of this node, which lists and stops it). Default true.
   */
  topLevel?: boolean;
}

const NO_PLACEMENT: CellPlacement = Object.freeze({});

export class Host {
  readonly node: string;
  readonly incarnation: number;
  readonly thread: number;
  readonly clock: Clock;
  readonly dispatcher: Dispatcher;
  readonly asks: AskRegistry;
  /** This thread's names; lookups also see the names of the node's other threads (through the routes). */
  readonly registry = new Registry<ActorRef>({
    elsewhere: (name) => this.routes.lookupName?.(name),
    changed: (name, ref, live) => this.routes.publishName?.(name, ref, live),
  });
  private readonly cells = new CellTable<ActorCell>();
  /** Top-level actors (no parent), in spawn order: a view over the cells, no entry per actor. */
  readonly topLevel = new TopLevelCells(this.cells);
  private readonly events: EventChannel;
  private nextId: number;
  /** User messages handed to `receive` on this thread since start. */
  processed = 0;
  /** Time `receive` took (sampled: one message in PROCESSING_SAMPLE). */
  readonly processing = new LatencyHistogram();
  /** Dead letters since start, by reason. */
  readonly deadLetterCounts = new Map<DeadLetterReason, number>();
  /** Durable writes of persistent actors on this thread, by kind (the main thread's metrics add the workers'). */
  readonly journalWriteCounts = new Map<JournalWriteKind, number>();
  /** Why the last actors that died here died (for a watch that arrives late). */
  private readonly recentExits = new RecentExits(DEFAULTS.recentExits);

  /** How this thread reaches other threads and nodes (given at construction). */
  readonly routes: Routes;
  /** Finds this thread's persistence store, if any (see {@link HostOptions.store}). */
  readonly store: () => object | undefined;
  private readonly placer: ((req: PlacedChildRequest) => ChildHandle | undefined) | undefined;
  private readonly forwardEvent: ((event: SystemEvent) => void) | undefined;

  constructor(options: HostOptions) {
    this.node = options.node;
    this.incarnation = options.incarnation;
    this.thread = options.thread;
    this.clock = options.clock;
    this.dispatcher = new Dispatcher(options);
    this.asks = new AskRegistry(options.clock, new LatencyHistogram());
    this.nextId = options.firstId ?? 1;
    this.events = options.events ?? NO_EVENTS;
    this.store = options.store ?? (() => undefined);
    const connections = options.connect?.(this);
    this.routes = connections?.routes ?? { resolve: (address, path) => new DeadTarget(this, address, path).ref, sendTerminated() {} };
    this.placer = connections?.placeChild;
    this.forwardEvent = connections?.forwardEvent;
  }

  /**
   * Creates (does not start) a child of a supervisor on this thread, placed on another thread
   * or node as `req` says; undefined when this thread cannot place it there (no worker
   * threads, not in a cluster).
   */
  placeChild(req: PlacedChildRequest): ChildHandle | undefined {
    return this.placer?.(req);
  }

  /** A fresh id, unique on this thread (for naming things that have no cell here). */
  allocId(): number {
    return this.nextId++;
  }

  /** True when someone wants events; callers skip building them otherwise. */
  get observed(): boolean {
    return this.events.observed || this.forwardEvent !== undefined;
  }

  emit(event: SystemEvent): void {
    if (event.type === 'journal-write') return this.journalWritten(event);
    if (this.events.observed) this.events.next(event);
    if (this.forwardEvent !== undefined) this.forwardEvent(event);
  }

  /**
   * A persistent actor's durable write: counted by kind in {@link journalWriteCounts} (on
   * every thread), published on `events$` here, and from a worker thread forwarded at most
   * `DEFAULTS.journalEventsPerSecond` a second.
   */
  private journalWritten(event: Extract<SystemEvent, { type: 'journal-write' }>): void {
    this.journalWriteCounts.set(event.kind, (this.journalWriteCounts.get(event.kind) ?? 0) + 1);
    if (this.events.observed) this.events.next(event);
    if (this.forwardEvent !== undefined && this.eventDue(this.journalWindow, DEFAULTS.journalEventsPerSecond)) this.forwardEvent(event);
  }

  /** Publishes an event that happened on another thread of this node. */
  emitForeign(event: SystemEvent): void {
    if (this.events.observed) this.events.next(event);
  }

  /**
   * Reports an undelivered message (asks were already rejected by the caller): counted by
   * reason in {@link deadLetterCounts} (every one, on every thread: the main thread's
   * metrics add the workers' counts), published on `events$` here, and — from a worker
   * thread — forwarded to the main thread's `events$`, at most
   * `DEFAULTS.deadLetterEventsPerSecond` a second (the rest are only counted). A message
   * that came over a link gives its share of the link's window back.
   */
  deadLetter(recipient: string, env: Envelope, reason: DeadLetterReason): void {
    if (env.credit !== undefined) releaseCredit(env);
    this.deadLetterCounts.set(reason, (this.deadLetterCounts.get(reason) ?? 0) + 1);
    const local = this.events.observed;
    const forward = this.forwardEvent !== undefined && this.eventDue(this.deadLetterWindow, DEFAULTS.deadLetterEventsPerSecond);
    if (!local && !forward) return;
    const sender = env.sender as ActorRef | undefined;
    const event: SystemEvent = {
      type: 'dead-letter',
      sender: sender?.path,
      recipient,
      messageType: messageTypeOf(env.msg),
      reason,
      at: this.clock.now(),
    };
    if (local) this.events.next(event);
    if (forward) this.forwardEvent!(event);
  }

  /** Start (clock ms) and count of this second's forwarded dead-letter events. */
  private readonly deadLetterWindow = { start: -Infinity, sent: 0 };
  /** The same for journal-write events. */
  private readonly journalWindow = { start: -Infinity, sent: 0 };

  /** Whether one more sampled event may be forwarded in window `w` this second (at most `perSecond`). */
  private eventDue(w: { start: number; sent: number }, perSecond: number): boolean {
    const now = this.clock.now();
    if (now - w.start >= 1000) {
      w.start = now;
      w.sent = 0;
    }
    if (w.sent >= perSecond) return false;
    w.sent++;
    return true;
  }

  /**
   * Creates (does not start) a cell. Without a `parent` (here or elsewhere, see
   * {@link CellPlacement}) it is a top-level actor; its path is `placement.path`, or its
   * parent's path plus `segment` (supervisors pass the child id), the name, or `$<id>`.
   */
  createCell(actor: ActorClass, options: SpawnOptions | undefined, placement: CellPlacement = NO_PLACEMENT): ActorCell {
    if (typeof actor !== 'function') {
      throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'spawn needs an Actor class', { field: 'actor' });
    }
    const name = options?.name;
    if (name !== undefined && (typeof name !== 'string' || name.length === 0)) {
      throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'a registered name must be a non-empty string', { field: 'name' });
    }
    if (name !== undefined && this.registry.lookup(name) !== undefined) {
      throw new ApiaryError(ErrorCodes.NAME_TAKEN, `name '${name}' is already registered`, { field: 'name' });
    }
    const id = this.nextId++;
    // no segment or name: the default `$<id>` path, which the cell's ref makes when it is first read
    const { parent, segment } = placement;
    let path = placement.path;
    if (path === undefined && (segment !== undefined || name !== undefined)) path = parent ? `${parent.path}/${segment ?? name}` : `/${segment ?? name}`;
    const cell = new ActorCell(this, actor, options?.args, id, {
      path,
      parent,
      name,
      mailbox: options?.mailbox,
      remoteParent: placement.remoteParent,
      internal: placement.internal,
      service: placement.service,
      topLevel: placement.topLevel,
    });
    this.cells.set(id, cell);
    if (name !== undefined) this.registry.register(name, cell.ref);
    return cell;
  }

  /** Starts a created cell; on a failed start the cell dies and the promise rejects `ERR_START_FAILED`. */
  startCell(cell: ActorCell): Promise<ActorRef> {
    let started: Promise<void> | undefined;
    try {
      started = cell.startNow();
    } catch (err) {
      return Promise.reject(err).catch((e: unknown) => startFailed(cell, e));
    }
    // a synchronous start (the common case) needs no promise chain and no closure: spawning stays cheap
    if (started === undefined) return Promise.resolve(cell.ref);
    return started.then(
      () => cell.ref,
      (e: unknown) => startFailed(cell, e),
    );
  }

  /** The live cell with this id on this thread. */
  cell(id: number): ActorCell | undefined {
    return this.cells.get(id);
  }

  /**
   * The live cell at this tree path on this thread, found by walking the tree (admin use:
   * no per-actor index is kept for it).
   */
  cellAt(path: string): ActorCell | undefined {
    const segments = path.split('/').filter((s) => s.length > 0);
    let level: Iterable<ActorCell> = this.topLevel;
    let found: ActorCell | undefined;
    for (let i = 0; i < segments.length; i++) {
      const want = `${found ? found.path : ''}/${segments[i]}`;
      found = undefined;
      for (const c of level) {
        if (c.path === want && c.status !== 'dead') {
          found = c;
          break;
        }
      }
      if (found === undefined) return undefined;
      level = childrenOf(found);
    }
    return found;
  }

  /** The live cells of this thread, oldest first. */
  allCells(): IterableIterator<ActorCell> {
    return this.cells.values();
  }

  /** Number of live cells on this thread. */
  get size(): number {
    return this.cells.size;
  }

  /** @internal Called by a cell when it dies for good. */
  cellDied(cell: ActorCell): void {
    this.cells.delete(cell.id); // which also takes it off topLevel
    if (cell.name !== undefined) this.registry.unregister(cell.name, cell.ref);
    if (!cell.internal) this.recentExits.record(cell.id, cell.finalReason ?? 'noproc');
  }

  /**
   * Why actor `id` of this thread, no longer here, died: its exit reason while it is among
   * the last DEFAULTS.recentExits deaths here, else `noproc` (gone long ago, or never was).
   * What a watch that arrives after the death answers.
   */
  exitReasonOf(id: number): ExitReason {
    return this.recentExits.reasonOf(id) ?? 'noproc';
  }

  // ---- beyond this thread -----------------------------------------------------------------

  /**
   * A ref for an address: the local cell's own ref, a dead ref for a local id that is gone,
   * or a ref whose target the routes give (another thread or node).
   */
  resolveRef(address: Address, path: string): ActorRef {
    if (address.thread === this.thread && address.node === this.node && address.incarnation === this.incarnation) {
      const cell = this.cells.get(address.id);
      return cell !== undefined ? cell.ref : new DeadTarget(this, address, path).ref;
    }
    return this.routes.resolve(address, path);
  }

  /** Tells `watcher` that `ref` died: a cell of this thread at once, any other through the routes. */
  sendTerminated(watcher: ActorRef, ref: ActorRef, reason: ExitReason): void {
    if (watcher.node === this.node && watcher.thread === this.thread && watcher.incarnation === this.incarnation) {
      this.cells.get(watcher.id)?.notifyTerminated(ref, reason);
      return;
    }
    this.routes.sendTerminated(watcher, ref, reason);
  }

  /** Completes the event stream (after the system stopped). */
  close(): void {
    this.events.complete();
  }
}
