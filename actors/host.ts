/**
 * Host: the actor runtime of one thread.
 *
 * Owns: the cells living on this thread (by id), top-level actors in spawn order, the
 * dispatcher, pending asks, local names, dead letters and the event stream.
 * Does not own: supervision policy (supervisor/) or the node-level API (runtime/ActorSystem).
 * Threads: exactly one host per thread. Time: `clock` only.
 */
import type { Clock } from './foundation/clock.js';
import { ApiaryError, ErrorCodes } from './foundation/errors.js';
import type { ActorClass, SpawnOptions } from './actor.js';
import { ActorCell, type RemoteParent } from './actor-cell.js';
import { isParentBehaviour, PARENT_BEHAVIOUR } from './system-message.js';
import type { ActorRef } from './actor-ref.js';
import { AskRegistry } from './ask.js';
import { Dispatcher, type DispatcherOptions } from './dispatcher.js';
import { messageTypeOf, type DeadLetterReason, type SystemEvent } from './events.js';
import type { Envelope } from './mailbox.js';
import { Registry } from './registry.js';
import { CellTable } from './cell-table.js';
import { TopLevelCells } from './top-level.js';
import { LatencyHistogram } from './foundation/latency-histogram.js';
import type { Address } from './address.js';
import type { ChildHandle } from './child-handle.js';
import { ActorRef as Ref } from './actor-ref.js';
import type { ExitReason } from './exit-reason.js';
import type { ThreadLink, LinkHandler } from '../transport/thread-link.js';
import type { ReqPayload, ResPayload, SysPayload } from '../transport/frames.js';
import type { Heartbeat } from '../runtime/observability/heartbeat.js';
import { RemoteTarget } from '../transport/remote-target.js';
import { serializeError } from './foundation/errors.js';

/** What a supervisor asks for when a child spec places the child on another thread. */
export interface RemoteSpawnRequest {
  actor: ActorClass;
  options: SpawnOptions;
  parent: ActorCell;
  segment: string;
  thread: number | 'auto';
  /** Another node of the cluster (see ChildSpec.node). */
  node?: string;
  placement?: 'failover' | 'pinned';
}

/** A child on another thread, as its parent's thread tracks it (see runtime/threads/remote-child.ts). */
export interface RemoteChildEntry {
  reported(exit: { incarnation: number; reason: ExitReason; resumable: boolean }): void;
  /** Its thread died (`thread-crash`, the default) or its node went down (`node-down`). */
  threadDied(reason?: 'thread-crash' | 'node-down'): void;
}

/** How a thread reaches actors on other nodes (set by the cluster on thread 0; workers go through thread 0). */
export interface NodeRoutes {
  /** A ref to an actor on another node. */
  resolve(address: Address, path: string): ActorRef;
  /** Tells a watcher on another node that `ref` died. */
  sendTerminated(watcher: ActorRef, ref: ActorRef, reason: ExitReason): void;
  /** Worker thread `thread` of this node died (thread 0 only). */
  threadDown?(thread: number): void;
}

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
  /** Where events go (besides {@link Host.forwardEvent}). Default: nowhere. */
  events?: EventChannel;
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
  /**
   * False: a parentless cell that is not one of this thread's top-level actors (it was made
   * for a parent on another thread of this node, which lists and stops it). Default true.
   */
  topLevel?: boolean;
}

const NO_PLACEMENT: CellPlacement = Object.freeze({});

export class Host implements LinkHandler {
  readonly node: string;
  readonly incarnation: number;
  readonly thread: number;
  readonly clock: Clock;
  readonly dispatcher: Dispatcher;
  readonly asks: AskRegistry;
  readonly registry = new Registry<ActorRef>();
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

