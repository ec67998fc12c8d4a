/**
 * ThreadPeer: another thread of this node, as this thread sees it — the trusted side of the
 * wire protocol.
 *
 * Owns: the endpoint to that thread over its MessagePort (PortCarrier, below), the children
 * this thread placed there and the watches its actors hold there (peer.ts); and what this
 * thread does with the frames that thread sends: delivering messages to this thread's cells (an unknown id: a dead letter, and an ask
 * rejects `ERR_ACTOR_STOPPED`), system messages for them (watch, unwatch, terminated, resume,
 * kill, exit-now, cancel), names registered or released there (the routes keep them), exit
 * reports of children this thread placed on the peer, lifecycle
 * requests from the peer (start, terminate, prepare-restart: the peer is this actor's parent
 * or the node's main thread), and on thread 0 what workers send for the node: events,
 * heartbeats, and messages and system messages for actors on other nodes (routed on through
 * this thread's routes). A frame that cannot be decoded is reported as a `failed` event.
 * Bounds: the link's receive window and outbound bound are TRANSPORT_DEFAULTS' (thread*); an
 * answer dropped past the bound is a dead letter `link-overflow` here (its asker times out),
 * and a system frame dropped past the reserve one too (and, once, a `failed` event for
 * `/thread-link/N`).
 * Does not own: the wire (endpoint.ts), deciding what a kill means (the cells do), or when
 * the thread is lost (the thread manager sees it exit; routes lose its peer).
 * Threads: the receiving thread.
 */
import type { ActorRef } from '../actors/actor-ref.js';
import type { SystemEvent } from '../actors/events.js';
import { ApiaryError, ErrorCodes, serializeError } from '../actors/foundation/errors.js';
import type { Host } from '../actors/host.js';
import { releaseCredit, type Envelope } from '../actors/mailbox.js';
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { Codec } from './codec.js';
import { TRANSPORT_DEFAULTS } from './defaults.js';
import { Endpoint, type Carrier, type FrameHandler } from './endpoint.js';
import type { Heartbeat, ReqPayload, ResPayload, SysPayload } from './frames.js';
import { LinkTarget } from './link-target.js';
import { HeldWatches, type Peer, type PlacedChild } from './peer.js';
import { LowLatencyLane, postBatch, type LaneOwner } from './low-latency-lane.js';
import type { Pollable, Spinner } from './spinner.js';
import type { PeerRoutes } from './peer-routes.js';

/** Where thread 0 puts what its workers report. */
export interface NodeSinks {
  heartbeat(beat: Heartbeat): void;
}

export class ThreadPeer implements Peer, FrameHandler {
  readonly endpoint: Endpoint;
  readonly carrier: PortCarrier;
  readonly children = new Map<string, PlacedChild>();
  readonly watches = new HeldWatches();
  /** A system frame for the peer was dropped past the link's bound (reported once). */
  private overflowReported = false;

  constructor(
    private readonly host: Host,
    private readonly routes: PeerRoutes,
    /** The other thread's index. */
    readonly peerThread: number,
    port: MessagePort,
    codec: Codec,
    private readonly sinks: NodeSinks | undefined,
  ) {
    this.endpoint = new Endpoint({
      codec,
      handler: this,
      dispatcher: host.dispatcher,
      trust: 'trusted',
      initialBatchBytes: 4096,
      windowBytes: TRANSPORT_DEFAULTS.threadWindowBytes,
      maxQueuedBytes: TRANSPORT_DEFAULTS.threadMaxQueuedBytes,
      drops: {
        // an answer for an asker on that thread, past the link's bound: it times out
        answer: (value) => host.deadLetter(`t${peerThread}/(answer)`, { msg: value, sender: undefined, ask: 0, priority: 2 }, 'link-overflow'),
        // reported once: the thread does not take what this one sends (its watchdog deals with a stuck one)
        overflow: (what) => {
          host.deadLetter(`t${peerThread}/(system)`, { msg: what, sender: undefined, ask: 0, priority: 0 }, 'link-overflow');
          if (this.overflowReported) return;
          this.overflowReported = true;
          host.emit({
            type: 'failed',
            path: `/thread-link/${peerThread}`,
            reason: { error: serializeError(new ApiaryError(ErrorCodes.BACKPRESSURE, `a ${what} for thread ${peerThread} was dropped: the link holds its bound and reserve`)) },
            at: host.clock.now(),
          });
        },
      },
    });
    const endpoint = this.endpoint;
    this.carrier = new PortCarrier(
      port,
      {
        thread: host.thread,
        peer: peerThread,
        receiveBatch: (data, fromLoop) => endpoint.receive(data, fromLoop),
        failed: (err) => this.onMalformed(err),
      },
      routes.spinner,
    );
    endpoint.attach(this.carrier);
  }

