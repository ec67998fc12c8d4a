/**
 * NodeSession: another node (one incarnation of it), as this node sees it — the checked
 * side of the wire protocol.
 *
 * Owns: the endpoint to that node over its WebSocket link (re-attached when the link is
 * re-established; frames queue meanwhile, bounded), the children this node placed there and
 * the watches its actors hold there (peer.ts), the peer's watches of actors on this node's
 * worker threads (relayed to them), and what this node does with the peer's frames: they are
 * checked field by field before they get here (the endpoint decodes them within budgets),
 * may address user actors and runtime services only (other runtime-internal actors are not reachable: dropped and
 * counted), reach actors on worker threads through their thread's peer (asks relayed; the
 * peer's window here is held until that thread's link takes a message on, so a slow worker
 * slows the peer; a thread link past its bound refuses: dead letter `link-overflow`, an ask
 * rejects `ERR_BACKPRESSURE`),
 * and may drive the lifecycle only of actors this peer spawned here (HostedActors). A frame
 * that cannot be acted on closes the link (the handler decides), never the node. Past the
 * link's bound an answer to the peer is dropped (dead letter `link-overflow`; its asker times
 * out), and past the bound's reserve a system frame too, and the link is closed (1008).
 * Does not own: membership, heartbeats' meaning, spawning, or reconnecting
 * (runtime/cluster/cluster.ts).
 * Threads: thread 0 of a node. Order: one session and one link per peer, so frames keep their order.
 */
import type { ActorCell } from '../actors/actor-cell.js';
import { ActorRef } from '../actors/actor-ref.js';
import type { ExitReason } from '../actors/exit-reason.js';
import { ApiaryError, ErrorCodes, serializeError } from '../actors/foundation/errors.js';
import type { Host } from '../actors/host.js';
import { releaseCredit, type Envelope } from '../actors/mailbox.js';
import type { Codec, DecodeBudget } from './codec.js';
import { TRANSPORT_DEFAULTS } from './defaults.js';
import { Endpoint, type FrameHandler, type LinkTraffic } from './endpoint.js';
import type { GossipMember, Heartbeat, ReqPayload, ResPayload, SpawnRequest, SysPayload } from './frames.js';
import type { HostedActors } from './hosted-actors.js';
import type { NodeLink } from './node-link.js';
import { HeldWatches, losePeer, type Peer, type PlacedChild } from './peer.js';
import type { PeerRoutes } from './peer-routes.js';
import type { Route } from './link-target.js';

/** What the cluster does with the frames a session does not handle itself. */
export interface SessionHandler {
  heartbeat(session: NodeSession, seq: number): void;
  gossip(session: NodeSession, members: GossipMember[]): void;
  spawn(session: NodeSession, req: SpawnRequest): Promise<ResPayload>;
  /** A frame failed its checks or could not be acted on: the handler closes the link. */
  malformed(session: NodeSession, err: unknown): void;
}

export interface SessionOptions {
  /** Stop handing batches to the socket above this many unsent bytes. */
  highWaterBytes: number;
  /** Refuse messages once this many bytes wait (in the batch and the queue). */
  maxQueuedBytes: number;
  /** This node's receive window for the peer's messages, bytes of charge. Default TRANSPORT_DEFAULTS.nodeWindowBytes. */
  windowBytes?: number;
  budget: DecodeBudget;
  /** Where this session adds what it sends and receives. */
  traffic?: LinkTraffic;
}

const at = (a: { thread: number; id: number }): string => `${a.thread}:${a.id}`;

export class NodeSession implements Peer, FrameHandler {
  readonly endpoint: Endpoint;
  readonly children = new Map<string, PlacedChild>();
  readonly watches = new HeldWatches();
  /** The peer's watches of actors on this node's worker threads (`ref<watcher`), relayed to them. */
  private readonly relayed = new Map<string, { watcher: ActorRef; ref: ActorRef }>();
  /** Actors the peer spawned here (its children): the only ones whose lifecycle it may drive. */
  readonly hosted: HostedActors;
  /** The link in use, if any. */
  link: NodeLink | undefined;
  /** Name of the node that opened the current link (ties between duplicate links go to the smaller). */
  openedBy = '';
  /** Frames addressed to what a peer may not reach (internal actors, actors it did not spawn). */
  notAddressable = 0;
  /** The route to this node's actors (made once). */
  readonly route: Route = { peer: this, forward: false };
  /** The link closed for an overflow (reported once). */
  private overflowedLink: NodeLink | undefined;

  constructor(
    private readonly host: Host,
    private readonly routes: PeerRoutes,
    codec: Codec,
    readonly peer: { name: string; incarnation: number },
    private readonly handler: SessionHandler,
    options: SessionOptions,
    hosted: (session: NodeSession) => HostedActors,
  ) {
    this.endpoint = new Endpoint({
      codec,
      handler: this,
      dispatcher: host.dispatcher,
      trust: 'checked',
      budget: options.budget,
      highWaterBytes: options.highWaterBytes,
      maxQueuedBytes: options.maxQueuedBytes,
      windowBytes: options.windowBytes ?? TRANSPORT_DEFAULTS.nodeWindowBytes,
      traffic: options.traffic,
      drops: {
        // an answer for an asker on that node, past the link's bound: it times out there
        answer: (value) => host.deadLetter(`${peer.name}/(answer)`, { msg: value, sender: undefined, ask: 0, priority: 2 }, 'link-overflow'),
        overflow: (what) => this.overflowed(what),
      },
    });
    this.hosted = hosted(this);
  }

