/**
 * The Actor base class and the context it sees.
 *
 * Owns: the user-facing shape of an actor — `receive` plus lifecycle hooks — and the
 * {@link ActorContext} (self, spawn, watch, stop). An actor never touches another actor's
 * state: it only has refs. Behaviour lives in a class exported from a module, so any
 * thread can load it by module URL and export name.
 * Threads: an actor instance lives on exactly one thread and runs one message at a time.
 */
import type { Clock } from './foundation/clock.js';
import { ApiaryError, ErrorCodes } from './foundation/errors.js';
import type { ActorRef } from './actor-ref.js';
import type { ExitReason } from './exit-reason.js';
import type { MailboxOptions } from './mailbox.js';
import type { SystemEvent } from './events.js';
import type { ActorCell } from './actor-cell.js';
import { CellContext } from './actor-context.js';

/** How to start an actor: which class, its constructor argument, mailbox and name. */
export interface SpawnOptions<Args = unknown> {
  /** Passed as the single constructor argument. Plain data if the actor may live on another thread. */
  args?: Args;
  /** Registers the actor under this name (released when it dies for good). */
  name?: string;
  mailbox?: MailboxOptions;
}

/** What an actor can do besides handling its message. */
export interface ActorContext {
  /** This actor's ref; stays valid across restarts by its supervisor. */
  readonly self: ActorRef;
  /** Slash-separated path in the tree, e.g. `/app/reports/ingest`. */
  readonly path: string;
  /** 1 for the first start, +1 for each restart. */
  readonly incarnation: number;
  /** The sender given with the message being processed, if any. */
  readonly sender: ActorRef | undefined;
  readonly clock: Clock;
  /**
   * Starts a child bound to this actor: it is stopped (in reverse start order) before this
   * actor stops or restarts. A child that fails is stopped, not restarted — use a
   * supervisor for restarts — and this actor can `watch` it to learn why.
   */
  spawn<C extends ActorClass>(actor: C, options?: SpawnOptions<ArgsOfClass<C>>): Promise<RefOf<InstanceType<C>>>;
  /** Delivers one `{ type: 'terminated', ref, reason }` message when `ref` dies (at once if dead). */
  watch(ref: ActorRef): void;
  /** Stops watching; a `terminated` not yet processed is discarded. */
  unwatch(ref: ActorRef): void;
  /** Exits with `reason` (default `normal`) after the current message. */
  stop(reason?: ExitReason): void;
  /**
   * Tells `message` to this actor after `ms` (its clock). The timer belongs to the current
   * incarnation: it is cancelled when the actor stops or restarts, so a restarted actor
   * never receives ticks armed by its predecessor. Returns a function that cancels it.
   */
  scheduleOnce(ms: number, message: unknown): () => void;
  /**
   * The actor registered under `name` on this node — on any of its threads — or undefined.
   * Names of this actor's own thread are seen at once; those of other threads once thread 0
   * passed them on (a name registered on thread 0 before a message was sent here is seen
   * when that message arrives). See the README's "Refs".
   */
  lookup<M = unknown, R = unknown>(name: string): ActorRef<M, R> | undefined;
  /**
   * Aborts when the asker of the message being processed cancels its ask (`ask(msg, {
   * signal })`, from any thread). Created on first read, so actors that never look pay
   * nothing. Outside a message: a signal that never aborts.
   */
  readonly signal: AbortSignal;
  /**
   * Takes over the answer to the ask being processed (OTP's `{noreply, …}` + `gen_server:reply`):
   * what `receive` returns is then ignored and the ask waits for `reply.resolve`/`reject`
   * (or its own timeout), so an actor can answer later without blocking its next message.
   * `reply.signal` aborts if the asker cancels. Undefined for a tell.
   */
  replyLater<R = unknown>(): DeferredReply<R> | undefined;
  /** Publishes a toolkit event on the node's `events$` (from a worker thread too). */
  publish(event: SystemEvent): void;
}

