/**
 * SpinRing: one direction of a single-producer, single-consumer byte ring in a
 * SharedArrayBuffer, for the low-latency mode of thread links.
 *
 * Owns: the memory layout (a control block of Int32 slots, then one data region per
 * direction), writing length-prefixed records (a batch, or a marker "the next n batches went
 * over the MessagePort", whose count grows in place while unread), reading them back in order into private buffers (msgpackr's native
 * add-on rejects views into a SharedArrayBuffer, docs/architecture.md § Facts), the consumer's `awake` flag and
 * the doorbell flag that lets a producer post at most one doorbell per drain.
 * Does not own: when to write, spin or ring a doorbell (transport/low-latency-lane.ts and
 * transport/spinner.ts decide), what a batch means (the thread link).
 * Threads: exactly one producer thread and one consumer thread per direction. Every publish
 * and every flag is a sequentially consistent `Atomics` operation; the plain byte copies
 * before a tail store are visible to the consumer after its tail load.
 */
import { ApiaryError, ErrorCodes } from '../actors/foundation/errors.js';

/** Int32 slots per direction in the control block. */
const SLOTS = 4;
/** Consumer position: bytes consumed, as a wrapping int32. Written by the consumer only. */
const HEAD = 0;
/** Producer position: bytes published, as a wrapping int32. Written by the producer only. */
const TAIL = 1;
/** 1 while the consumer busy-polls this ring (no doorbell needed); written by the consumer. */
const AWAKE = 2;
/** 1 while a doorbell is posted and not yet followed by a drain; set by the producer, cleared by the consumer. */
const BELL = 3;
/** The control block, padded to a cache line. */
const CONTROL_BYTES = 64;
/** Record header: > 0 a batch of that many bytes follows; < 0 a marker for −n port batches. */
const HEADER_BYTES = 4;

/** Smallest and largest ring per direction. */
export const RING_LIMITS = { minBytes: 1024, maxBytes: 64 * 1024 * 1024 } as const;

/** What a read returns: a batch (a private copy), or how many batches to take from the port. */
export type RingRecord = Uint8Array | number;

/** The capacity actually used for a requested ring size: a power of two within {@link RING_LIMITS}. */
export function ringCapacity(bytes: number): number {
  let c = RING_LIMITS.minBytes;
  while (c < bytes && c < RING_LIMITS.maxBytes) c *= 2;
  return c;
}

/** A SharedArrayBuffer holding both directions of a link's rings, `capacity` bytes each. */
export function createRingBuffer(capacity: number): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_BYTES + 2 * ringCapacity(capacity));
}

/** The capacity per direction of a buffer made by {@link createRingBuffer}. */
export function capacityOf(sab: SharedArrayBuffer): number {
  return (sab.byteLength - CONTROL_BYTES) / 2;
}

/**
 * The two ends one thread holds: it writes `out` and reads `in`. The creator of the buffer
 * writes direction 0; the other thread writes direction 1.
 */
export function ringEnds(sab: SharedArrayBuffer, creator: boolean): { out: SpinRing; in: SpinRing } {
  return { out: new SpinRing(sab, creator ? 0 : 1), in: new SpinRing(sab, creator ? 1 : 0) };
}

const align4 = (n: number): number => (n + 3) & ~3;

export class SpinRing {
  private readonly ctl: Int32Array;
  private readonly base: number;
  private readonly bytes: Uint8Array;
  private readonly words: Int32Array;
  readonly capacity: number;
  private readonly mask: number;