  get closed(): boolean {
    return this.endpoint.closed;
  }

  /** Uses `link` from now on and sends what waited for it. */
  attach(link: NodeLink): void {
    this.link = link;
    // the endpoint first: flow control starts afresh before the peer's first frames (its grant among them) are read
    link.onFrame(this.endpoint.attach(link));
  }

  /** The link closed; frames queue (bounded) until {@link attach} or {@link close}. */
  detach(): void {
    this.link = undefined;
    this.endpoint.detach();
  }

  /** Tells the peer's `watcher` that `ref`, an actor of this node, died (a relayed watch of it is over). */
  sendTerminated(watcher: ActorRef, ref: ActorRef, reason: ExitReason): void {
    if (ref.node === this.host.node) this.relayed.delete(`${at(ref)}<${at(watcher)}`);
    this.endpoint.sendSys(watcher.thread, watcher.id, { k: 'terminated', ref, reason });
  }

  // ---- inbound (FrameHandler) ---------------------------------------------------------------

  onMessage(thread: number, id: number, env: Envelope): void {
    const host = this.host;
    const recipient = `${host.node}/t${thread}/${id}`;
    if (thread !== host.thread) {
      // an actor on a worker thread of this node: through its thread's peer (asks are relayed)
      const worker = thread > 0 ? this.routes.thread(thread) : undefined;
      if (worker !== undefined) {
        // the peer's window here is given back once the thread link takes it on (flow control end to end)
        let sent = false;
        try {
          sent = worker.endpoint.sendMessage(thread, id, env);
        } catch (err) {
          releaseCredit(env);
          if (env.ask !== 0) this.endpoint.reject(env.ask, err);
          return;
        }
        if (sent) return;
        if (env.ask !== 0) this.endpoint.reject(env.ask, new ApiaryError(ErrorCodes.BACKPRESSURE, `${recipient}: the link to its thread is full`));
        return host.deadLetter(recipient, env, 'link-overflow');
      }
    } else {
      const cell = this.addressable(id);
      if (cell !== undefined) {
        cell.deliver(env);
        return;
      }
      if (host.cell(id)?.peerAddressable === false) {
        if (env.ask !== 0) this.endpoint.reject(env.ask, new ApiaryError(ErrorCodes.ACTOR_STOPPED, `${recipient} is not addressable from other nodes`));
        return host.deadLetter(recipient, env, 'not-addressable');
      }
    }
    if (env.ask !== 0) this.endpoint.reject(env.ask, new ApiaryError(ErrorCodes.ACTOR_STOPPED, `no actor ${recipient}`));
    host.deadLetter(recipient, env, 'unknown-actor');
  }

  onSys(thread: number, id: number, p: SysPayload): void {
    const host = this.host;
    switch (p.k) {
      case 'watch':
      case 'unwatch': {
        if (p.watcher.node !== this.peer.name || p.watcher.incarnation !== this.peer.incarnation) {
          throw new ApiaryError(ErrorCodes.MALFORMED_FRAME, `a ${p.k} from ${this.peer.name} for a watcher that is not on it`);
        }
        if (thread !== host.thread) return this.relayWatch(thread, id, p);
        const cell = this.addressable(id);
        if (p.k === 'unwatch') return cell?.removeRemoteWatcher(p.watcher);
        if (cell !== undefined) return cell.addRemoteWatcher(p.watcher);
        // already dead (the watch came another way than what stopped it): its reason, if still known
        return this.sendTerminated(p.watcher, this.localRef(thread, id), host.exitReasonOf(id));
      }
      case 'terminated': {
        // to a watcher of this node, for a watch it made: it hears it once
        const watcher = this.watches.ended(thread, id, p.ref);
        if (watcher !== undefined) this.routes.notify(watcher, p.ref, p.reason);
        return;
      }
      case 'exit':
        return this.children.get(`${thread}:${id}`)?.reported(p);
      case 'lost':
        // the worker thread that ran a child we spawned there died
        return this.children.get(`${thread}:${id}`)?.lost(p.reason);
      case 'cancel':
        // only asks this peer sent (answered through this session) can be cancelled by it
        if (thread === host.thread) return this.addressable(id)?.cancelAsk(this.endpoint, p.ask);
        return this.routes.thread(thread)?.endpoint.cancelAsk({ thread, id }, this.endpoint, p.ask);
      case 'kill':
      case 'resume':
      case 'exit-now':
        if (!this.hosted.order(thread, id, p)) this.notAddressable++;
        return;
    }
  }

