/**
 * NodeSession: this node's side of the conversation with one peer node incarnation.
 *
 * Owns: the outbound batch (every frame of one turn goes out as one binary ws frame, at most
 * MAX_BATCH_FRAMES per frame, transport/turn-batch.ts), the bounded outbound queue with backpressure from the
 * socket's `bufferedAmount` (frames wait while the peer is slow or the link is being
 * re-established; past `maxQueuedBytes` a message is refused and becomes a dead letter),
 * asks and requests in flight to the peer, and handing every checked inbound frame to the
 * actors it names. Inbound frames from a peer are untrusted: they are decoded within
 * budgets, checked by shape, and may address user actors only; runtime-internal actors are
 * not reachable (dropped and counted); lifecycle requests are accepted only for actors this
 * peer spawned here. A frame that fails a check closes the link (the handler decides), never
 * the node. Counts what crosses the link (frames and bytes, both ways) into the
 * {@link LinkTraffic} it is given.
 * Does not own: membership, heartbeats' meaning or reconnecting (runtime/cluster/cluster.ts).
 * Threads: the main thread (0) of a node; actors on worker threads are reached through
 * their thread links. Order: one session and one socket per peer, so frames keep their order.
 */
import type { ActorCell } from '../actors/actor-cell.js';
import { NOTHING_HOSTED, type HostedActors } from './hosted-actors.js';
import type { ActorRef } from '../actors/actor-ref.js';
import type { Host, RemoteChildEntry } from '../actors/host.js';
import type { AskReplyTo, Envelope } from '../actors/mailbox.js';
import type { ExitReason } from '../actors/exit-reason.js';
import { ApiaryError, ErrorCodes, serializeError } from '../actors/foundation/errors.js';
import { assertPlainData, type Codec, type DecodeBudget } from './codec.js';
import { answerFrame, type ResPayload } from './frames.js';
import type { NodeLink } from './node-link.js';
import {
  checkNodeFrame,
  N_ASK,
  N_FAIL,
  N_GOSSIP,
  N_HEARTBEAT,
  N_REPLY,
  N_REQ,
  N_RES,
  N_SYS,
  N_TELL,
  type GossipMember,
  type NodeFrame,
  type NodeReqPayload,
  type NodeSysPayload,
  type SpawnRequest,
} from './node-frames.js';
import { NodeWatches } from './node-watches.js';
import { WireAsks } from './wire-asks.js';
import { errorFrom } from './thread-link.js';
import { TurnBatch } from './turn-batch.js';

/** What the cluster does with the frames a session does not handle itself. */
export interface SessionHandler {
  heartbeat(session: NodeSession, seq: number): void;
  gossip(session: NodeSession, members: GossipMember[]): void;
  spawn(session: NodeSession, req: SpawnRequest): Promise<ResPayload>;
  /** A frame failed its checks: the handler closes the link. */
  malformed(session: NodeSession, err: unknown): void;
}

/**
 * Traffic over node links, both directions, as plain counters (the cluster keeps one for all
 * its sessions, so the totals survive a peer going down; metrics read them at scrape time).
 * Frames are node frames (a tell, an ask, a heartbeat…); bytes are the binary WebSocket
 * messages that carry them (batches), handshake excluded.
 */
export interface LinkTraffic {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
}

/** Zeroed traffic counters. */
export function linkTraffic(): LinkTraffic {
  return { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0 };
}

export interface SessionOptions {
  /** Stop handing frames to the socket above this many unsent bytes. */
  highWaterBytes: number;
  /** Refuse messages once this many bytes wait (in the batch and the queue). */
  maxQueuedBytes: number;
  budget: DecodeBudget;
  /** Where this session adds what it sends and receives (counted once handed to / read from the socket). */
  traffic?: LinkTraffic;
}

export class NodeSession implements AskReplyTo {
  link: NodeLink | undefined;
  private readonly batch: TurnBatch;
  private readonly queue: Uint8Array[] = [];
  /** Node frames in each queued batch (same order as `queue`), counted out when written. */
  private readonly queueFrames: number[] = [];
  private readonly traffic: LinkTraffic;
  private queuedBytes = 0;
  private readonly asks = new WireAsks(100_000);
  private nextAsk = 1;
  private readonly requests = new Map<number, (res: ResPayload) => void>();
  private nextReq = 1;
  /** Watches across this session, both ways (see NodeWatches). */
  readonly watches: NodeWatches;
  /** Children this node's supervisors placed on the peer, by `thread:id` there. */
  readonly children = new Map<string, RemoteChildEntry>();
  /** Actors the peer spawned here (its children); set by the cluster. */
  hosted: HostedActors = NOTHING_HOSTED;
  closed = false;
  /** Name of the node that opened the current link (ties between duplicate links go to the smaller). */
  openedBy = '';
  /** Counters for metrics and tests. */
  readonly stats = { framesSent: 0, framesReceived: 0, notAddressable: 0, refused: 0, droppedOnDown: 0 };

