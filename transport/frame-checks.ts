/**
 * The checks every frame from a peer node passes before anything acts on it.
 *
 * Owns: validating kind and shape field by field — refs are refs, reasons are reasons, ids
 * are integers, strings are bounded — for the kinds a node may send (transport/frames.ts,
 * NODE_FRAME_KINDS). A peer is untrusted: a frame of another kind or the wrong shape is
 * malformed, and the caller closes that link (never the node). Message bodies are the
 * receiving actor's business.
 * Does not own: the frame table (frames.ts) or what a frame does (the endpoint's handler).
 */
import { ActorRef } from '../actors/actor-ref.js';
import { ApiaryError, ErrorCodes } from '../actors/foundation/errors.js';
import { ASK, CREDIT, FAIL, GOSSIP, HEARTBEAT, REPLY, REQ, RES, SYS, TELL, type Frame } from './frames.js';

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const SYS_KINDS = new Set(['watch', 'unwatch', 'terminated', 'exit', 'lost', 'kill', 'resume', 'exit-now', 'cancel']);
const REQ_KINDS = new Set(['start', 'terminate', 'prepare-restart', 'spawn', 'lookup']);
/** Most members one gossip frame may list (a node never sends more: runtime/cluster/cluster.ts). */
export const MAX_GOSSIP_MEMBERS = 1000;

/** Longest name a peer may look up. */
const MAX_NAME_LENGTH = 256;

/** Longest module URL, export name or path a spawn request may carry. */
const MAX_SPAWN_STRING = 4096;
const OVERFLOWS = new Set(['drop-newest', 'drop-oldest', 'reject']);

/** The fields of a spawn request the runtime reads (its `args` are the actor's business). */
function checkSpawn(p: Record<string, unknown>): void {
  for (const field of ['module', 'exportName', 'path'] as const) {
    const v = p[field];
    if (typeof v !== 'string' || v.length === 0 || v.length > MAX_SPAWN_STRING) malformed(`bad spawn: ${field}`);
  }
  if (p.thread !== 'auto' && !(isInt(p.thread) && p.thread >= 0)) malformed('bad spawn: thread');
  const m = p.mailbox;
  if (m === undefined || m === null) return;
  if (!isObj(m)) malformed('bad spawn: mailbox');
  if (m.capacity !== undefined && m.capacity !== null && !(typeof m.capacity === 'number' && m.capacity >= 0)) malformed('bad spawn: mailbox capacity');
  if (m.overflow !== undefined && m.overflow !== null && !(typeof m.overflow === 'string' && OVERFLOWS.has(m.overflow))) malformed('bad spawn: mailbox overflow');
}

function malformed(why: string): never {
  throw new ApiaryError(ErrorCodes.MALFORMED_FRAME, why);
}

const REASONS = new Set(['normal', 'shutdown', 'killed', 'thread-crash', 'node-down', 'noproc']);

function isReason(r: unknown): boolean {
  return (typeof r === 'string' && REASONS.has(r)) || (isObj(r) && isObj(r.error) && typeof r.error.message === 'string');
}

/** The fields of a system payload the runtime reads: refs are refs, reasons are reasons. */
function checkSysPayload(p: Record<string, unknown>): void {
  switch (p.k) {
    case 'watch':
    case 'unwatch':
      if (!(p.watcher instanceof ActorRef)) malformed(`bad ${p.k}: watcher is not a ref`);
      return;
    case 'terminated':
      if (!(p.ref instanceof ActorRef) || !isReason(p.reason)) malformed('bad terminated');
      return;
    case 'exit':
      if (!isInt(p.incarnation) || !isReason(p.reason) || typeof p.resumable !== 'boolean') malformed('bad exit');
      return;
    case 'lost':
      if (p.reason !== 'thread-crash') malformed('bad lost');
      return;
    case 'kill':
      if (!isReason(p.reason) || typeof p.final !== 'boolean') malformed('bad kill');
      return;
    case 'exit-now':
      if (!isReason(p.reason)) malformed('bad exit-now');
      return;
    case 'cancel':
      if (!isInt(p.ask)) malformed('bad cancel');
      return;
  }
}

/**
 * Checks one decoded frame's kind and shape; throws `ERR_MALFORMED_FRAME` otherwise.
 * Message bodies are the receiver's business; everything the runtime reads is checked here.
 */
export function checkNodeFrame(f: unknown): Frame {
  if (!Array.isArray(f) || !isInt(f[0])) malformed('a frame must be an array starting with its kind');
  switch (f[0]) {
    case TELL:
    case ASK:
      if (f.length !== (f[0] === TELL ? 6 : 7) || !isInt(f[1]) || !isInt(f[2]) || !isInt(f[4]) || f[4] < 0 || f[4] > 3) malformed('bad message frame');
      if (f[0] === ASK && !isInt(f[6])) malformed('bad ask id');
      return f as Frame;
    case REPLY:
    case FAIL:
      if (f.length !== 3 || !isInt(f[1])) malformed('bad reply frame');
      if (f[0] === FAIL && (!isObj(f[2]) || typeof f[2].message !== 'string')) malformed('bad failure frame');
      return f as Frame;
    case SYS:
      if (f.length !== 4 || !isInt(f[1]) || !isInt(f[2]) || !isObj(f[3]) || !SYS_KINDS.has(f[3].k as string)) malformed('bad system frame');
      checkSysPayload(f[3]);
      return f as Frame;
    case REQ:
      if (f.length !== 5 || !isInt(f[1]) || !isInt(f[2]) || !isInt(f[3]) || !isObj(f[4]) || !REQ_KINDS.has(f[4].k as string)) malformed('bad request frame');
      if (f[4].k === 'lookup' && (typeof f[4].name !== 'string' || f[4].name.length > MAX_NAME_LENGTH)) malformed('bad lookup');
      if (f[4].k === 'spawn') checkSpawn(f[4]);
      return f as Frame;
    case RES:
      if (f.length !== 3 || !isInt(f[1]) || !isObj(f[2]) || typeof f[2].ok !== 'boolean') malformed('bad response frame');
      if (f[2].ref !== undefined && f[2].ref !== null && !(f[2].ref instanceof ActorRef)) malformed('bad ref in a response');
      return f as Frame;
    case HEARTBEAT:
      if (f.length !== 2 || !isInt(f[1])) malformed('bad heartbeat frame');
      return f as Frame;
    case GOSSIP:
      if (f.length !== 2 || !Array.isArray(f[1]) || f[1].length > MAX_GOSSIP_MEMBERS) malformed('bad gossip frame');
      for (const m of f[1] as unknown[]) {
        if (!isObj(m) || typeof m.node !== 'string' || !isInt(m.incarnation) || typeof m.url !== 'string' || typeof m.state !== 'string') malformed('bad gossip member');
      }
      return f as Frame;
    case CREDIT:
      if (f.length !== 2 || !isInt(f[1]) || f[1] < 0) malformed('bad credit frame');
      return f as Frame;
    default:
      return malformed(`unknown frame kind ${String(f[0])}`);
  }
}
