/**
 * An actor's mailbox: a system queue that always drains first, and a user queue that may be
 * bounded and has four priority levels.
 *
 * Owns: queueing, bounds and the overflow policy, and giving a message's share of its link's
 * window back when it is taken for processing ({@link LinkCredit}). Does not own: running
 * messages (the cell and dispatcher do) or reporting drops (the caller turns what `enqueue`
 * returns into dead letters or rejected asks; Host.deadLetter gives their credit back).
 * Threads: single-thread; cross-thread delivery ends in a local `enqueue`.
 */
import { Deque } from './foundation/deque.js';

/** User-queue priority levels, most urgent first. Default `normal`. */
export type Priority = 'critical' | 'high' | 'normal' | 'low';
export const PRIORITIES: readonly Priority[] = ['critical', 'high', 'normal', 'low'];

/**
 * What a full bounded mailbox does with one more message:
 * - `drop-newest`: the incoming message is dropped (dead letter; an ask rejects `ERR_MAILBOX_FULL`);
 * - `drop-oldest`: the oldest message of the least urgent level is dropped to make room
 *   (unless it is more urgent than the incoming one, which is then dropped instead);
 * - `reject`: the incoming message is refused (an ask rejects `ERR_MAILBOX_FULL`, a tell
 *   becomes a dead letter and `tell` returns false).
 */
export type OverflowPolicy = 'drop-newest' | 'drop-oldest' | 'reject';

export interface MailboxOptions {
  /** Max user messages queued; `Infinity` (default) for unbounded. */
  capacity?: number;
  /** Default `drop-newest`. */
  overflow?: OverflowPolicy;
}

/**
 * A link's receive window (transport's flow control): a message that came over a link holds
 * `charge` of that link's window until it leaves this thread's memory — taken for
 * processing, dropped (a dead letter), or handed on to another link — and then gives it back
 * with {@link releaseCredit}, so the sender may send more. Local messages carry none.
 */
export interface LinkCredit {
  release(charge: number): void;
}

/** Where the answer to an ask goes: the asker's own registry, or a link back to its thread. */
export interface AskReplyTo {
  resolve(id: number, value: unknown): boolean;
  reject(id: number, err: unknown): boolean;
}

/**
 * One user message in a mailbox. `ask` is 0 for a tell, else the ask's id in `replyTo`
 * (the asker's registry, or a link to the asker's thread).
 */
export interface Envelope {
  msg: unknown;
  sender: unknown;
  ask: number;
  priority: number;
  replyTo?: AskReplyTo | undefined;
  /** Never dropped by overflow, not counted against the bound (watch notifications). */
  pinned?: boolean;
  /** The window of the link it came over (see {@link LinkCredit}); undefined for local messages and once given back. */
  credit?: LinkCredit | undefined;
  /** Its share of that window. */
  charge?: number;
}

/**
 * Gives `env`'s share of its link's window back (once; nothing for a local message). Called
 * when the message leaves this thread's memory: the mailbox hands it to `receive`, it becomes
 * a dead letter (Host.deadLetter), or another link takes it on.
 */
export function releaseCredit(env: Envelope): void {
  const credit = env.credit;
  if (credit === undefined) return;
  env.credit = undefined;
  credit.release(env.charge ?? 0);
}

export function priorityIndex(p: Priority | undefined): number {
  switch (p) {
    case undefined:
    case 'normal':
      return 2;
    case 'critical':
      return 0;
    case 'high':
      return 1;
    case 'low':
      return 3;
    default:
      return 2;
  }
}

const NORMAL = 2;

export class Mailbox<S = unknown> {
  private sys: Deque<S> | undefined;
  private readonly normal = new Deque<Envelope>(8);
  /** critical, high, (unused), low — allocated on first non-normal message. */
  private urgent: (Deque<Envelope> | undefined)[] | undefined;
  private nonNormal = 0;
  private count = 0;
  private pinnedCount = 0;
  readonly capacity: number;
  readonly overflow: OverflowPolicy;

  constructor(options: MailboxOptions = {}) {
    this.capacity = options.capacity ?? Infinity;
    this.overflow = options.overflow ?? 'drop-newest';
  }