  constructor(
    readonly host: Host,
    private readonly codec: Codec,
    readonly peer: { name: string; incarnation: number },
    private readonly handler: SessionHandler,
    private readonly options: SessionOptions,
  ) {
    this.traffic = options.traffic ?? linkTraffic();
    this.batch = new TurnBatch(codec, 16 * 1024, () => this.flush());
    this.watches = new NodeWatches(host, (thread, id, payload) => this.sendSys(thread, id, payload));
  }

  /** Uses `link` from now on and sends what waited for it. */
  attach(link: NodeLink): void {
    this.link = link;
    link.onFrame((bytes) => this.receive(bytes));
    this.drain();
  }

  /** The link closed; frames queue (bounded) until {@link attach} or {@link close}. */
  detach(): void {
    this.link = undefined;
  }

  // ---- outbound ---------------------------------------------------------------------------

  /**
   * Queues a tell or ask for actor `thread`/`id` on the peer. Returns false (nothing queued)
   * when the outbound queue is full; throws `ERR_UNSERIALIZABLE` / `ERR_MESSAGE_TOO_LARGE`.
   */
  sendMessage(thread: number, id: number, env: Envelope): boolean {
    assertPlainData(env.msg);
    if (this.full()) {
      this.stats.refused++;
      return false;
    }
    const sender = (env.sender as ActorRef | undefined) ?? null;
    if (env.ask === 0) this.append([N_TELL, thread, id, env.msg, env.priority, sender]);
    else {
      const wire = this.nextAsk++;
      this.append([N_ASK, thread, id, env.msg, env.priority, sender, wire]);
      this.asks.add(wire, env.replyTo!, env.ask);
    }
    return true;
  }

  /**
   * The asker gave up on an ask sent here (answered through `replyTo` as `ask`): the peer
   * aborts it where the actor runs, and its answer, if one still comes, is dropped.
   */
  cancelAsk(thread: number, id: number, replyTo: AskReplyTo, ask: number): void {
    const wire = this.asks.takeByAsker(replyTo, ask);
    if (wire !== undefined) this.sendSys(thread, id, { k: 'cancel', ask: wire });
  }

  /** Tells the peer's `watcher` that `ref`, an actor of this node, died. */
  sendTerminated(watcher: ActorRef, ref: ActorRef, reason: ExitReason): void {
    this.watches.sent(watcher, ref);
    this.sendSys(watcher.thread, watcher.id, { k: 'terminated', ref, reason });
  }

  sendSys(thread: number, id: number, payload: NodeSysPayload): void {
    if (!this.closed) this.append([N_SYS, thread, id, payload]);
  }

  /** A lifecycle request or a spawn; resolves with the answer, or an error result if the peer goes down. */
  request(thread: number, id: number, payload: NodeReqPayload): Promise<ResPayload> {
    if (this.closed) return Promise.resolve(this.downResult());
    const req = this.nextReq++;
    return new Promise((resolve) => {
      this.requests.set(req, resolve);
      this.append([N_REQ, thread, id, req, payload]);
    });
  }

  sendHeartbeat(seq: number): void {
    if (!this.closed) this.append([N_HEARTBEAT, seq]);
  }

  sendGossip(members: GossipMember[]): void {
    if (!this.closed) this.append([N_GOSSIP, members]);
  }

  /** AskReplyTo: the answer to an ask that came from the peer. */
  resolve(id: number, value: unknown): boolean {
    if (this.closed) return false;
    // REPLY/FAIL share their numbers with N_REPLY/N_FAIL
    this.append(answerFrame(id, value) as NodeFrame);
    return true;
  }

  reject(id: number, err: unknown): boolean {
    if (this.closed) return false;
    this.append([N_FAIL, id, serializeError(err)]);
    return true;
  }

  private full(): boolean {
    return this.queuedBytes + this.batch.bytes >= this.options.maxQueuedBytes;
  }

