/**
 * The wire protocol: one frame table for every link — between two threads of a node and
 * between two nodes — as msgpack tuples (small and fast to encode).
 *
 * Owns: the tags, the shape of every frame, and the payloads the runtime reads. An actor is
 * addressed by `thread` and `id` on the receiving side's node; asks and requests carry a
 * link-local wire id that the answer names. Frames on one link keep their order: messages
 * from one sender to one receiver stay in send order, and an exit report can never overtake
 * the answer to the start of the same incarnation.
 * Who may send what: a thread of the same node is trusted and may send every kind; a peer
 * node may send the kinds in {@link NODE_FRAME_KINDS} only, each checked field by field
 * before anything acts on it (transport/frame-checks.ts). See docs/architecture.md for the
 * table and how to add a kind.
 * Does not own: what a frame does (the endpoint's handler decides).
 */
import type { ActorRef } from '../actors/actor-ref.js';
import type { ExitReason } from '../actors/exit-reason.js';
import type { SystemEvent } from '../actors/events.js';
import { ApiaryError, MAX_CAUSE_DEPTH, serializeError, type SerializedError } from '../actors/foundation/errors.js';
import { assertPlainData } from './codec.js';

/** A user message: `[TELL, thread, id, msg, priority, sender]`. */
export const TELL = 0;
/** A user message whose answer is wanted: `[ASK, thread, id, msg, priority, sender, ask]`. */
export const ASK = 1;
/** The answer to ask `ask`: `[REPLY, ask, value]`. */
export const REPLY = 2;
/** The failure of ask `ask`: `[FAIL, ask, error]`. */
export const FAIL = 3;
/** A system message for actor `thread`/`id`: `[SYS, thread, id, payload]` (watch, exit, kill, …). */
export const SYS = 4;
/** A request (start, stop, spawn, lookup): `[REQ, thread, id, req, payload]`. */
export const REQ = 5;
/** The answer to request `req`: `[RES, req, payload]`. */
export const RES = 6;
/** A lifecycle or toolkit event for the main thread's `events$`: `[EVENT, event]` (threads only). */
export const EVENT = 7;
/** Liveness: `[HEARTBEAT, beat]` — a node's sequence number, or a thread's {@link Heartbeat}. */
export const HEARTBEAT = 8;
/** The member table, as one node sees it: `[GOSSIP, members]` (nodes only). */
export const GOSSIP = 9;
/**
 * A message from a worker thread for an actor on another node, routed by thread 0, which
 * holds the node links: `[FORWARD, target, msg, priority, sender, ask]` (threads only).
 */
export const FORWARD = 10;
/** A system message from a worker thread about an actor on another node: `[FORWARD_SYS, target, payload]` (threads only). */
export const FORWARD_SYS = 11;

/**
 * Flow control: the receiver gives `bytes` of its receive window back — messages it took
 * from this link were processed, dropped or handed on — so the sender may send that much
 * more: `[CREDIT, bytes]` (docs/architecture.md § Flow control).
 */
export const CREDIT = 12;

/** The kinds a peer node may send; anything else from a node closes its link. */
export const NODE_FRAME_KINDS: ReadonlySet<number> = new Set([TELL, ASK, REPLY, FAIL, SYS, REQ, RES, HEARTBEAT, GOSSIP, CREDIT]);

/**
 * The flow-control constants both ends of a link must agree on (part of the protocol): what a
 * sender may send on a fresh link before the receiver's first grant, and the fixed share of
 * the window one message costs beside its bytes (its envelope, frame and objects on the
 * receiving side). A message's charge is its batch's bytes per frame, rounded up, plus
 * `messageCost`: both ends work it out from the same batch (see {@link messageCharge}).
 */
export const FLOW_CONTROL = {
  /** Bytes of charge a sender may send on a new link before any grant. */
  initialCredit: 1024 * 1024,
  /** Charge per message beyond its share of the batch's bytes. */
  messageCost: 256,
} as const;

/** The window one user message (tell, ask, forward) of a batch of `bytes` and `frames` frames costs. */
export function messageCharge(bytes: number, frames: number): number {
  return Math.ceil(bytes / frames) + FLOW_CONTROL.messageCost;
}

/** What a thread says with its heartbeat: that its event loop turns, and how well. */
export interface Heartbeat {
  thread: number;
  /** Sender's clock, ms. */
  at: number;
  seq: number;
  /** Worst event-loop delay since the previous heartbeat, ms. */
  lagMs: number;
  /** Share of the interval the event loop was busy, 0…1. */
  utilization: number;
  actors: number;
  mailbox: number;
}

/** A member as one node tells the others about it. */
export interface GossipMember {
  node: string;
  incarnation: number;
  /** Where it accepts node links (`ws://host:port`), or '' if it does not listen. */
  url: string;
  state: string;
}

