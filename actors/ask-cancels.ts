/**
 * Cancels: the asks one cell's askers gave up on.
 *
 * Owns: ids of queued asks to skip (bounded: at most 10 000 per reply route), and the
 * deferred replies (`context.replyLater`) a cancel reaches: their `signal` aborts and their
 * `onCancel` hooks run. A cell allocates one on the first cancel or `replyLater`, so plain
 * actors carry none of it.
 * Does not own: aborting the message in progress (the cell's own signal) or rejecting the
 * ask (the asker's registry did that already).
 * Threads: one per cell, touched only by the cell's thread.
 */
import type { DeferredReply } from './actor.js';
import type { AskReplyTo, Envelope } from './mailbox.js';

/** The signal outside a message, or of a settled deferred reply: it never aborts. */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal;

/** A deferred reply not settled yet. The AbortController is made only if `signal` is read. */
interface Waiting {
  cancelled: boolean;
  ctl: AbortController | undefined;
  hooks: (() => void)[] | undefined;
}

/** Cancelled ids kept per reply route, waiting for their queued message. */
const MAX_SKIPPED = 10_000;

export class Cancels {
  private readonly skipped = new Map<AskReplyTo, Set<number>>();
  private readonly deferred = new Map<AskReplyTo, Map<number, Waiting>>();

  cancel(replyTo: AskReplyTo, id: number): void {
    const waiting = this.deferred.get(replyTo)?.get(id);
    if (waiting !== undefined) {
      if (waiting.cancelled) return;
      waiting.cancelled = true;
      waiting.ctl?.abort();
      const hooks = waiting.hooks;
      waiting.hooks = undefined;
      if (hooks) for (const hook of hooks) hook();
      return;
    }
    let set = this.skipped.get(replyTo);
    if (set === undefined) this.skipped.set(replyTo, (set = new Set()));
    // a cancel that crossed the answer leaves an id no message will ever match: bounded, the
    // oldest go first (they are the likeliest to be such leftovers)
    if (set.size >= MAX_SKIPPED) set.delete(set.values().next().value!);
    set.add(id);
  }

  /** True (and forgotten) if this queued ask was cancelled. */
  skip(env: Envelope): boolean {
    const set = this.skipped.get(env.replyTo!);
    if (set === undefined || !set.delete(env.ask)) return false;
    if (set.size === 0) this.skipped.delete(env.replyTo!);
    return true;
  }

  defer<R>(replyTo: AskReplyTo, id: number, aborted: boolean): DeferredReply<R> {
    let map = this.deferred.get(replyTo);
    if (map === undefined) this.deferred.set(replyTo, (map = new Map()));
    const waiting: Waiting = { cancelled: aborted, ctl: undefined, hooks: undefined };
    map.set(id, waiting);
    let settled = false;
    const done = (): boolean => {
      if (settled) return false;
      settled = true;
      waiting.hooks = undefined;
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
        if (waiting.ctl === undefined) {
          waiting.ctl = new AbortController();
          if (waiting.cancelled) waiting.ctl.abort();
        }
        return waiting.ctl.signal;
      },
      onCancel: (hook) => {
        if (settled) return;
        if (waiting.cancelled) hook();
        else (waiting.hooks ??= []).push(hook);
      },
    };
  }
}
