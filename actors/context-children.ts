/**
 * ContextChildren: the children an actor started with `context.spawn`, in start order.
 *
 * Owns: the list, and stopping it — gracefully in reverse start order (each within
 * CONTEXT_CHILD_SHUTDOWN ms, then killed) before its parent stops or restarts, or brutally
 * when the parent is killed. A child that dies on its own leaves the list.
 * Does not own: restarting children (use a supervisor for that).
 * Threads: one per cell that ever spawned a child, touched only by the cell's thread.
 */
import type { ActorCell } from './actor-cell.js';
import type { Clock } from './foundation/clock.js';
import { stopWithin } from './shutdown.js';

/** ms a context-spawned child gets to stop before it is killed. */
export const CONTEXT_CHILD_SHUTDOWN = 5000;

export class ContextChildren implements Iterable<ActorCell> {
  private readonly list: ActorCell[] = [];

  get size(): number {
    return this.list.length;
  }

  add(child: ActorCell): void {
    this.list.push(child);
  }

  /** A child died: it leaves the list. */
  remove(child: ActorCell): void {
    const i = this.list.indexOf(child);
    if (i >= 0) this.list.splice(i, 1);
  }

  [Symbol.iterator](): Iterator<ActorCell> {
    return this.list[Symbol.iterator]();
  }

  /** Stops every child, newest first, each within its shutdown; undefined when there are none. */
  stopAll(clock: Clock): Promise<void> | undefined {
    if (this.list.length === 0) return undefined;
    const children = [...this.list].reverse();
    return (async () => {
      for (const child of children) await stopWithin(child, 'shutdown', CONTEXT_CHILD_SHUTDOWN, clock);
    })();
  }

  /** Kills every child at once, newest first (the parent was killed). */
  killAll(): void {
    for (const child of [...this.list].reverse()) child.kill('shutdown', true);
  }
}