/** The answer to an ask taken over with {@link ActorContext.replyLater}; settle it once. */
export interface DeferredReply<R = unknown> {
  resolve(value: R): void;
  reject(err: unknown): void;
  /** Aborts when the asker cancels this ask. */
  readonly signal: AbortSignal;
  /**
   * Runs `hook` once if the asker cancels this ask (at once if it already has), never after
   * the reply is settled. The cheap alternative to `signal` for passing a cancel on:
   * `next.ask(msg, { cancelWith: reply.onCancel })`.
   */
  readonly onCancel: (hook: () => void) => void;
}

/**
 * The cell whose instance is being constructed: the one hand-off from `spawn` to the Actor
 * constructor (as Akka's `ActorCell.contextStack`), so an actor class needs no context
 * parameter. Set only for the duration of one `new`, restored after (re-entrant).
 */
let constructing: ActorCell | undefined;

/** @internal Constructs `actor` as the instance of `cell` (no closure per spawn). */
export function constructActor<A extends Actor>(cell: ActorCell, actor: ActorClass<A>, args: unknown): A {
  const prev = constructing;
  constructing = cell;
  try {
    return new actor(args);
  } finally {
    constructing = prev;
  }
}

/**
 * Base class of every actor. `M` is the message type, `R` the reply type: the value
 * `receive` returns (or resolves to) answers an `ask`; for a `tell` it is ignored.
 * A `receive` that throws or rejects makes the actor exit with that error; its supervisor
 * decides what happens next.
 */
export abstract class Actor<M = any, R = unknown> {
  /** The cell this instance belongs to: private to this base class, out of the actor's reach. */
  readonly #cell: ActorCell;
  #context: ActorContext | undefined;

  constructor(..._args: any[]) {
    if (!constructing) {
      throw new ApiaryError(ErrorCodes.NOT_IN_SPAWN, 'actors are created by spawn(), not with new');
    }
    this.#cell = constructing;
  }

  /**
   * This actor's context (self, spawn, watch, timers, …). Available in the constructor and
   * field initialisers. Made on first read: an actor that never uses it pays nothing.
   */
  protected get context(): ActorContext {
    return (this.#context ??= new CellContext(this.#cell));
  }

  /** This actor's own ref. */
  get self(): ActorRef<M, R> {
    return this.context.self as ActorRef<M, R>;
  }

  /** Handles one message. The next message starts after the returned promise settles. */
  abstract receive(message: M): R | Promise<R>;

  /** Runs before the first message of each incarnation; throwing fails the start. */
  started?(): void | Promise<void>;
  /**
   * Runs when the actor stops for good (not on restart) — also after `context.stop()` once
   * its supervisor has decided not to restart it. Errors are reported, not thrown.
   */
  stopping?(reason: ExitReason): void | Promise<void>;
  /** Runs on the old instance before a restart replaces it (after a throw, a `context.stop()` or as a bystander). */
  beforeRestart?(reason: ExitReason): void | Promise<void>;
}

/** A class that makes actors. `module` (e.g. `import.meta.url`) lets other threads load it. */
export interface ActorClass<A extends Actor = Actor> {
  new (args?: any): A;
  readonly module?: string;
}

export type MessageOf<A> = A extends Actor<infer M, any> ? M : never;
export type ReplyOf<A> = A extends Actor<any, infer R> ? Awaited<R> : never;
export type ArgsOfClass<C> = C extends new (args: infer X) => any ? X : unknown;
export type RefOf<A> = ActorRef<MessageOf<A>, ReplyOf<A>>;

/** The message a watcher receives when a watched actor dies. */
export interface Terminated {
  readonly type: 'terminated';
  readonly ref: ActorRef;
  readonly reason: ExitReason;
}

export function isTerminated(msg: unknown): msg is Terminated {
  return typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === 'terminated' && 'ref' in msg;
}
