/**
 * Ask timeouts with one timer per registry: asks with mixed timeouts reject in deadline
 * order, exactly at their deadline on the manual clock; answered asks never time out;
 * `Infinity` never does; answered asks stuck behind a hanging one do not pile up.
 */
import { describe, expect, it } from 'vitest';
import { AskDeadlines, COMPACT_SLACK, type Deadline } from '../../actors/ask-deadlines.js';
import { AskRegistry } from '../../actors/ask.js';
import { ApiaryError, ErrorCodes, ManualClock } from '../../index.js';

/** Lets pending promise reactions (and the registry's idle check) run; no time passes. */
const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

interface Watched {
  name: string;
  settled: string | undefined;
  at: number | undefined;
}

/** Reads of an ask subject's `path`: the registry reads it only to word a timeout. */
let pathReads = 0;

/** Opens an ask and records how (and at which manual time) it settles. */
function watch(reg: AskRegistry, clock: ManualClock, name: string, timeout: number, order: string[] = []): Watched & { id: number } {
  const subject = {
    get path(): string {
      pathReads++;
      return `/${name}`;
    },
  };
  const { id, promise } = reg.open<string>(timeout, subject);
  const w = { id, name, settled: undefined as string | undefined, at: undefined as number | undefined };
  promise.then(
    (v) => {
      w.settled = `resolved:${v}`;
      w.at = clock.now();
      order.push(name);
    },
    (err: ApiaryError) => {
      w.settled = err.code;
      w.at = clock.now();
      order.push(name);
    },
  );
  return w;
}

/** Advances the manual clock 1 ms at a time, letting reactions run after each step. */
async function stepTo(clock: ManualClock, target: number): Promise<void> {
  while (clock.now() < target) {
    clock.advance(1);
    await flush();
  }
}