  /** Links to the other threads of this node, by thread index (undefined: none or gone). */
  readonly links: (ThreadLink | undefined)[] = [];
  /** Events are also handed here (a worker forwards them to the main thread). */
  forwardEvent: ((event: SystemEvent) => void) | undefined;
  /** Children of this thread's supervisors that live on other threads, by `thread:id`. */
  readonly remoteChildren = new Map<string, RemoteChildEntry>();
  /** Local watchers of actors on other threads, by thread, to tell them when a thread dies. */
  private readonly remoteWatches = new Map<number, Set<{ watcher: ActorCell; ref: ActorRef }>>();
  /**
   * Creates (does not start) a child on another thread; set by the thread manager when the
   * node has worker threads.
   */
  spawnRemote: ((req: RemoteSpawnRequest) => ChildHandle) | undefined;
  /** Creates (does not start) a child on another node; set by the cluster. */
  spawnOnNode: ((req: RemoteSpawnRequest & { node: string }) => ChildHandle) | undefined;
  /** Routes to other nodes; undefined: refs to other nodes are dead. */
  nodeRoutes: NodeRoutes | undefined;
  /** Refs to actors on other threads, rebuilt from addresses, cached by `thread:id`. */
  private readonly remoteRefs = new Map<string, ActorRef>();

  constructor(options: HostOptions) {
    this.node = options.node;
    this.incarnation = options.incarnation;
    this.thread = options.thread;
    this.clock = options.clock;
    this.dispatcher = new Dispatcher(options);
    this.asks = new AskRegistry(options.clock, new LatencyHistogram());
    this.nextId = options.firstId ?? 1;
    this.events = options.events ?? NO_EVENTS;
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
    if (this.events.observed) this.events.next(event);
    if (this.forwardEvent !== undefined) this.forwardEvent(event);
  }

  /** Publishes an event that happened on another thread of this node. */
  emitForeign(event: SystemEvent): void {
    if (this.events.observed) this.events.next(event);
  }

  /** Reports an undelivered message on `events$` (asks were already rejected by the caller). */
  deadLetter(recipient: string, env: Envelope, reason: DeadLetterReason): void {
    this.deadLetterCounts.set(reason, (this.deadLetterCounts.get(reason) ?? 0) + 1);
    if (!this.events.observed) return;
    const sender = env.sender as ActorRef | undefined;
    this.events.next({
      type: 'dead-letter',
      sender: sender?.path,
      recipient,
      messageType: messageTypeOf(env.msg),
      reason,
      at: this.clock.now(),
    });
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
  }

  // ---- other threads ----------------------------------------------------------------------

  /** A ref for an address: the local cell's own ref, or one routed over a thread link. */
  resolveRef(address: Address, path: string): ActorRef {
    if (address.node !== this.node && this.nodeRoutes !== undefined) return this.nodeRoutes.resolve(address, path);
    if (address.thread === this.thread && address.node === this.node) {
      const cell = this.cells.get(address.id);
      if (cell !== undefined) return cell.ref;
      const target = new RemoteTarget(this, -1, address.id, path); // -1: no link, so it is dead
      return (target.ref = new Ref(address, path, target));
    }
    const key = `${address.thread}:${address.id}`;
    let ref = this.remoteRefs.get(key);
    if (ref === undefined || ref.node !== address.node || ref.incarnation !== address.incarnation) {
      if (this.remoteRefs.size >= 100_000) this.remoteRefs.clear();
      const target = new RemoteTarget(this, address.node === this.node ? address.thread : -1, address.id, path);
      ref = target.ref = new Ref(address, path, target);
      this.remoteRefs.set(key, ref);
    }
    return ref;
  }

  trackRemoteWatch(thread: number, watcher: ActorCell, ref: ActorRef): void {
    let set = this.remoteWatches.get(thread);
    if (set === undefined) this.remoteWatches.set(thread, (set = new Set()));
    set.add({ watcher, ref });
  }