  constructor(sab: SharedArrayBuffer, direction: 0 | 1) {
    this.capacity = capacityOf(sab);
    if (!Number.isInteger(this.capacity) || this.capacity < RING_LIMITS.minBytes || (this.capacity & (this.capacity - 1)) !== 0) {
      throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `not a ring buffer (${sab.byteLength} bytes)`, { field: 'ring' });
    }
    this.mask = this.capacity - 1;
    this.ctl = new Int32Array(sab, 0, 2 * SLOTS);
    this.base = direction * SLOTS;
    const offset = CONTROL_BYTES + direction * this.capacity;
    this.bytes = new Uint8Array(sab, offset, this.capacity);
    this.words = new Int32Array(sab, offset, this.capacity / 4);
  }

  /** Bytes published and not yet consumed. */
  get used(): number {
    return (Atomics.load(this.ctl, this.base + TAIL) - Atomics.load(this.ctl, this.base + HEAD)) | 0;
  }

  // ---- producer -------------------------------------------------------------------------

  /** Producer side: where the last marker sits and where the ring's tail was right after it. */
  private markerAt = -1;
  private markerEnd = 0;

  /**
   * Copies `batch` in as one record and publishes it; false (nothing written) if it does not
   * fit now. A batch always leaves room for one marker behind it.
   */
  tryWrite(batch: Uint8Array): boolean {
    const length = batch.byteLength;
    if (length === 0) return true;
    const tail = Atomics.load(this.ctl, this.base + TAIL);
    if (2 * HEADER_BYTES + align4(length) > this.capacity - this.usedFrom(tail)) return false;
    const at = tail & this.mask;
    this.words[at >> 2] = length;
    const start = (at + HEADER_BYTES) & this.mask;
    const first = Math.min(length, this.capacity - start);
    this.bytes.set(first === length ? batch : batch.subarray(0, first), start);
    if (first < length) this.bytes.set(batch.subarray(first), 0);
    Atomics.store(this.ctl, this.base + TAIL, (tail + HEADER_BYTES + align4(length)) | 0);
    return true;
  }

  /**
   * Publishes "the next `count` batches of this direction went over the port". When the last
   * record is a marker the consumer has not taken yet, its count grows in place (so a full
   * ring still takes any number of markers); otherwise a new one is written. False only when
   * neither is possible right now (the consumer is between taking a marker and moving on).
   */
  tryWriteMarker(count: number): boolean {
    const tail = Atomics.load(this.ctl, this.base + TAIL);
    if (this.markerAt >= 0 && this.markerEnd === tail) {
      const now = Atomics.load(this.words, this.markerAt);
      if (now < 0 && Atomics.compareExchange(this.words, this.markerAt, now, now - count) === now) return true;
    }
    if (HEADER_BYTES > this.capacity - this.usedFrom(tail)) return false;
    this.markerAt = (tail & this.mask) >> 2;
    Atomics.store(this.words, this.markerAt, -count);
    this.markerEnd = (tail + HEADER_BYTES) | 0;
    Atomics.store(this.ctl, this.base + TAIL, this.markerEnd);
    return true;
  }

  /**
   * After publishing: true if the producer must post a doorbell — the consumer is not
   * polling and no doorbell of ours is waiting for it. Call only after the tail store.
   */
  needsDoorbell(): boolean {
    if (Atomics.load(this.ctl, this.base + AWAKE) !== 0) return false;
    return Atomics.compareExchange(this.ctl, this.base + BELL, 0, 1) === 0;
  }

  private usedFrom(tail: number): number {
    return (tail - Atomics.load(this.ctl, this.base + HEAD)) | 0;
  }

  // ---- consumer -------------------------------------------------------------------------

  /** True when a record is waiting. */
  hasData(): boolean {
    return Atomics.load(this.ctl, this.base + TAIL) !== Atomics.load(this.ctl, this.base + HEAD);
  }

  /** The consumer is (1) or is no longer (0) polling; clear it before a final re-check. */
  setAwake(awake: boolean): void {
    Atomics.store(this.ctl, this.base + AWAKE, awake ? 1 : 0);
  }

  /** Lets the producer post a doorbell again; read the ring after calling this. */
  clearBell(): void {
    Atomics.store(this.ctl, this.base + BELL, 0);
  }

  /**
   * The next record, consumed: a batch copied out into a buffer of its own, or a marker's
   * count of port batches. Undefined when the ring is empty. Throws `ERR_MALFORMED_FRAME`
   * on a header that cannot be (the ring's memory was written by something else).
   */
  read(): RingRecord | undefined {
    const head = Atomics.load(this.ctl, this.base + HEAD);
    const tail = Atomics.load(this.ctl, this.base + TAIL);
    if (head === tail) return undefined;
    const at = head & this.mask;
    const header = Atomics.load(this.words, at >> 2);
    if (header < 0) {
      // taken with an exchange: the producer may still be growing this marker's count
      const count = -Atomics.exchange(this.words, at >> 2, 0);
      Atomics.store(this.ctl, this.base + HEAD, (head + HEADER_BYTES) | 0);
      return count;
    }
    const available = (tail - head) | 0;
    if (header === 0 || HEADER_BYTES + align4(header) > available) {
      throw new ApiaryError(ErrorCodes.MALFORMED_FRAME, `ring record of ${header} bytes with ${available} published`);
    }
    const out = new Uint8Array(header);
    const start = (at + HEADER_BYTES) & this.mask;
    const first = Math.min(header, this.capacity - start);
    out.set(this.bytes.subarray(start, start + first));
    if (first < header) out.set(this.bytes.subarray(0, header - first), first);
    Atomics.store(this.ctl, this.base + HEAD, (head + HEADER_BYTES + align4(header)) | 0);
    return out;
  }
}
