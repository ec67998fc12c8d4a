/**
 * A binary min-heap of entries ordered by a number (the task stores' ready, delayed and lease
 * indexes). Entries are never removed from the middle: an index holder checks an entry when it
 * comes out and drops one that no longer matches its record (lazy deletion).
 * Owns: its array. Threads: the one that made it. Time: none.
 */
export interface HeapEntry {
  /** Smaller comes out first. */
  key: number;
  id: string;
  /** The record's version when the entry was pushed (a later change makes the entry stale). */
  version: number;
}

/** The heap: `pop` returns the entry with the smallest key (ties in no particular order). */
export class MinHeap {
  private readonly items: HeapEntry[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): HeapEntry | undefined {
    return this.items[0];
  }

  push(entry: HeapEntry): void {
    const a = this.items;
    a.push(entry);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.key <= entry.key) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = entry;
  }

  pop(): HeapEntry | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const c = r < a.length && a[r]!.key < a[l]!.key ? r : l;
        if (a[c]!.key >= last.key) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}