describe('ask timeouts sharing one timer', () => {
  it('asks with mixed timeouts, opened at different times, reject in deadline order, each exactly at its deadline', async () => {
    const clock = new ManualClock();
    const reg = new AskRegistry(clock);
    const order: string[] = [];
    // [name, opened at, timeout] → deadline
    const plan: [string, number, number][] = [
      ['a', 0, 300], // 300
      ['b', 0, 100], // 100
      ['c', 10, 250], // 260
      ['d', 20, 100], // 120
      ['e', 30, 50], // 80
      ['f', 40, 300], // 340
      ['g', 200, 50], // 250
      ['h', 210, 100], // 310
    ];
    const asks: (Watched & { deadline: number })[] = [];
    for (const [name, at, timeout] of plan) {
      await stepTo(clock, at);
      asks.push(Object.assign(watch(reg, clock, name, timeout, order), { deadline: at + timeout }));
    }
    await stepTo(clock, 400);

    const byDeadline = [...asks].sort((x, y) => x.deadline - y.deadline).map((a) => a.name);
    expect(order).toEqual(byDeadline);
    for (const a of asks) {
      expect(a.settled).toBe(ErrorCodes.ASK_TIMEOUT);
      expect(a.at).toBe(a.deadline);
    }
    expect(reg.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('one long advance across many deadlines still rejects them in deadline order (ties: the older ask first)', async () => {
    const clock = new ManualClock();
    const reg = new AskRegistry(clock);
    const order: string[] = [];
    watch(reg, clock, 'slow', 900, order);
    watch(reg, clock, 'mid', 500, order);
    watch(reg, clock, 'fast', 100, order);
    watch(reg, clock, 'mid2', 500, order);
    clock.advance(400);
    watch(reg, clock, 'tie', 100, order); // deadline 500, like mid and mid2 but younger
    clock.advance(10_000);
    await flush();
    expect(order).toEqual(['fast', 'mid', 'mid2', 'tie', 'slow']);
  });

  it('keeps the timeout error text: "ask to <path> timed out after <ms> ms"', async () => {
    const clock = new ManualClock();
    const reg = new AskRegistry(clock);
    const { promise } = reg.open(250, { path: '/worker' });
    clock.advance(250);
    const err = await promise.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiaryError);
    expect((err as ApiaryError).message).toBe('ask to /worker timed out after 250 ms');
  });

  it('answered asks never time out, in whatever order they are answered, and leave no timer behind', async () => {
    const clock = new ManualClock();
    const reg = new AskRegistry(clock);
    pathReads = 0;
    const asks = Array.from({ length: 200 }, (_, i) => watch(reg, clock, `a${i}`, [100, 250, 5000][i % 3]!));
    clock.advance(50);
    // answer in a scrambled order: heads first for some lanes, tails first for others
    const scrambled = asks.map((a, i) => ({ a, key: (i * 7919) % 200 })).sort((x, y) => x.key - y.key);
    for (const { a } of scrambled) expect(reg.resolve(a.id, a.name)).toBe(true);
    expect(reg.queuedDeadlines).toBe(0); // all answered: nothing left queued
    await flush();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(100_000);
    await flush();
    for (const a of asks) expect(a.settled).toBe(`resolved:${a.name}`);
    expect(pathReads).toBe(0); // no timeout was even worded for them
    expect(reg.lateReplies).toBe(0);
  });

  it('an answered ask ahead of a waiting one does not make the waiting one time out early, nor late', async () => {
    const clock = new ManualClock();
    const reg = new AskRegistry(clock);
    pathReads = 0;
    const first = watch(reg, clock, 'first', 100);
    clock.advance(50);
    const second = watch(reg, clock, 'second', 100);
    reg.resolve(first.id, 'ok'); // the timer was armed for first's deadline, 100
    await stepTo(clock, 149);
    expect(second.settled).toBeUndefined();
    await stepTo(clock, 150);
    expect(second.settled).toBe(ErrorCodes.ASK_TIMEOUT);
    expect(second.at).toBe(150);
    expect(first.settled).toBe('resolved:ok');
    expect(pathReads).toBe(1); // the answered one was never taken for expired
  });

  it('a reply after the timeout is dropped and counted', async () => {
    const clock = new ManualClock();
    const reg = new AskRegistry(clock);
    const a = watch(reg, clock, 'a', 100);
    clock.advance(100);
    await flush();
    expect(a.settled).toBe(ErrorCodes.ASK_TIMEOUT);
    expect(reg.resolve(a.id, 'late')).toBe(false);
    expect(reg.lateReplies).toBe(1);
  });

  it('an Infinity ask never times out and arms no timer, beside finite asks that do', async () => {
    const clock = new ManualClock();
    const reg = new AskRegistry(clock);
    const forever = watch(reg, clock, 'forever', Infinity);
    expect(clock.pendingTimers).toBe(0);
    const finite = watch(reg, clock, 'finite', 100);
    clock.advance(1e12);
    await flush();
    expect(finite.settled).toBe(ErrorCodes.ASK_TIMEOUT);
    expect(forever.settled).toBeUndefined();
    expect(reg.isOpen(forever.id)).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    expect(reg.resolve(forever.id, 'at last')).toBe(true);
    await flush();
    expect(forever.settled).toBe('resolved:at last');
  });

  it('answered asks behind one that hangs are dropped: the queue stays under 2 × (open + slack) entries', async () => {
    const clock = new ManualClock();
    const reg = new AskRegistry(clock);
    const hanging = watch(reg, clock, 'hanging', 5000); // the head of the lane all the others join
    const bound = 2 * (1 + 2 + COMPACT_SLACK);
    let peak = 0;
    for (let i = 0; i < 50_000; i++) {
      // two open at a time, answered out of order, all behind the hanging head
      const x = reg.open(5000, { path: '/x' });
      const y = reg.open(5000, { path: '/y' });
      peak = Math.max(peak, reg.queuedDeadlines);
      reg.resolve(y.id, 'y');
      reg.resolve(x.id, 'x');
      if (i % 1000 === 0) clock.advance(1);
    }
    expect(peak).toBeLessThanOrEqual(bound);
    await flush();
    expect(reg.size).toBe(1);
    await stepTo(clock, 4999);
    expect(hanging.settled).toBeUndefined();
    clock.advance(1);
    await flush();
    expect(hanging.settled).toBe(ErrorCodes.ASK_TIMEOUT);
    expect(hanging.at).toBe(5000);
    expect(reg.queuedDeadlines).toBe(0);
    expect(reg.lateReplies).toBe(0);
  });

  it('asks answered with a new timeout value each do not leave a lane per value behind', () => {
    const clock = new ManualClock();
    let expired = 0;
    const deadlines = new AskDeadlines<Deadline>(clock, () => expired++);
    const hanging: Deadline = { id: 0, startedAt: 0, open: true, lane: undefined };
    deadlines.add(hanging, 1e9);
    let peakLanes = 0;
    for (let i = 1; i <= 20_000; i++) {
      const e: Deadline = { id: i, startedAt: clock.now(), open: true, lane: undefined };
      deadlines.add(e, 1000 + i);
      peakLanes = Math.max(peakLanes, deadlines.laneCount);
      e.open = false;
      deadlines.settled(e);
    }
    expect(peakLanes).toBeLessThanOrEqual(2 * 1 + COMPACT_SLACK + 1);
    expect(expired).toBe(0);
  });
});

describe('timeouts past what a timer takes', () => {
  it('arms at most 2³¹−1 ms at a time and still rejects at the deadline', async () => {
    const delays: number[] = [];
    const clock = new (class extends ManualClock {
      override setTimeout(fn: () => void, ms: number) {
        delays.push(ms);
        return super.setTimeout(fn, ms);
      }
    })();
    const reg = new AskRegistry(clock);
    const long = 2 ** 31 + 1000;
    const w = watch(reg, clock, 'long', long);
    await flush();
    expect(delays).toEqual([2 ** 31 - 1]); // Node would turn anything longer into 1 ms
    clock.advance(2 ** 31 - 1);
    await flush();
    expect(w.settled).toBeUndefined();
    expect(delays).toEqual([2 ** 31 - 1, 1001]); // re-armed for the rest
    clock.advance(1001);
    await flush();
    expect(w.settled).toMatch(/ERR_ASK_TIMEOUT/);
    expect(w.at).toBe(long);
  });
});
