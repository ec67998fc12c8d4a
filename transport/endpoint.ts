/**
 * Endpoint: this side of one link — to another thread of this node, or to another node —
 * whatever carries it.
 *
 * Owns: the outbound batches (every frame of one turn encoded into one buffer per lane, sent
 * at the end of the turn — a microtask — or at once at MAX_BATCH_FRAMES / MAX_BATCH_BYTES, so
 * the receiver handles each batch while it is young, cheap for its GC); flow control
 * (docs/architecture.md § Flow control): batches holding messages go out only while the
 * receiver's window has room (its CREDIT frames give room back), and wait in order in the
 * message lane's bounded queue otherwise, as everything waits while the carrier is slow
 * (above `highWaterBytes` unsent) or away; the control lane — answers, system messages but
 * `terminated`, requests, heartbeats, gossip, events — never waits for the window, so a slow
 * receiver never silences a link, stops a stop or holds up the answer an actor waits for.
 * Bounds (`maxQueuedBytes`): past it a message is refused (the caller makes it a dead letter,
 * an ask rejects `ERR_BACKPRESSURE`); the control lane holds a quarter of it — past that an
 * answer is dropped (a dead letter through `drops`; the asker times out) and heartbeats,
 * gossip and events are dropped (counted) — and system frames a further quarter in each
 * lane, past which they are dropped too and `drops.overflow` gives the link up. On the
 * receiving side: this side's receive window (receive-window.ts) — each message carries its
 * charge until it leaves this thread's memory — and its grants; a node that sends beyond what
 * it was granted is malformed. Also: asks and requests in flight under link-local wire ids
 * (answers go back to whoever asked: an actor's registry, or another endpoint relaying the
 * ask), answers to asks that came in, decoding inbound batches — trusted from a thread of this
 * node, checked field by field from a node (transport/frame-checks.ts) — and handing each
 * frame to its handler.
 * Does not own: what a frame means for actors (the handler: a thread's or a node's), the
 * carrier (a MessagePort, a WebSocket), membership or reconnecting.
 * Order: one endpoint and one carrier per pair, so frames keep their order within a lane; the
 * control lane may overtake messages that wait for the window.
 * Threads: lives on one thread; a node's endpoints live on its thread 0.
 */