  private append(frame: NodeFrame): void {
    this.batch.add(frame);
    this.stats.framesSent++;
  }

  private flush(): void {
    if (this.batch.empty || this.closed) return;
    const frames = this.batch.frames;
    const data = this.batch.take();
    this.queue.push(data);
    this.queueFrames.push(frames);
    this.queuedBytes += data.byteLength;
    this.drain();
  }

  /** Hands queued batches to the socket while it keeps up (the written callback resumes). */
  private readonly drain = (): void => {
    const link = this.link;
    while (link !== undefined && this.queue.length > 0 && link.bufferedAmount < this.options.highWaterBytes) {
      const data = this.queue[0]!;
      if (!link.send(data, this.queue.length > 1 ? this.drain : undefined)) return;
      this.queue.shift();
      this.queuedBytes -= data.byteLength;
      this.traffic.bytesOut += data.byteLength;
      this.traffic.framesOut += this.queueFrames.shift() ?? 0;
    }
  };

  // ---- inbound ----------------------------------------------------------------------------

  private receive(bytes: Uint8Array): void {
    if (this.closed) return;
    this.host.dispatcher.enteredFromEventLoop();
    this.traffic.bytesIn += bytes.byteLength;
    let frames: NodeFrame[];
    try {
      frames = this.codec.decodeUntrusted(bytes, this.options.budget).map(checkNodeFrame);
    } catch (err) {
      this.handler.malformed(this, err);
      return;
    }
    this.stats.framesReceived += frames.length;
    this.traffic.framesIn += frames.length;
    for (const f of frames) {
      try {
        this.dispatch(f);
      } catch (err) {
        // a frame that passed the shape checks but cannot be acted on: that link goes, not the node
        this.handler.malformed(this, err);
        return;
      }
    }
  }

  private dispatch(f: NodeFrame): void {
    switch (f[0]) {
      case N_TELL:
      case N_ASK: {
        const ask = f[0] === N_ASK ? f[6] : 0;
        this.deliverLocal(f[1], f[2], { msg: f[3], sender: f[5] ?? undefined, ask, priority: f[4], replyTo: ask !== 0 ? this : undefined });
        return;
      }
      case N_REPLY:
      case N_FAIL: {
        const entry = this.asks.take(f[1]);
        if (entry === undefined) return;
        if (f[0] === N_REPLY) entry.replyTo.resolve(entry.ask, f[2]);
        else entry.replyTo.reject(entry.ask, errorFrom(f[2]));
        return;
      }
      case N_SYS:
        return this.onSys(f[1], f[2], f[3]);
      case N_REQ:
        void this.onReq(f[1], f[2], f[4]).then(
          (res) => !this.closed && this.append([N_RES, f[3], res]),
          (err: unknown) => !this.closed && this.append([N_RES, f[3], { ok: false, error: serializeError(err) }]),
        );
        return;
      case N_RES: {
        const resolve = this.requests.get(f[1]);
        this.requests.delete(f[1]);
        resolve?.(f[2]);
        return;
      }
      case N_HEARTBEAT:
        return this.handler.heartbeat(this, f[1]);
      case N_GOSSIP:
        return this.handler.gossip(this, f[1]);
    }
  }

  /** A user actor of this node by address, or undefined (and counted if it is internal). */
  private addressable(thread: number, id: number): ActorCell | undefined {
    if (thread !== this.host.thread) return undefined;
    const cell = this.host.cell(id);
    if (cell !== undefined && cell.internal) {
      this.stats.notAddressable++;
      return undefined;
    }
    return cell;
  }

  private deliverLocal(thread: number, id: number, env: Envelope): void {
    const recipient = `${this.host.node}/t${thread}/${id}`;
    if (thread !== this.host.thread) {
      // an actor on a worker thread of this node: through its thread link (asks are relayed)
      const link = thread > 0 ? this.host.links[thread] : undefined;
      if (link !== undefined) {
        try {
          return link.sendMessage(id, env);
        } catch (err) {
          if (env.ask !== 0) this.reject(env.ask, err);
          return;
        }
      }
    } else {
      const cell = this.addressable(thread, id);
      if (cell !== undefined) {
        cell.deliver(env);
        return;
      }
      if (this.host.cell(id)?.internal) {
        if (env.ask !== 0) this.reject(env.ask, new ApiaryError(ErrorCodes.ACTOR_STOPPED, `${recipient} is not addressable from other nodes`));
        return this.host.deadLetter(recipient, env, 'not-addressable');
      }
    }
    if (env.ask !== 0) this.reject(env.ask, new ApiaryError(ErrorCodes.ACTOR_STOPPED, `no actor ${recipient}`));
    this.host.deadLetter(recipient, env, 'unknown-actor');
  }

