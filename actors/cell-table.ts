/**
 * CellTable: the live actors of one thread by id.
 *
 * Owns: id → cell lookup for delivery from other threads. Ids are handed out in sequence,
 * so the table is paged (4096 slots a page, a page freed when its last actor dies): O(1)
 * get/set/delete without the rehashing and cache misses a Map of a million entries costs,
 * and memory bounded by the live actors' spread of ids.
 */
const PAGE = 4096;

interface Page<T> {
  slots: (T | undefined)[];
  count: number;
}

export class CellTable<T> {
  private readonly pages = new Map<number, Page<T>>();
  private lastIndex = -1;
  private lastPage: Page<T> | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  private page(index: number): Page<T> | undefined {
    if (index === this.lastIndex) return this.lastPage;
    const page = this.pages.get(index);
    if (page !== undefined) {
      this.lastIndex = index;
      this.lastPage = page;
    }
    return page;
  }

  get(id: number): T | undefined {
    const index = Math.floor(id / PAGE);
    return this.page(index)?.slots[id - index * PAGE];
  }

  set(id: number, value: T): void {
    const index = Math.floor(id / PAGE);
    let page = this.page(index);
    if (page === undefined) {
      page = { slots: new Array<T | undefined>(PAGE), count: 0 };
      this.pages.set(index, page);
      this.lastIndex = index;
      this.lastPage = page;
    }
    const slot = id - index * PAGE;
    if (page.slots[slot] === undefined) {
      page.count++;
      this.count++;
    }
    page.slots[slot] = value;
  }

  delete(id: number): boolean {
    const index = Math.floor(id / PAGE);
    const page = this.page(index);
    const slot = id - index * PAGE;
    if (page === undefined || page.slots[slot] === undefined) return false;
    page.slots[slot] = undefined;
    page.count--;
    this.count--;
    if (page.count === 0) {
      this.pages.delete(index);
      if (this.lastIndex === index) {
        this.lastIndex = -1;
        this.lastPage = undefined;
      }
    }
    return true;
  }

  /** Live values in id order within each page, pages in creation order. */
  *values(): IterableIterator<T> {
    for (const page of this.pages.values()) {
      for (const v of page.slots) if (v !== undefined) yield v;
    }
  }
}
