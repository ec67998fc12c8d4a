/**
 * ManualClock: time moves only in advance(); timers fire inside it in deadline order (ties
 * in creation order); random() is a seeded, reproducible sequence.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../index.js';

describe('ManualClock timers', () => {
  it('fire in deadline order within one advance, whatever order they were set in, each at its own time', () => {
    const clock = new ManualClock();
    const fired: [string, number][] = [];
    for (const [name, ms] of [
      ['c', 30],
      ['a', 10],
      ['d', 40],
      ['b', 20],
    ] as const) {
      clock.setTimeout(() => fired.push([name, clock.now()]), ms);
    }
    clock.advance(100);
    expect(fired).toEqual([
      ['a', 10],
      ['b', 20],
      ['c', 30],
      ['d', 40],
    ]);
    expect(clock.now()).toBe(100);
  });

  it('timers with the same deadline fire in creation order', () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    for (let i = 0; i < 5; i++) clock.setTimeout(() => fired.push(i), 50);
    clock.advance(50);
    expect(fired).toEqual([0, 1, 2, 3, 4]);
  });

  it('a timer fires when its deadline is reached exactly, not a millisecond before', () => {
    const clock = new ManualClock();
    let fired = 0;
    clock.setTimeout(() => fired++, 1000);
    clock.advance(999);
    expect(fired).toBe(0);
    clock.advance(1);
    expect(fired).toBe(1);
    clock.advance(10_000);
    expect(fired).toBe(1); // once only
  });

  it('a timer set by a firing timer fires in the same advance if its deadline falls inside it', () => {
    const clock = new ManualClock();
    const fired: [string, number][] = [];
    clock.setTimeout(() => {
      fired.push(['outer', clock.now()]);
      clock.setTimeout(() => fired.push(['inner', clock.now()]), 5);
      clock.setTimeout(() => fired.push(['beyond', clock.now()]), 500);
    }, 10);
    clock.setTimeout(() => fired.push(['other', clock.now()]), 20);
    clock.advance(100);
    expect(fired).toEqual([
      ['outer', 10],
      ['inner', 15],
      ['other', 20],
    ]);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.nextDeadline()).toBe(510);
  });

  it('clearTimeout cancels a pending timer; clearing a fired, unknown or undefined handle does nothing', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    const a = clock.setTimeout(() => fired.push('a'), 10);
    const b = clock.setTimeout(() => fired.push('b'), 20);
    clock.clearTimeout(b);
    clock.advance(15);
    clock.clearTimeout(a);
    clock.clearTimeout({ id: 9999 });
    clock.clearTimeout(undefined);
    clock.advance(100);
    expect(fired).toEqual(['a']);
    expect(clock.pendingTimers).toBe(0);
    expect(clock.nextDeadline()).toBeUndefined();
  });

  it('a negative delay fires at the next advance, even advance(0)', () => {
    const clock = new ManualClock({ start: 500 });
    let firedAt: number | undefined;
    clock.setTimeout(() => (firedAt = clock.now()), -10);
    clock.advance(0);
    expect(firedAt).toBe(500);
  });

  it('starts at the given time and moves only on advance', () => {
    const clock = new ManualClock({ start: 1234 });
    expect([clock.now(), clock.wallTime()]).toEqual([1234, 1234]);
    clock.advance(66);
    expect(clock.now()).toBe(1300);
    clock.advance(-5);
    expect(clock.now()).toBe(1300);
  });
});

describe('ManualClock random', () => {
  const take = (clock: ManualClock, n: number) => Array.from({ length: n }, () => clock.random());

  it('the same seed gives the same sequence', () => {
    expect(take(new ManualClock({ seed: 42 }), 20)).toEqual(take(new ManualClock({ seed: 42 }), 20));
    expect(take(new ManualClock(), 20)).toEqual(take(new ManualClock(), 20));
  });

  it('different seeds give different sequences', () => {
    expect(take(new ManualClock({ seed: 1 }), 5)).not.toEqual(take(new ManualClock({ seed: 2 }), 5));
  });

  it('values lie in [0, 1) and are not constant', () => {
    const values = take(new ManualClock({ seed: 7 }), 1000);
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(new Set(values).size).toBeGreaterThan(990);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    expect(mean).toBeGreaterThan(0.4);
    expect(mean).toBeLessThan(0.6);
  });

  it('advancing time does not change the sequence (randomness is independent of time)', () => {
    const a = new ManualClock({ seed: 9 });
    const b = new ManualClock({ seed: 9 });
    b.advance(12_345);
    expect(take(a, 10)).toEqual(take(b, 10));
  });
});
