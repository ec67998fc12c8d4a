/**
 * PeerRoutes: the routes of one thread (actors/routes.ts) — which peer, if any, reaches an
 * address now.
 *
 * Owns: the peers of the other threads of this node, by thread index (a thread being
 * replaced has none until its successor links), the refs it has made (cached, at most
 * MAX_CACHED_REFS), the names registered on the node's other threads (thread 0 gathers and
 * passes them on; see {@link nameFrom}), the route rule — another thread of this node: its peer; another node:
 * on thread 0 the cluster's peer for that node incarnation, on a worker thread the peer of
 * thread 0, which routes it on (`forward`) — losing a thread's peer, and this thread's
 * low-latency spinner when the mode is on (it polls the rings of these peers).
 * Does not own: making peers (the thread manager and worker host link threads; the cluster
 * links nodes) or what their frames do.
 * Threads: one per host.
 */
import { ActorRef } from '../actors/actor-ref.js';
import type { Address } from '../actors/address.js';
import { formatAddress } from '../actors/address.js';
import type { ExitReason } from '../actors/exit-reason.js';
import { ApiaryError, ErrorCodes } from '../actors/foundation/errors.js';
import type { Host } from '../actors/host.js';
import type { Routes } from '../actors/routes.js';
import { LinkTarget, type Route, type RouteFinder } from './link-target.js';
import { losePeer, type Watcher } from './peer.js';
import type { ThreadPeer } from './thread-peer.js';
import type { LowLatencyStats, Spinner } from './spinner.js';

/** Refs made for other threads and nodes, kept for reuse; past this many the cache starts over. */
const MAX_CACHED_REFS = 100_000;

/** The cluster's side of routing (thread 0 of a node in a cluster). */
export interface NodePeers {
  /** The live peer for that node incarnation, or undefined (down, gone, replaced, never known). */
  peer(node: string, incarnation: number): { readonly route: Route } | undefined;
  /** Tells `watcher`, an actor on another node, that `ref` died. */
  sendTerminated(watcher: ActorRef, ref: ActorRef, reason: ExitReason): void;
}

export class PeerRoutes implements Routes, RouteFinder {
  private readonly threads: (ThreadPeer | undefined)[] = [];
  /** The route to each linked thread (made once: a message costs no allocation to route). */
  private readonly threadRoutes: (Route | undefined)[] = [];
  /** Thread 0's route for a worker's messages to other nodes. */
  private forwardRoute: Route | undefined;
  private readonly refs = new Map<string, ActorRef>();
  /**
   * The names registered on the node's other threads, as this thread heard of them: on thread
   * 0 those the workers registered; on a worker those of thread 0 and of the other workers
   * (thread 0 passes every change on, and gives a newly linked worker the whole table).
   */
  private readonly names = new Map<string, ActorRef>();
  private readonly nodes: NodePeers | undefined;
  /** This thread's low-latency spinner, when the mode is on. */
  readonly spinner: Spinner | undefined;

  constructor(
    readonly host: Host,
    options: {
      /** Thread 0 of a node in a cluster: the way to other nodes. */
      nodes?: NodePeers;
      spinner?: Spinner;
    } = {},
  ) {
    this.nodes = options.nodes;
    this.spinner = options.spinner;
  }

  /** The peer of thread `thread`, if it is linked. */
  thread(thread: number): ThreadPeer | undefined {
    return this.threads[thread];
  }

  /** Every linked thread's peer. */
  *threadPeers(): IterableIterator<ThreadPeer> {
    for (const p of this.threads) if (p !== undefined) yield p;
  }

  /** Thread `thread` is linked through `peer` (a replaced thread's new peer). */
  linkThread(thread: number, peer: ThreadPeer): void {
    this.threads[thread]?.close();
    this.threads[thread] = peer;
    this.threadRoutes[thread] = { peer, forward: false };
    if (thread === 0) this.forwardRoute = { peer, forward: true };
    if (this.host.thread === 0) {
      // a worker (new or a replacement) learns every name of the node before anything else
      for (const [name, ref] of this.host.registry.entries()) if (this.shareable(ref)) peer.endpoint.sendSys(thread, 0, { k: 'name', name, ref, live: true });
      for (const [name, ref] of this.names) peer.endpoint.sendSys(thread, 0, { k: 'name', name, ref, live: true });
    }
  }

