/**
 * Refusals: the node links this node refused, or that refused it, lately.
 *
 * Owns: counts by reason since start (for `apiary_handshake_refusals_total`), and a bounded
 * list of recent refusals for `/health` and `apiary status`. Refusals of the same kind
 * from the same place collapse into one entry with a count (a seed with the wrong secret
 * retries every few seconds: one entry, not a list full of copies); the place is the peer's
 * host on the accepting side (its port changes with every attempt) and the address dialled
 * on the connecting side. Also owns when a refusal is worth a log line: the first of its
 * entry, then at most one summary per `repeatLogMs` ("… N more since").
 * Does not own: why a handshake fails (transport/node-link.ts) or writing log lines (the
 * cluster does, with what {@link Refusals.record} returns).
 * Threads: the thread of the cluster (0). Time: the given clock (`now` for spacing, `wallTime`
 * for the times shown to people).
 */
import type { Clock } from '../../actors/foundation/clock.js';
import { HANDSHAKE_REFUSALS, type HandshakeRefusal, type LinkRefusal } from '../../transport/node-link.js';
import { CLUSTER_DEFAULTS } from './defaults.js';

/** Which end of the link this node was: it accepted the socket, or it dialled out. */
export type RefusalSide = 'accepting' | 'connecting';

/** One entry of the recent list: a kind of refusal from one place, however often it happened. */
export interface RefusalEntry {
  side: RefusalSide;
  reason: HandshakeRefusal;
  /** The other end, `host:port`, as of the latest refusal. */
  peer: string;
  /** The name the peer gave, as of the latest refusal (unauthenticated unless `name-taken`). */
  node?: string;
  /** What exactly happened, as of the latest refusal. */
  detail: string;
  /** How many refusals this entry stands for. */
  count: number;
  /** Wall-clock ms of the first and the latest. */
  firstAt: number;
  lastAt: number;
}

/** What {@link Refusals.record} tells its caller: the updated entry, and whether to log it now. */
export interface RecordedRefusal {
  entry: RefusalEntry;
  /** True for the first refusal of an entry, then at most once per `repeatLogMs`. */
  log: boolean;
  /** When `log`: refusals of this entry that were not logged since the last line (0 for the first). */
  unlogged: number;
}

interface Slot {
  entry: RefusalEntry;
  /** `clock.now()` of the last logged refusal of this entry. */
  loggedAt: number;
  unlogged: number;
}

export class Refusals {
  private readonly slots = new Map<string, Slot>();
  private readonly byReason: Record<HandshakeRefusal, number>;
  private readonly limit: number;
  private readonly repeatLogMs: number;

  constructor(
    private readonly clock: Clock,
    options: { limit?: number; repeatLogMs?: number } = {},
  ) {
    this.limit = options.limit ?? CLUSTER_DEFAULTS.refusals.limit;
    this.repeatLogMs = options.repeatLogMs ?? CLUSTER_DEFAULTS.refusals.repeatLogMs;
    this.byReason = Object.fromEntries(HANDSHAKE_REFUSALS.map((r) => [r, 0])) as Record<HandshakeRefusal, number>;
  }

  /**
   * Counts one refusal and files it under its entry (a new entry pushes out the one refused
   * least recently once `limit` entries are kept).
   */
  record(side: RefusalSide, refusal: LinkRefusal): RecordedRefusal {
    this.byReason[refusal.reason]++;
    const now = this.clock.now();
    const wall = this.clock.wallTime();
    const key = `${side} ${refusal.reason} ${side === 'accepting' ? hostOf(refusal.peer) : refusal.peer}`;
    const slot = this.slots.get(key);
    if (slot === undefined) {
      const entry: RefusalEntry = { side, reason: refusal.reason, peer: refusal.peer, detail: refusal.detail, count: 1, firstAt: wall, lastAt: wall };
      if (refusal.node !== undefined) entry.node = refusal.node;
      this.slots.set(key, { entry, loggedAt: now, unlogged: 0 });
      if (this.slots.size > this.limit) this.slots.delete(this.slots.keys().next().value!);
      return { entry, log: true, unlogged: 0 };
    }
    const entry = slot.entry;
    entry.count++;
    entry.lastAt = wall;
    entry.peer = refusal.peer;
    entry.detail = refusal.detail;
    if (refusal.node !== undefined) entry.node = refusal.node;
    // most recently refused last: the first key is the one to push out
    this.slots.delete(key);
    this.slots.set(key, slot);
    if (now - slot.loggedAt < this.repeatLogMs) {
      slot.unlogged++;
      return { entry, log: false, unlogged: slot.unlogged };
    }
    const unlogged = slot.unlogged;
    slot.loggedAt = now;
    slot.unlogged = 0;
    return { entry, log: true, unlogged };
  }

  /** The kept entries, the most recently refused first (copies). */
  recent(): RefusalEntry[] {
    return [...this.slots.values()].reverse().map((s) => ({ ...s.entry }));
  }

  /** Refusals since start, by reason (every reason present, 0 if none). */
  counts(): Record<HandshakeRefusal, number> {
    return { ...this.byReason };
  }

  /** Refusals since start, all reasons. */
  get total(): number {
    let n = 0;
    for (const r of HANDSHAKE_REFUSALS) n += this.byReason[r];
    return n;
  }
}

/** The host of `host:port` (`[v6]:port` too). */
function hostOf(address: string): string {
  const i = address.lastIndexOf(':');
  return i < 0 ? address : address.slice(0, i);
}
