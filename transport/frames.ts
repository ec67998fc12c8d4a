/**
 * The frames that cross a thread link, as msgpack tuples (small and fast to encode).
 *
 * Owns: the wire vocabulary between threads. Every frame on one link keeps its order, so
 * an exit report can never overtake the `started` reply of the same incarnation.
 */
import type { ActorRef } from '../actors/actor-ref.js';
import type { ExitReason } from '../actors/exit-reason.js';
import { serializeError, type SerializedError } from '../actors/foundation/errors.js';
import { assertPlainData } from './codec.js';

export const TELL = 0;
export const ASK = 1;
export const REPLY = 2;
export const FAIL = 3;
export const SYS = 4;
export const REQ = 5;
export const RES = 6;

export type TellFrame = [typeof TELL, target: number, msg: unknown, priority: number, sender: ActorRef | null];
export type AskFrame = [typeof ASK, target: number, msg: unknown, priority: number, sender: ActorRef | null, ask: number];
export type ReplyFrame = [typeof REPLY, ask: number, value: unknown];
export type FailFrame = [typeof FAIL, ask: number, error: SerializedError];
export type SysFrame = [typeof SYS, target: number, payload: SysPayload];
export type ReqFrame = [typeof REQ, target: number, req: number, payload: ReqPayload];
export type ResFrame = [typeof RES, req: number, payload: ResPayload];
export type Frame = TellFrame | AskFrame | ReplyFrame | FailFrame | SysFrame | ReqFrame | ResFrame;

/** One-way system messages, addressed to a cell on the receiving thread. */
export type SysPayload =
  | { k: 'exit'; child: number; incarnation: number; reason: ExitReason; resumable: boolean }
  | { k: 'watch'; watcher: ActorRef }
  | { k: 'unwatch'; watcher: ActorRef }
  | { k: 'terminated'; ref: ActorRef; reason: ExitReason }
  | { k: 'resume' }
  | { k: 'kill'; reason: ExitReason; final: boolean }
  | { k: 'exit-now'; reason: ExitReason }
  | { k: 'cancel'; ask: number };

/** Requests a parent makes of a child cell on another thread. */
export type ReqPayload = { k: 'start' } | { k: 'terminate'; reason: ExitReason } | { k: 'prepare-restart'; reason: ExitReason };

export type ResPayload =
  | { ok: true; incarnation?: number; startedAt?: number; reason?: ExitReason; thread?: number; id?: number; ref?: ActorRef | null }
  | { ok: false; error: SerializedError };

/**
 * The answer to an ask as a frame: the reply, or a failure if the value cannot cross
 * (not plain data). Thread links and node links share REPLY/FAIL numbers.
 */
export function answerFrame(id: number, value: unknown): ReplyFrame | FailFrame {
  try {
    assertPlainData(value, 'reply');
    return [REPLY, id, value];
  } catch (err) {
    return [FAIL, id, serializeError(err)];
  }
}
