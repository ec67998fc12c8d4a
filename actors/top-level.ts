/**
 * TopLevelCells: the top-level actors of one thread, in spawn order.
 *
 * Owns nothing per actor: it is a view over the thread's cell table — a live cell is
 * top-level when it says so (ActorCell.topLevel: no parent here, not runtime-internal, not
 * made for a parent on another thread of this node). Ids
 * grow with every spawn and the table yields them in id order, so iteration is spawn order.
 * A `Set` of a million actors cost ~20% of the spawn time (rehashing as it grew) and ~20 B
 * per actor. Iterating visits every live cell of the thread: it serves admin walks and
 * system stop, not per-message paths.
 * Threads: one per host, touched only by its thread.
 */
import type { ActorCell } from './actor-cell.js';
import type { CellTable } from './cell-table.js';

export class TopLevelCells implements Iterable<ActorCell> {
  constructor(private readonly cells: CellTable<ActorCell>) {}

  /** True if `cell` is a live top-level actor of this thread. */
  has(cell: ActorCell): boolean {
    return cell.topLevel && this.cells.get(cell.id) === cell;
  }

  *[Symbol.iterator](): IterableIterator<ActorCell> {
    for (const cell of this.cells.values()) if (cell.topLevel) yield cell;
  }

  /** Counts them (walks every live cell of the thread). */
  get size(): number {
    let n = 0;
    for (const _ of this) n++;
    return n;
  }
}