  /** The thread is gone (or this one stops): the port closes. */
  close(): void {
    this.carrier.close();
  }

  onMessage(_thread: number, id: number, env: Envelope): void {
    const cell = this.host.cell(id);
    if (cell !== undefined) {
      cell.deliver(env);
      return;
    }
    if (env.ask !== 0) env.replyTo!.reject(env.ask, new ApiaryError(ErrorCodes.ACTOR_STOPPED, `no actor ${id} on thread ${this.host.thread}`));
    this.host.deadLetter(`t${this.host.thread}/${id}`, env, 'unknown-actor');
  }

  onSys(thread: number, id: number, p: SysPayload): void {
    const host = this.host;
    if (p.k === 'exit') return this.children.get(`${thread}:${id}`)?.reported(p);
    if (p.k === 'name') return this.routes.nameFrom(this.peerThread, p.name, p.ref, p.live);
    if (p.k === 'lost') return this.children.get(`${thread}:${id}`)?.lost(p.reason);
    const cell = host.cell(id);
    switch (p.k) {
      case 'watch':
        if (cell !== undefined) return cell.addRemoteWatcher(p.watcher);
        // already dead (the watch came another way than what stopped it): its reason, if still known;
        // the watcher may be on another node (a watch relayed by thread 0)
        return host.sendTerminated(
          p.watcher,
          host.resolveRef({ node: host.node, incarnation: host.incarnation, thread: host.thread, id }, `t${host.thread}/${id}`),
          host.exitReasonOf(id),
        );
      case 'unwatch':
        return cell?.removeRemoteWatcher(p.watcher);
      case 'terminated': {
        // the watch this thread held on the peer's actor is over (relayed on if the watcher is elsewhere)
        const watcher = this.watches.ended(thread, id, p.ref);
        if (watcher !== undefined && watcher !== cell) return this.routes.notify(watcher, p.ref, p.reason);
        return cell?.notifyTerminated(p.ref, p.reason);
      }
      case 'resume':
        return cell?.resume();
      case 'kill':
        return cell?.kill(p.reason, p.final);
      case 'exit-now':
        return cell?.exitNow(p.reason);
      case 'cancel':
        return cell?.cancelAsk(this.endpoint, p.ask);
    }
  }

  onRequest(_thread: number, id: number, p: ReqPayload): Promise<ResPayload> {
    return lifecycleRequest(this.host, id, p);
  }

  onHeartbeat(beat: number | Heartbeat): void {
    if (typeof beat === 'object') this.sinks?.heartbeat(beat);
  }

  onEvent(event: SystemEvent): void {
    this.host.emitForeign(event);
  }

  /**
   * A worker's message for an actor on another node: delivered through this thread's route to
   * it (the worker link's window is given back once the node link takes it on, or it is dropped).
   */
  onForward(target: ActorRef, env: Envelope): void {
    try {
      target.target.deliver(env);
    } catch (err) {
      releaseCredit(env);
      if (env.ask !== 0) env.replyTo!.reject(env.ask, err);
    }
  }

  /** A worker's system message about an actor on another node. */
  onForwardSys(target: ActorRef, p: SysPayload): void {
    if (p.k === 'terminated') return this.host.sendTerminated(target, p.ref, p.reason);
    const route = target.target;
    if (!(route instanceof LinkTarget)) return;
    if (p.k === 'cancel') route.cancelFor(this.endpoint, p.ask);
    else if (p.k === 'watch' || p.k === 'unwatch') route.watchFor(p.watcher, p.k === 'watch');
  }

