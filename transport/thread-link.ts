/**
 * ThreadLink: the data plane between two threads of one node, over one MessagePort.
 *
 * Owns: batching (every frame sent in one turn goes out as one msgpack buffer, flushed in a
 * microtask and transferred, not copied), decoding inbound batches and handing each frame
 * to the host, asks and system requests in flight to the peer (rejected at once if the
 * peer thread dies), and replies to asks that came from the peer.
 * Order: one port per pair of threads, so frames from one thread to another keep their order.
 * Low-latency mode (`lowLatency`, transport/spinner.ts): batches go through a shared ring
 * beside the port instead (transport/low-latency-lane.ts), in the same order.
 * Does not own: what a frame means for an actor (the host and cells decide).
 */
import type { MessagePort } from 'node:worker_threads';
import type { ActorRef } from '../actors/actor-ref.js';
import type { Envelope, AskReplyTo } from '../actors/mailbox.js';
import type { SystemEvent } from '../actors/events.js';
import type { ExitReason } from '../actors/exit-reason.js';
import type { Host } from '../actors/host.js';
import type { Heartbeat } from '../runtime/observability/heartbeat.js';
import { ApiaryError, ErrorCodes, serializeError, type SerializedError } from '../actors/foundation/errors.js';
import { assertPlainData, type Codec } from './codec.js';
import { TurnBatch } from './turn-batch.js';
import { WireAsks } from './wire-asks.js';
import { laneFor } from './spinner.js';
import { postBatch, type LowLatencyLane } from './low-latency-lane.js';
import {
  ASK,
  FAIL,
  REPLY,
  REQ,
  RES,
  SYS,
  TELL,
  answerFrame,
  type Frame,
  type ReqPayload,
  type ResPayload,
  type SysPayload,
} from './frames.js';


/** Events forwarded to the main thread's `events$` ride the same batches. */
export const EVT = 7;
/** So do heartbeats. */
export const HB = 8;
/** A message from a worker for an actor on another node, routed by thread 0: [FWD, target ref, msg, priority, sender, ask]. */
export const FWD = 9;
/** A `terminated` from a worker for a watcher on another node: [FWD_TERMINATED, watcher, ref, reason]. */
export const FWD_TERMINATED = 10;
/** A worker's asker gave up on a forwarded ask: [FWD_CANCEL, target ref, ask]. */
export const FWD_CANCEL = 11;
/** A worker's cell watches (1) or unwatches (0) an actor on another node: [FWD_WATCH, watcher ref, target ref, on]. */
export const FWD_WATCH = 12;

/** What the host does with inbound frames it does not route to a cell itself. */
export interface LinkHandler {
  onSys(link: ThreadLink, target: number, payload: SysPayload): void;
  onReq(link: ThreadLink, target: number, payload: ReqPayload): Promise<ResPayload>;
  onEvent(event: SystemEvent): void;
  onHeartbeat(heartbeat: Heartbeat): void;
}

export class ThreadLink implements AskReplyTo {
  private readonly batch: TurnBatch;
  private readonly inflightAsks = new Set<number>();
  /** Asks relayed for someone else (a node session): negative wire ids → where the answer goes. */
  private readonly relayed = new WireAsks(100_000);
  private nextRelay = 1;
  private readonly requests = new Map<number, (res: ResPayload) => void>();
  private nextReq = 1;
  closed = false;
  /** Frames sent and received, for metrics. */
  sent = 0;
  received = 0;
  /** The low-latency path, when the mode is on for this thread. */
  readonly lane: LowLatencyLane | undefined;

  constructor(
    readonly host: Host,
    readonly peer: number,
    private readonly port: MessagePort,
    private readonly codec: Codec,
    private readonly handler: LinkHandler,
  ) {
    this.batch = new TurnBatch(codec, 4096, () => this.flush());
    this.lane = laneFor(this, port);
    const lane = this.lane;
    if (lane !== undefined) port.on('message', (data: unknown) => lane.onPortMessage(data));
    else port.on('message', (data: Uint8Array) => this.receiveBatch(data, true));
    port.unref();
  }

  // ---- outbound -------------------------------------------------------------------------

  /**
   * Queues a tell or ask for cell `target` on the peer. Throws `ERR_UNSERIALIZABLE` or
   * `ERR_MESSAGE_TOO_LARGE` at the sender; nothing is sent then.
   */
  sendMessage(target: number, env: Envelope): void {
    assertPlainData(env.msg);
    const sender = (env.sender as ActorRef | undefined) ?? null;
    if (env.ask === 0) {
      this.append([TELL, target, env.msg, env.priority, sender]);
    } else if (env.replyTo === this.host.asks) {
      this.append([ASK, target, env.msg, env.priority, sender, env.ask]);
      this.inflightAsks.add(env.ask);
      if (this.inflightAsks.size > 10_000) this.pruneAsks();
    } else {
      // an ask from another node: the answer goes back to its session, not to this host's asks
      const wire = -this.nextRelay++;
      this.append([ASK, target, env.msg, env.priority, sender, wire]);
      this.relayed.add(wire, env.replyTo!, env.ask);
    }
  }

