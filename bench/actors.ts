/**
 * Actors used by the benchmarks; loadable by any thread (static `module`).
 */
import { Actor } from '../actors/actor.js';
import type { ActorRef } from '../actors/actor-ref.js';

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

/**
 * The backpressure scenario's consumer: 1 ms per message (an async receive, on its clock).
 * `{ reporter }` first: it then tells its count there every 10 messages (the reporter sits
 * where the link is not congested, so the count is read without waiting behind the backlog).
 */
export class BenchSlow extends Actor<unknown, unknown> {
  static readonly module = import.meta.url;
  private n = 0;
  private reporter: ActorRef<number> | undefined;
  receive(msg: unknown): Promise<void> | undefined {
    const r = (msg as { reporter?: ActorRef<number> }).reporter;
    if (r !== undefined) {
      this.reporter = r;
      return undefined;
    }
    if (++this.n % 10 === 0) this.reporter?.tell(this.n);
    return new Promise((resolve) => this.context.clock.setTimeout(resolve, 1));
  }
}

/** Keeps the last count a BenchSlow told it; `'read'` answers it. */
export class BenchCount extends Actor<unknown, unknown> {
  static readonly module = import.meta.url;
  private n = 0;
  receive(msg: unknown): unknown {
    if (msg === 'read') return this.n;
    this.n = msg as number;
    return undefined;
  }
}
