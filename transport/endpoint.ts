/**
 * Endpoint: this side of one link — to another thread of this node, or to another node —
 * whatever carries it.
 *
 * Owns: the outbound batch (every frame of one turn encoded into one buffer, sent at the end
 * of the turn — a microtask — or at once at MAX_BATCH_FRAMES, so the receiver handles each
 * batch while it is young, cheap for its GC); flow control (docs/architecture.md § Flow
 * control): batches holding messages go out only while the receiver's window has room (its
 * CREDIT frames give room back), the others wait in order in a bounded outbound queue, as
 * they do while the carrier is slow (above `highWaterBytes` unsent) or away; answers,
 * heartbeats and gossip overtake messages waiting for the window (a second, control lane),
 * so a slow receiver never silences a link or holds up the answer an actor waits for.
 * Bounds (`maxQueuedBytes`): past it a message is refused (the caller makes it a dead letter,
 * an ask rejects `ERR_BACKPRESSURE`), an answer to an ask is dropped (a dead letter through
 * `dropped`; the asker times out), heartbeats, gossip and events are dropped (counted);
 * system frames (watch, exit, lifecycle requests and their answers) have a reserve above the
 * bound, past which they are dropped too and `overflow` gives the link up. On the receiving
 * side: this side's receive window (receive-window.ts) — each message carries its charge
 * until it leaves this thread's memory — and its grants; a node that sends beyond what it was
 * granted is malformed. Also: asks and requests in flight under link-local wire ids (answers
 * go back to whoever asked: an actor's registry, or another endpoint relaying the ask),
 * answers to asks that came in, decoding inbound batches — trusted from a thread of this
 * node, checked field by field from a node (transport/frame-checks.ts) — and handing each
 * frame to its handler.
 * Does not own: what a frame means for actors (the handler: a thread's or a node's), the
 * carrier (a MessagePort, a WebSocket), membership or reconnecting.
 * Order: one endpoint and one carrier per pair, so frames keep their order — messages and
 * system frames among themselves; answers, heartbeats and gossip may overtake them.
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
   * Refuse messages once this many bytes wait (in the batches and the queues); answers,
   * heartbeats, gossip and events are dropped past it, system frames past it plus
   * `TRANSPORT_DEFAULTS.systemReserve` of it. Default: no limit.
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
  /** Window it takes (0: no messages in it). */
  charge: number;
  /** Messages relayed from another link, given back to that link's window once this batch leaves. */
  releases: Envelope[] | undefined;
}

const NO_DROPS: LinkDrops = { answer() {}, overflow() {} };

export class Endpoint implements AskReplyTo {
  private carrier: Carrier | undefined;
  private readonly batch: BatchWriter;
  /** Messages (tells, asks, forwards) in this turn's batch: the window it takes. */
  private batchMessages = 0;
  /** Relayed messages in this turn's batch (see {@link Queued.releases}). */
  private batchReleases: Envelope[] | undefined;
  /** The control lane's batch this turn: answers, heartbeats, gossip while messages wait (made on first use). */
  private control: BatchWriter | undefined;
  private flushQueued = false;
  /** This turn's batch holds an ask or a request (the carrier is told once it is sent). */
  private awaits = false;
  /** Batches of messages and system frames, in order, waiting for the window or the carrier. */
  private readonly queue = new Deque<Queued>();
  /** Control-lane batches waiting for the carrier (they never wait for the window). */
  private readonly controlQueue = new Deque<Queued>();
  private queuedBytes = 0;
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
  private readonly maxQueuedBytes: number;
  /** The bound for system frames: `maxQueuedBytes` plus its reserve. */
  private readonly maxSystemBytes: number;
  /** The control lane's bound. */
  private readonly maxControlBytes: number;
  /** Bytes in the control lane's queue. */
  private controlQueuedBytes = 0;
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
    this.maxQueuedBytes = options.maxQueuedBytes ?? Infinity;
    this.maxSystemBytes = this.maxQueuedBytes * (1 + TRANSPORT_DEFAULTS.systemReserve);
    this.maxControlBytes = this.maxQueuedBytes * TRANSPORT_DEFAULTS.controlShare;
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
   * `queuedBytes` waiting here, and of this side's window what the other side holds here
   * (`outstanding`: arrived and not yet processed, dropped or handed on).
   */
  get flow(): { credit: number; queuedBytes: number; outstanding: number; windowBytes: number } {
    return { credit: this.credit, queuedBytes: this.waiting, outstanding: this.window.outstanding, windowBytes: this.window.windowBytes };
  }

