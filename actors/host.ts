/**
 * Host: the actor runtime of one thread.
 *
 * Owns: the cells living on this thread (by id), top-level actors in spawn order, the
 * dispatcher, pending asks, local names, dead letters and the event stream.
 * Does not own: supervision policy (supervisor/) or the node-level API (runtime/ActorSystem).
 * Threads: exactly one host per thread. Time: `clock` only.
 */
import { Observable, Subject } from 'rxjs';
import type { Clock } from '../runtime/clock.js';
import { ApiaryError, ErrorCodes } from '../runtime/errors.js';
import type { ActorClass, SpawnOptions } from './actor.js';
import { ActorCell } from './actor-cell.js';
import type { ActorRef } from './actor-ref.js';
import { AskRegistry } from './ask.js';
import { Dispatcher, type DispatcherOptions } from './dispatcher.js';
import { messageTypeOf, type DeadLetterReason, type SystemEvent } from './events.js';
import type { Envelope } from './mailbox.js';
import { Registry } from './registry.js';

/** Children of a cell for path walking: a supervisor's children, or context-spawned ones. */
let childrenOf: (cell: ActorCell) => Iterable<ActorCell> = (cell) => cell.contextChildren ?? [];

/** @internal Lets supervisor/ teach the host how to list a supervisor's children. */
export function setChildrenOf(fn: (cell: ActorCell) => Iterable<ActorCell>): void {
  childrenOf = fn;
}

export interface HostOptions extends DispatcherOptions {
  node: string;
  incarnation: number;
  thread: number;
  clock: Clock;
}

export class Host {
  readonly node: string;
  readonly incarnation: number;
  readonly thread: number;
  readonly clock: Clock;
  readonly dispatcher: Dispatcher;
  readonly asks: AskRegistry;
  readonly registry = new Registry<ActorRef>();
  /** Top-level actors (no parent), in spawn order. */
  readonly topLevel = new Set<ActorCell>();
  private readonly cells = new Map<number, ActorCell>();
  private readonly events = new Subject<SystemEvent>();
  readonly events$: Observable<SystemEvent> = this.events.asObservable();
  private nextId = 1;
  /** Dead letters since start, by reason. */
  readonly deadLetterCounts = new Map<DeadLetterReason, number>();

  constructor(options: HostOptions) {
    this.node = options.node;
    this.incarnation = options.incarnation;
    this.thread = options.thread;
    this.clock = options.clock;
    this.dispatcher = new Dispatcher(options);
    this.asks = new AskRegistry(options.clock);
  }

  /** True when someone subscribes to events$; callers skip building events otherwise. */
  get observed(): boolean {
    return this.events.observed;
  }

  emit(event: SystemEvent): void {
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
   * Creates (does not start) a cell. `parent` undefined → a top-level actor; `id` names the
   * path segment (supervisors pass the child id; otherwise the name or `$<n>`).
   */
  createCell(actor: ActorClass, options: SpawnOptions | undefined, parent?: ActorCell, segment?: string): ActorCell {
    if (typeof actor !== 'function') {
      throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'spawn needs an Actor class', { field: 'actor' });
    }
    const name = options?.name;
    if (name !== undefined && this.registry.lookup(name) !== undefined) {
      throw new ApiaryError(ErrorCodes.NAME_TAKEN, `name '${name}' is already registered`, { field: 'name' });
    }
    const id = this.nextId++;
    const seg = segment ?? name ?? `$${id}`;
    const path = parent ? `${parent.path}/${seg}` : `/${seg}`;
    const cell = new ActorCell(this, actor, options?.args, path, id, parent, name, options);
    this.cells.set(id, cell);
    if (name !== undefined) this.registry.register(name, cell.ref);
    if (!parent) this.topLevel.add(cell);
    return cell;
  }

  /** Starts a created cell; on a failed start the cell dies and the promise rejects `ERR_START_FAILED`. */
  startCell(cell: ActorCell): Promise<ActorRef> {
    return cell.start().then(
      () => cell.ref,
      (err: unknown) => {
        cell.finalize({ error: { name: 'ApiaryError', message: (err as Error).message, code: ErrorCodes.START_FAILED } });
        throw err;
      },
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

  /** Number of live cells on this thread. */
  get size(): number {
    return this.cells.size;
  }

  /** @internal Called by a cell when it dies for good. */
  cellDied(cell: ActorCell): void {
    this.cells.delete(cell.id);
    this.topLevel.delete(cell);
    if (cell.name !== undefined) this.registry.unregister(cell.name, cell.ref);
  }

  /** Completes the event stream (after the system stopped). */
  close(): void {
    this.events.complete();
  }
}