  private onSys(thread: number, id: number, p: NodeSysPayload): void {
    switch (p.k) {
      case 'watch':
      case 'unwatch': {
        if (p.watcher.node !== this.peer.name || p.watcher.incarnation !== this.peer.incarnation) {
          throw new ApiaryError(ErrorCodes.MALFORMED_FRAME, `a ${p.k} from ${this.peer.name} for a watcher that is not on it`);
        }
        if (thread !== this.host.thread) return this.watches.relay(thread, id, p);
        const cell = this.addressable(thread, id);
        if (p.k === 'unwatch') return cell?.removeRemoteWatcher(p.watcher);
        if (cell !== undefined) return cell.addRemoteWatcher(p.watcher);
        const ref = this.host.resolveRef({ node: this.host.node, incarnation: this.host.incarnation, thread, id }, `t${thread}/${id}`);
        return this.sendSys(p.watcher.thread, p.watcher.id, { k: 'terminated', ref, reason: 'noproc' });
      }
      case 'terminated':
        // to a watcher of this node, for a watch it made
        return this.watches.terminated(thread, id, p.ref, p.reason);
      case 'exit':
        return this.children.get(`${thread}:${id}`)?.reported(p);
      case 'lost':
        // the worker thread that ran a child we spawned there died
        return this.children.get(`${thread}:${id}`)?.threadDied(p.reason);
      case 'cancel':
        // only asks this peer sent (answered through this session) can be cancelled by it
        if (thread === this.host.thread) return this.addressable(thread, id)?.cancelAsk(this, p.ask);
        return this.host.links[thread]?.cancelRelayed(this, p.ask, id);
      case 'kill':
      case 'resume':
      case 'exit-now':
        if (!this.hosted.order(thread, id, p)) this.stats.notAddressable++;
        return;
    }
  }

  private onReq(thread: number, id: number, p: NodeReqPayload): Promise<ResPayload> {
    if (p.k === 'spawn') return this.handler.spawn(this, p);
    if (p.k === 'lookup') return Promise.resolve(this.lookup(p.name));
    const answer = this.hosted.request(thread, id, p);
    if (answer !== undefined) return answer;
    this.stats.notAddressable++;
    return Promise.resolve({ ok: false, error: { name: 'ApiaryError', message: `actor t${thread}/${id} was not spawned by ${this.peer.name}`, code: ErrorCodes.ACTOR_STOPPED } });
  }

  /** A peer's lookup of a name registered here; names of runtime-internal actors are not for it. */
  private lookup(name: string): ResPayload {
    const ref = this.host.registry.lookup(name);
    if (ref === undefined) return { ok: true, ref: null };
    if (ref.thread === this.host.thread && this.host.cell(ref.id)?.internal) {
      this.stats.notAddressable++;
      return { ok: true, ref: null };
    }
    return { ok: true, ref };
  }

  private downResult(): ResPayload {
    return { ok: false, error: { name: 'ApiaryError', message: `node ${this.peer.name} is down`, code: ErrorCodes.NODE_DOWN } };
  }

  /**
   * The peer is down for good: open asks reject `ERR_NODE_DOWN`, requests get an error
   * answer, local watchers of its actors get `terminated` with `node-down`, children placed
   * there exit `node-down` (their supervisors decide), actors it spawned here stop, and
   * queued frames are dropped (counted).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const down = new ApiaryError(ErrorCodes.NODE_DOWN, `node ${this.peer.name} is down`);
    for (const { replyTo, ask } of this.asks.drain()) replyTo.reject(ask, down);
    const requests = [...this.requests.values()];
    this.requests.clear();
    for (const resolve of requests) resolve(this.downResult());
    this.watches.nodeDown();
    for (const child of this.children.values()) child.threadDied('node-down');
    this.children.clear();
    this.hosted.close();
    this.stats.droppedOnDown += this.queue.length + this.batch.frames;
    this.queue.length = 0;
    this.queueFrames.length = 0;
    this.queuedBytes = 0;
    this.batch.take();
    this.link?.close(1001, 'node down');
    this.link = undefined;
  }
}
