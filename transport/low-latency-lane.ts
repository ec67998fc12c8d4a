/**
 * LowLatencyLane: the low-latency data path of one thread link — a SpinRing per direction
 * beside the link's MessagePort, which stays the fallback and the doorbell.
 *
 * Owns: the in-band handshake (the lower-numbered thread creates the SharedArrayBuffer and
 * posts it as the first message on the port; the other side attaches and acknowledges),
 * outbound batches (into the ring when they fit; otherwise posted on the port with a marker
 * record in the ring, so the receiver takes them in order), doorbells (a tiny port message
 * when the receiver is not polling), and draining inbound records in order.
 * Order: per direction, everything is read from the ring in write order; a marker says "the
 * next n batches are on the port", and a batch is posted *before* its marker is published
 * (postMessage enqueues synchronously, so once a marker is visible its batch is there for
 * `receiveMessageOnPort`). Batches sent before a side switched to the ring are ordinary port
 * messages that precede the switch in port order.
 * Does not own: spinning (transport/spinner.ts), what a batch means (the endpoint).
 * Threads: one lane per link end; both ends use it only on their own thread.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { sleep } from '../actors/foundation/clock.js';
import { createRingBuffer, ringEnds, type SpinRing } from './spin-ring.js';
import type { Spinner } from './spinner.js';

/** Batches up to this size are cloned into a port message instead of transferred. */
const SMALL_BATCH_CLONE_BYTES = 1024;
/** The doorbell: "read the ring". */
const DOORBELL = 0;
/** How often a producer retries a marker that found the ring full, ms. */
const MARKER_RETRY_MS = 1;

/** The handshake messages, beside batches (Uint8Array) and doorbells (numbers) on the port. */
interface Hello {
  apiaryRing: SharedArrayBuffer | 'attached';
}

/** What the lane needs from its thread link. */
export interface LaneOwner {
  /** This thread and the peer's: the lower-numbered side creates the rings. */
  readonly thread: number;
  readonly peer: number;
  /** Decodes and dispatches one batch; `fromLoop`: it arrived in a fresh event-loop macrotask. */
  receiveBatch(data: Uint8Array, fromLoop: boolean): void;
  /** The ring failed (a corrupt record): reported, the link goes on over the port. */
  failed(err: unknown): void;
}

/** Posts one batch on a port as thread links do: small ones cloned, larger ones transferred. */
export function postBatch(port: MessagePort, data: Uint8Array): void {
  try {
    if (data.byteLength <= SMALL_BATCH_CLONE_BYTES) port.postMessage(data);
    else port.postMessage(data, [data.buffer as ArrayBuffer]);
  } catch {
    // the port closed under us: the thread is going away; its exit is handled elsewhere
  }
}

export class LowLatencyLane {
  private out: SpinRing | undefined;
  private in: SpinRing | undefined;
  /** Inbound: batches posted on the port whose marker has not been read yet (arrived as events). */
  private readonly early: Uint8Array[] = [];
  /** Inbound: batches the markers read so far announced and not yet taken off the port. */
  private announced = 0;
  /**
   * Outbound: batches posted on the port whose marker is not in the ring yet — only when the
   * consumer was caught between taking the last marker and moving on (SpinRing.tryWriteMarker).
   */
  private owed = 0;
  private retrying = false;
  closed = false;
  /** Counters for tests and metrics. */
  readonly stats = { ringBatches: 0, portBatches: 0, doorbells: 0 };

  constructor(
    private readonly owner: LaneOwner,
    private readonly port: MessagePort,
    private readonly spinner: Spinner,
    ringBytes: number,
  ) {
    if (owner.thread < owner.peer) {
      const sab = createRingBuffer(ringBytes);
      this.port.postMessage({ apiaryRing: sab } satisfies Hello);
      this.out = ringEnds(sab, true).out;
      // inbound stays on the port until the peer says it attached
      this.in = ringEnds(sab, true).in;
    }
  }

  /** True once inbound data comes through the ring (before: port messages, handled at once). */
  private reading = false;

  /** Everything that arrives on the port: batches, doorbells and the handshake. */
  onPortMessage(data: unknown): void {
    if (this.closed) return;
    if (data instanceof Uint8Array) {
      if (!this.reading) return this.owner.receiveBatch(data, true);
      this.early.push(data);
      this.drain(true);
    } else if (typeof data === 'number') {
      this.drain(true);
    } else if (typeof data === 'object' && data !== null && 'apiaryRing' in data) {
      const ring = (data as Hello).apiaryRing;
      if (ring instanceof SharedArrayBuffer) {
        // we are the higher-numbered side: everything we send from now on goes through the ring
        const ends = ringEnds(ring, false);
        this.out = ends.out;
        this.in = ends.in;
        this.port.postMessage({ apiaryRing: 'attached' } satisfies Hello);
      }
      this.reading = true;
      this.spinner.attach(this);
      this.drain(true);
    }
  }