  /**
   * Sends through `carrier` from now on, starting with what waited for it. A new connection:
   * flow control starts afresh on both sides (this side may send the initial credit; its own
   * window is granted to the other side at once).
   */
  attach(carrier: Carrier): void {
    this.carrier = carrier;
    this.credit = FLOW_CONTROL.initialCredit;
    this.window.live = false;
    this.window = new ReceiveWindow(this.options.windowBytes, this.grantDue);
    this.sendGrant();
    this.drain();
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
    if (this.full()) return this.refuse();
    const sender = (env.sender as ActorRef | undefined) ?? null;
    if (env.ask === 0) this.append([TELL, thread, id, env.msg, env.priority, sender], env);
    else {
      const wire = this.nextAsk++;
      this.append([ASK, thread, id, env.msg, env.priority, sender, wire], env);
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
    if (env.ask !== 0) wire = this.nextAsk;
    this.append([FORWARD, target, env.msg, env.priority, sender, wire], env);
    if (env.ask !== 0) {
      this.nextAsk++;
      this.asks.add(wire, env.replyTo!, env.ask);
      this.awaits = true;
    }
    return true;
  }

  sendSys(thread: number, id: number, payload: SysPayload): void {
    if (this.closed || !this.roomForSystem('system message')) return;
    this.append([SYS, thread, id, payload]);
  }

  /** A system message about `target`, an actor on another node, for the other side (thread 0) to route. */
  forwardSys(target: ActorRef, payload: SysPayload): void {
    if (this.closed || !this.roomForSystem('system message')) return;
    this.append([FORWARD_SYS, target, payload]);
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
   * error result once closed (or at once, `ERR_BACKPRESSURE`, when the link holds its bound
   * and reserve).
   */
  request(thread: number, id: number, payload: ReqPayload): Promise<ResPayload> {
    if (this.lostRequests !== undefined) return Promise.resolve(failure(this.lostRequests));
    if (!this.roomForSystem('request', false)) return Promise.resolve(failure(new ApiaryError(ErrorCodes.BACKPRESSURE, 'the link holds as much as it may')));
    const req = this.nextReq++;
    return new Promise((resolve) => {
      this.requests.set(req, resolve);
      this.append([REQ, thread, id, req, payload]);
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
    if (this.closed) return;
    if (this.full()) {
      this.stats.droppedControl++;
      return;
    }
    try {
      this.append([EVENT, event]);
    } catch {
      // a reason holding something odd
    }
  }

  /**
   * AskReplyTo: the answer to an ask that came in through here. Past the bound it is dropped
   * (a dead letter through `drops`; the asker times out) and false is returned.
   */
  resolve(id: number, value: unknown): boolean {
    if (this.closed) return false;
    if (!this.controlHasRoom()) return this.dropAnswer(value);
    this.appendControl(answerFrame(id, value));
    return true;
  }

  reject(id: number, err: unknown): boolean {
    if (this.closed) return false;
    if (!this.controlHasRoom()) return this.dropAnswer(err);
    this.appendControl([FAIL, id, serializeError(err)]);
    return true;
  }

  /** Bytes waiting here: this turn's batches and both queues. */
  private get waiting(): number {
    return this.queuedBytes + this.controlQueuedBytes + this.batch.bytes + (this.control === undefined ? 0 : this.control.bytes);
  }

  /**
   * Whether a control frame may be added: always while nothing waits (it goes in this turn's
   * batch); otherwise while the control lane holds less than its bound.
   */
  private controlHasRoom(): boolean {
    if (this.queue.length === 0 && this.credit > 0) return true;
    return this.controlQueuedBytes + (this.control === undefined ? 0 : this.control.bytes) < this.maxControlBytes;
  }

  private full(): boolean {
    return this.waiting >= this.maxQueuedBytes;
  }

  private refuse(): false {
    this.stats.refused++;
    return false;
  }

  /** Room for a heartbeat or gossip (else it is dropped, counted). */
  private roomForControl(): boolean {
    if (this.controlHasRoom()) return true;
    this.stats.droppedControl++;
    return false;
  }

  private dropAnswer(value: unknown): false {
    this.stats.droppedAnswers++;
    this.drops.answer(value);
    return false;
  }

  /**
   * Room for a system frame: the bound plus its reserve. Past it the frame is dropped
   * (counted) and — unless the caller answers for it (`giveUp` false) — the link is given up.
   */
  private roomForSystem(what: string, giveUp = true): boolean {
    if (this.waiting < this.maxSystemBytes) return true;
    this.stats.droppedSystem++;
    if (giveUp) this.drops.overflow(what);
    return false;
  }

  /**
   * Encodes `frame` into this turn's batch (throws like `Codec.append`; nothing is added
   * then). `message`: the envelope of a tell, ask or forward (it takes window).
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

  /**
   * An answer, heartbeat or gossip: in this turn's batch as usual, but into the control lane
   * while messages wait for the window (or the carrier), so it overtakes them.
   */
  private appendControl(frame: Frame): void {
    if (this.queue.length === 0 && this.credit > 0) return this.append(frame);
    if (this.lost !== undefined) throw this.lost;
    const control = (this.control ??= new BatchWriter(1024));
    this.codec.appendControl(control, frame);
    if (control.frames >= MAX_BATCH_FRAMES || control.bytes >= MAX_BATCH_BYTES) this.flushControl();
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

  /**
   * Sends everything appended this turn: the control lane's batch, then the batch — at once
   * when nothing waits, the carrier keeps up and (if it holds messages) the window has room;
   * queued otherwise.
   */
  readonly flush = (): void => {
    if (this.closed) return;
    if (this.control !== undefined && !this.control.empty) this.flushControl();
    if (this.batch.empty) return;
    const frames = this.batch.frames;
    const data = this.batch.take();
    const messages = this.batchMessages;
    const releases = this.batchReleases;
    this.batchMessages = 0;
    this.batchReleases = undefined;
    const charge = messages === 0 ? 0 : messages * messageCharge(data.byteLength, frames);
    const awaits = this.awaits;
    this.awaits = false;
    const carrier = this.carrier;
    // the common case: nothing waits, the window has room and the carrier keeps up
    if (
      carrier !== undefined &&
      this.queue.length === 0 &&
      this.controlQueue.length === 0 &&
      (charge === 0 || this.credit > 0) &&
      carrier.bufferedAmount < this.highWaterBytes &&
      carrier.send(data)
    ) {
      this.credit -= charge;
      this.traffic.bytesOut += data.byteLength;
      this.traffic.framesOut += frames;
      if (releases !== undefined) for (const env of releases) releaseCredit(env);
      if (awaits) carrier.answerExpected?.();
      return;
    }
    if (charge > 0 && this.credit <= 0) this.stats.heldForCredit++;
    this.queue.push({ data, frames, charge, releases });
    this.queuedBytes += held(data);
    this.drain();
  };

  /** Sends the control lane's batch (or queues it while the carrier is slow or away). */
  private flushControl(): void {
    const control = this.control!;
    const frames = control.frames;
    const data = control.take();
    const carrier = this.carrier;
    if (carrier !== undefined && this.controlQueue.length === 0 && carrier.bufferedAmount < this.highWaterBytes && carrier.send(data)) {
      this.traffic.bytesOut += data.byteLength;
      this.traffic.framesOut += frames;
      return;
    }
    this.controlQueue.push({ data, frames, charge: 0, releases: undefined });
    this.controlQueuedBytes += held(data);
    this.drain();
  }

  /**
   * Hands queued batches to the carrier while it keeps up (its written callback resumes):
   * the control lane's first, then the others in order while the window has room (a grant
   * resumes).
   */
  private readonly drain = (): void => {
    const carrier = this.carrier;
    if (carrier === undefined) return;
    for (const lane of [this.controlQueue, this.queue]) {
      while (lane.length > 0 && carrier.bufferedAmount < this.highWaterBytes) {
        const head = lane.peek()!;
        if (head.charge > 0 && this.credit <= 0) break;
        if (!carrier.send(head.data, lane.length > 1 || (lane === this.controlQueue && this.queue.length > 0) ? this.drain : undefined)) return;
        lane.shift();
        if (lane === this.queue) this.queuedBytes -= held(head.data);
        else this.controlQueuedBytes -= held(head.data);
        this.credit -= head.charge;
        this.traffic.bytesOut += head.data.byteLength;
        this.traffic.framesOut += head.frames;
        if (head.releases !== undefined) for (const env of head.releases) releaseCredit(env);
      }
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
    let messages = 0;
    for (const f of frames) if (f[0] === TELL || f[0] === ASK || f[0] === FORWARD) messages++;
    const charge = messages === 0 ? 0 : messageCharge(bytes.byteLength, frames.length);
    if (messages > 0 && !this.window.admit(messages * charge) && this.checked) {
      this.handler.onMalformed(new ApiaryError(ErrorCodes.MALFORMED_FRAME, `the peer sent beyond its flow-control window (${this.window.granted} bytes granted)`));
      return;
    }
    for (const f of frames) {
      try {
        this.dispatch(f, charge);
      } catch (err) {
        // a frame that passed its checks but cannot be acted on: reported (a node's link goes), never the node
        this.handler.onMalformed(err);
        if (this.checked) return;
      }
      if (this.closed) return;
    }
  }

  private dispatch(f: Frame, charge: number): void {
    const h = this.handler;
    switch (f[0]) {
      case TELL:
        return this.deliver(f[1], f[2], { msg: f[3], sender: f[5] ?? undefined, ask: 0, priority: f[4], replyTo: undefined, credit: this.window, charge });
      case ASK:
        return this.deliver(f[1], f[2], { msg: f[3], sender: f[5] ?? undefined, ask: f[6], priority: f[4], replyTo: this, credit: this.window, charge });
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
        const env: Envelope = { msg, sender: sender ?? undefined, ask, priority, replyTo: ask !== 0 ? this : undefined, credit: this.window, charge };
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
    if (this.closed || !this.roomForSystem('request answer')) return;
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
    let dropped = this.batch.frames + (this.control?.frames ?? 0);
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
    this.control?.take();
    this.carrier = undefined;
    this.window.live = false;
  }
}

/** The memory a queued batch holds: its whole buffer (a large batch is a view of a buffer up to twice its size). */
function held(data: Uint8Array): number {
  return data.buffer.byteLength;
}

function failure(err: ApiaryError): ResPayload {
  return { ok: false, error: { name: 'ApiaryError', message: err.message, code: err.code } };
}
