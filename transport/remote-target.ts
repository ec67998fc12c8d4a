/**
 * RemoteTarget: where a ref to an actor on another thread of this node sends its messages.
 *
 * Owns: turning `tell`/`ask`/watch on such a ref into frames on the link to that thread.
 * If the thread is gone (crashed, not yet replaced), the message is a dead letter and an
 * ask rejects at once with `ERR_ACTOR_STOPPED`.
 */
import type { ActorCell } from '../actors/actor-cell.js';
import type { ActorRef, RefTarget } from '../actors/actor-ref.js';
import type { AskRegistry } from '../actors/ask.js';
import type { ExitReason } from '../actors/exit-reason.js';
import type { Host } from '../actors/host.js';
import type { Envelope } from '../actors/mailbox.js';
import { ApiaryError, ErrorCodes } from '../actors/foundation/errors.js';
import type { ThreadLink } from './thread-link.js';

export class RemoteTarget implements RefTarget {
  /** Set once the ref is built around this target. */
  ref!: ActorRef;

  constructor(
    private readonly host: Host,
    readonly thread: number,
    readonly id: number,
    readonly path: string,
  ) {}

  get asks(): AskRegistry {
    return this.host.asks;
  }

  /** True once the hosting thread is known gone. */
  get dead(): boolean {
    return this.link() === undefined;
  }

  private link(): ThreadLink | undefined {
    return this.host.links[this.thread] as ThreadLink | undefined;
  }

  deliver(env: Envelope): boolean {
    const link = this.link();
    if (link === undefined) {
      if (env.ask !== 0) env.replyTo!.reject(env.ask, new ApiaryError(ErrorCodes.ACTOR_STOPPED, `${this.path}: its thread is gone`));
      this.host.deadLetter(this.path, env, 'stopped');
      return false;
    }
    try {
      link.sendMessage(this.id, env);
    } catch (err) {
      if (env.ask !== 0) {
        env.replyTo!.reject(env.ask, err);
        return false;
      }
      throw err;
    }
    return true;
  }

  addWatcher(watcher: ActorCell): void {
    const link = this.link();
    if (link === undefined) return watcher.notifyTerminated(this.ref, 'thread-crash');
    this.host.trackRemoteWatch(this.thread, watcher, this.ref);
    link.sendSys(this.id, { k: 'watch', watcher: watcher.ref });
  }

  removeWatcher(watcher: ActorCell): void {
    this.host.untrackRemoteWatch(this.thread, watcher, this.ref);
    this.link()?.sendSys(this.id, { k: 'unwatch', watcher: watcher.ref });
  }

  /** The asker abandoned ask `id`: the actor's signal for that message aborts over there. */
  cancel(id: number): void {
    this.link()?.sendSys(this.id, { k: 'cancel', ask: id });
  }

  /** Makes the remote actor exit abnormally (admin kill). */
  exitNow(reason: ExitReason): void {
    this.link()?.sendSys(this.id, { k: 'exit-now', reason });
  }
}

/**
 * ForwardTarget: on a worker thread, where a ref to an actor on another node sends its
 * messages — to thread 0, which holds the node sessions. Whether that node is up is known
 * there: a message for a node that is down becomes a dead letter on thread 0, and an ask
 * rejects `ERR_NODE_DOWN`. Watches and ask cancels go the same way (thread 0 keeps the watch
 * on the session, so the watcher hears `node-down` if that node goes).
 */
export class ForwardTarget implements RefTarget {
  ref!: ActorRef;

  constructor(private readonly host: Host) {}

  get asks(): AskRegistry {
    return this.host.asks;
  }

  get dead(): boolean {
    return this.host.links[0] === undefined;
  }

  deliver(env: Envelope): boolean {
    const link = this.host.links[0];
    if (link === undefined) {
      if (env.ask !== 0) env.replyTo!.reject(env.ask, new ApiaryError(ErrorCodes.ACTOR_STOPPED, `${this.ref.path}: no route to thread 0`));
      this.host.deadLetter(this.ref.path, env, 'stopped');
      return false;
    }
    try {
      link.forwardMessage(this.ref, env);
    } catch (err) {
      if (env.ask === 0) throw err;
      env.replyTo!.reject(env.ask, err);
      return false;
    }
    return true;
  }

  /** The asker gave up on ask `id`: thread 0 passes the cancel on to the actor's node. */
  cancel(id: number): void {
    this.host.links[0]?.forwardCancel(this.ref, id);
  }

  addWatcher(watcher: ActorCell): void {
    const link = this.host.links[0];
    if (link === undefined) return watcher.notifyTerminated(this.ref, 'node-down');
    link.forwardWatch(watcher.ref, this.ref, true);
  }

  removeWatcher(watcher: ActorCell): void {
    this.host.links[0]?.forwardWatch(watcher.ref, this.ref, false);
  }
}