  /** Sends one encoded batch to the peer (ring, or port + marker), ringing its doorbell if it is parked. */
  send(data: Uint8Array): void {
    if (this.closed) return;
    const out = this.out;
    if (out === undefined) {
      postBatch(this.port, data); // the handshake is not through yet
      return;
    }
    if (this.owed > 0 && out.tryWriteMarker(this.owed)) this.owed = 0;
    if (this.owed === 0 && out.tryWrite(data)) {
      this.stats.ringBatches++;
    } else {
      // too big for the ring, or it is full: the port carries it, a marker keeps its place
      postBatch(this.port, data);
      this.stats.portBatches++;
      if (this.owed > 0 || !out.tryWriteMarker(1)) {
        this.owed++;
        this.retryMarkers();
      }
    }
    this.ring();
    this.spinner.request();
  }

  private ring(): void {
    if (this.out?.needsDoorbell()) {
      this.stats.doorbells++;
      try {
        this.port.postMessage(DOORBELL);
      } catch {
        // closed: the peer is gone
      }
    }
  }

  /** Markers that found the ring full are written as soon as the consumer makes room. */
  private retryMarkers(): void {
    if (this.retrying) return;
    this.retrying = true;
    void sleep(MARKER_RETRY_MS).then(() => {
      this.retrying = false;
      if (this.closed || this.owed === 0) return;
      if (this.out!.tryWriteMarker(this.owed)) {
        this.owed = 0;
        this.ring();
      } else this.retryMarkers();
    });
  }

  /** This thread is (or stopped) polling the inbound ring: the peer skips (or posts) doorbells. */
  setAwake(awake: boolean): void {
    if (this.reading && !this.closed) this.in!.setAwake(awake);
  }

  /** True when a record waits in the inbound ring (what the spinner polls). */
  hasData(): boolean {
    return this.reading && !this.closed && this.in!.hasData();
  }

  /**
   * Reads and dispatches inbound records, in order; true if there was any. One batch per
   * microtask, as port messages arrive one per callback: the dispatcher runs between them, so
   * a backlog never lands in the mailboxes all at once (docs/architecture.md § Facts); the rest follows in a
   * microtask. A marker's batches are taken off the port synchronously (or from those that
   * already arrived as events); should one not be there yet, draining stops at it and
   * resumes when it comes.
   */
  drain(fromLoop: boolean): boolean {
    if (!this.reading || this.closed) return false;
    const ring = this.in!;
    ring.clearBell();
    let any = false;
    for (;;) {
      if (any) {
        // one batch done: the rest after the dispatcher's turn
        if (this.announced > 0 || ring.hasData()) this.drainLater(fromLoop);
        return true;
      }
      if (this.announced > 0) {
        const batch = this.takePortBatch();
        if (batch === undefined) return any;
        this.announced--;
        any = true;
        this.owner.receiveBatch(batch, fromLoop);
      } else {
        let record;
        try {
          record = ring.read();
        } catch (err) {
          this.failed(err);
          return any;
        }
        if (record === undefined) return any;
        if (typeof record === 'number') {
          this.announced += record;
          continue;
        }
        any = true;
        this.owner.receiveBatch(record, fromLoop);
      }
      if (this.closed) return true;
    }
  }

  private continuing = false;

  private drainLater(fromLoop: boolean): void {
    if (this.continuing) return;
    this.continuing = true;
    queueMicrotask(() => {
      this.continuing = false;
      this.drain(fromLoop);
    });
  }

  private takePortBatch(): Uint8Array | undefined {
    const early = this.early.shift();
    if (early !== undefined) return early;
    for (;;) {
      const m = receiveMessageOnPort(this.port);
      if (m === undefined) return undefined;
      const data = m.message as unknown;
      if (data instanceof Uint8Array) return data;
      // a doorbell taken here is not seen by the 'message' handler: allow the next one (the
      // ring is read again after this, so nothing published before it is missed)
      if (typeof data === 'number') this.in!.clearBell();
    }
  }

  private failed(err: unknown): void {
    this.owner.failed(err);
  }

  /** The link closed: the ring is never read or written again. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reading = false;
    this.spinner.detach(this);
  }
}
