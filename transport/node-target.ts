/**
 * NodeTarget: where a ref to an actor on another node sends its messages.
 *
 * Owns: turning `tell`/`ask`/watch on such a ref into frames of the session with that node
 * incarnation. If the node is down, gone, or was replaced by a new incarnation, the message
 * is a dead letter (`node-down`) and an ask rejects at once with `ERR_NODE_DOWN`; if the
 * link's outbound queue is full, it is a dead letter (`link-overflow`) and an ask rejects
 * `ERR_MAILBOX_FULL`.
 * Threads: thread 0 (the sessions live there).
 */
import type { ActorCell } from '../actors/actor-cell.js';
import type { ActorRef, RefTarget } from '../actors/actor-ref.js';
import type { Address } from '../actors/address.js';
import type { AskRegistry } from '../actors/ask.js';
import type { AskReplyTo } from '../actors/mailbox.js';
import type { Host } from '../actors/host.js';
import type { Envelope } from '../actors/mailbox.js';
import { ApiaryError, ErrorCodes } from '../actors/foundation/errors.js';
import type { NodeSession } from './node-session.js';

/** Finds the live session for a node incarnation. */
export interface SessionLookup {
  readonly host: Host;
  session(node: string, incarnation: number): NodeSession | undefined;
}

export class NodeTarget implements RefTarget {
  /** Set once the ref is built around this target. */
  ref!: ActorRef;

  constructor(
    private readonly sessions: SessionLookup,
    readonly address: Address,
    readonly path: string,
  ) {}

  get asks(): AskRegistry {
    return this.sessions.host.asks;
  }

  get dead(): boolean {
    return this.session() === undefined;
  }

  private session(): NodeSession | undefined {
    return this.sessions.session(this.address.node, this.address.incarnation);
  }

  deliver(env: Envelope): boolean {
    const session = this.session();
    let refused: 'node-down' | 'link-overflow' | undefined = session === undefined ? 'node-down' : undefined;
    if (session !== undefined) {
      try {
        if (!session.sendMessage(this.address.thread, this.address.id, env)) refused = 'link-overflow';
      } catch (err) {
        if (env.ask === 0) throw err;
        env.replyTo!.reject(env.ask, err);
        return false;
      }
    }
    if (refused === undefined) return true;
    if (env.ask !== 0) {
      const err =
        refused === 'node-down'
          ? new ApiaryError(ErrorCodes.NODE_DOWN, `${this.path}: node ${this.address.node} (incarnation ${this.address.incarnation}) is down or gone`)
          : new ApiaryError(ErrorCodes.MAILBOX_FULL, `${this.path}: the link to ${this.address.node} is full`);
      env.replyTo!.reject(env.ask, err);
    }
    this.sessions.host.deadLetter(this.path, env, refused);
    return false;
  }

  /** The asker gave up on ask `id`: it is aborted on the peer, and a late answer is dropped. */
  cancel(id: number): void {
    this.cancelFor(this.sessions.host.asks, id);
  }

  /** The same for an ask answered through `replyTo` (a worker's ask that thread 0 forwarded). */
  cancelFor(replyTo: AskReplyTo, id: number): void {
    this.session()?.cancelAsk(this.address.thread, this.address.id, replyTo, id);
  }

  addWatcher(watcher: ActorCell): void {
    const session = this.session();
    if (session === undefined) return watcher.notifyTerminated(this.ref, 'node-down');
    session.watches.watch(watcher, this.ref);
  }

  removeWatcher(watcher: ActorCell): void {
    this.session()?.watches.unwatch(watcher, this.ref);
  }

  /** A watch by (`on`) or an unwatch of `watcher`, a cell on a worker thread of this node. */
  watchFor(watcher: ActorRef, on: boolean): void {
    const session = this.session();
    if (session === undefined) {
      if (on) this.sessions.host.sendTerminated(watcher, this.ref, 'node-down');
      return;
    }
    if (on) session.watches.watch(watcher, this.ref);
    else session.watches.unwatch(watcher, this.ref);
  }
}
