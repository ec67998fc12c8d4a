/**
 * TopLevelCells: the top-level actors of one thread (no parent), in spawn order.
 *
 * Owns nothing per actor: it is a view over the thread's cell table — a live cell without
 * a local parent is top-level unless it was taken out with `delete` (a cell made here for
 * a parent on another thread or node, or a runtime-internal actor). Ids grow with every
 * spawn and the table yields them in id order, so iteration is spawn order. A `Set` of a
 * million actors cost ~20% of the spawn time (rehashing as it grew) and ~20 B per actor.
 * Iterating visits every live cell of the thread: it serves admin walks and system stop,
 * not per-message paths.
 * Threads: one per host, touched only by its thread.
 */
import type { ActorCell } from './actor-cell.js';
import type { CellTable } from './cell-table.js';

export class TopLevelCells implements Iterable<ActorCell> {
  constructor(private readonly cells: CellTable<ActorCell>) {}

  /** True if `cell` is a live top-level actor of this thread. */
  has(cell: ActorCell): boolean {
    return cell.parent === undefined && !cell.offTopLevel && this.cells.get(cell.id) === cell;
  }

  /** Takes a parentless cell out of the top level for good (it answers to a parent elsewhere). */
  delete(cell: ActorCell): boolean {
    if (!this.has(cell)) return false;
    cell.offTopLevel = true;
    return true;
  }

  *[Symbol.iterator](): IterableIterator<ActorCell> {
    for (const cell of this.cells.values()) if (cell.parent === undefined && !cell.offTopLevel) yield cell;
  }

  /** Counts them (walks every live cell of the thread). */
  get size(): number {
    let n = 0;
    for (const _ of this) n++;
    return n;
  }
}
