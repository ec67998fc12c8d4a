/**
 * Rate limiter (token bucket, global and per key) and bulkhead, on a manual clock.
 */
import { describe, expect, it } from 'vitest';
import { Bulkhead, ManualClock, RateLimiter } from '../../../index.js';
import { codeOf, deferred } from '../support.js';

const flush = () => new Promise<void>((r) => setImmediate(r));

describe('rate limiter', () => {
  it.each([1, 5, 100])('admits exactly the budget (%i) per interval, interval after interval', (tokens) => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ tokens, intervalMs: 1000, clock });
    for (let interval = 0; interval < 5; interval++) {
      let admitted = 0;
      for (let i = 0; i < tokens * 3; i++) {
        if (limiter.tryAcquire()) admitted++;
        clock.advance(999 / (tokens * 3)); // spread over the interval
      }
      expect(admitted).toBe(tokens);
      clock.advance(1000 - (999 / (tokens * 3)) * tokens * 3);
    }
  });

  it('keeps one bucket per key', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ tokens: 2, intervalMs: 1000, clock });
    expect([limiter.tryAcquire('a'), limiter.tryAcquire('a'), limiter.tryAcquire('a')]).toEqual([true, true, false]);
    expect([limiter.tryAcquire('b'), limiter.tryAcquire('b')]).toEqual([true, true]);
    expect(limiter.keys).toBe(2);
  });

  it('acquire waits for the next refill within maxWaitMs, else rejects ERR_RATE_LIMITED', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ tokens: 1, intervalMs: 1000, clock, maxWaitMs: 1000 });
    await limiter.acquire();
    let got = false;
    void limiter.acquire().then(() => (got = true));
    await flush();
    clock.advance(999);
    await flush();
    expect(got).toBe(false);
    clock.advance(1);
    await flush();
    expect(got).toBe(true);
    const strict = new RateLimiter({ tokens: 1, intervalMs: 1000, clock });
    await strict.acquire();
    expect(await codeOf(strict.acquire())).toBe('ERR_RATE_LIMITED');
  });
});

describe('bulkhead', () => {
  it('runs maxConcurrent at once, queues maxQueue, rejects the next with ERR_BULKHEAD_FULL', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 2, maxQueue: 1 });
    const gates = [deferred<number>(), deferred<number>(), deferred<number>()];
    let started = 0;
    const runs = gates.map((g) => bulkhead.run(() => (started++, g.promise)));
    await flush();
    expect([bulkhead.active, bulkhead.queued, started]).toEqual([2, 1, 2]);
    expect(await codeOf(bulkhead.run(async () => 0))).toBe('ERR_BULKHEAD_FULL');
    gates[0]!.resolve(0);
    await flush();
    expect(started).toBe(3); // the queued one took the slot
    gates[1]!.resolve(1);
    gates[2]!.resolve(2);
    expect(await Promise.all(runs)).toEqual([0, 1, 2]);
    expect([bulkhead.active, bulkhead.queued]).toEqual([0, 0]);
  });

  it('a waiter whose signal aborts leaves the queue with ERR_ABORTED', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 5 });
    const gate = deferred<void>();
    const first = bulkhead.run(() => gate.promise);
    const ctl = new AbortController();
    const waiting = bulkhead.run(async () => 'never', ctl.signal);
    await flush();
    ctl.abort();
    expect(await codeOf(waiting)).toBe('ERR_ABORTED');
    expect(bulkhead.queued).toBe(0);
    gate.resolve();
    await first;
    expect(bulkhead.active).toBe(0);
  });
});