  onMalformed(err: unknown): void {
    this.host.emit({ type: 'failed', path: `/thread-link/${this.peerThread}`, reason: { error: serializeError(err) }, at: this.host.clock.now() });
  }
}

/** A lifecycle request from an actor's parent (or the node's main thread) for cell `id` of `host`. */
export async function lifecycleRequest(host: Host, id: number, p: ReqPayload): Promise<ResPayload> {
  const cell = host.cell(id);
  switch (p.k) {
    case 'start':
      if (cell === undefined) return { ok: false, error: { name: 'ApiaryError', message: `no actor ${id}`, code: ErrorCodes.ACTOR_STOPPED } };
      try {
        await cell.start();
        return { ok: true, incarnation: cell.incarnation, startedAt: cell.startedAt };
      } catch (err) {
        const cause = (err as { cause?: unknown }).cause;
        return { ok: false, error: serializeError(cause ?? err) };
      }
    case 'terminate':
      return { ok: true, reason: cell === undefined ? 'noproc' : await cell.terminate(p.reason) };
    case 'prepare-restart':
      if (cell !== undefined) await cell.prepareRestart(p.reason);
      return { ok: true };
    default:
      return { ok: false, error: { name: 'ApiaryError', message: `a thread does not take '${p.k}' requests`, code: ErrorCodes.UNSUPPORTED } };
  }
}

/**
 * PortCarrier: carries one thread link's batches over its MessagePort — or, in low-latency
 * mode, through a shared ring beside it (low-latency-lane.ts), the port staying the fallback
 * and the doorbell. Posts small batches cloned and larger ones transferred (never copied
 * twice). A port never holds data back, so `bufferedAmount` is 0. The port is unref'd: a
 * link never keeps a thread alive on its own.
 */
export class PortCarrier implements Carrier {
  /** The low-latency path, when the ring mode is on for this thread. */
  readonly lane: LowLatencyLane | undefined;
  /** The port, polled for answers after an ask (port mode). */
  private readonly poll: PortPoll | undefined;
  readonly bufferedAmount = 0;

  constructor(
    private readonly port: MessagePort,
    owner: LaneOwner,
    private readonly spinner: Spinner | undefined,
  ) {
    const lane = (this.lane = spinner?.mode === 'ring' ? new LowLatencyLane(owner, port, spinner, spinner.ringBytes) : undefined);
    if (lane !== undefined) port.on('message', (data: unknown) => lane.onPortMessage(data));
    else port.on('message', (data: Uint8Array) => owner.receiveBatch(data, true));
    if (spinner?.mode === 'port') spinner.attach((this.poll = new PortPoll(port, owner)));
    port.unref();
  }

  send(batch: Uint8Array): boolean {
    if (this.lane !== undefined) this.lane.send(batch);
    else postBatch(this.port, batch);
    return true;
  }

  answerExpected(): void {
    if (this.poll !== undefined) this.spinner!.request();
  }

  close(): void {
    this.lane?.close();
    if (this.poll !== undefined) this.spinner!.detach(this.poll);
    this.port.close();
  }
}

/**
 * A link's port as the spinner polls it (port mode): a batch taken off the port while polling
 * (`receiveMessageOnPort`, in port order; no 'message' event follows for it) is dispatched
 * when the spin ends.
 */
class PortPoll implements Pollable {
  private taken: Uint8Array[] = [];

  constructor(
    private readonly port: MessagePort,
    private readonly owner: LaneOwner,
  ) {}

  setAwake(): void {}

  hasData(): boolean {
    const m = receiveMessageOnPort(this.port);
    if (m === undefined) return false;
    this.taken.push(m.message as Uint8Array);
    return true;
  }

  drain(fromLoop: boolean): boolean {
    if (this.taken.length === 0) return false;
    const batches = this.taken;
    this.taken = [];
    for (const b of batches) this.owner.receiveBatch(b, fromLoop);
    return true;
  }
}
