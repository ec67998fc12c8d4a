/**
 * Endpoint: this side of one link — to another thread of this node, or to another node —
 * whatever carries it.
 *
 * Owns: the outbound batch (every frame of one turn encoded into one buffer, sent at the end
 * of the turn — a microtask — or at once at MAX_BATCH_FRAMES, so the receiver handles each
 * batch while it is young, cheap for its GC), the bounded outbound queue with
 * backpressure from the carrier (batches wait above `highWaterBytes` unsent, or while the
 * carrier is away; past `maxQueuedBytes` a message is refused and the caller makes it a dead
 * letter), asks and requests in flight under link-local wire ids (answers go back to whoever
 * asked: an actor's registry, or another endpoint relaying the ask), answers to asks that
 * came in, decoding inbound batches — trusted from a thread of this node, checked field by
 * field from a node (transport/frame-checks.ts) — and handing each frame to its handler.
 * Does not own: what a frame means for actors (the handler: a thread's or a node's), the
 * carrier (a MessagePort, a WebSocket), membership or reconnecting.
 * Order: one endpoint and one carrier per pair, so frames keep their order.
 * Threads: lives on one thread; a node's endpoints live on its thread 0.
 */
import type { ActorRef } from '../actors/actor-ref.js';
import type { Dispatcher } from '../actors/dispatcher.js';
import type { SystemEvent } from '../actors/events.js';
import { ApiaryError, serializeError } from '../actors/foundation/errors.js';
import type { AskReplyTo, Envelope } from '../actors/mailbox.js';
import { assertPlainData, BatchWriter, type Codec, type DecodeBudget } from './codec.js';
import { checkNodeFrame } from './frame-checks.js';
import {
  answerFrame,
  ASK,
  errorFrom,
  EVENT,
  FAIL,
  FORWARD,
  FORWARD_SYS,
  GOSSIP,
  HEARTBEAT,
  REPLY,
  REQ,
  RES,
  SYS,
  TELL,
  type Frame,
  type GossipMember,
  type Heartbeat,
  type ReqPayload,
  type ResPayload,
  type SysPayload,
} from './frames.js';
import { WireAsks } from './wire-asks.js';

/** What moves encoded batches to the other end: a MessagePort (+ ring), a WebSocket. */
export interface Carrier {
  /** Hands one batch over; false if it is closed. `written` runs once the batch left this process. */
  send(batch: Uint8Array, written?: () => void): boolean;
  /** Bytes handed over and not written yet (0 for carriers that never hold any back). */
  readonly bufferedAmount: number;
  /** The batch just handed over holds an ask or a request: an answer will follow (a carrier may wait for it). */
  answerExpected?(): void;
}

/** What the side that owns an endpoint does with the frames the endpoint does not answer itself. */
export interface FrameHandler {
  /** A tell or ask for actor `thread`/`id` of this side; an ask's `replyTo` is the endpoint. */
  onMessage(thread: number, id: number, env: Envelope): void;
  onSys(thread: number, id: number, payload: SysPayload): void;
  onRequest(thread: number, id: number, payload: ReqPayload): Promise<ResPayload>;
  onHeartbeat(beat: number | Heartbeat): void;
  /** Trusted links only. */
  onEvent?(event: SystemEvent): void;
  /** Trusted links only: a worker's message for an actor on another node, for thread 0 to route. */
  onForward?(target: ActorRef, env: Envelope): void;
  onForwardSys?(target: ActorRef, payload: SysPayload): void;
  /** Node links only. */
  onGossip?(members: GossipMember[]): void;
  /**
   * A batch failed to decode, a frame failed its checks, or acting on a frame threw. From a
   * node the link is closed (the handler does it); from a thread it is reported.
   */
  onMalformed(err: unknown): void;
}

/**
 * Traffic over links, both directions, as plain counters (a cluster keeps one for all its node
 * links, so the totals survive a peer going down; metrics read them at scrape time). Frames
 * are counted once handed to the carrier or decoded; bytes are the batches that carry them.
 */
/** A batch goes out when it holds this many frames, or at the end of the turn. */
export const MAX_BATCH_FRAMES = 1024;

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