  /**
   * Queues a tell or ask for an actor on another node; thread 0 (the peer of this link)
   * routes it over its node session. Throws like {@link sendMessage}.
   */
  forwardMessage(target: ActorRef, env: Envelope): void {
    assertPlainData(env.msg);
    this.append([FWD, target, env.msg, env.priority, (env.sender as ActorRef | undefined) ?? null, env.ask] as unknown as Frame);
    if (env.ask !== 0) this.inflightAsks.add(env.ask);
  }

  /** Tells a watcher on another node, through thread 0, that `ref` died. */
  forwardTerminated(watcher: ActorRef, ref: ActorRef, reason: unknown): void {
    if (this.closed) return;
    this.append([FWD_TERMINATED, watcher, ref, reason] as unknown as Frame);
  }

  /** A cell of this worker watches (`on`) or unwatches an actor on another node, through thread 0. */
  forwardWatch(watcher: ActorRef, target: ActorRef, on: boolean): void {
    if (this.closed) return;
    this.append([FWD_WATCH, watcher, target, on ? 1 : 0] as unknown as Frame);
  }

  /** The asker gave up on a forwarded ask (see {@link forwardMessage}). */
  forwardCancel(target: ActorRef, ask: number): void {
    if (this.closed) return;
    this.inflightAsks.delete(ask);
    this.append([FWD_CANCEL, target, ask] as unknown as Frame);
  }

  /**
   * An ask relayed here for `replyTo` (a node session) was cancelled by its asker: the
   * target's signal for it aborts on the peer thread, and a late answer is dropped.
   */
  cancelRelayed(replyTo: AskReplyTo, ask: number, target: number): void {
    const wire = this.relayed.takeByAsker(replyTo, ask);
    if (wire !== undefined) this.sendSys(target, { k: 'cancel', ask: wire });
  }

  sendSys(target: number, payload: SysPayload): void {
    if (this.closed) return;
    this.append([SYS, target, payload]);
  }

  /** Sends a request to cell `target`; resolves with its answer, or an error if the peer dies. */
  request(target: number, payload: ReqPayload): Promise<ResPayload> {
    if (this.closed) return Promise.resolve(threadGone(this.peer));
    const id = this.nextReq++;
    return new Promise((resolve) => {
      this.requests.set(id, resolve);
      this.append([REQ, target, id, payload]);
    });
  }

  sendHeartbeat(heartbeat: Heartbeat): void {
    if (this.closed) return;
    this.append([HB, heartbeat] as unknown as Frame);
  }

  sendEvent(event: SystemEvent): void {
    if (this.closed) return;
    try {
      this.append([EVT, event] as unknown as Frame);
    } catch {
      // an event that cannot be encoded (a reason holding something odd) is not worth a crash
    }
  }

  /** AskReplyTo: the answer to an ask that came from the peer. */
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

  private append(frame: Frame): void {
    if (this.closed) throw new ApiaryError(ErrorCodes.THREAD_GONE, `thread ${this.peer} is gone`);
    this.batch.add(frame);
    this.sent++;
  }

  /** Sends everything queued as one buffer (transferred, or through the low-latency ring). */
  readonly flush = (): void => {
    if (this.batch.empty || this.closed) return;
    const data = this.batch.take();
    if (this.lane !== undefined) this.lane.send(data);
    else postBatch(this.port, data);
  };

  private pruneAsks(): void {
    for (const id of this.inflightAsks) if (!this.host.asks.isOpen(id)) this.inflightAsks.delete(id);
  }

  // ---- inbound --------------------------------------------------------------------------

  /**
   * Decodes one inbound batch and dispatches its frames. `fromLoop`: it arrived in a fresh
   * macrotask (a port message), so the dispatcher's per-turn budget starts afresh; batches
   * read while spinning do not reset it.
   */
  receiveBatch(data: Uint8Array, fromLoop: boolean): void {
    if (fromLoop) this.host.dispatcher.enteredFromEventLoop();
    let frames: unknown[];
    try {
      frames = this.codec.decodeBatch(data);
    } catch (err) {
      this.host.emit({
        type: 'failed',
        path: `/thread-link/${this.peer}`,
        reason: { error: serializeError(err) },
        at: this.host.clock.now(),
      });
      return;
    }
    for (const f of frames) this.dispatch(f as Frame);
  }

