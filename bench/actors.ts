/**
 * Actors used by the benchmarks; loadable by any thread (static `module`).
 */
import { Actor } from '../actors/actor.js';

/**
 * The target of the message scenarios: a number is echoed (ping-pong, asks), `'count'`
 * answers how many other messages arrived before it, anything else is counted.
 */
export class BenchTarget extends Actor<unknown, unknown> {
  static readonly module = import.meta.url;
  private n = 0;
  receive(msg: unknown): unknown {
    if (typeof msg === 'number') return msg;
    if (msg === 'count') return this.n;
    this.n++;
    return undefined;
  }
}

/** An idle actor for the spawn scenario: it never receives anything. */
export class BenchIdle extends Actor<unknown, unknown> {
  static readonly module = import.meta.url;
  receive(msg: unknown): unknown {
    return msg;
  }
}

/**
 * The restart scenario's actor: `'crash'` throws (the actor exits and is restarted),
 * `'exit-thread'` ends its whole worker thread, anything else is echoed.
 */
export class BenchCrasher extends Actor<unknown, unknown> {
  static readonly module = import.meta.url;
  receive(msg: unknown): unknown {
    if (msg === 'crash') throw new Error('bench crash');
    if (msg === 'exit-thread') process.exit(3);
    return msg;
  }
}
