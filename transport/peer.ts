/**
 * Peer: what this thread keeps about one other thread of its node, or one other node — the
 * endpoint that reaches it, the children this side placed there, and the watches this
 * side's actors hold on actors there.
 *
 * Owns: the watch table (HeldWatches), the contract of a placed child, and what losing a
 * peer means: every child placed there exits with the lost reason (`thread-crash` for a
 * thread, `node-down` for a node), every watch held there ends with one `terminated`
 * carrying that reason, and the endpoint closes (open asks reject, requests fail).
 * Does not own: the wire (endpoint.ts), what the peer's frames do (its handler), or deciding
 * that a peer is lost (the thread manager sees a thread exit, the cluster declares a node down).
 * Threads: lives on one thread.
 */
import { ActorRef } from '../actors/actor-ref.js';
import type { ActorCell } from '../actors/actor-cell.js';
import type { ExitReason } from '../actors/exit-reason.js';
import type { ApiaryError } from '../actors/foundation/errors.js';
import type { Endpoint } from './endpoint.js';

/** Why an actor behind a lost peer ended. */
export type LostReason = 'thread-crash' | 'node-down';

/** A child that a parent on this side placed behind a peer, as the parent's side tracks it. */
export interface PlacedChild {
  /** It exited there; its parent decides. */
  reported(exit: { incarnation: number; reason: ExitReason; resumable: boolean }): void;
  /** What it ran on is gone: it exits with `reason`, and a restart makes a new actor. */
  lost(reason: LostReason): void;
}

/** A watcher on this thread (a cell), or on another thread of this node (its ref; thread 0 relays). */
export type Watcher = ActorCell | ActorRef;

const at = (a: { thread: number; id: number }): string => `${a.thread}:${a.id}`;

/**
 * The watches this side holds on one peer's actors. Each ends with exactly one
 * `terminated`: the peer's, or the peer's lost reason when it goes.
 */
export class HeldWatches {
  private readonly held = new Map<string, { watcher: Watcher; ref: ActorRef }>();

  /** `watcher` watches `ref` (on the peer); false if it did already. */
  hold(watcher: Watcher, ref: ActorRef): boolean {
    const key = `${at(refOf(watcher))}>${at(ref)}`;
    if (this.held.has(key)) return false;
    this.held.set(key, { watcher, ref });
    return true;
  }

  /** `watcher` no longer watches `ref`; false if it did not. */
  release(watcher: Watcher, ref: ActorRef): boolean {
    return this.held.delete(`${at(refOf(watcher))}>${at(ref)}`);
  }

  /** The peer says `ref` died, for the watcher at `thread`/`id`: the watcher to tell, once (undefined if none). */
  ended(thread: number, id: number, ref: ActorRef): Watcher | undefined {
    const key = `${thread}:${id}>${at(ref)}`;
    const entry = this.held.get(key);
    if (entry === undefined) return undefined;
    this.held.delete(key);
    return entry.watcher;
  }

  /** Every watch held, forgotten (the peer is gone). */
  drain(): { watcher: Watcher; ref: ActorRef }[] {
    const all = [...this.held.values()];
    this.held.clear();
    return all;
  }

  /** The watches whose watcher lived on thread `thread` of this node (which died), forgotten. */
  dropWatchersOn(thread: number): { watcher: ActorRef; ref: ActorRef }[] {
    const dropped: { watcher: ActorRef; ref: ActorRef }[] = [];
    for (const [key, { watcher, ref }] of this.held) {
      if (watcher instanceof ActorRef && watcher.thread === thread) {
        this.held.delete(key);
        dropped.push({ watcher, ref });
      }
    }
    return dropped;
  }
}

export function refOf(watcher: Watcher): ActorRef {
  return watcher instanceof ActorRef ? watcher : watcher.ref;
}

/** Another thread of this node or another node, as this thread sees it (thread-peer.ts, node-session.ts). */
export interface Peer {
  readonly endpoint: Endpoint;
  /** Children placed there, by `thread:id` there. */
  readonly children: Map<string, PlacedChild>;
  /** Watches this side's actors hold on actors there. */
  readonly watches: HeldWatches;
}

/**
 * The peer is gone for good: the endpoint closes with `askError` (asks) and `requestError`
 * (requests), its children exit `reason`, watchers hear `reason` (through `notify`).
 */
export function losePeer(
  peer: Peer,
  reason: LostReason,
  askError: ApiaryError,
  requestError: ApiaryError,
  notify: (watcher: Watcher, ref: ActorRef, reason: ExitReason) => void,
): void {
  peer.endpoint.close(askError, requestError);
  const children = [...peer.children.values()];
  peer.children.clear();
  for (const child of children) child.lost(reason);
  for (const { watcher, ref } of peer.watches.drain()) notify(watcher, ref, reason);
}
