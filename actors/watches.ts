/**
 * Watches: who watches one actor, and whom it watches (Erlang's monitors, Akka's watch).
 *
 * Owns: the watcher sets (on this thread and on others), the watched refs, termination
 * callbacks, and the `terminated` message itself. A notice is delivered only while its
 * ref is still watched, so `unwatch` also discards a notice already queued.
 * Threads: one Watches per cell, touched only by the cell's thread.
 */
import type { Terminated } from './actor.js';
import type { ActorRef } from './actor-ref.js';
import { formatAddress } from './address.js';
import type { ExitReason } from './exit-reason.js';

/** The `terminated` message a watcher receives. */
export class TerminatedMessage implements Terminated {
  readonly type = 'terminated' as const;
  constructor(
    readonly ref: ActorRef,
    readonly reason: ExitReason,
  ) {}
}

/** A watcher on the same thread. */
export interface LocalWatcher {
  notifyTerminated(ref: ActorRef, reason: ExitReason): void;
}

export class Watches {
  private watchers: Set<LocalWatcher> | undefined;
  private remoteWatchers: Map<string, ActorRef> | undefined;
  private watching: Map<string, ActorRef> | undefined;
  private callbacks: ((reason: ExitReason) => void)[] | undefined;

  addWatcher(watcher: LocalWatcher): void {
    (this.watchers ??= new Set()).add(watcher);
  }

  removeWatcher(watcher: LocalWatcher): void {
    this.watchers?.delete(watcher);
  }

  addRemoteWatcher(watcher: ActorRef): void {
    (this.remoteWatchers ??= new Map()).set(formatAddress(watcher.address), watcher);
  }

  removeRemoteWatcher(watcher: ActorRef): void {
    this.remoteWatchers?.delete(formatAddress(watcher.address));
  }

  onTermination(cb: (reason: ExitReason) => void): void {
    (this.callbacks ??= []).push(cb);
  }

  /** Starts watching `ref`; false if it was watched already. */
  watch(ref: ActorRef): boolean {
    const key = formatAddress(ref.address);
    if (this.watching?.has(key)) return false;
    (this.watching ??= new Map()).set(key, ref);
    return true;
  }

  /** Stops watching `ref`; false if it was not watched. */
  unwatch(ref: ActorRef): boolean {
    return this.watching?.delete(formatAddress(ref.address)) ?? false;
  }

  /** Whether a queued notice still counts (its ref is watched); delivering it ends the watch. */
  takeNotice(notice: TerminatedMessage): boolean {
    return this.unwatch(notice.ref);
  }

  /**
   * The owner died: every watcher is told (`sendRemote` for those on other threads), each
   * watched ref is released (`release`), callbacks run. Everything is dropped.
   */
  died(self: ActorRef, reason: ExitReason, sendRemote: (watcher: ActorRef) => void, release: (ref: ActorRef) => void): void {
    if (this.watchers) for (const w of this.watchers) w.notifyTerminated(self, reason);
    if (this.remoteWatchers) for (const w of this.remoteWatchers.values()) sendRemote(w);
    if (this.watching) for (const ref of this.watching.values()) release(ref);
    const callbacks = this.callbacks;
    this.watchers = this.remoteWatchers = this.watching = this.callbacks = undefined;
    if (callbacks) for (const cb of callbacks) cb(reason);
  }
}
