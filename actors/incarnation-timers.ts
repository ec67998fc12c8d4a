/**
 * IncarnationTimers: the timers one incarnation of an actor armed with `scheduleOnce`.
 *
 * Owns: arming a timer that tells the actor a message, and cancelling every timer still
 * pending when the incarnation ends (stop, restart, kill), so a restarted actor never
 * receives ticks armed by its predecessor.
 * Threads: one per cell that ever armed a timer, touched only by the cell's thread.
 * Time: the given clock only.
 */
import type { ActorRef } from './actor-ref.js';
import type { Clock, TimerHandle } from './foundation/clock.js';

export class IncarnationTimers {
  private readonly pending = new Set<TimerHandle>();

  constructor(private readonly clock: Clock) {}

  /** Tells `message` to `self` after `ms`; returns a function that cancels it. */
  schedule(self: ActorRef, ms: number, message: unknown): () => void {
    const pending = this.pending;
    const handle = this.clock.setTimeout(() => {
      pending.delete(handle);
      self.tell(message);
    }, ms);
    pending.add(handle);
    return () => {
      if (pending.delete(handle)) this.clock.clearTimeout(handle);
    };
  }

  /** Cancels every pending timer (the incarnation ended). */
  cancelAll(): void {
    for (const t of this.pending) this.clock.clearTimeout(t);
    this.pending.clear();
  }
}
