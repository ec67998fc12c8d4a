/**
 * Actors used by the benchmarks; loadable by any thread (static `module`).
 */
import { Actor } from '../actors/actor.js';

/** Answers every message with itself. */
export class BenchEcho extends Actor<unknown, unknown> {
  static readonly module = import.meta.url;
  receive(msg: unknown): unknown {
    return msg;
  }
}

/** Counts messages; `'count'` answers how many arrived before it. */
export class BenchCounter extends Actor<unknown, number | undefined> {
  static readonly module = import.meta.url;
  private n = 0;
  receive(msg: unknown): number | undefined {
    if (msg === 'count') return this.n;
    this.n++;
    return undefined;
  }
}