  /** The system queue (allocated on first use). */
  get system(): Deque<S> {
    return (this.sys ??= new Deque<S>(8));
  }

  /** Number of queued system messages. */
  get systemSize(): number {
    return this.sys === undefined ? 0 : this.sys.length;
  }

  /** Number of queued user messages. */
  get size(): number {
    return this.count;
  }

  get hasUser(): boolean {
    return this.count > 0;
  }

  /**
   * Queues a user message. Returns undefined when it was queued with nothing dropped,
   * otherwise the envelope that was dropped — `env` itself when the incoming message was
   * refused, or an older one that made room for it.
   */
  enqueue(env: Envelope, limit = this.capacity): Envelope | undefined {
    if (this.count - this.pinnedCount >= limit) {
      if (this.overflow !== 'drop-oldest') return env;
      // the oldest unpinned message of the least urgent level no more urgent than `env`
      for (let level = 3; level >= env.priority; level--) {
        const q = level === NORMAL ? this.normal : this.urgent?.[level];
        if (q === undefined || q.length === 0) continue;
        const victim = takeOldestUnpinned(q);
        if (victim === undefined) continue;
        this.count--;
        if (level !== NORMAL) this.nonNormal--;
        this.push(env);
        return victim;
      }
      return env;
    }
    this.push(env);
    return undefined;
  }

  /** Queues a user message ignoring the bound (watch notifications, which must not be lost). */
  enqueueUnbounded(env: Envelope): void {
    env.pinned = true;
    this.pinnedCount++;
    this.push(env);
  }

  /** The next user message, most urgent level first, FIFO within a level. */
  dequeue(): Envelope | undefined {
    if (this.count === 0) return undefined;
    let env: Envelope | undefined;
    if (this.nonNormal === 0) {
      env = this.normal.shift();
    } else {
      for (let i = 0; i < 4; i++) {
        const q = i === NORMAL ? this.normal : this.urgent?.[i];
        if (q && q.length > 0) {
          if (i !== NORMAL) this.nonNormal--;
          env = q.shift();
          break;
        }
      }
    }
    if (env === undefined) return undefined;
    this.count--;
    if (env.pinned) this.pinnedCount--;
    if (env.credit !== undefined) releaseCredit(env);
    return env;
  }

  /** Puts a message back at the head of its level (used when a turn ends before it ran). */
  requeueFront(env: Envelope): void {
    this.level(env.priority).unshift(env);
    this.count++;
    if (env.pinned) this.pinnedCount++;
    if (env.priority !== NORMAL) this.nonNormal++;
  }

  /** Removes and returns all user messages, most urgent first. */
  drainUser(): Envelope[] {
    const out: Envelope[] = [];
    for (let i = 0; i < 4; i++) {
      const q = i === NORMAL ? this.normal : this.urgent?.[i];
      if (q) for (const env of q.drain()) out.push(env);
    }
    this.count = 0;
    this.nonNormal = 0;
    this.pinnedCount = 0;
    return out;
  }

  private push(env: Envelope): void {
    this.level(env.priority).push(env);
    this.count++;
    if (env.priority !== NORMAL) this.nonNormal++;
  }

  private level(i: number): Deque<Envelope> {
    if (i === NORMAL) return this.normal;
    const urgent = (this.urgent ??= [undefined, undefined, undefined, undefined]);
    return (urgent[i] ??= new Deque<Envelope>(8));
  }

}

/** Removes and returns the oldest envelope that is not pinned, keeping the pinned ones in place. */
function takeOldestUnpinned(q: Deque<Envelope>): Envelope | undefined {
  const head = q.peek();
  if (head !== undefined && !head.pinned) return q.shift();
  const pinned: Envelope[] = [];
  let victim: Envelope | undefined;
  while (q.length > 0) {
    const env = q.shift()!;
    if (env.pinned) pinned.push(env);
    else {
      victim = env;
      break;
    }
  }
  for (let i = pinned.length - 1; i >= 0; i--) q.unshift(pinned[i]!);
  return victim;
}