  /**
   * Thread `thread` died: its peer is lost — open asks reject `ERR_ACTOR_STOPPED`, requests
   * fail `ERR_THREAD_GONE`, children placed there exit `thread-crash`, watches held there end
   * with `thread-crash` — its port closes, and refs to it are forgotten. Returns the lost peer.
   */
  threadDown(thread: number): ThreadPeer | undefined {
    const peer = this.threads[thread];
    this.threads[thread] = undefined;
    this.threadRoutes[thread] = undefined;
    if (thread === 0) this.forwardRoute = undefined;
    for (const [key, ref] of this.refs) if (ref.thread === thread && ref.node === this.host.node) this.refs.delete(key);
    // names of its actors go with it (every thread sees the thread go: no need to pass it on)
    for (const [name, ref] of this.names) if (ref.thread === thread && ref.node === this.host.node) this.names.delete(name);
    if (peer !== undefined) {
      peer.close();
      losePeer(
        peer,
        'thread-crash',
        new ApiaryError(ErrorCodes.ACTOR_STOPPED, `thread ${thread} is gone`),
        new ApiaryError(ErrorCodes.THREAD_GONE, `thread ${thread} is gone`),
        (watcher, ref, reason) => this.notify(watcher, ref, reason),
      );
    }
    return peer;
  }

  // ---- Routes ---------------------------------------------------------------------------------

  resolve(address: Address, path: string): ActorRef {
    const key = formatAddress(address);
    let ref = this.refs.get(key);
    if (ref === undefined) {
      if (this.refs.size >= MAX_CACHED_REFS) this.refs.clear();
      ref = new LinkTarget(this, address, path).ref;
      this.refs.set(key, ref);
    }
    return ref;
  }

  sendTerminated(watcher: ActorRef, ref: ActorRef, reason: ExitReason): void {
    const host = this.host;
    if (watcher.node !== host.node || watcher.incarnation !== host.incarnation) {
      if (this.nodes !== undefined) return this.nodes.sendTerminated(watcher, ref, reason);
      if (host.thread !== 0) this.threads[0]?.endpoint.forwardSys(watcher, { k: 'terminated', ref, reason });
      return;
    }
    this.threads[watcher.thread]?.endpoint.sendSys(watcher.thread, watcher.id, { k: 'terminated', ref, reason });
  }

  lookupName(name: string): ActorRef | undefined {
    return this.names.get(name);
  }

  publishName(name: string, ref: ActorRef, live: boolean): void {
    if (live && !this.shareable(ref)) return;
    const payload = { k: 'name' as const, name, ref, live };
    if (this.host.thread !== 0) return void this.threads[0]?.endpoint.sendSys(0, 0, payload);
    for (const p of this.threadPeers()) p.endpoint.sendSys(p.peerThread, 0, payload);
  }

  /** A ref other threads can reach: anything but a ref of this thread that is not a cell here (a pool's). */
  private shareable(ref: ActorRef): boolean {
    const host = this.host;
    return ref.thread !== host.thread || ref.node !== host.node || host.cell(ref.id) !== undefined;
  }

  /**
   * Thread `from` registered `name` to `ref` (`live`) or released it. Thread 0 keeps the
   * first it heard of (its own names first) and passes what it kept on to the other workers;
   * a worker takes what thread 0 says. (Two threads registering one name at the same moment
   * each keep their own; the rest of the node sees the one thread 0 heard of first.)
   */
  nameFrom(from: number, name: string, ref: ActorRef, live: boolean): void {
    const known = this.names.get(name);
    if (live) {
      if (this.host.thread === 0 && (this.host.registry.own(name) !== undefined || (known !== undefined && !known.equals(ref)))) return;
      this.names.set(name, ref);
    } else {
      if (known === undefined || !known.equals(ref)) return;
      this.names.delete(name);
    }
    if (this.host.thread !== 0) return;
    const payload = { k: 'name' as const, name, ref, live };
    for (const p of this.threadPeers()) if (p.peerThread !== from) p.endpoint.sendSys(p.peerThread, 0, payload);
  }

  // ---- RouteFinder ----------------------------------------------------------------------------

  route(address: Address): Route | undefined {
    const host = this.host;
    if (address.node === host.node && address.incarnation === host.incarnation) return this.threadRoutes[address.thread];
    if (this.nodes !== undefined) return this.nodes.peer(address.node, address.incarnation)?.route;
    // a worker reaches other nodes through thread 0, which holds the node links
    return host.thread !== 0 ? this.forwardRoute : undefined;
  }

  notify(watcher: Watcher, ref: ActorRef, reason: ExitReason): void {
    if (watcher instanceof ActorRef) this.host.sendTerminated(watcher, ref, reason);
    else watcher.notifyTerminated(ref, reason);
  }
}

/** This thread's low-latency (ring mode) counters over its live links, or undefined when the mode is off. */
export function lowLatencyStats(host: Host): LowLatencyStats | undefined {
  const spinner = host.routes instanceof PeerRoutes ? host.routes.spinner : undefined;
  return spinner?.mode === 'ring' ? spinner.snapshot() : undefined;
}

/**
 * This thread's answer polling (port mode, `askPollMicros`): polls started after an ask and
 * how many caught the answer; undefined when it is off (`askPollMicros: 0`, or the ring mode).
 */
export function askPollStats(host: Host): { polls: number; hits: number } | undefined {
  const spinner = host.routes instanceof PeerRoutes ? host.routes.spinner : undefined;
  if (spinner?.mode !== 'port') return undefined;
  const { spins, hits } = spinner.snapshot();
  return { polls: spins, hits };
}