  onRequest(thread: number, id: number, p: ReqPayload): Promise<ResPayload> {
    if (p.k === 'spawn') return this.handler.spawn(this, p);
    if (p.k === 'lookup') return Promise.resolve(this.lookup(p.name));
    const answer = this.hosted.request(thread, id, p);
    if (answer !== undefined) return answer;
    this.notAddressable++;
    return Promise.resolve({ ok: false, error: { name: 'ApiaryError', message: `actor t${thread}/${id} was not spawned by ${this.peer.name}`, code: ErrorCodes.ACTOR_STOPPED } });
  }

  onHeartbeat(beat: number | Heartbeat): void {
    this.handler.heartbeat(this, typeof beat === 'number' ? beat : beat.seq);
  }

  onGossip(members: GossipMember[]): void {
    this.handler.gossip(this, members);
  }

  onMalformed(err: unknown): void {
    this.handler.malformed(this, err);
  }

  /**
   * A system frame for the peer was dropped: the link holds its bound and reserve (the peer
   * does not read). Its promises (watches, exits) cannot be kept on this link: it is closed
   * (the cluster sees it lost), and the drop is reported as a `failed` event and a dead letter.
   */
  private overflowed(what: string): void {
    const host = this.host;
    host.deadLetter(`${this.peer.name}/(system)`, { msg: what, sender: undefined, ask: 0, priority: 0 }, 'link-overflow');
    // once per link: it is closing
    if (this.link === undefined || this.overflowedLink === this.link) return;
    this.overflowedLink = this.link;
    host.emit({
      type: 'failed',
      path: `/node-link/${this.peer.name}`,
      reason: { error: serializeError(new ApiaryError(ErrorCodes.BACKPRESSURE, `a ${what} for ${this.peer.name} was dropped: the link holds its bound and reserve`)) },
      at: host.clock.now(),
    });
    this.link.close(1008, 'link overflow');
  }

  /** A user actor or runtime service of this thread by id, or undefined (and counted if it is internal). */
  private addressable(id: number): ActorCell | undefined {
    const cell = this.host.cell(id);
    if (cell !== undefined && !cell.peerAddressable) {
      this.notAddressable++;
      return undefined;
    }
    return cell;
  }

  private localRef(thread: number, id: number): ActorRef {
    const host = this.host;
    return host.resolveRef({ node: host.node, incarnation: host.incarnation, thread, id }, `t${thread}/${id}`);
  }

  /** A peer's name lookup; names of runtime-internal actors (other than services) are not for it. */
  private lookup(name: string): ResPayload {
    const ref = this.host.registry.lookup(name);
    if (ref === undefined) return { ok: true, ref: null };
    if (ref.thread === this.host.thread && this.host.cell(ref.id)?.peerAddressable === false) {
      this.notAddressable++;
      return { ok: true, ref: null };
    }
    return { ok: true, ref };
  }

  /**
   * The peer's `watch`/`unwatch` of actor `thread`/`id`, on a worker thread here: passed to
   * that thread. A thread that is not there answers a watch with `noproc`.
   */
  private relayWatch(thread: number, id: number, p: { k: 'watch' | 'unwatch'; watcher: ActorRef }): void {
    const ref = this.localRef(thread, id);
    const key = `${at(ref)}<${at(p.watcher)}`;
    const worker = thread > 0 ? this.routes.thread(thread) : undefined;
    if (p.k === 'unwatch') {
      this.relayed.delete(key);
      return worker?.endpoint.sendSys(thread, id, p);
    }
    if (worker === undefined) return this.sendTerminated(p.watcher, ref, 'noproc');
    this.relayed.set(key, { watcher: p.watcher, ref });
    worker.endpoint.sendSys(thread, id, p);
  }

  /**
   * Worker thread `thread` died: the peer's watchers of its actors get `thread-crash`, and
   * watches its cells held on the peer are dropped (and unwatched there).
   */
  threadDown(thread: number): void {
    for (const [key, { watcher, ref }] of this.relayed) {
      if (ref.thread !== thread) continue;
      this.relayed.delete(key);
      this.endpoint.sendSys(watcher.thread, watcher.id, { k: 'terminated', ref, reason: 'thread-crash' });
    }
    for (const { watcher, ref } of this.watches.dropWatchersOn(thread)) this.endpoint.sendSys(ref.thread, ref.id, { k: 'unwatch', watcher });
  }

  /**
   * The peer is down for good: open asks reject `ERR_NODE_DOWN`, requests get an error
   * answer, watches held on its actors end with `node-down`, children placed there exit
   * `node-down` (their supervisors decide), actors it spawned here stop, and queued frames
   * are dropped (counted).
   */
  close(): void {
    if (this.closed) return;
    const down = new ApiaryError(ErrorCodes.NODE_DOWN, `node ${this.peer.name} is down`);
    losePeer(this, 'node-down', down, down, (watcher, ref, reason) => this.routes.notify(watcher, ref, reason));
    this.relayed.clear();
    this.hosted.close();
    this.link?.close(1001, 'node down');
    this.link = undefined;
  }
}
