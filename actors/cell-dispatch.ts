/**
 * DispatchCell: how messages reach a cell and run, one at a time.
 *
 * Owns: delivery into the mailbox (bounds, stash limit while not running, dead letters),
 * the run loop the dispatcher calls (system queue first, then user messages while
 * running), invoking `receive` (sync or async, replying to asks, sampling processing
 * time), a failed `receive`, `terminated` notices, and asks cancelled by their askers.
 * Does not own: what a system message does (cell-system-queue.ts) or what an exit leads
 * to (the parent decides).
 * Threads: touched only by its own thread. Time: only through the host's clock.
 */
import { ApiaryError, ErrorCodes } from './foundation/errors.js';
import type { ActorRef } from './actor-ref.js';
import type { AskRegistry } from './ask.js';
import { Cancels } from './ask-cancels.js';
import { CellBase, isThenable } from './cell-base.js';
import type { Runnable } from './dispatcher.js';
import type { DeadLetterReason } from './events.js';
import { errorReason, type ExitReason } from './exit-reason.js';
import type { AskReplyTo, Envelope } from './mailbox.js';
import { TerminatedMessage } from './watches.js';

/** One message in this many (a power of two) has its processing time measured. */
export const PROCESSING_SAMPLE = 8;

export abstract class DispatchCell extends CellBase implements Runnable {
  // ---- RefTarget -------------------------------------------------------------------

  get asks(): AskRegistry {
    return this.host.asks;
  }

  get dead(): boolean {
    return this.status === 'dead';
  }

  deliver(env: Envelope): boolean {
    const status = this.status;
    if (status === 'dead') {
      this.deadLetter(env, 'stopped');
      return false;
    }
    const mailbox = this.mailbox;
    const limit = status === 'running' || status === 'starting' || status === 'new'
      ? mailbox.capacity
      : Math.min(mailbox.capacity, this.stashLimit);
    const dropped = mailbox.enqueue(env, limit);
    if (dropped !== undefined) {
      const reason: DeadLetterReason =
        limit < mailbox.capacity && mailbox.size >= limit
          ? 'restarting-stash-full'
          : mailbox.overflow === 'reject'
            ? 'mailbox-full'
            : dropped === env
              ? 'dropped-newest'
              : 'dropped-oldest';
      this.deadLetter(dropped, reason);
      if (dropped === env) return false;
    }
    if (status === 'running' && !this.busy && !this.scheduled) this.host.dispatcher.schedule(this);
    return true;
  }

  /** The asker (on this thread) abandoned ask `id`. */
  cancel(id: number): void {
    this.cancelAsk(this.host.asks, id);
  }

  /**
   * Ask `id` answered through `replyTo` was cancelled by its asker: a message in progress
   * has its signal aborted, a deferred reply its `signal`, a queued one is skipped.
   */
  cancelAsk(replyTo: AskReplyTo, id: number): void {
    if (this.status === 'dead') return;
    const env = this.current ?? this.inFlight;
    if (env !== undefined && env.ask === id && env.replyTo === replyTo) {
      (this.messageAbort ??= new AbortController()).abort();
      return;
    }
    (this.cancels ??= new Cancels()).cancel(replyTo, id);
  }

  // ---- Runnable ----------------------------------------------------------------------

  get runnable(): boolean {
    const mb = this.mb;
    return !this.busy && mb !== undefined && (mb.systemSize > 0 || (this.status === 'running' && mb.hasUser));
  }

  run(budget: number): number {
    const mb = this.mb;
    if (mb === undefined) return 0; // nothing was ever queued
    let n = 0;
    while (n < budget && !this.busy) {
      const sys = mb.systemSize > 0 ? mb.system.shift() : undefined;
      if (sys !== undefined) {
        n++;
        this.handleSystem(sys);
        continue;
      }
      if (this.status !== 'running') break;
      const env = mb.dequeue();
      if (env === undefined) break;
      n++;
      this.invoke(env);
    }
    return n;
  }

  protected wake(): void {
    if (this.runnable) this.host.dispatcher.schedule(this);
  }

  private invoke(env: Envelope): void {
    const msg = env.msg;
    if (msg instanceof TerminatedMessage && !this.watches.takeNotice(msg)) return; // unwatched meanwhile: discard
    if (this.cancels !== undefined && env.ask !== 0 && this.cancels.skip(env)) return; // its asker gave up
    this.sender = env.sender as ActorRef | undefined;
    const host = this.host;
    // time one message in PROCESSING_SAMPLE: enough for the histogram, cheap for the hot path
    const t0 = (++host.processed & (PROCESSING_SAMPLE - 1)) === 0 ? host.clock.now() : -1;
    let result: unknown;
    this.current = env;
    this.messageAbort = undefined;
    try {
      result = this.instance!.receive(msg);
    } catch (err) {
      this.current = undefined;
      this.receiveFailed(err, env);
      return;
    }
    this.current = undefined;
    if (isThenable(result)) {
      this.busy = true;
      this.inFlight = env;
      const token = this.token;
      result.then(
        (value) => {
          if (token !== this.token) return;
          if (t0 >= 0) host.processing.observe(host.clock.now() - t0);
          this.busy = false;
          this.inFlight = undefined;
          this.messageAbort = undefined;
          if (env.ask !== 0) env.replyTo!.resolve(env.ask, value);
          this.wake();
        },
        (err: unknown) => {
          if (token !== this.token) return;
          this.busy = false;
          this.inFlight = undefined;
          this.messageAbort = undefined;
          this.receiveFailed(err, env);
          this.wake();
        },
      );
    } else {
      if (t0 >= 0) host.processing.observe(host.clock.now() - t0);
      if (env.ask !== 0) env.replyTo!.resolve(env.ask, result);
    }
  }

  private receiveFailed(err: unknown, env: Envelope): void {
    if (env.ask !== 0) {
      env.replyTo!.reject(env.ask, new ApiaryError(ErrorCodes.ACTOR_FAILED, `${this.path} failed handling this message`, { cause: err }));
    }
    const reason = errorReason(err);
    this.host.emit({ type: 'failed', path: this.path, reason, at: this.host.clock.now() });
    this.exited(reason, true);
  }

  /** Queues a `terminated` message for `ref` (which this actor watches). */
  notifyTerminated(ref: ActorRef, reason: ExitReason): void {
    if (this.status === 'dead') return;
    this.mailbox.enqueueUnbounded({ msg: new TerminatedMessage(ref, reason), sender: undefined, ask: 0, priority: 2 });
    if (this.status === 'running' && !this.busy) this.host.dispatcher.schedule(this);
  }

  protected deadLetter(env: Envelope, reason: DeadLetterReason): void {
    if (env.ask !== 0) {
      const code = reason === 'stopped' ? ErrorCodes.ACTOR_STOPPED : ErrorCodes.MAILBOX_FULL;
      env.replyTo!.reject(env.ask, new ApiaryError(code, `message to ${this.path} not delivered: ${reason}`));
    }
    this.host.deadLetter(this.path, env, reason);
  }
}
