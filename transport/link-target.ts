/**
 * LinkTarget: where a ref to an actor on another thread or another node sends its messages
 * — the one proxy target, whatever the distance.
 *
 * Owns: turning `tell`, `ask`, cancels, watches and admin exits on such a ref into frames
 * on the endpoint its routes name at that moment (another thread of this node: that
 * thread's link; another node from thread 0: that node's link; another node from a worker:
 * the link to thread 0, which routes it on). When nothing routes there — the thread died,
 * the node is down or was replaced by a new incarnation — a message is a dead letter and an
 * ask rejects at once (`ERR_ACTOR_STOPPED` for a thread, `ERR_NODE_DOWN` for a node); a
 * watch ends at once with `thread-crash` / `node-down`. A link that holds its bound (flow
 * control: the receiver is behind, or the peer does not read) refuses the message: `tell`
 * returns false, dead letter `link-overflow`, an ask rejects `ERR_BACKPRESSURE`.
 * Threads: used on the thread that made it.
 */
import { ActorRef, type RefTarget } from '../actors/actor-ref.js';
import type { ActorCell } from '../actors/actor-cell.js';
import type { Address } from '../actors/address.js';
import type { AskRegistry } from '../actors/ask.js';
import type { ExitReason } from '../actors/exit-reason.js';
import { ApiaryError, ErrorCodes } from '../actors/foundation/errors.js';
import type { Host } from '../actors/host.js';
import type { AskReplyTo, Envelope } from '../actors/mailbox.js';
import { refOf, type Peer, type Watcher } from './peer.js';

/** Where frames for an address go now. */
export interface Route {
  peer: Peer;
  /** Through thread 0 (a worker reaching another node): frames carry the target's ref. */
  forward: boolean;
}

/** What a link target asks of the thread's routes. */
export interface RouteFinder {
  readonly host: Host;
  /** The route to `address` now, or undefined if nothing reaches it. */
  route(address: Address): Route | undefined;
  /** Tells `watcher` (a cell here, or a ref elsewhere) that `ref` died. */
  notify(watcher: Watcher, ref: ActorRef, reason: ExitReason): void;
}

export class LinkTarget implements RefTarget {
  readonly ref: ActorRef;

  constructor(
    private readonly routes: RouteFinder,
    readonly address: Address,
    readonly path: string,
  ) {
    this.ref = new ActorRef(address, path, this);
  }

  get asks(): AskRegistry {
    return this.routes.host.asks;
  }

  get dead(): boolean {
    return this.routes.route(this.address) === undefined;
  }

  /** Why this actor is unreachable when nothing routes to it. */
  private get lostReason(): 'thread-crash' | 'node-down' {
    return this.address.node === this.routes.host.node ? 'thread-crash' : 'node-down';
  }

  deliver(env: Envelope): boolean {
    const route = this.routes.route(this.address);
    if (route === undefined) return this.refuse(env, this.address.node === this.routes.host.node ? 'stopped' : 'node-down');
    let sent: boolean;
    try {
      sent = route.forward ? route.peer.endpoint.forward(this.ref, env) : route.peer.endpoint.sendMessage(this.address.thread, this.address.id, env);
    } catch (err) {
      if (env.ask === 0) throw err;
      env.replyTo!.reject(env.ask, err);
      return false;
    }
    return sent || this.refuse(env, 'link-overflow');
  }

  private refuse(env: Envelope, reason: 'stopped' | 'node-down' | 'link-overflow'): false {
    if (env.ask !== 0) {
      const a = this.address;
      const err =
        reason === 'stopped'
          ? new ApiaryError(ErrorCodes.ACTOR_STOPPED, `${this.path}: its thread is gone`)
          : reason === 'node-down'
            ? new ApiaryError(ErrorCodes.NODE_DOWN, `${this.path}: node ${a.node} (incarnation ${a.incarnation}) is down or gone`)
            : new ApiaryError(ErrorCodes.BACKPRESSURE, `${this.path}: the link to ${a.node === this.routes.host.node ? `thread ${a.thread}` : a.node} is full`);
      env.replyTo!.reject(env.ask, err);
    }
    this.routes.host.deadLetter(this.path, env, reason);
    return false;
  }

  /** The asker (on this thread) gave up on ask `id`: it is aborted where the actor runs. */
  cancel(id: number): void {
    this.cancelFor(this.routes.host.asks, id);
  }

  /** The same for an ask answered through `replyTo` (e.g. a worker's ask that thread 0 forwarded). */
  cancelFor(replyTo: AskReplyTo, id: number): void {
    const route = this.routes.route(this.address);
    if (route === undefined) return;
    if (route.forward) route.peer.endpoint.cancelAsk(this.ref, replyTo, id, true);
    else route.peer.endpoint.cancelAsk(this.address, replyTo, id);
  }

  addWatcher(watcher: ActorCell): void {
    this.watchFor(watcher, true);
  }

  removeWatcher(watcher: ActorCell): void {
    this.watchFor(watcher, false);
  }

  /**
   * `watcher` — a cell of this thread, or (thread 0 relaying for a worker) the ref of a cell
   * on another thread of this node — starts (`on`) or stops watching this actor. One
   * `terminated` comes back; at once if nothing routes here.
   */
  watchFor(watcher: Watcher, on: boolean): void {
    const route = this.routes.route(this.address);
    if (route === undefined) {
      if (on) this.routes.notify(watcher, this.ref, this.lostReason);
      return;
    }
    const changed = on ? route.peer.watches.hold(watcher, this.ref) : route.peer.watches.release(watcher, this.ref);
    if (!changed) return;
    const payload = { k: on ? ('watch' as const) : ('unwatch' as const), watcher: refOf(watcher) };
    if (route.forward) route.peer.endpoint.forwardSys(this.ref, payload);
    else route.peer.endpoint.sendSys(this.address.thread, this.address.id, payload);
  }

  /**
   * Makes the actor exit abnormally where it runs (admin kill). Only for actors on this
   * node's threads: false for another node's (a node cannot kill what it did not spawn).
   */
  adminExit(reason: ExitReason): boolean {
    if (this.address.node !== this.routes.host.node) return false;
    const route = this.routes.route(this.address);
    if (route === undefined || route.forward) return false;
    route.peer.endpoint.sendSys(this.address.thread, this.address.id, { k: 'exit-now', reason });
    return true;
  }
}