export interface EndpointOptions {
  codec: Codec;
  handler: FrameHandler;
  /** Turns (and budgets) start afresh when a batch arrives from the event loop. */
  dispatcher: Dispatcher;
  /**
   * `trusted`: a thread of this node (every frame kind, no checks). `checked`: a node —
   * decoded within `budget`, each frame checked and limited to NODE_FRAME_KINDS.
   */
  trust: 'trusted' | 'checked';
  budget?: DecodeBudget;
  /** Stop handing batches to the carrier above this many unsent bytes. Default: no limit. */
  highWaterBytes?: number;
  /** Refuse messages once this many bytes wait (in the batch and the queue). Default: no limit. */
  maxQueuedBytes?: number;
  /** Bytes the batch buffer starts with. */
  initialBatchBytes?: number;
  /** Where this endpoint adds what it sends and receives (default: counters of its own). */
  traffic?: LinkTraffic;
}

export class Endpoint implements AskReplyTo {
  private carrier: Carrier | undefined;
  private readonly batch: BatchWriter;
  private flushQueued = false;
  /** This turn's batch holds an ask or a request (the carrier is told once it is sent). */
  private awaits = false;
  private readonly queue: Uint8Array[] = [];
  /** Frames in each queued batch (same order as `queue`), counted out when handed over. */
  private readonly queueFrames: number[] = [];
  private queuedBytes = 0;
  private readonly asks = new WireAsks(100_000);
  private nextAsk = 1;
  private readonly requests = new Map<number, (res: ResPayload) => void>();
  private nextReq = 1;
  private readonly handler: FrameHandler;
  private readonly codec: Codec;
  private readonly checked: boolean;
  private readonly highWaterBytes: number;
  private readonly maxQueuedBytes: number;
  /** What open asks fail with once the endpoint is closed. */
  private lost: ApiaryError | undefined;
  /** What requests fail with once the endpoint is closed. */
  private lostRequests: ApiaryError | undefined;
  /** What went through this endpoint (see {@link LinkTraffic}). */
  readonly traffic: LinkTraffic;
  /** Messages refused (queue full) and frames dropped when closed, for metrics and tests. */
  readonly stats = { refused: 0, droppedOnClose: 0 };

  constructor(private readonly options: EndpointOptions) {
    this.handler = options.handler;
    this.codec = options.codec;
    this.checked = options.trust === 'checked';
    this.highWaterBytes = options.highWaterBytes ?? Infinity;
    this.maxQueuedBytes = options.maxQueuedBytes ?? Infinity;
    this.traffic = options.traffic ?? linkTraffic();
    this.batch = new BatchWriter(options.initialBatchBytes ?? 16 * 1024);
  }

  /** True once closed for good: nothing is sent, open asks were rejected. */
  get closed(): boolean {
    return this.lost !== undefined;
  }

  /** Whether a carrier is attached now. */
  get connected(): boolean {
    return this.carrier !== undefined;
  }

  /** Sends through `carrier` from now on, starting with what waited for it. */
  attach(carrier: Carrier): void {
    this.carrier = carrier;
    this.drain();
  }

  /** The carrier is gone; batches queue (bounded) until {@link attach} or {@link close}. */
  detach(): void {
    this.carrier = undefined;
  }

  // ---- outbound -----------------------------------------------------------------------------

  /**
   * Queues a tell or ask for actor `thread`/`id` on the other side. Returns false (nothing
   * queued) when the outbound queue is full; throws `ERR_UNSERIALIZABLE` /
   * `ERR_MESSAGE_TOO_LARGE` (nothing queued then either).
   */
  sendMessage(thread: number, id: number, env: Envelope): boolean {
    assertPlainData(env.msg);
    if (this.full()) return this.refuse();
    const sender = (env.sender as ActorRef | undefined) ?? null;
    if (env.ask === 0) this.append([TELL, thread, id, env.msg, env.priority, sender]);
    else {
      const wire = this.nextAsk++;
      this.append([ASK, thread, id, env.msg, env.priority, sender, wire]);
      this.asks.add(wire, env.replyTo!, env.ask);
      this.awaits = true;
    }
    return true;
  }

  /** Queues a tell or ask for `target`, an actor on another node, for the other side (thread 0) to route. */
  forward(target: ActorRef, env: Envelope): boolean {
    assertPlainData(env.msg);
    if (this.full()) return this.refuse();
    const sender = (env.sender as ActorRef | undefined) ?? null;
    let wire = 0;
    if (env.ask !== 0) {
      wire = this.nextAsk++;
      this.asks.add(wire, env.replyTo!, env.ask);
      this.awaits = true;
    }
    this.append([FORWARD, target, env.msg, env.priority, sender, wire]);
    return true;
  }

