/**
 * Pending asks of one thread: the reply side of request/response.
 *
 * Owns: ask ids and their promises; their timeouts through {@link AskDeadlines} (one clock
 * timer for all of them, not one per ask). A reply for an unknown id (timed out, already
 * answered) is dropped here — it can never reach a later ask, because ids are never reused
 * within a thread's life.
 * Threads: one registry per thread; replies from other threads arrive as plain data.
 */
import type { Clock } from './foundation/clock.js';
import { ApiaryError, ErrorCodes } from './foundation/errors.js';
import { AskDeadlines, type Deadline, type Lane } from './ask-deadlines.js';
import { LatencyHistogram } from './foundation/latency-histogram.js';

/** Whom an ask went to; `path` is read only if the ask times out (for the error message). */
export interface AskSubject {
  readonly path: string;
}

type Settle = (value: unknown) => void;

/** One open ask: the only object the registry keeps per ask (besides its promise). */
class Pending implements Deadline {
  open = true;
  lane: Lane | undefined = undefined;
  constructor(
    readonly id: number,
    readonly resolve: Settle,
    readonly reject: Settle,
    readonly startedAt: number,
    readonly subject: AskSubject,
  ) {}
}

export class AskRegistry {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly deadlines: AskDeadlines<Pending>;
  /** Filled by {@link capture} while `new Promise` runs: no executor closure per ask. */
  private capturedResolve: Settle | undefined;
  private capturedReject: Settle | undefined;
  private readonly capture = (resolve: Settle, reject: Settle): void => {
    this.capturedResolve = resolve;
    this.capturedReject = reject;
  };
  /** Replies that arrived after their ask was settled (timeout or rejection). */
  lateReplies = 0;

  constructor(
    private readonly clock: Clock,
    /** Round-trip times of answered asks, ms. */
    readonly latency: LatencyHistogram = new LatencyHistogram(),
  ) {
    this.deadlines = new AskDeadlines<Pending>(clock, (entry, timeout) => {
      this.pending.delete(entry.id);
      entry.reject(new ApiaryError(ErrorCodes.ASK_TIMEOUT, `ask to ${entry.subject.path} timed out after ${timeout} ms`));
    });
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * Entries the timeout queues hold: the open asks with a deadline, plus answered ones not
   * dropped yet — never more than 2 × (open asks + 1024).
   */
  get queuedDeadlines(): number {
    return this.deadlines.queued;
  }

  /**
   * Opens an ask to `subject`; the promise rejects `ERR_ASK_TIMEOUT` once `timeout` ms have
   * passed (never, if Infinity) unless it was settled before.
   */
  open<R>(timeout: number, subject: AskSubject): { id: number; promise: Promise<R> } {
    const id = this.nextId++;
    const promise = new Promise<R>(this.capture as (resolve: (value: R) => void, reject: Settle) => void);
    const entry = new Pending(id, this.capturedResolve!, this.capturedReject!, this.clock.now(), subject);
    this.capturedResolve = this.capturedReject = undefined;
    this.pending.set(id, entry);
    if (Number.isFinite(timeout)) this.deadlines.add(entry, timeout);
    return { id, promise };
  }

  /** True while ask `id` waits for its answer. */
  isOpen(id: number): boolean {
    return this.pending.has(id);
  }

  /** Delivers a reply; returns false (and counts a late reply) if the ask is no longer open. */
  resolve(id: number, value: unknown): boolean {
    const entry = this.pending.get(id);
    if (entry === undefined) {
      this.lateReplies++;
      return false;
    }
    this.pending.delete(id);
    entry.open = false;
    this.latency.observe(this.clock.now() - entry.startedAt);
    entry.resolve(value);
    // after resolving: an ask the asker's continuation opens right away keeps the timer armed
    if (entry.lane !== undefined) this.deadlines.settled(entry);
    return true;
  }

  /** Rejects an open ask; returns false if it is no longer open. */
  reject(id: number, err: unknown): boolean {
    const entry = this.pending.get(id);
    if (entry === undefined) return false;
    this.pending.delete(id);
    entry.open = false;
    entry.reject(err);
    if (entry.lane !== undefined) this.deadlines.settled(entry);
    return true;
  }

  /** Rejects every open ask (used when the thread's system stops). */
  rejectAll(err: unknown): void {
    for (const id of [...this.pending.keys()]) this.reject(id, err);
  }
}
