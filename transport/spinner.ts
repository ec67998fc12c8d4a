/**
 * Spinner: a thread waits for an answer by polling for a short while before it parks.
 *
 * Two modes. **port** (the default, `askPollMicros`): after this thread sent an ask or a
 * request to another thread, and its microtasks have settled, it polls that link's
 * MessagePort (`receiveMessageOnPort`) for up to `askPollMicros`; an answer that comes is
 * dispatched right there. Parking in the event loop and being woken again costs a thread
 * ~40–50 µs on these machines across cores (docs/architecture.md § Facts); an answer taken
 * while still running costs none of it. **ring** (`lowLatency`, off by default): batches go
 * through a shared ring per pair of threads beside the port (low-latency-lane.ts), and after
 * every send the thread polls every inbound ring for up to `spinMicros`, so two threads in a
 * conversation answer each other without a single wake-up.
 * Bounds (the event loop is never starved): no spin while the dispatcher has work or yields;
 * no spin once spinning and dispatching have gone on for `burstMs` without the event loop
 * getting a turn (a `setImmediate` marks that turn), so timers, I/O and the watchdog's
 * progress tick still run; each spin ends after `spinMicros` (and within the burst) whatever
 * happens on the peer.
 * Cost: a polling thread burns its core while it waits — at most the poll window after each
 * exchange (an answer usually comes within a few µs), all the time during a sustained ring
 * conversation; polls that keep missing (a slow actor) stop until one pays again.
 * Does not own: the rings (transport/spin-ring.ts) or the link protocol (low-latency-lane.ts).
 * Time: busy-wait bounds read real time (`monotonicNow`), whatever clock the host runs on.
 * Threads: one spinner per thread (its routes hold it); both threads of a link must run the
 * mode, which the ThreadManager ensures by passing the option to every worker.
 */
import type { Dispatcher } from '../actors/dispatcher.js';
import { monotonicNow } from '../actors/foundation/clock.js';
import { ApiaryError, ErrorCodes } from '../actors/foundation/errors.js';
import { ringCapacity } from './spin-ring.js';

/** Something a spinner polls: a link's inbound ring (low-latency-lane.ts) or its port (thread-peer.ts). */
export interface Pollable {
  /** This thread is (or stopped) polling: a ring producer may skip its doorbell meanwhile. */
  setAwake(awake: boolean): void;
  /** True when something arrived (a port poll takes it off the port, to be drained). */
  hasData(): boolean;
  /** Dispatches what arrived; true if there was anything. */
  drain(fromLoop: boolean): boolean;
  /** Ring counters (lanes only). */
  readonly stats?: { ringBatches: number; portBatches: number; doorbells: number };
}

/** Tuning of the low-latency mode; every field optional. */
export interface LowLatencyOptions {
  /** How long a thread busy-polls its rings after each exchange before parking, µs. Default 50. */
  spinMicros?: number;
  /** Ring size per direction per pair of threads, bytes (rounded up to a power of two ≥ 1 KiB). Larger batches go over the MessagePort, in order. Default 64 KiB. */
  ringBytes?: number;
  /** Longest stretch of spinning and dispatching without yielding to the event loop, ms. Default 1. */
  burstMs?: number;
}

/** `true` for the defaults, an object to tune them; `false`/absent: off. */
export type LowLatencyOption = boolean | LowLatencyOptions;

export const LOW_LATENCY_DEFAULTS = {
  spinMicros: 50,
  ringBytes: 64 * 1024,
  burstMs: 1,
} as const;

/** The default mode: poll the port for an answer this long after sending an ask, µs (0: never). */
export const ASK_POLL_DEFAULTS = { askPollMicros: 50 } as const;

/** Microtask hops with nothing to do before a spin starts (lets short promise chains settle and send first). */
const QUIET_HOPS = 4;
/** Microtask hops waiting for the dispatcher before giving the spin up (it yields through the event loop). */
const MAX_HOPS = 64;
/**
 * Spins in a row that may come up empty before the thread stops spinning; a spin that
 * catches data restores them. Spinning pays only while the peer runs at the same time: a
 * thread that only sends (a flood of tells) gets nothing back, and when the OS gives both
 * threads one core between them (a loaded machine) the peer cannot answer until the spinner
 * parks — every spin then misses and only adds `spinMicros` to each exchange.
 */
const SPIN_CREDIT = 16;
/** Out of credit, the thread still tries one spin in this many (so it finds out when spinning pays again). */
const PROBE_EVERY = 32;
/** Time is read once per this many polls of the rings. */
const POLLS_PER_CLOCK_READ = 32;

/**
 * The spinner of a thread: ring mode with `lowLatency`, else port mode with `askPollMicros`
 * (default 20), else none (`askPollMicros: 0`). Throws `ERR_INVALID_ARGUMENT` (with `field`)
 * for a bad option. `flushAll` sends what every link of the thread has batched, before the
 * thread waits for answers.
 */