  sendSys(thread: number, id: number, payload: SysPayload): void {
    if (!this.closed) this.append([SYS, thread, id, payload]);
  }

  /** A system message about `target`, an actor on another node, for the other side (thread 0) to route. */
  forwardSys(target: ActorRef, payload: SysPayload): void {
    if (!this.closed) this.append([FORWARD_SYS, target, payload]);
  }

  /**
   * The asker gave up on an ask sent through here (answered through `replyTo` as `ask`): the
   * other side aborts it where the actor runs, and its answer, if one still comes, is dropped.
   * `target` names the actor: thread/id on the other side, or a ref it routes further.
   */
  cancelAsk(target: { thread: number; id: number } | ActorRef, replyTo: AskReplyTo, ask: number, forwarded = false): void {
    const wire = this.asks.takeByAsker(replyTo, ask);
    if (wire === undefined) return;
    if (forwarded) this.forwardSys(target as ActorRef, { k: 'cancel', ask: wire });
    else this.sendSys(target.thread, target.id, { k: 'cancel', ask: wire });
  }

  /** A request for actor `thread`/`id` (or the side itself); resolves with the answer, or an error result once closed. */
  request(thread: number, id: number, payload: ReqPayload): Promise<ResPayload> {
    if (this.lostRequests !== undefined) return Promise.resolve(failure(this.lostRequests));
    const req = this.nextReq++;
    return new Promise((resolve) => {
      this.requests.set(req, resolve);
      this.append([REQ, thread, id, req, payload]);
      this.awaits = true;
    });
  }

  sendHeartbeat(beat: number | Heartbeat): void {
    if (!this.closed) this.append([HEARTBEAT, beat]);
  }

  sendGossip(members: GossipMember[]): void {
    if (!this.closed) this.append([GOSSIP, members]);
  }

  /** An event for the other side's `events$`; one that cannot be encoded is dropped (not worth a crash). */
  sendEvent(event: SystemEvent): void {
    if (this.closed) return;
    try {
      this.append([EVENT, event]);
    } catch {
      // a reason holding something odd
    }
  }

  /** AskReplyTo: the answer to an ask that came in through here. */
  resolve(id: number, value: unknown): boolean {
    if (this.closed) return false;
    this.append(answerFrame(id, value));
    return true;
  }

  reject(id: number, err: unknown): boolean {
    if (this.closed) return false;
    this.append([FAIL, id, serializeError(err)]);
    return true;
  }

  private full(): boolean {
    return this.queuedBytes + this.batch.bytes >= this.maxQueuedBytes;
  }

  private refuse(): false {
    this.stats.refused++;
    return false;
  }