/** A one-way system message, addressed to an actor on the receiving side. */
export type SysPayload =
  | { k: 'watch'; watcher: ActorRef }
  | { k: 'unwatch'; watcher: ActorRef }
  /** To a watcher: `ref`, which it watched, died. */
  | { k: 'terminated'; ref: ActorRef; reason: ExitReason }
  /** From a child the receiver placed on the sender: it exited (its address is the frame's). */
  | { k: 'exit'; incarnation: number; reason: ExitReason; resumable: boolean }
  /** The worker thread that ran a child the receiver placed on the sender (a node) died. */
  | { k: 'lost'; reason: 'thread-crash' }
  /** Orders from the parent; a node accepts them only for children the sending node placed there. */
  | { k: 'kill'; reason: ExitReason; final: boolean }
  | { k: 'resume' }
  | { k: 'exit-now'; reason: ExitReason }
  /** The asker gave up on ask `ask` (the sender's wire id): the actor's signal for it aborts. */
  | { k: 'cancel'; ask: number }
  /**
   * Threads only, addressed to id 0 (the thread itself): `name` was registered to `ref`
   * (`live`) or released on the sending thread — a worker tells thread 0, which tells the others.
   */
  | { k: 'name'; name: string; ref: ActorRef; live: boolean };

/** Placing an actor on the receiving side (its class by module URL and export name). */
export interface SpawnRequest {
  k: 'spawn';
  module: string;
  exportName: string;
  args: unknown;
  path: string;
  mailbox?: { capacity?: number; overflow?: string };
  /** 0: the receiver's main thread; `auto`: its least-loaded worker (its main thread if it has none); n: its worker n. */
  thread: number | 'auto';
}

/** The ref registered under `name` on the receiving node (its answer: `{ ok: true, ref }`, `ref` null if none). */
export interface LookupRequest {
  k: 'lookup';
  name: string;
}

/** Lifecycle requests a parent makes of a child it placed, and the node-level requests. */
export type ReqPayload =
  | { k: 'start' }
  | { k: 'terminate'; reason: ExitReason }
  | { k: 'prepare-restart'; reason: ExitReason }
  | SpawnRequest
  | LookupRequest;

export type ResPayload =
  | { ok: true; incarnation?: number; startedAt?: number; reason?: ExitReason; thread?: number; id?: number; ref?: ActorRef | null }
  | { ok: false; error: SerializedError };

export type TellFrame = [typeof TELL, thread: number, id: number, msg: unknown, priority: number, sender: ActorRef | null];
export type AskFrame = [typeof ASK, thread: number, id: number, msg: unknown, priority: number, sender: ActorRef | null, ask: number];
export type ReplyFrame = [typeof REPLY, ask: number, value: unknown];
export type FailFrame = [typeof FAIL, ask: number, error: SerializedError];
export type SysFrame = [typeof SYS, thread: number, id: number, payload: SysPayload];
export type ReqFrame = [typeof REQ, thread: number, id: number, req: number, payload: ReqPayload];
export type ResFrame = [typeof RES, req: number, payload: ResPayload];
export type EventFrame = [typeof EVENT, event: SystemEvent];
export type HeartbeatFrame = [typeof HEARTBEAT, beat: number | Heartbeat];
export type GossipFrame = [typeof GOSSIP, members: GossipMember[]];
export type ForwardFrame = [typeof FORWARD, target: ActorRef, msg: unknown, priority: number, sender: ActorRef | null, ask: number];
export type ForwardSysFrame = [typeof FORWARD_SYS, target: ActorRef, payload: SysPayload];
export type CreditFrame = [typeof CREDIT, bytes: number];

export type Frame =
  | TellFrame
  | AskFrame
  | ReplyFrame
  | FailFrame
  | SysFrame
  | ReqFrame
  | ResFrame
  | EventFrame
  | HeartbeatFrame
  | GossipFrame
  | ForwardFrame
  | ForwardSysFrame
  | CreditFrame;

/** The answer to an ask as a frame: the reply, or a failure if the value cannot cross (not plain data). */
export function answerFrame(id: number, value: unknown): ReplyFrame | FailFrame {
  try {
    assertPlainData(value, 'reply');
    return [REPLY, id, value];
  } catch (err) {
    return [FAIL, id, serializeError(err)];
  }
}

/**
 * Rebuilds an error that crossed a link; apiary codes stay ApiaryErrors with the same code,
 * and its `cause` is rebuilt the same way (at most MAX_CAUSE_DEPTH deep; a cause that is not
 * an error's plain data — a peer node's frame is only checked for the outer message — is left out).
 */
export function errorFrom(e: SerializedError): Error {
  return rebuild(e, 0);
}

function rebuild(e: SerializedError, depth: number): Error {
  const c = e.cause;
  const cause = depth < MAX_CAUSE_DEPTH && isSerializedError(c) ? rebuild(c, depth + 1) : undefined;
  const options = cause === undefined ? undefined : { cause };
  if (typeof e.code === 'string' && e.code.startsWith('ERR_')) {
    const err = new ApiaryError(e.code as ApiaryError['code'], e.message, options ?? {});
    if (typeof e.stack === 'string' && e.stack) err.stack = e.stack;
    return err;
  }
  const err = new Error(e.message, options);
  if (typeof e.name === 'string') err.name = e.name;
  if (typeof e.code === 'string') (err as Error & { code?: string }).code = e.code;
  if (typeof e.stack === 'string' && e.stack) err.stack = e.stack;
  return err;
}

function isSerializedError(v: unknown): v is SerializedError {
  return typeof v === 'object' && v !== null && typeof (v as { message?: unknown }).message === 'string';
}
