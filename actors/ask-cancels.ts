/**
 * Cancels: the asks one cell's askers gave up on.
 *
 * Owns: ids of queued asks to skip (bounded: at most 10 000 per reply route), and the
 * deferred replies (`context.replyLater`) whose `signal` a cancel aborts. A cell allocates
 * one on the first cancel or `replyLater`, so plain actors carry none of it.
 * Does not own: aborting the message in progress (the cell's own signal) or rejecting the
 * ask (the asker's registry did that already).
 * Threads: one per cell, touched only by the cell's thread.
 */
import type { DeferredReply } from './actor.js';
import type { AskReplyTo, Envelope } from './mailbox.js';

/** The signal outside a message, or of a settled deferred reply: it never aborts. */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal;

export class Cancels {
  private readonly skipped = new Map<AskReplyTo, Set<number>>();
  private readonly deferred = new Map<AskReplyTo, Map<number, AbortController | null>>();

  cancel(replyTo: AskReplyTo, id: number): void {
    const waiting = this.deferred.get(replyTo);
    if (waiting?.has(id)) {
      const ctl = waiting.get(id) ?? new AbortController();
      waiting.set(id, ctl);
      ctl.abort();
      return;
    }
    let set = this.skipped.get(replyTo);
    if (set === undefined) this.skipped.set(replyTo, (set = new Set()));
    if (set.size < 10_000) set.add(id);
  }

  /** True (and forgotten) if this queued ask was cancelled. */
  skip(env: Envelope): boolean {
    const set = this.skipped.get(env.replyTo!);
    if (set === undefined || !set.delete(env.ask)) return false;
    if (set.size === 0) this.skipped.delete(env.replyTo!);
    return true;
  }

  defer<R>(replyTo: AskReplyTo, id: number, aborted: boolean): DeferredReply<R> {
    let waiting = this.deferred.get(replyTo);
    if (waiting === undefined) this.deferred.set(replyTo, (waiting = new Map()));
    const map = waiting;
    let ctl: AbortController | null = null;
    if (aborted) (ctl = new AbortController()).abort();
    map.set(id, ctl);
    let settled = false;
    const done = (): boolean => {
      if (settled) return false;
      settled = true;
      map.delete(id);
      if (map.size === 0) this.deferred.delete(replyTo);
      return true;
    };
    return {
      resolve: (value) => {
        if (done()) replyTo.resolve(id, value);
      },
      reject: (err) => {
        if (done()) replyTo.reject(id, err);
      },
      get signal() {
        if (settled) return NEVER_ABORTED;
        let c = map.get(id);
        if (c === undefined || c === null) map.set(id, (c = new AbortController()));
        return c.signal;
      },
    };
  }
}