  /** Encodes `frame` into this turn's batch (throws like `Codec.append`; nothing is added then). */
  private append(frame: Frame): void {
    if (this.lost !== undefined) throw this.lost;
    this.codec.append(this.batch, frame);
    if (this.batch.frames >= MAX_BATCH_FRAMES) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.endOfTurn);
    }
  }

  private readonly endOfTurn = (): void => {
    this.flushQueued = false;
    this.flush();
  };

  /** Sends everything appended this turn as one batch (or queues it while the carrier is away or slow). */
  readonly flush = (): void => {
    if (this.batch.empty || this.closed) return;
    const frames = this.batch.frames;
    const data = this.batch.take();
    const awaits = this.awaits;
    this.awaits = false;
    const carrier = this.carrier;
    // the common case: nothing waits and the carrier keeps up
    if (carrier !== undefined && this.queue.length === 0 && carrier.bufferedAmount < this.highWaterBytes && carrier.send(data)) {
      this.traffic.bytesOut += data.byteLength;
      this.traffic.framesOut += frames;
      if (awaits) carrier.answerExpected?.();
      return;
    }
    this.queue.push(data);
    this.queueFrames.push(frames);
    this.queuedBytes += data.byteLength;
    this.drain();
  };

  /** Hands queued batches to the carrier while it keeps up (its written callback resumes). */
  private readonly drain = (): void => {
    const carrier = this.carrier;
    while (carrier !== undefined && this.queue.length > 0 && carrier.bufferedAmount < this.highWaterBytes) {
      const data = this.queue[0]!;
      if (!carrier.send(data, this.queue.length > 1 ? this.drain : undefined)) return;
      this.queue.shift();
      this.queuedBytes -= data.byteLength;
      this.traffic.bytesOut += data.byteLength;
      this.traffic.framesOut += this.queueFrames.shift() ?? 0;
    }
  };

  // ---- inbound ------------------------------------------------------------------------------

  /**
   * Decodes one inbound batch and hands its frames on. `fromLoop`: it arrived in a fresh
   * event-loop macrotask, so the dispatcher's per-turn budget starts afresh (batches read
   * while spinning do not reset it).
   */
  receive(bytes: Uint8Array, fromLoop = true): void {
    if (this.closed) return;
    if (fromLoop) this.options.dispatcher.enteredFromEventLoop();
    this.traffic.bytesIn += bytes.byteLength;
    let frames: Frame[];
    try {
      frames = this.checked ? this.codec.decodeUntrusted(bytes, this.options.budget).map(checkNodeFrame) : (this.codec.decodeBatch(bytes) as Frame[]);
    } catch (err) {
      this.handler.onMalformed(err);
      return;
    }
    this.traffic.framesIn += frames.length;
    for (const f of frames) {
      try {
        this.dispatch(f);
      } catch (err) {
        // a frame that passed its checks but cannot be acted on: reported (a node's link goes), never the node
        this.handler.onMalformed(err);
        if (this.checked) return;
      }
      if (this.closed) return;
    }
  }

  private dispatch(f: Frame): void {
    const h = this.handler;
    switch (f[0]) {
      case TELL:
        return h.onMessage(f[1], f[2], { msg: f[3], sender: f[5] ?? undefined, ask: 0, priority: f[4] });
      case ASK:
        return h.onMessage(f[1], f[2], { msg: f[3], sender: f[5] ?? undefined, ask: f[6], priority: f[4], replyTo: this });
      case REPLY:
      case FAIL: {
        const entry = this.asks.take(f[1]);
        if (entry === undefined) return; // answered, cancelled or forgotten: nobody waits for it
        if (f[0] === REPLY) entry.replyTo.resolve(entry.ask, f[2]);
        else entry.replyTo.reject(entry.ask, errorFrom(f[2]));
        return;
      }
      case SYS:
        return h.onSys(f[1], f[2], f[3]);
      case REQ: {
        const req = f[3];
        h.onRequest(f[1], f[2], f[4]).then(
          (res) => this.respond(req, res),
          (err: unknown) => this.respond(req, { ok: false, error: serializeError(err) }),
        );
        return;
      }
      case RES: {
        const resolve = this.requests.get(f[1]);
        if (resolve === undefined) return;
        this.requests.delete(f[1]);
        return resolve(f[2]);
      }
      case HEARTBEAT:
        return h.onHeartbeat(f[1]);
      case GOSSIP:
        return h.onGossip?.(f[1]);
      case EVENT:
        return h.onEvent?.(f[1]);
      case FORWARD: {
        const [, target, msg, priority, sender, ask] = f;
        return h.onForward?.(target, { msg, sender: sender ?? undefined, ask, priority, replyTo: ask !== 0 ? this : undefined });
      }
      case FORWARD_SYS:
        return h.onForwardSys?.(f[1], f[2]);
    }
  }

  private respond(req: number, res: ResPayload): void {
    if (!this.closed) this.append([RES, req, res]);
  }

  /**
   * Closes for good: open asks reject with `reason`, open (and later) requests get
   * `requestReason` as their answer, queued batches are dropped (counted) and nothing more is
   * sent.
   */
  close(reason: ApiaryError, requestReason: ApiaryError = reason): void {
    if (this.lost !== undefined) return;
    this.lost = reason;
    this.lostRequests = requestReason;
    for (const { replyTo, ask } of this.asks.drain()) replyTo.reject(ask, reason);
    const requests = [...this.requests.values()];
    this.requests.clear();
    for (const resolve of requests) resolve(failure(requestReason));
    this.stats.droppedOnClose += this.queueFrames.reduce((a, b) => a + b, 0) + this.batch.frames;
    this.queue.length = 0;
    this.queueFrames.length = 0;
    this.queuedBytes = 0;
    this.batch.take();
    this.carrier = undefined;
  }
}

function failure(err: ApiaryError): ResPayload {
  return { ok: false, error: { name: 'ApiaryError', message: err.message, code: err.code } };
}