  untrackRemoteWatch(thread: number, watcher: ActorCell, ref: ActorRef): void {
    const set = this.remoteWatches.get(thread);
    if (set === undefined) return;
    for (const e of set) if (e.watcher === watcher && e.ref.equals(ref)) set.delete(e);
  }

  /** Tells a watcher on another thread that `ref` died. */
  sendTerminated(watcher: ActorRef, ref: ActorRef, reason: ExitReason): void {
    if (watcher.node !== this.node) return this.nodeRoutes?.sendTerminated(watcher, ref, reason);
    this.links[watcher.thread]?.sendSys(watcher.id, { k: 'terminated', ref, reason });
  }

  /**
   * Thread `thread` died: its link closes (open asks reject), local watchers of its actors
   * get `terminated` with `thread-crash`, and children that lived there report the crash.
   */
  threadDown(thread: number): void {
    const link = this.links[thread];
    this.links[thread] = undefined;
    link?.close();
    for (const [key, ref] of this.remoteRefs) if (ref.thread === thread) this.remoteRefs.delete(key);
    const watches = this.remoteWatches.get(thread);
    this.remoteWatches.delete(thread);
    if (watches) for (const { watcher, ref } of watches) watcher.notifyTerminated(ref, 'thread-crash');
    for (const [key, child] of this.remoteChildren) {
      if (key.startsWith(`${thread}:`)) child.threadDied();
    }
    this.nodeRoutes?.threadDown?.(thread);
  }

  onSys(link: ThreadLink, target: number, payload: SysPayload): void {
    const cell = this.cells.get(target);
    switch (payload.k) {
      case 'exit':
        this.remoteChildren.get(`${link.peer}:${payload.child}`)?.reported(payload);
        return;
      case 'watch':
        if (cell !== undefined) cell.addRemoteWatcher(payload.watcher);
        else {
          const ref = this.resolveRef({ node: this.node, incarnation: this.incarnation, thread: this.thread, id: target }, `t${this.thread}/${target}`);
          // the watcher may be on another node (a watch relayed by thread 0)
          this.sendTerminated(payload.watcher, ref, 'noproc');
        }
        return;
      case 'unwatch':
        cell?.removeRemoteWatcher(payload.watcher);
        return;
      case 'terminated':
        cell?.notifyTerminated(payload.ref, payload.reason);
        return;
      case 'resume':
        cell?.resume();
        return;
      case 'kill':
        cell?.kill(payload.reason, payload.final);
        return;
      case 'exit-now':
        cell?.exitNow(payload.reason);
        return;
      case 'cancel':
        cell?.cancelAsk(link, payload.ask);
        return;
    }
  }

  async onReq(_link: ThreadLink | undefined, target: number, payload: ReqPayload): Promise<ResPayload> {
    const cell = this.cells.get(target);
    switch (payload.k) {
      case 'start':
        if (cell === undefined) return { ok: false, error: { name: 'ApiaryError', message: `no actor ${target}`, code: ErrorCodes.ACTOR_STOPPED } };
        try {
          await cell.start();
          return { ok: true, incarnation: cell.incarnation, startedAt: cell.startedAt };
        } catch (err) {
          const cause = (err as { cause?: unknown }).cause;
          return { ok: false, error: serializeError(cause ?? err) };
        }
      case 'terminate':
        return { ok: true, reason: cell === undefined ? 'noproc' : await cell.terminate(payload.reason) };
      case 'prepare-restart':
        if (cell !== undefined) await cell.prepareRestart(payload.reason);
        return { ok: true };
    }
  }

  onEvent(event: SystemEvent): void {
    this.emitForeign(event);
  }

  /** Where heartbeats from other threads go (set by the node on the main thread). */
  heartbeatSink: ((heartbeat: Heartbeat) => void) | undefined;

  onHeartbeat(heartbeat: Heartbeat): void {
    this.heartbeatSink?.(heartbeat);
  }

  /** Completes the event stream (after the system stopped). */
  close(): void {
    this.events.complete();
  }
}
