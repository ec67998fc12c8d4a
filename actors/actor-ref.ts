/**
 * ActorRef: the only handle anyone gets on an actor.
 *
 * Owns: `tell` and `ask`. A ref is its {@link Address} plus a route to the mailbox; it can be
 * compared, logged and (from the threads issue on) sent in messages. It never exposes the
 * actor's state.
 * Threads: a ref works from the thread that made it; sending one to another thread sends
 * its address.
 */
import { ApiaryError, ErrorCodes } from './foundation/errors.js';
import type { Address } from './address.js';
import { formatAddress, sameAddress } from './address.js';
import { DEFAULTS } from './defaults.js';
import { priorityIndex, type Envelope, type Priority } from './mailbox.js';
import type { AskRegistry } from './ask.js';
import type { ActorCell } from './actor-cell.js';
import type { ExitReason } from './exit-reason.js';

/** Where a ref's messages go. The local actor cell implements it; remote routes will too. */
export interface RefTarget {
  /** Queues one user message; false if it became a dead letter or was refused. */
  deliver(env: Envelope): boolean;
  /** The registry that owns asks made through this ref. */
  readonly asks: AskRegistry;
  /** True once the actor is known to be dead. */
  readonly dead: boolean;
  /** Watch/unwatch for targets that are not local cells (the watcher is an ActorCell). */
  addWatcher?(watcher: ActorCell): void;
  removeWatcher?(watcher: ActorCell): void;
  /** Makes the actor exit abnormally where it lives (admin kill); false if this node may not. */
  adminExit?(reason: ExitReason): boolean;
  /** The asker gave up on ask `id` (opened in `asks`): abort it where the actor lives. */
  cancel?(id: number): void;
  /** The path of a ref made without one (a local actor's default `$<id>` path). */
  derivePath?(): string;
}

export interface TellOptions {
  /** Reported in dead letters and available to the receiver as `context.sender`. */
  sender?: ActorRef;
  /** Mailbox priority level; default `normal`. */
  priority?: Priority;
}

export interface AskOptions extends TellOptions {
  /** ms; default 5000. `Infinity` waits for ever. */
  timeout?: number;
  /**
   * Cancels the ask: when it fires, the ask rejects `ERR_ABORTED` at once (a later reply is
   * dropped) and a cancel goes to the actor — on this thread or another — whose
   * `context.signal` (or `replyLater().signal`) for that message aborts. A message not yet
   * started is skipped. Already aborted: rejects at once, nothing is sent.
   */
  signal?: AbortSignal;
  /**
   * Receives this ask's canceller: calling it cancels the ask just as an aborted `signal`
   * would. Made for chaining a cancel through a hop without an AbortSignal (making an
   * AbortController costs ~3 µs in Node 20): `ref.ask(msg, { cancelWith: reply.onCancel })`
   * passes on the cancel of the ask that `reply` (from `context.replyLater()`) answers.
   */
  cancelWith?: (cancel: () => void) => void;
}

function abortedError(path: string): ApiaryError {
  return new ApiaryError(ErrorCodes.ABORTED, `ask to ${path} was aborted`);
}

export class ActorRef<M = unknown, R = unknown> implements Address {
  readonly node: string;
  readonly incarnation: number;
  readonly thread: number;
  readonly id: number;
  /** @internal */
  readonly target: RefTarget;
  /** The path, once known: given at creation, or asked of the target on first read. */
  private knownPath: string | undefined;

  /**
   * `path` undefined: the target names it on first read ({@link RefTarget.derivePath}), so
   * an unnamed actor whose path nobody reads carries no path string.
   */
  constructor(address: Address, path: string | undefined, target: RefTarget) {
    // the address lives in the ref itself: one object less per actor
    this.node = address.node;
    this.incarnation = address.incarnation;
    this.thread = address.thread;
    this.id = address.id;
    this.target = target;
    this.knownPath = path;
  }

  /** Tree path at creation, for logs and dead letters. */
  get path(): string {
    return (this.knownPath ??= this.target.derivePath!());
  }

  /** Where the actor lives (plain data). */
  get address(): Address {
    return this;
  }

  /**
   * Sends `message` without waiting (at most once). Returns false when it was not queued:
   * the actor is dead, or its bounded mailbox refused it — either way it became a dead
   * letter on `system.events$`.
   */
  tell(message: M, options?: TellOptions): boolean {
    return this.target.deliver({
      msg: message,
      sender: options?.sender,
      ask: 0,
      priority: options?.priority === undefined ? 2 : priorityIndex(options.priority),
    });
  }

  /**
   * Sends `message` and resolves with what the actor's `receive` returns. Rejects with
   * `ERR_ASK_TIMEOUT` after `timeout` ms (a later reply is dropped), at once with
   * `ERR_ACTOR_STOPPED` if the actor is dead, `ERR_MAILBOX_FULL` if its mailbox refused the
   * message, or `ERR_ACTOR_FAILED` (cause: the error) if `receive` threw on this message.
   */
  ask(message: M, options?: AskOptions): Promise<R> {
    const timeout = options?.timeout ?? DEFAULTS.askTimeout;
    if (!(timeout > 0)) {
      return Promise.reject(new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'ask timeout must be > 0', { field: 'timeout' }));
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(abortedError(this.path));
    const asks = this.target.asks;
    const { id, promise } = asks.open<R>(timeout, this);
    this.target.deliver({
      msg: message,
      sender: options?.sender,
      ask: id,
      replyTo: asks,
      priority: options?.priority === undefined ? 2 : priorityIndex(options.priority),
    });
    const cancelWith = options?.cancelWith;
    if ((signal === undefined && cancelWith === undefined) || !asks.isOpen(id)) return promise;
    const onAbort = (): void => {
      if (asks.reject(id, abortedError(this.path))) this.target.cancel?.(id);
    };
    cancelWith?.(onAbort);
    if (signal === undefined) return promise;
    signal.addEventListener('abort', onAbort, { once: true });
    const detach = (): void => signal.removeEventListener('abort', onAbort);
    promise.then(detach, detach);
    return promise;
  }

  /** True if both refs name the same actor. */
  equals(other: ActorRef<any, any> | undefined): boolean {
    return other !== undefined && sameAddress(this.address, other.address);
  }

  toString(): string {
    return `ActorRef(${this.path} @ ${formatAddress(this.address)})`;
  }

  toJSON(): { path: string; address: Address } {
    return { path: this.path, address: { node: this.node, incarnation: this.incarnation, thread: this.thread, id: this.id } };
  }
}
