/**
 * Defaults of the actor core, in one place.
 */
export const DEFAULTS = {
  /** Ask timeout in ms (Akka's and apiary's documented default). */
  askTimeout: 5000,
  /**
   * Messages one actor may process before the dispatcher moves to the next runnable actor
   * (Akka's `throughput`, Proto.Actor's per-mailbox budget).
   */
  throughput: 100,
  /** Messages processed per event-loop turn before yielding with `setImmediate`. */
  turnBudget: 5000,
  /**
   * Deaths per thread whose exit reason is kept for a watch that arrives after its actor died
   * (from another thread or node); an older one is answered `noproc` (actors/recent-exits.ts).
   */
  recentExits: 1024,
  /**
   * Dead-letter events a worker thread forwards to the main thread's `events$` per second;
   * beyond it they are only counted (every dead letter is, on every thread).
   */
  deadLetterEventsPerSecond: 100,
  /**
   * `journal-write` events a worker thread forwards to the main thread's `events$` per second;
   * beyond it they are only counted (every write is, on every thread).
   */
  journalEventsPerSecond: 100,
} as const;
