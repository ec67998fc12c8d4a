/**
 * NodeWatches: the watches that cross one node session.
 *
 * Owns two tables:
 * - watches this node holds on the peer's actors, by a cell of thread 0 or, relayed through
 *   thread 0, by a cell of a worker thread (kept as its ref). Each ends with exactly one
 *   `terminated`: the peer's, or `node-down` when the peer goes.
 * - the peer's watches of actors on this node's worker threads, relayed to that thread. The
 *   actor's own `terminated` goes back through thread 0 (and ends the entry); if the whole
 *   thread crashes the actor never sends one, so the peer hears `thread-crash` from here.
 * Threads: thread 0 (the sessions live there).
 */
import { ActorRef } from '../actors/actor-ref.js';
import type { ActorCell } from '../actors/actor-cell.js';
import type { ExitReason } from '../actors/exit-reason.js';
import type { Host } from '../actors/host.js';
import type { NodeSysPayload } from './node-frames.js';

/** A cell of thread 0, or the ref of a cell on a worker thread of this node. */
export type LocalWatcher = ActorCell | ActorRef;

type Send = (thread: number, id: number, payload: NodeSysPayload) => void;

const at = (w: { thread: number; id: number }): string => `${w.thread}:${w.id}`;

export class NodeWatches {
  /** `watcher>ref` → a watch of a peer actor held here. */
  private readonly held = new Map<string, { watcher: LocalWatcher; ref: ActorRef }>();
  /** `ref<watcher` → a peer's watch of an actor on a worker thread here. */
  private readonly relayed = new Map<string, { watcher: ActorRef; ref: ActorRef }>();

  constructor(
    private readonly host: Host,
    private readonly send: Send,
  ) {}

  /** `watcher` watches `ref` on the peer: one `terminated` comes back. */
  watch(watcher: LocalWatcher, ref: ActorRef): void {
    this.held.set(`${at(watcher)}>${at(ref)}`, { watcher, ref });
    this.send(ref.thread, ref.id, { k: 'watch', watcher: refOf(watcher) });
  }

  unwatch(watcher: LocalWatcher, ref: ActorRef): void {
    if (this.held.delete(`${at(watcher)}>${at(ref)}`)) this.send(ref.thread, ref.id, { k: 'unwatch', watcher: refOf(watcher) });
  }

  /** The peer says `ref` died, for the watcher at `thread`/`id` here: it hears it once. */
  terminated(thread: number, id: number, ref: ActorRef, reason: ExitReason): void {
    const key = `${thread}:${id}>${at(ref)}`;
    const entry = this.held.get(key);
    if (entry === undefined) return;
    this.held.delete(key);
    this.notify(entry.watcher, ref, reason);
  }

  /**
   * The peer's `watch`/`unwatch` of the actor `thread`/`id`, a worker thread here: passed to
   * that thread. A thread that is not there answers a watch with `noproc`.
   */
  relay(thread: number, id: number, p: { k: 'watch' | 'unwatch'; watcher: ActorRef }): void {
    const ref = this.host.resolveRef({ node: this.host.node, incarnation: this.host.incarnation, thread, id }, `t${thread}/${id}`);
    const key = `${at(ref)}<${at(p.watcher)}`;
    const link = thread > 0 ? this.host.links[thread] : undefined;
    if (p.k === 'unwatch') {
      this.relayed.delete(key);
      return link?.sendSys(id, p);
    }
    if (link === undefined) return this.send(p.watcher.thread, p.watcher.id, { k: 'terminated', ref, reason: 'noproc' });
    this.relayed.set(key, { watcher: p.watcher, ref });
    link.sendSys(id, p);
  }

  /** A `terminated` for the peer's `watcher` is going out: a relayed watch of `ref` is over. */
  sent(watcher: ActorRef, ref: ActorRef): void {
    if (ref.node === this.host.node) this.relayed.delete(`${at(ref)}<${at(watcher)}`);
  }

  /**
   * Worker thread `thread` died: the peer's watchers of its actors get `thread-crash`, and
   * watches its cells held on the peer are dropped (and unwatched there).
   */
  threadDown(thread: number): void {
    for (const [key, { watcher, ref }] of this.relayed) {
      if (ref.thread !== thread) continue;
      this.relayed.delete(key);
      this.send(watcher.thread, watcher.id, { k: 'terminated', ref, reason: 'thread-crash' });
    }
    for (const [key, { watcher, ref }] of this.held) {
      if (!(watcher instanceof ActorRef) || watcher.thread !== thread) continue;
      this.held.delete(key);
      this.send(ref.thread, ref.id, { k: 'unwatch', watcher });
    }
  }

  /** The peer is down for good: every watch held on it ends with `node-down`. */
  nodeDown(): void {
    const held = [...this.held.values()];
    this.held.clear();
    this.relayed.clear();
    for (const { watcher, ref } of held) this.notify(watcher, ref, 'node-down');
  }

  private notify(watcher: LocalWatcher, ref: ActorRef, reason: ExitReason): void {
    if (watcher instanceof ActorRef) this.host.sendTerminated(watcher, ref, reason);
    else watcher.notifyTerminated(ref, reason);
  }
}

function refOf(watcher: LocalWatcher): ActorRef {
  return watcher instanceof ActorRef ? watcher : watcher.ref;
}
