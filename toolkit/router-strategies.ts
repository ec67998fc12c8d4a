/**
 * Routing strategies as pure functions over plain views of the routees: round-robin,
 * random, consistent hash (a ring of virtual nodes), least-loaded, smooth weighted
 * round-robin (nginx's), latency-aware (EWMA of ask round trips), and the health filter.
 *
 * Owns: choosing an index. Does not own: routee bookkeeping or sending (router.ts).
 * No clock, no randomness of its own: `random` is passed in. Threads: any.
 */

/** What a strategy sees of one routee. */
export interface RouteeView {
  /** User messages waiting in its mailbox (0 when not known, e.g. on another thread). */
  readonly mailbox: number;
  /** Asks the router sent it that have not settled. */
  readonly inFlight: number;
  /** EWMA of its ask round trips, ms; undefined before the first answer. */
  readonly ewmaMs: number | undefined;
  readonly weight: number;
}

/** The strategies a router can use. */
export type RoutingStrategy = 'round-robin' | 'random' | 'consistent-hash' | 'least-loaded' | 'weighted' | 'latency';

/** Round-robin: the `counter`-th routee of `n`. */
export function roundRobin(counter: number, n: number): number {
  return counter % n;
}

/** Uniformly random; `random` in [0, 1). */
export function randomIndex(random: number, n: number): number {
  return Math.min(n - 1, Math.floor(random * n));
}

/** Smallest mailbox, then fewest in flight, then the first. */
export function leastLoaded(views: readonly RouteeView[]): number {
  let best = 0;
  for (let i = 1; i < views.length; i++) {
    const a = views[i]!;
    const b = views[best]!;
    if (a.mailbox < b.mailbox || (a.mailbox === b.mailbox && a.inFlight < b.inFlight)) best = i;
  }
  return best;
}

/** Lowest latency EWMA; a routee never measured goes first (so each one gets measured). */
export function lowestLatency(views: readonly RouteeView[]): number {
  let best = 0;
  for (let i = 0; i < views.length; i++) {
    const v = views[i]!.ewmaMs;
    if (v === undefined) return i;
    if (v < views[best]!.ewmaMs!) best = i;
  }
  return best;
}

/** The next EWMA after one more `sample` (the first sample is taken as is). */
export function ewma(previous: number | undefined, sample: number, alpha: number): number {
  return previous === undefined ? sample : alpha * sample + (1 - alpha) * previous;
}

/**
 * Smooth weighted round-robin (nginx): each pick adds every weight to its current value,
 * takes the largest and subtracts the total from it. Exactly proportional over any
 * `sum(weights)` picks, and evenly interleaved. Returns the pick and the next currents.
 */
export function smoothWeighted(currents: readonly number[], weights: readonly number[]): { index: number; currents: number[] } {
  const next = currents.map((c, i) => c + weights[i]!);
  let total = 0;
  let best = 0;
  for (let i = 0; i < next.length; i++) {
    total += weights[i]!;
    if (next[i]! > next[best]!) best = i;
  }
  next[best]! -= total;
  return { index: best, currents: next };
}

/** FNV-1a 32-bit, then a murmur3 finaliser so nearby strings spread over the ring. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A consistent-hash ring: sorted points, each owned by a routee id. Immutable. */
export interface HashRing {
  readonly points: Uint32Array;
  readonly owners: readonly string[];
}

/** Builds the ring for `ids` with `virtualNodes` points each. */
export function hashRing(ids: readonly string[], virtualNodes: number): HashRing {
  const entries: [number, string][] = [];
  for (const id of ids) for (let v = 0; v < virtualNodes; v++) entries.push([hash32(`${id}#${v}`), id]);
  entries.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1));
  return { points: Uint32Array.from(entries.map((e) => e[0])), owners: entries.map((e) => e[1]) };
}

/** The routee id owning `key`: the first point at or after its hash, wrapping around. */
export function ringOwner(ring: HashRing, key: string): string | undefined {
  const n = ring.points.length;
  if (n === 0) return undefined;
  const h = hash32(key);
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ring.points[mid]! < h) lo = mid + 1;
    else hi = mid;
  }
  return ring.owners[lo === n ? 0 : lo];
}