import type { ActorRef } from '../actors/actor-ref.js';
import type { Dispatcher } from '../actors/dispatcher.js';
import type { SystemEvent } from '../actors/events.js';
import { Deque } from '../actors/foundation/deque.js';
import { ApiaryError, ErrorCodes, serializeError } from '../actors/foundation/errors.js';
import { releaseCredit, type AskReplyTo, type Envelope } from '../actors/mailbox.js';
import { assertPlainData, BatchWriter, type Codec, type DecodeBudget } from './codec.js';
import { TRANSPORT_DEFAULTS } from './defaults.js';
import { checkNodeFrame } from './frame-checks.js';
import {
  answerFrame,
  ASK,
  CREDIT,
  errorFrom,
  EVENT,
  FAIL,
  FORWARD,
  FLOW_CONTROL,
  FORWARD_SYS,
  GOSSIP,
  HEARTBEAT,
  messageCharge,
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
import { ReceiveWindow } from './receive-window.js';
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
/** A batch goes out when it holds this many frames (or {@link MAX_BATCH_BYTES}), or at the end of the turn. */
export const MAX_BATCH_FRAMES = 1024;
/**
 * A batch goes out once it holds this many bytes: batches stay well under a node link's
 * frame limit and its reader's budget, and a queued one never pins a much larger buffer.
 */
export const MAX_BATCH_BYTES = 256 * 1024;

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

/**
 * What a link drops past its bounds, told to the side that owns it (which knows the actors:
 * it makes dead letters of them, and gives the link up on an overflow).
 */
export interface LinkDrops {
  /** The answer to an ask that came in through here was dropped (past the bound): the asker times out. */
  answer(value: unknown): void;
  /**
   * A system frame (watch, exit, lifecycle request or answer) was dropped past the bound and
   * its reserve: the link can no longer keep its promises and should be given up.
   */
  overflow(what: string): void;
}

export interface EndpointOptions {
  codec: Codec;
  handler: FrameHandler;
  /** Turns (and budgets) start afresh when a batch arrives from the event loop. */
  dispatcher: Dispatcher;
  /**
   * `trusted`: a thread of this node (every frame kind, no checks). `checked`: a node —
   * decoded within `budget`, each frame checked and limited to NODE_FRAME_KINDS, and it must
   * keep within the window this side granted.
   */
  trust: 'trusted' | 'checked';
  budget?: DecodeBudget;
  /** Stop handing batches to the carrier above this many unsent bytes. Default: no limit. */
  highWaterBytes?: number;
  /**
   * The link's outbound bound, bytes (default: none): messages waiting past it are refused;
   * the control lane holds at most `TRANSPORT_DEFAULTS.controlShare` of it (answers,
   * heartbeats, gossip, events are dropped beyond), and system frames have a further
   * `systemReserve` of it in each lane (beyond: dropped, and the link is given up).
   */
  maxQueuedBytes?: number;
  /**
   * This side's receive window, bytes of charge (FLOW_CONTROL in frames.ts; at least its
   * `initialCredit`): how much of what the other side sent may be here, not yet processed.
   */
  windowBytes: number;
  /** Bytes the batch buffer starts with. */
  initialBatchBytes?: number;
  /** Where this endpoint adds what it sends and receives (default: counters of its own). */
  traffic?: LinkTraffic;
  /** Told what was dropped past the bounds (default: only counted in `stats`). */
  drops?: LinkDrops;
}

/** A batch waiting to be handed to the carrier. */
interface Queued {
  data: Uint8Array;
  frames: number;
  /** Messages in it (they take window; 0 in the control lane). */
  messages: number;
  /** Messages relayed from another link, given back to that link's window once this batch leaves. */
  releases: Envelope[] | undefined;
}

const NO_DROPS: LinkDrops = { answer() {}, overflow() {} };

export class Endpoint implements AskReplyTo {
  private carrier: Carrier | undefined;
  /** The message lane's batch this turn: tells, asks, forwards (and `terminated`, which stays behind them). */
  private readonly batch: BatchWriter;
  /** Messages in this turn's batch: the window it takes. */
  private batchMessages = 0;
  /** Relayed messages in this turn's batch (see {@link Queued.releases}). */
  private batchReleases: Envelope[] | undefined;
  /** The control lane's batch this turn: answers, system frames, heartbeats, gossip, events. */
  private readonly control = new BatchWriter(1024);
  private flushQueued = false;
  /** This turn's batches hold an ask or a request (the carrier is told once they are sent). */
  private awaits = false;
  /** Message-lane batches, in order, waiting for the window or the carrier. */
  private readonly queue = new Deque<Queued>();
  /** Control-lane batches, in order, waiting for the carrier (they never wait for the window). */
  private readonly controlQueue = new Deque<Queued>();
  private queuedBytes = 0;
  private controlQueuedBytes = 0;
  /** What this side may still send before the receiver grants more (bytes of charge). */
  private credit: number = FLOW_CONTROL.initialCredit;
  /** This side's receive window for the current connection. */
  private window: ReceiveWindow;
  private grantQueued = false;
  private readonly asks = new WireAsks(100_000);
  private nextAsk = 1;
  private readonly requests = new Map<number, (res: ResPayload) => void>();
  private nextReq = 1;
  private readonly handler: FrameHandler;
  private readonly codec: Codec;
  private readonly checked: boolean;
  private readonly highWaterBytes: number;
  /** Bounds: messages; `terminated` behind them; answers, heartbeats and gossip; other system frames. */
  private readonly bounds: { messages: number; ordered: number; control: number; system: number };
  private readonly drops: LinkDrops;
  /** What open asks fail with once the endpoint is closed. */
  private lost: ApiaryError | undefined;
  /** What requests fail with once the endpoint is closed. */
  private lostRequests: ApiaryError | undefined;
  /** What went through this endpoint (see {@link LinkTraffic}). */
  readonly traffic: LinkTraffic;
  /**
   * For metrics and tests: messages refused (past the bound), frames dropped when closed,
   * answers dropped past the bound, heartbeats/gossip/events dropped past the bound, system
   * frames dropped past the bound and its reserve, and batches that waited for the window.
   */
  readonly stats = { refused: 0, droppedOnClose: 0, droppedAnswers: 0, droppedControl: 0, droppedSystem: 0, heldForCredit: 0 };

  constructor(private readonly options: EndpointOptions) {
    this.handler = options.handler;
    this.codec = options.codec;
    this.checked = options.trust === 'checked';
    this.highWaterBytes = options.highWaterBytes ?? Infinity;
    const max = options.maxQueuedBytes ?? Infinity;
    const { controlShare, systemReserve } = TRANSPORT_DEFAULTS;
    this.bounds = { messages: max, ordered: max * (1 + systemReserve), control: max * controlShare, system: max * (controlShare + systemReserve) };
    this.drops = options.drops ?? NO_DROPS;
    this.traffic = options.traffic ?? linkTraffic();
    this.batch = new BatchWriter(options.initialBatchBytes ?? 16 * 1024);
    this.window = new ReceiveWindow(options.windowBytes, this.grantDue);
  }

  /** True once closed for good: nothing is sent, open asks were rejected. */
  get closed(): boolean {
    return this.lost !== undefined;
  }

  /** Whether a carrier is attached now. */
  get connected(): boolean {
    return this.carrier !== undefined;
  }

  /**
   * Flow control as it stands, for tests and metrics: `credit` this side may still send,
   * `queuedBytes` waiting here (both lanes), and of this side's window what the other side
   * holds here (`outstanding`: arrived and not yet processed, dropped or handed on).
   */
  get flow(): { credit: number; queuedBytes: number; outstanding: number; windowBytes: number } {
    return { credit: this.credit, queuedBytes: this.messageBytes + this.controlBytes, outstanding: this.window.outstanding, windowBytes: this.window.windowBytes };
  }

  /**
   * Sends through `carrier` from now on, starting with what waited for it. A new connection:
   * flow control starts afresh on both sides (this side may send the initial credit; its own
   * window is granted to the other side at once). Returns the receiver for this connection's
   * inbound batches: frames still arriving on a replaced connection (a duplicate link being
   * closed) are delivered, but its grants no longer count and its messages take no window of
   * the new one.
   */
  attach(carrier: Carrier): (bytes: Uint8Array) => void {
    this.carrier = carrier;
    this.credit = FLOW_CONTROL.initialCredit;
    this.window.live = false;
    const window = (this.window = new ReceiveWindow(this.options.windowBytes, this.grantDue));
    this.sendGrant();
    this.drain();
    return (bytes) => this.receive(bytes, true, window);
  }

  /** The carrier is gone; batches queue (bounded) until {@link attach} or {@link close}. */
  detach(): void {
    this.carrier = undefined;
    this.window.live = false;
  }

  // ---- outbound -----------------------------------------------------------------------------

  /**
   * Queues a tell or ask for actor `thread`/`id` on the other side. Returns false (nothing
   * queued) when the link holds its bound; throws `ERR_UNSERIALIZABLE` /
   * `ERR_MESSAGE_TOO_LARGE` (nothing queued then either). A message relayed from another
   * link keeps its share of that link's window until it leaves here.
   */
  sendMessage(thread: number, id: number, env: Envelope): boolean {
    assertPlainData(env.msg);
    if (this.messageBytes >= this.bounds.messages) return this.refuse();
    const sender = (env.sender as ActorRef | undefined) ?? null;
    if (env.ask === 0) this.append([TELL, thread, id, env.msg, env.priority, sender], env);
    else {
      const wire = this.nextAsk;
      this.append([ASK, thread, id, env.msg, env.priority, sender, wire], env);
      this.nextAsk++;
      this.asks.add(wire, env.replyTo!, env.ask);
      this.awaits = true;
    }
    return true;
  }

  /** Queues a tell or ask for `target`, an actor on another node, for the other side (thread 0) to route. */
  forward(target: ActorRef, env: Envelope): boolean {
    assertPlainData(env.msg);
    if (this.messageBytes >= this.bounds.messages) return this.refuse();
    const sender = (env.sender as ActorRef | undefined) ?? null;
    const wire = env.ask === 0 ? 0 : this.nextAsk;
    this.append([FORWARD, target, env.msg, env.priority, sender, wire], env);
    if (wire !== 0) {
      this.nextAsk++;
      this.asks.add(wire, env.replyTo!, env.ask);
      this.awaits = true;
    }
    return true;
  }

  /**
   * A system message for actor `thread`/`id`: in the control lane (it overtakes messages
   * waiting for the window, as the system queue runs first), except `terminated`, which stays
   * behind the messages sent before it.
   */
  sendSys(thread: number, id: number, payload: SysPayload): void {
    if (this.closed) return;
    if (payload.k === 'terminated') {
      if (this.roomForSystem('system message', this.messageBytes, this.bounds.ordered)) this.append([SYS, thread, id, payload]);
    } else if (this.roomForSystem('system message', this.controlBytes, this.bounds.system)) this.appendControl([SYS, thread, id, payload]);
  }

  /** A system message about `target`, an actor on another node, for the other side (thread 0) to route (lanes as {@link sendSys}). */
  forwardSys(target: ActorRef, payload: SysPayload): void {
    if (this.closed) return;
    if (payload.k === 'terminated') {
      if (this.roomForSystem('system message', this.messageBytes, this.bounds.ordered)) this.append([FORWARD_SYS, target, payload]);
    } else if (this.roomForSystem('system message', this.controlBytes, this.bounds.system)) this.appendControl([FORWARD_SYS, target, payload]);
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

  /**
   * A request for actor `thread`/`id` (or the side itself); resolves with the answer, or an
   * error result once closed — or at once, `ERR_BACKPRESSURE`, when the link holds its bound
   * and reserve.
   */
  request(thread: number, id: number, payload: ReqPayload): Promise<ResPayload> {
    if (this.lostRequests !== undefined) return Promise.resolve(failure(this.lostRequests));
    if (!this.roomForSystem('request', this.controlBytes, this.bounds.system, false)) {
      return Promise.resolve(failure(new ApiaryError(ErrorCodes.BACKPRESSURE, 'the link holds as much as it may')));
    }
    const req = this.nextReq++;
    return new Promise((resolve) => {
      this.requests.set(req, resolve);
      this.appendControl([REQ, thread, id, req, payload]);
      this.awaits = true;
    });
  }

  /** A heartbeat; dropped (counted) past the control lane's bound. */
  sendHeartbeat(beat: number | Heartbeat): void {
    if (!this.closed && this.roomForControl()) this.appendControl([HEARTBEAT, beat]);
  }

  /** The member table; dropped (counted) past the control lane's bound. */
  sendGossip(members: GossipMember[]): void {
    if (!this.closed && this.roomForControl()) this.appendControl([GOSSIP, members]);
  }

  /** An event for the other side's `events$`; one that cannot be encoded, or past the bound, is dropped (not worth a crash). */
  sendEvent(event: SystemEvent): void {
    if (this.closed || !this.roomForControl()) return;
    try {
      this.appendControl([EVENT, event]);
    } catch {
      // a reason holding something odd
    }
  }

  /**
   * AskReplyTo: the answer to an ask that came in through here (control lane). Past the
   * bound it is dropped (a dead letter through `drops`; the asker times out) and false is
   * returned.
   */
  resolve(id: number, value: unknown): boolean {
    if (this.closed) return false;
    if (this.controlBytes >= this.bounds.control) return this.dropAnswer(value);
    this.appendControl(answerFrame(id, value));
    return true;
  }

  reject(id: number, err: unknown): boolean {
    if (this.closed) return false;
    if (this.controlBytes >= this.bounds.control) return this.dropAnswer(err);
    this.appendControl([FAIL, id, serializeError(err)]);
    return true;
  }

  /** Bytes waiting in the message lane: this turn's batch and the queue. */
  private get messageBytes(): number {
    return this.queuedBytes + this.batch.bytes;
  }

  /** Bytes waiting in the control lane. */
  private get controlBytes(): number {
    return this.controlQueuedBytes + this.control.bytes;
  }

  private refuse(): false {
    this.stats.refused++;
    return false;
  }

  /** Room for a heartbeat, gossip or an event (else it is dropped, counted). */
  private roomForControl(): boolean {
    if (this.controlBytes < this.bounds.control) return true;
    this.stats.droppedControl++;
    return false;
  }

  private dropAnswer(value: unknown): false {
    this.stats.droppedAnswers++;
    this.drops.answer(value);
    return false;
  }

  /**
   * Room for a system frame in a lane holding `bytes` (bound and reserve: `limit`). Past it
   * the frame is dropped (counted) and — unless the caller answers for it (`giveUp` false) —
   * the link is given up.
   */
  private roomForSystem(what: string, bytes: number, limit: number, giveUp = true): boolean {
    if (bytes < limit) return true;
    this.stats.droppedSystem++;
    if (giveUp) this.drops.overflow(what);
    return false;
  }

  /**
   * Encodes `frame` into this turn's message-lane batch (throws like `Codec.append`; nothing
   * is added then). `message`: the envelope of a tell, ask or forward (it takes window).
   */
  private append(frame: Frame, message?: Envelope): void {
    if (this.lost !== undefined) throw this.lost;
    this.codec.append(this.batch, frame);
    if (message !== undefined) {
      this.batchMessages++;
      if (message.credit !== undefined) (this.batchReleases ??= []).push(message);
    }
    if (this.batch.frames >= MAX_BATCH_FRAMES || this.batch.bytes >= MAX_BATCH_BYTES) this.flush();
    else this.endTurnLater();
  }

  /** Encodes `frame` into this turn's control-lane batch (throws like `Codec.appendControl`). */
  private appendControl(frame: Frame): void {
    if (this.lost !== undefined) throw this.lost;
    this.codec.appendControl(this.control, frame);
    if (this.control.frames >= MAX_BATCH_FRAMES || this.control.bytes >= MAX_BATCH_BYTES) this.flushControl();
    else this.endTurnLater();
  }

  private endTurnLater(): void {
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.endOfTurn);
    }
  }

  private readonly endOfTurn = (): void => {
    this.flushQueued = false;
    this.flush();
  };

  /** Whether a batch may be handed to the carrier right now (it is there and keeps up). */
  private ready(carrier: Carrier | undefined): carrier is Carrier {
    return carrier !== undefined && carrier.bufferedAmount < this.highWaterBytes;
  }

  /**
   * Sends what was appended this turn: the control lane's batch and the message lane's as one
   * buffer when both may go now (nothing waits, the carrier keeps up and the window has room);
   * otherwise each lane goes or waits on its own, the control lane first.
   */
  readonly flush = (): void => {
    if (this.closed) return;
    if (this.batch.empty) {
      this.flushControl();
      // what waits for a slow carrier goes on with every turn that sends (heartbeats, say)
      if (this.queue.length > 0) this.drain();
      return;
    }
    const carrier = this.carrier;
    const frames = this.batch.frames;
    const data = this.batch.take();
    const messages = this.batchMessages;
    const releases = this.batchReleases;
    this.batchMessages = 0;
    this.batchReleases = undefined;
    // the common case: nothing waits, the window has room and the carrier keeps up
    if (this.ready(carrier) && this.queue.length === 0 && this.controlQueue.length === 0 && (messages === 0 || this.credit > 0)) {
      const controlFrames = this.control.frames;
      const controlData = controlFrames === 0 ? undefined : this.control.take();
      const out = controlData === undefined ? data : concat(controlData, data);
      if (this.sendNow(carrier, out, frames + controlFrames, messages, releases)) return;
      // the carrier closed under us: both wait for the next one
      if (controlData !== undefined) {
        this.controlQueue.push({ data: controlData, frames: controlFrames, messages: 0, releases: undefined });
        this.controlQueuedBytes += held(controlData);
      }
      this.queue.push({ data, frames, messages, releases });
      this.queuedBytes += held(data);
      return;
    }
    this.flushControl();
    if (messages > 0 && this.credit <= 0) this.stats.heldForCredit++;
    this.queue.push({ data, frames, messages, releases });
    this.queuedBytes += held(data);
    this.drain();
  };

  /** Sends the control lane's batch (or queues it while the carrier is away or slow). */
  private flushControl(): void {
    if (this.closed || this.control.empty) return;
    const frames = this.control.frames;
    const data = this.control.take();
    const carrier = this.carrier;
    if (this.ready(carrier) && this.controlQueue.length === 0 && this.sendNow(carrier, data, frames, 0, undefined)) return;
    this.controlQueue.push({ data, frames, messages: 0, releases: undefined });
    this.controlQueuedBytes += held(data);
    this.drain();
  }

  /**
   * Hands `data` to the carrier; on success counts it (traffic, the window its messages take
   * — worked out from the buffer as sent, as the receiver will — and relayed messages given
   * back to their link). False if the carrier is closed.
   */
  private sendNow(carrier: Carrier, data: Uint8Array, frames: number, messages: number, releases: Envelope[] | undefined, written?: () => void): boolean {
    if (!carrier.send(data, written)) return false;
    if (messages > 0) this.credit -= messages * messageCharge(data.byteLength, frames);
    this.traffic.bytesOut += data.byteLength;
    this.traffic.framesOut += frames;
    if (releases !== undefined) for (const env of releases) releaseCredit(env);
    if (this.awaits) {
      this.awaits = false;
      carrier.answerExpected?.();
    }
    return true;
  }

  /**
   * Hands queued batches to the carrier while it keeps up (the written callback of the last
   * one resumes): the control lane's first, then the message lane's while the window has room
   * (a grant resumes).
   */
  private readonly drain = (): void => {
    const carrier = this.carrier;
    if (carrier === undefined) return;
    while (this.controlQueue.length > 0 && carrier.bufferedAmount < this.highWaterBytes) {
      const head = this.controlQueue.peek()!;
      const more = this.controlQueue.length > 1 || this.queue.length > 0;
      if (!this.sendNow(carrier, head.data, head.frames, 0, undefined, more ? this.drain : undefined)) return;
      this.controlQueue.shift();
      this.controlQueuedBytes -= held(head.data);
    }
    while (this.queue.length > 0 && carrier.bufferedAmount < this.highWaterBytes) {
      const head = this.queue.peek()!;
      if (head.messages > 0 && this.credit <= 0) return;
      if (!this.sendNow(carrier, head.data, head.frames, head.messages, head.releases, this.queue.length > 1 ? this.drain : undefined)) return;
      this.queue.shift();
      this.queuedBytes -= held(head.data);
    }
  };

  /** The receive window asks for a grant: sent at the end of the turn (so one grant covers a turn's releases). */
  private readonly grantDue = (): void => {
    if (this.grantQueued) return;
    this.grantQueued = true;
    queueMicrotask(this.sendGrant);
  };

  /**
   * Gives released window back to the other side: one CREDIT frame in a batch of its own,
   * straight to the carrier — never queued, so a grant never outlives its connection (without
   * a carrier the window is being replaced anyway).
   */
  private readonly sendGrant = (): void => {
    this.grantQueued = false;
    const carrier = this.carrier;
    const window = this.window;
    if (carrier === undefined || this.closed || !window.hasGrant) return;
    const data = this.codec.encode([CREDIT, window.takeGrant()]);
    if (carrier.send(data)) {
      this.traffic.bytesOut += data.byteLength;
      this.traffic.framesOut++;
    }
  };

  // ---- inbound ------------------------------------------------------------------------------

  /**
   * Decodes one inbound batch and hands its frames on. `fromLoop`: it arrived in a fresh
   * event-loop macrotask, so the dispatcher's per-turn budget starts afresh (batches read
   * while spinning do not reset it). Each message in it holds its share of this side's
   * window until it leaves this thread's memory; a node whose batch starts beyond what it was
   * granted is malformed (its link closes).
   */
  receive(bytes: Uint8Array, fromLoop = true, window: ReceiveWindow = this.window): void {
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
    let messages = 0;
    for (const f of frames) if (f[0] === TELL || f[0] === ASK || f[0] === FORWARD) messages++;
    const charge = messages === 0 ? 0 : messageCharge(bytes.byteLength, frames.length);
    if (messages > 0 && !window.admit(messages * charge) && this.checked && window === this.window) {
      this.handler.onMalformed(new ApiaryError(ErrorCodes.MALFORMED_FRAME, `the peer sent beyond its flow-control window (${window.granted} bytes granted)`));
      return;
    }
    for (const f of frames) {
      try {
        this.dispatch(f, charge, window);
      } catch (err) {
        // a frame that passed its checks but cannot be acted on: reported (a node's link goes), never the node
        this.handler.onMalformed(err);
        if (this.checked) return;
      }
      if (this.closed) return;
    }
  }

  private dispatch(f: Frame, charge: number, window: ReceiveWindow): void {
    const h = this.handler;
    switch (f[0]) {
      case TELL:
        return this.deliver(f[1], f[2], { msg: f[3], sender: f[5] ?? undefined, ask: 0, priority: f[4], replyTo: undefined, credit: window, charge });
      case ASK:
        return this.deliver(f[1], f[2], { msg: f[3], sender: f[5] ?? undefined, ask: f[6], priority: f[4], replyTo: this, credit: window, charge });
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
        const env: Envelope = { msg, sender: sender ?? undefined, ask, priority, replyTo: ask !== 0 ? this : undefined, credit: window, charge };
        if (h.onForward === undefined) return releaseCredit(env);
        try {
          return h.onForward(target, env);
        } catch (err) {
          releaseCredit(env);
          throw err;
        }
      }
      case FORWARD_SYS:
        return h.onForwardSys?.(f[1], f[2]);
      case CREDIT:
        // a grant of a replaced connection was for its window, not this one's
        if (window !== this.window) return;
        this.credit = Math.min(Number.MAX_SAFE_INTEGER, this.credit + f[1]);
        if (this.queue.length > 0) this.drain();
        return;
    }
  }

  /** A message for actor `thread`/`id` of this side; its window is given back if the handler throws. */
  private deliver(thread: number, id: number, env: Envelope): void {
    try {
      this.handler.onMessage(thread, id, env);
    } catch (err) {
      releaseCredit(env);
      throw err;
    }
  }

  /** The answer to a request that came in; past the bound and its reserve it is dropped and the link given up. */
  private respond(req: number, res: ResPayload): void {
    if (this.closed || !this.roomForSystem('request answer', this.controlBytes, this.bounds.system)) return;
    this.appendControl([RES, req, res]);
  }

  /**
   * Closes for good: open asks reject with `reason`, open (and later) requests get
   * `requestReason` as their answer, queued batches are dropped (counted; relayed messages in
   * them give their window back) and nothing more is sent.
   */
  close(reason: ApiaryError, requestReason: ApiaryError = reason): void {
    if (this.lost !== undefined) return;
    this.lost = reason;
    this.lostRequests = requestReason;
    for (const { replyTo, ask } of this.asks.drain()) replyTo.reject(ask, reason);
    const requests = [...this.requests.values()];
    this.requests.clear();
    for (const resolve of requests) resolve(failure(requestReason));
    let dropped = this.batch.frames + this.control.frames;
    for (const lane of [this.controlQueue, this.queue]) {
      for (const q of lane.drain()) {
        dropped += q.frames;
        if (q.releases !== undefined) for (const env of q.releases) releaseCredit(env);
      }
    }
    if (this.batchReleases !== undefined) for (const env of this.batchReleases) releaseCredit(env);
    this.batchReleases = undefined;
    this.stats.droppedOnClose += dropped;
    this.queuedBytes = 0;
    this.controlQueuedBytes = 0;
    this.batch.take();
    this.control.take();
    this.carrier = undefined;
    this.window.live = false;
  }
}

/** The memory a queued batch holds: its whole buffer (a large batch is a view of a buffer up to twice its size). */
function held(data: Uint8Array): number {
  return data.buffer.byteLength;
}

/** `a` then `b` in one buffer (one batch: the control lane's frames, then the message lane's). */
function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

function failure(err: ApiaryError): ResPayload {
  return { ok: false, error: { name: 'ApiaryError', message: err.message, code: err.code } };
}
