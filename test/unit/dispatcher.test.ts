/**
 * The dispatcher: a per-actor throughput budget so one flooded actor cannot hold the
 * thread, and a per-turn budget so the event loop gets its turn.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Actor, ACTOR_DEFAULTS } from '../../index.js';
import { Dispatcher, type Runnable } from '../../actors/dispatcher.js';
import { deferred, testSystem, type TestSystem } from './support.js';

interface Progress {
  processed: number;
}

class Flooded extends Actor<number> {
  constructor(private readonly progress: Progress) {
    super();
  }

  receive(): void {
    this.progress.processed++;
  }
}

/** Notes how far the flooded actor got when this one handled its message. */
class Witness extends Actor<string> {
  constructor(private readonly probe: { progress: Progress; sawAt: number | undefined }) {
    super();
  }

  receive(): void {
    this.probe.sawAt = this.probe.progress.processed;
  }
}

let t: TestSystem;
afterEach(async () => t?.dispose());

describe('throughput budget', () => {
  it('a second actor runs while the first still has 1M messages queued, and setImmediate is not starved', async () => {
    t = testSystem();
    const progress: Progress = { processed: 0 };
    const probe = { progress, sawAt: undefined as number | undefined };
    const flooded = await t.system.spawn(Flooded, { args: progress });
    const witness = await t.system.spawn(Witness, { args: probe });

    const total = 1_000_000;
    for (let i = 0; i < total; i++) flooded.tell(i);
    witness.tell('your turn');
    let atImmediate: number | undefined;
    setImmediate(() => {
      atImmediate = progress.processed;
    });

    await t.settle();

    expect(progress.processed).toBe(total);
    expect(probe.sawAt).toBeDefined();
    expect(probe.sawAt!).toBeLessThanOrEqual(ACTOR_DEFAULTS.throughput);
    expect(atImmediate).toBeDefined();
    expect(atImmediate!).toBeLessThanOrEqual(ACTOR_DEFAULTS.turnBudget);
  });

  it.each([1, 10, 250])('with throughput %i, the second actor waits for at most that many of the first one\'s messages', async (throughput) => {
    t = testSystem({ throughput });
    const progress: Progress = { processed: 0 };
    const probe = { progress, sawAt: undefined as number | undefined };
    const flooded = await t.system.spawn(Flooded, { args: progress });
    const witness = await t.system.spawn(Witness, { args: probe });
    for (let i = 0; i < 10_000; i++) flooded.tell(i);
    witness.tell('your turn');
    await t.settle();
    expect(progress.processed).toBe(10_000);
    expect(probe.sawAt).toBeDefined();
    expect(probe.sawAt!).toBeGreaterThan(0); // the first actor did get its budget first
    expect(probe.sawAt!).toBeLessThanOrEqual(throughput);
  });

  it.each([200, 1000])('with turnBudget %i, a setImmediate runs after at most that many messages', async (turnBudget) => {
    t = testSystem({ turnBudget });
    const progress: Progress = { processed: 0 };
    const flooded = await t.system.spawn(Flooded, { args: progress });
    for (let i = 0; i < 20_000; i++) flooded.tell(i);
    const seen: number[] = [];
    const tick = () => {
      seen.push(progress.processed);
      if (progress.processed < 20_000 && seen.length < 1000) setImmediate(tick);
    };
    setImmediate(tick);
    await t.settle();
    expect(progress.processed).toBe(20_000);
    // the event loop got a turn at least every turnBudget messages
    const gaps = seen.slice(1).map((n, i) => n - seen[i]!);
    expect(seen[0]!).toBeLessThanOrEqual(turnBudget);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(turnBudget);
    expect(seen.length).toBeGreaterThanOrEqual(20_000 / turnBudget);
  });
});

describe('async receive under a flood', () => {
  class AsyncFlooded extends Actor<number> {
    constructor(private readonly progress: Progress) {
      super();
    }

    async receive(): Promise<void> {
      await Promise.resolve();
      this.progress.processed++;
    }
  }

  it('an actor whose receive is async does not starve setImmediate either (turnBudget 500)', async () => {
    t = testSystem({ turnBudget: 500 });
    const progress: Progress = { processed: 0 };
    const flooded = await t.system.spawn(AsyncFlooded, { args: progress });
    for (let i = 0; i < 10_000; i++) flooded.tell(i);
    const seen: number[] = [];
    const tick = () => {
      seen.push(progress.processed);
      if (progress.processed < 10_000 && seen.length < 1000) setImmediate(tick);
    };
    setImmediate(tick);
    await t.settle();
    expect(progress.processed).toBe(10_000);
    const gaps = seen.slice(1).map((n, i) => n - seen[i]!);
    expect(seen[0]!).toBeLessThanOrEqual(500);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(500);
  });
});

describe('Dispatcher', () => {
  class Work implements Runnable {
    scheduled = false;
    constructor(
      readonly name: string,
      public left: number,
      readonly log: string[],
    ) {}

    get runnable(): boolean {
      return this.left > 0;
    }

    run(budget: number): number {
      const n = Math.min(budget, this.left);
      this.left -= n;
      this.log.push(`${this.name}:${n}`);
      return n;
    }
  }

  it('visits runnables round-robin, each for at most `throughput` messages per visit', async () => {
    const d = new Dispatcher({ throughput: 100 });
    const log: string[] = [];
    d.schedule(new Work('a', 250, log));
    d.schedule(new Work('b', 50, log));
    await d.whenIdle();
    expect(log).toEqual(['a:100', 'b:50', 'a:100', 'a:50']);
  });

  it('scheduling a runnable already in the run queue does not queue it twice', async () => {
    const d = new Dispatcher({ throughput: 10 });
    const log: string[] = [];
    const a = new Work('a', 10, log);
    d.schedule(a);
    d.schedule(a);
    await d.whenIdle();
    expect(log).toEqual(['a:10']);
  });

  it('the first turn starts in a microtask, before any setImmediate', async () => {
    const d = new Dispatcher();
    const log: string[] = [];
    const seen = deferred<string[]>();
    setImmediate(() => seen.resolve([...log]));
    d.schedule(new Work('a', 3, log));
    expect(log).toEqual([]); // not synchronously
    expect(await seen.promise).toEqual(['a:3']);
  });

  it('yields to the event loop after turnBudget messages', async () => {
    const d = new Dispatcher({ throughput: 100, turnBudget: 1000 });
    const log: string[] = [];
    const a = new Work('a', 10_000, log);
    const seen = deferred<number>();
    setImmediate(() => seen.resolve(10_000 - a.left));
    d.schedule(a);
    expect(await seen.promise).toBe(1000);
    await d.whenIdle();
    expect(a.left).toBe(0);
  });

  it('keeps turnBudget at least throughput, and throughput at least 1', () => {
    expect(new Dispatcher({ throughput: 500, turnBudget: 10 }).turnBudget).toBe(500);
    expect(new Dispatcher({ throughput: 0 }).throughput).toBe(1);
    expect([new Dispatcher().throughput, new Dispatcher().turnBudget]).toEqual([ACTOR_DEFAULTS.throughput, ACTOR_DEFAULTS.turnBudget]);
  });

  it('whenIdle waits until the run queue is empty', async () => {
    const d = new Dispatcher({ throughput: 1, turnBudget: 1 });
    const log: string[] = [];
    const a = new Work('a', 50, log);
    d.schedule(a);
    expect(d.idle).toBe(false);
    await d.whenIdle();
    expect(d.idle).toBe(true);
    expect(a.left).toBe(0);
    expect(log).toHaveLength(50);
  });
});