  private dispatch(frame: Frame): void {
    this.received++;
    switch (frame[0]) {
      case TELL:
      case ASK: {
        const [, target, msg, priority, sender] = frame;
        const ask = frame[0] === ASK ? frame[5] : 0;
        const env: Envelope = { msg, sender: sender ?? undefined, ask, priority, replyTo: ask !== 0 ? this : undefined };
        const cell = this.host.cell(target);
        if (cell !== undefined) cell.deliver(env);
        else {
          if (ask !== 0) this.reject(ask, new ApiaryError(ErrorCodes.ACTOR_STOPPED, `no actor ${target} on thread ${this.host.thread}`));
          this.host.deadLetter(`t${this.host.thread}/${target}`, env, 'unknown-actor');
        }
        return;
      }
      case REPLY:
      case FAIL: {
        const relay = frame[1] < 0 ? this.relayed.take(frame[1]) : undefined;
        if (frame[1] < 0 && relay === undefined) return; // a relayed ask its asker cancelled: nobody waits for it
        if (relay === undefined) this.inflightAsks.delete(frame[1]);
        const to = relay?.replyTo ?? this.host.asks;
        const ask = relay?.ask ?? frame[1];
        if (frame[0] === REPLY) to.resolve(ask, frame[2]);
        else to.reject(ask, errorFrom(frame[2]));
        return;
      }
      case SYS:
        this.handler.onSys(this, frame[1], frame[2]);
        return;
      case REQ: {
        const [, target, id, payload] = frame;
        this.handler.onReq(this, target, payload).then(
          (res) => this.respond(id, res),
          (err: unknown) => this.respond(id, { ok: false, error: serializeError(err) }),
        );
        return;
      }
      case RES: {
        const resolve = this.requests.get(frame[1]);
        if (resolve) {
          this.requests.delete(frame[1]);
          resolve(frame[2]);
        }
        return;
      }
      default:
        if ((frame as unknown[])[0] === EVT) this.handler.onEvent((frame as unknown[])[1] as SystemEvent);
        else if ((frame as unknown[])[0] === HB) this.handler.onHeartbeat((frame as unknown[])[1] as Heartbeat);
        else if ((frame as unknown[])[0] === FWD) this.forwarded(frame as unknown as [number, ActorRef, unknown, number, ActorRef | null, number]);
        else if ((frame as unknown[])[0] === FWD_WATCH) {
          const [, watcher, target, on] = frame as unknown as [number, ActorRef, ActorRef, number];
          (target.target as { watchFor?(watcher: ActorRef, on: boolean): void }).watchFor?.(watcher, on === 1);
        } else if ((frame as unknown[])[0] === FWD_CANCEL) {
          const [, target, ask] = frame as unknown as [number, ActorRef, number];
          (target.target as { cancelFor?(replyTo: AskReplyTo, id: number): void }).cancelFor?.(this, ask);
        } else if ((frame as unknown[])[0] === FWD_TERMINATED) {
          const [, watcher, ref, reason] = frame as unknown as [number, ActorRef, ActorRef, ExitReason];
          this.host.sendTerminated(watcher, ref, reason);
        }
    }
  }

  /** A worker's message for another node: delivered through the ref (a node route on this thread). */
  private forwarded([, target, msg, priority, sender, ask]: [number, ActorRef, unknown, number, ActorRef | null, number]): void {
    const env: Envelope = { msg, sender: sender ?? undefined, ask, priority, replyTo: ask !== 0 ? this : undefined };
    try {
      target.target.deliver(env);
    } catch (err) {
      if (ask !== 0) this.reject(ask, err);
    }
  }

  private respond(id: number, res: ResPayload): void {
    if (this.closed) return;
    this.append([RES, id, res]);
  }

  /**
   * The peer thread is gone: open asks to it reject `ERR_ACTOR_STOPPED`, open requests get
   * a `ERR_THREAD_GONE` answer, and nothing more is sent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.lane?.close();
    for (const id of this.inflightAsks) {
      this.host.asks.reject(id, new ApiaryError(ErrorCodes.ACTOR_STOPPED, `thread ${this.peer} is gone`));
    }
    this.inflightAsks.clear();
    for (const { replyTo, ask } of this.relayed.drain()) replyTo.reject(ask, new ApiaryError(ErrorCodes.ACTOR_STOPPED, `thread ${this.peer} is gone`));
    const requests = [...this.requests.values()];
    this.requests.clear();
    for (const resolve of requests) resolve(threadGone(this.peer));
    this.port.close();
  }
}

function threadGone(peer: number): ResPayload {
  return { ok: false, error: { name: 'ApiaryError', message: `thread ${peer} is gone`, code: ErrorCodes.THREAD_GONE } };
}

/** Rebuilds an error that crossed a thread; apiary codes stay ApiaryErrors with the same code. */
export function errorFrom(e: SerializedError): Error {
  if (e.code !== undefined && e.code.startsWith('ERR_')) {
    const err = new ApiaryError(e.code as ApiaryError['code'], e.message);
    if (e.stack) err.stack = e.stack;
    return err;
  }
  const err = new Error(e.message);
  err.name = e.name;
  if (e.code !== undefined) (err as Error & { code?: string }).code = e.code;
  if (e.stack) err.stack = e.stack;
  return err;
}
