/**
 * Routes: how a thread reaches actors that are not on it — given to its Host when the host is
 * made (see HostOptions.connect), never attached afterwards.
 *
 * Owns nothing; it is the contract between the actor core and the transport: actors/ knows
 * that other threads and nodes exist only through it, so the core never imports transport/.
 * Threads: one per host.
 */
import type { ActorRef } from './actor-ref.js';
import type { ActorCell } from './actor-cell.js';
import type { ActorClass, SpawnOptions } from './actor.js';
import type { Address } from './address.js';
import type { ChildHandle } from './child-handle.js';
import type { ExitReason } from './exit-reason.js';
import type { SystemEvent } from './events.js';

export interface Routes {
  /**
   * A ref to `address`, an actor on another thread of this node or on another node (refs may
   * be cached). Once its thread or node is gone the ref is dead: messages become dead letters.
   */
  resolve(address: Address, path: string): ActorRef;
  /** Tells `watcher`, an actor not on this thread, that `ref` died. */
  sendTerminated(watcher: ActorRef, ref: ActorRef, reason: ExitReason): void;
  /**
   * The ref registered under `name` on another thread of this node, as this thread last heard
   * of it (thread 0 passes every thread's names on). Absent: this thread knows only its own.
   */
  lookupName?(name: string): ActorRef | undefined;
  /** `name` was registered to `ref` on this thread (`live`) or released: the other threads are told. */
  publishName?(name: string, ref: ActorRef, live: boolean): void;
}

/** What a supervisor asks for when a child spec places the child on another thread or node. */
export interface PlacedChildRequest {
  actor: ActorClass;
  options: SpawnOptions;
  parent: ActorCell;
  segment: string;
  /** A worker thread index, or `auto` (least loaded). */
  thread: number | 'auto';
  /** Another node of the cluster (see ChildSpec.node). */
  node?: string;
  placement?: 'failover' | 'pinned';
}

/** What a thread is given at birth to reach beyond itself. */
export interface HostConnections {
  routes: Routes;
  /**
   * Creates (does not start) a child placed on another thread or node; undefined when it
   * cannot be placed there (no worker threads, not in a cluster). Absent on worker threads.
   */
  placeChild?: (req: PlacedChildRequest) => ChildHandle | undefined;
  /** Where this thread's events also go (a worker's go to the main thread's `events$`). */
  forwardEvent?: (event: SystemEvent) => void;
}

