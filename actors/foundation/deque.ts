/**
 * A growable ring-buffer FIFO used by mailboxes and the dispatcher's run queue.
 *
 * Owns: O(1) push/shift storage. Shrinks after a burst drains so an emptied mailbox
 * does not pin the memory of its largest backlog.
 * Threads: not shared; single-thread use only.
 */
const EMPTY: never[] = [];

export class Deque<T> {
  private buf: (T | undefined)[];
  private head = 0;
  private size = 0;
  private mask: number;
  private readonly minCapacity: number;

  constructor(initialCapacity = 8) {
    let cap = 8;
    while (cap < initialCapacity) cap <<= 1;
    this.minCapacity = cap;
    // storage is allocated on first push, so an idle mailbox costs no array
    this.buf = EMPTY;
    this.mask = -1;
  }

  get length(): number {
    return this.size;
  }

  push(value: T): void {
    if (this.size === this.buf.length) this.resize(Math.max(this.minCapacity, this.buf.length << 1));
    this.buf[(this.head + this.size) & this.mask] = value;
    this.size++;
  }

  /** Inserts at the front (used to put back a message that could not be handled yet). */
  unshift(value: T): void {
    if (this.size === this.buf.length) this.resize(Math.max(this.minCapacity, this.buf.length << 1));
    this.head = (this.head - 1) & this.mask;
    this.buf[this.head] = value;
    this.size++;
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const value = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.size--;
    const cap = this.buf.length;
    // give memory back after a burst, with hysteresis so a steady flow does not resize all the time
    if (cap > 16_384 && this.size < cap >>> 4) this.resize(cap >>> 1);
    return value;
  }

  peek(): T | undefined {
    return this.size === 0 ? undefined : this.buf[this.head];
  }

  /** Removes and returns everything, oldest first. */
  drain(): T[] {
    const out: T[] = new Array(this.size);
    for (let i = 0; i < this.size; i++) out[i] = this.buf[(this.head + i) & this.mask] as T;
    this.clear();
    return out;
  }

  clear(): void {
    this.buf = EMPTY;
    this.mask = -1;
    this.head = 0;
    this.size = 0;
  }

  private resize(capacity: number): void {
    const next = new Array<T | undefined>(capacity);
    for (let i = 0; i < this.size; i++) next[i] = this.buf[(this.head + i) & this.mask];
    this.buf = next;
    this.head = 0;
    this.mask = capacity - 1;
  }
}