export function threadSpinner(
  dispatcher: Dispatcher,
  options: { lowLatency?: LowLatencyOption; askPollMicros?: number },
  flushAll: () => void,
): Spinner | undefined {
  const option = options.lowLatency;
  if (option === undefined || option === false) {
    const micros = options.askPollMicros ?? ASK_POLL_DEFAULTS.askPollMicros;
    if (typeof micros !== 'number' || !Number.isFinite(micros) || micros < 0) {
      throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'askPollMicros must be a number ≥ 0', { field: 'askPollMicros' });
    }
    return micros === 0 ? undefined : new Spinner(dispatcher, flushAll, 'port', micros, 0, LOW_LATENCY_DEFAULTS.burstMs);
  }
  const o = option === true ? {} : option;
  const num = (field: keyof LowLatencyOptions, min: number): number => {
    const v = o[field] ?? LOW_LATENCY_DEFAULTS[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
      throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `lowLatency.${field} must be a number ≥ ${min}`, { field: `lowLatency.${field}` });
    }
    return v;
  };
  return new Spinner(dispatcher, flushAll, 'ring', num('spinMicros', 0), ringCapacity(num('ringBytes', 0)), num('burstMs', 0));
}

/** What the mode did on one thread: batches by path, doorbells posted, spins and how many caught data. */
export interface LowLatencyStats {
  ringBatches: number;
  portBatches: number;
  doorbells: number;
  spins: number;
  hits: number;
}


export class Spinner {
  /** What is polled: the live lanes (ring mode), or the links' ports (port mode). */
  private lanes: Pollable[] = [];
  private queued = false;
  private flushing = false;
  private quiet = 0;
  private hops = 0;
  /** When the current stretch without an event-loop turn started (−1: none). */
  private burstStart = -1;
  private credit = SPIN_CREDIT;
  private skipped = 0;
  private spins = 0;
  private hits = 0;
  private readonly spinMs: number;

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly flushAll: () => void,
    /** `ring`: links use shared rings (lowLatency); `port`: links poll their ports after an ask. */
    readonly mode: 'ring' | 'port',
    readonly spinMicros: number,
    readonly ringBytes: number,
    readonly burstMs: number,
  ) {
    this.spinMs = spinMicros / 1000;
  }

  /** Something to poll from now on (a lane whose inbound ring is live, a link's port). */
  attach(lane: Pollable): void {
    if (!this.lanes.includes(lane)) this.lanes = [...this.lanes, lane];
  }

  /** A closed lane or port: never polled again. */
  detach(lane: Pollable): void {
    this.lanes = this.lanes.filter((l) => l !== lane);
  }

  /**
   * This thread sent something an answer may follow (ring mode: anything; port mode: an ask
   * or a request): spin once its microtasks have settled, if spinning has paid off lately.
   * (Receiving alone does not: a thread that is only told things would spin after every
   * batch of a flood, competing with the sender for the cores.)
   */
  request(): void {
    if (this.flushing || this.lanes.length === 0) return;
    this.quiet = QUIET_HOPS;
    this.hops = 0;
    if (!this.queued) {
      this.queued = true;
      queueMicrotask(this.step);
    }
  }

  private readonly step = (): void => {
    this.queued = false;
    if (this.lanes.length === 0) return;
    // everything this thread has to say goes out before it waits for answers
    this.flushing = true;
    try {
      this.flushAll();
    } finally {
      this.flushing = false;
    }
    if (!this.dispatcher.idle || --this.quiet > 0) {
      if (++this.hops < MAX_HOPS) {
        this.queued = true;
        queueMicrotask(this.step);
      }
      return;
    }
    if (this.credit <= 0 && ++this.skipped % PROBE_EVERY !== 0) return; // spins have not paid lately: park at once
    const now = monotonicNow();
    if (this.burstStart < 0) {
      this.burstStart = now;
      setImmediate(this.endBurst);
    } else if (now - this.burstStart > this.burstMs) {
      return; // park: the event loop's turn (timers, I/O); the peer rings the doorbell
    }
    // a spin ends with the burst too: never longer than burstMs without an event-loop turn
    this.spin(Math.min(now + this.spinMs, this.burstStart + this.burstMs));
  };

  private readonly endBurst = (): void => {
    this.burstStart = -1;
  };

  private spin(deadline: number): void {
    const lanes = this.lanes;
    this.spins++;
    for (const lane of lanes) lane.setAwake(true);
    let found = false;
    for (let polls = 1; !found; polls++) {
      for (let i = 0; i < lanes.length && !found; i++) found = lanes[i]!.hasData();
      if (!found && polls % POLLS_PER_CLOCK_READ === 0 && monotonicNow() >= deadline) break;
    }
    if (found) {
      this.hits++;
      this.credit = SPIN_CREDIT;
    } else if (this.credit > 0) this.credit--;
    // no longer polling, then read once more: a producer that saw us awake skipped the doorbell
    for (const lane of lanes) lane.setAwake(false);
    for (const lane of lanes) lane.drain(false);
  }

  /** Counters over the thread's live lanes and this spinner's spins. */
  snapshot(): LowLatencyStats {
    const s: LowLatencyStats = { ringBatches: 0, portBatches: 0, doorbells: 0, spins: this.spins, hits: this.hits };
    for (const lane of this.lanes) {
      if (lane.stats === undefined) continue;
      s.ringBatches += lane.stats.ringBatches;
      s.portBatches += lane.stats.portBatches;
      s.doorbells += lane.stats.doorbells;
    }
    return s;
  }
}
