/**
 * Ask deadlines: when the open asks of one registry time out, with one clock timer for all.
 *
 * Owns: a FIFO lane per distinct timeout value, and the single clock timer, armed for the
 * earliest head deadline. An answered ask is not searched for: it is marked settled and
 * leaves its lane when it reaches the head, or when a compaction drops it (once a lane set
 * holds more than 2 × (open asks + {@link COMPACT_SLACK}) entries), so memory stays bounded
 * even while one ask hangs and millions are answered behind it.
 * Does not own: settling asks. It hands an expired ask to `onExpire`, already out of its
 * lane; the registry rejects it.
 * Time: every ask in one lane waits the same ms and the clock is monotonic, so deadlines in
 * a lane never decrease and its head is its earliest. The timer never fires an ask before
 * its deadline (an early wake-up re-arms for the rest) and, on a ManualClock, fires
 * exactly when `advance` reaches it; expired asks from several lanes go in deadline order
 * (ties: the older ask first). Like every clock timer, it does not keep the process alive.
 * Threads: one per registry, touched by its thread only.
 */
import type { Clock, TimerHandle } from './foundation/clock.js';
import { Deque } from './foundation/deque.js';

const SETTLED = Promise.resolve();

/** The longest delay a timer takes as given (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Settled entries a lane set may hold beyond 2 × the open ones before it is compacted. */
export const COMPACT_SLACK = 1024;

/** What the deadlines need to know of an ask. */
export interface Deadline {
  readonly id: number;
  /** `clock.now()` when the ask opened. */
  readonly startedAt: number;
  /** False once the ask is settled (answered, rejected or expired). */
  open: boolean;
  /** Its lane while it has a deadline (set by {@link AskDeadlines.add}). */
  lane: Lane | undefined;
}

/** The asks of one timeout value, oldest first. */
export class Lane {
  readonly entries = new Deque<Deadline>();
  constructor(readonly timeout: number) {}
}

export class AskDeadlines<E extends Deadline> {
  private readonly lanes = new Map<number, Lane>();
  private timer: TimerHandle | undefined;
  /** The deadline the timer is armed for; Infinity when it is not armed. */
  private armedFor = Infinity;
  /** Asks with a deadline not settled yet. */
  private openCount = 0;
  /** Entries in all lanes, settled or not. */
  private queuedCount = 0;
  private idleCheckQueued = false;

  constructor(
    private readonly clock: Clock,
    /** Receives each expired ask, already out of its lane; must settle it. */
    private readonly onExpire: (entry: E, timeout: number) => void,
  ) {}

  /** Entries held in the lanes (open or settled but not dropped yet). */
  get queued(): number {
    return this.queuedCount;
  }

  /** Distinct timeout values with a lane. */
  get laneCount(): number {
    return this.lanes.size;
  }

  /** Gives `entry` (opened at `entry.startedAt`, now) a deadline `timeout` ms (finite, > 0) later. */
  add(entry: E, timeout: number): void {
    let lane = this.lanes.get(timeout);
    if (lane === undefined) {
      if (this.lanes.size >= 2 * this.openCount + COMPACT_SLACK) this.compact();
      lane = new Lane(timeout);
      this.lanes.set(timeout, lane);
    }
    lane.entries.push(entry);
    entry.lane = lane;
    this.openCount++;
    this.queuedCount++;
    const at = entry.startedAt + timeout;
    if (at < this.armedFor) this.arm(at, timeout);
    if (this.queuedCount > 2 * (this.openCount + COMPACT_SLACK)) this.compact();
  }

  /**
   * `entry` (with a lane) was settled by someone else and marked `open = false`: it leaves
   * its lane now if it is the head, else lazily. Once no ask waits, the timer is cleared
   * at the end of this microtask checkpoint (an ask opened right after a reply, as in a
   * request loop, keeps it armed instead of clearing and re-arming it).
   */
  settled(entry: E): void {
    const lane = entry.lane!;
    this.openCount--;
    if (lane.entries.peek() === entry) this.dropSettledHeads(lane);
    if (this.openCount === 0 && !this.idleCheckQueued) {
      this.idleCheckQueued = true;
      void SETTLED.then(this.idleCheck); // a native job: queueMicrotask costs ~35 ns more (an AsyncResource each)
    }
  }

  private dropSettledHeads(lane: Lane): void {
    const entries = lane.entries;
    for (let head = entries.peek(); head !== undefined && !head.open; head = entries.peek()) {
      entries.shift();
      this.queuedCount--;
    }
  }

  private readonly idleCheck = (): void => {
    this.idleCheckQueued = false;
    if (this.openCount === 0) this.disarm();
  };

  private disarm(): void {
    if (this.timer === undefined) return;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  private arm(at: number, ms: number): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.armedFor = at;
    // Node turns a delay past 2³¹−1 ms into 1 ms (with a warning): wake at the limit and re-arm for the rest
    this.timer = this.clock.setTimeout(this.onTimer, Math.min(ms, MAX_TIMER_MS));
  }

  /** Expires every head whose deadline has passed, earliest first, then re-arms. O(lanes) per expired ask. */
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = this.clock.now();
    for (;;) {
      let lane: Lane | undefined;
      let head: Deadline | undefined;
      let at = Infinity;
      for (const l of this.lanes.values()) {
        const h = l.entries.peek();
        if (h === undefined) continue;
        const d = h.startedAt + l.timeout;
        if (d < at || (d === at && h.id < head!.id)) {
          at = d;
          lane = l;
          head = h;
        }
      }
      if (lane === undefined) return;
      if (at > now) {
        this.arm(at, at - now);
        return;
      }
      lane.entries.shift();
      this.queuedCount--;
      this.openCount--;
      head!.open = false;
      this.dropSettledHeads(lane);
      this.onExpire(head as E, lane.timeout);
    }
  };

  /** Drops every settled entry and every empty lane. O(entries), at most once per COMPACT_SLACK additions. */
  private compact(): void {
    for (const [timeout, lane] of this.lanes) {
      const all = lane.entries.drain();
      for (const e of all) if (e.open) lane.entries.push(e);
      if (lane.entries.length === 0) this.lanes.delete(timeout);
    }
    this.queuedCount = this.openCount;
  }
}
