/**
 * Retry policies stepped as pure functions, and withRetry on a manual clock: delays,
 * predicates, Retry-After, the deadline and cancellation.
 */
import { describe, expect, it } from 'vitest';
import {
  ApiaryError,
  byClass,
  byCode,
  exponentialRetry,
  fixedRetry,
  linearRetry,
  ManualClock,
  nextRetry,
  withRetry,
  type RetryPolicy,
} from '../../../index.js';
import { jitteredDelay } from '../../../internals.js';
import { codeOf } from '../support.js';

/** The delays a policy asks for before retries 1…n, for an error it retries. */
function delays(policy: RetryPolicy, n: number, random = () => 0.5): number[] {
  const out: number[] = [];
  for (let attempt = 1; attempt <= n; attempt++) {
    const d = nextRetry(policy, attempt, 0, new Error('flaky'), random());
    if (!d.retry) break;
    out.push(d.delay);
  }
  return out;
}

/** Lets pending promise callbacks run (no time passes). */
const flush = () => new Promise<void>((r) => setImmediate(r));

describe('retry policies, stepped', () => {
  it.each([
    ['fixed', fixedRetry(100, { maxAttempts: 5 }), [100, 100, 100, 100]],
    ['linear', linearRetry(100, 50, { maxAttempts: 5 }), [100, 150, 200, 250]],
    ['exponential', exponentialRetry(100, 2, { maxAttempts: 6 }), [100, 200, 400, 800, 1600]],
    ['exponential capped by maxDelay', exponentialRetry(100, 3, { maxAttempts: 6, maxDelay: 1000 }), [100, 300, 900, 1000, 1000]],
  ])('%s waits %j', (_name, policy, expected) => {
    expect(delays(policy, 10)).toEqual(expected);
  });

  it('full jitter spreads each delay over [0, d] and equal jitter over [d/2, d]', () => {
    const clock = new ManualClock({ seed: 7 });
    const full = exponentialRetry(100, 2, { maxAttempts: 10, jitter: 'full' });
    const equal = exponentialRetry(100, 2, { maxAttempts: 10, jitter: 'equal' });
    for (let n = 1; n <= 5; n++) {
      const d = 100 * 2 ** (n - 1);
      const fulls = Array.from({ length: 200 }, () => jitteredDelay(full, n, clock.random()));
      const equals = Array.from({ length: 200 }, () => jitteredDelay(equal, n, clock.random()));
      expect(Math.min(...fulls)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...fulls)).toBeLessThanOrEqual(d);
      expect(Math.min(...fulls)).toBeLessThan(d * 0.1);
      expect(Math.min(...equals)).toBeGreaterThanOrEqual(d / 2);
      expect(Math.max(...equals)).toBeLessThanOrEqual(d);
    }
    expect(jitteredDelay(full, 3, 0.25)).toBe(100);
    expect(jitteredDelay(equal, 3, 0.5)).toBe(300);
  });

  it('stops after maxAttempts in all', () => {
    const p = fixedRetry(10, { maxAttempts: 3 });
    expect(nextRetry(p, 2, 0, new Error('x'), 0)).toEqual({ retry: true, delay: 10 });
    expect(nextRetry(p, 3, 0, new Error('x'), 0)).toEqual({ retry: false, reason: 'attempts' });
  });

  it('stops at once on an error the stop-on predicate names, by code or class', () => {
    class Fatal extends Error {}
    const p = fixedRetry(10, { maxAttempts: 9, stopOn: (e) => byCode('ERR_BAD_REQUEST')(e) || byClass(Fatal)(e) });
    expect(nextRetry(p, 1, 0, Object.assign(new Error('400'), { code: 'ERR_BAD_REQUEST' }), 0)).toEqual({ retry: false, reason: 'stop-on' });
    expect(nextRetry(p, 1, 0, new Fatal('no'), 0)).toEqual({ retry: false, reason: 'stop-on' });
    expect(nextRetry(p, 1, 0, new Error('503'), 0)).toEqual({ retry: true, delay: 10 });
  });

  it('retries only what retry-on accepts', () => {
    const p = fixedRetry(10, { retryOn: byCode('HTTP_503') });
    expect(nextRetry(p, 1, 0, Object.assign(new Error('x'), { code: 'HTTP_503' }), 0).retry).toBe(true);
    expect(nextRetry(p, 1, 0, new Error('other'), 0)).toEqual({ retry: false, reason: 'not-retryable' });
  });

  it('waits at least a Retry-After hint, even beyond maxDelay', () => {
    const p = exponentialRetry(100, 2, { maxAttempts: 5, maxDelay: 1000 });
    const tooMany = Object.assign(new Error('429'), { retryAfter: 7000 });
    expect(nextRetry(p, 1, 0, tooMany, 0)).toEqual({ retry: true, delay: 7000 });
    expect(nextRetry(p, 1, 0, new ApiaryError('ERR_ACTOR_FAILED', 'x', { cause: tooMany }), 0)).toEqual({ retry: true, delay: 7000 });
    expect(nextRetry(exponentialRetry(100, 2, { honourRetryAfter: false }), 1, 0, tooMany, 0)).toEqual({ retry: true, delay: 100 });
  });

  it('does not retry when the wait would end past the deadline', () => {
    const p = fixedRetry(1000, { maxAttempts: 100, deadline: 2500 });
    expect(nextRetry(p, 1, 1400, new Error('x'), 0)).toEqual({ retry: true, delay: 1000 });
    expect(nextRetry(p, 2, 1600, new Error('x'), 0)).toEqual({ retry: false, reason: 'deadline' });
  });

  it('rejects a bad policy with ERR_INVALID_ARGUMENT and the field', () => {
    expect(() => fixedRetry(10, { maxAttempts: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field: 'maxAttempts' }));
    expect(() => exponentialRetry(10, 0.5)).toThrow(expect.objectContaining({ field: 'factor' }));
  });
});

describe('withRetry on a manual clock', () => {
  it('retries after each delay and resolves with the first success', async () => {
    const clock = new ManualClock();
    const calls: number[] = [];
    const out = withRetry(
      async (attempt) => {
        calls.push(clock.now());
        if (attempt < 3) throw new Error('flaky');
        return 'ok';
      },
      exponentialRetry(100, 2, { maxAttempts: 5 }),
      { clock },
    );
    for (let i = 0; i < 10; i++) {
      await flush();
      clock.advance(50);
    }
    expect(await out).toBe('ok');
    expect(calls).toEqual([0, 100, 300]);
  });

  it('rejects ERR_RETRIES_EXHAUSTED with the last error as cause after maxAttempts', async () => {
    const clock = new ManualClock();
    let n = 0;
    const out = withRetry(async () => Promise.reject(new Error(`fail ${++n}`)), fixedRetry(10, { maxAttempts: 3 }), { clock });
    out.catch(() => {});
    for (let i = 0; i < 5; i++) {
      await flush();
      clock.advance(10);
    }
    await expect(out).rejects.toMatchObject({ code: 'ERR_RETRIES_EXHAUSTED', cause: { message: 'fail 3' } });
    expect(n).toBe(3);
  });

  it('rethrows a stop-on error as is, after one call', async () => {
    const clock = new ManualClock();
    let n = 0;
    const err = Object.assign(new Error('bad input'), { code: 'E400' });
    const out = withRetry(async () => Promise.reject((n++, err)), fixedRetry(10, { stopOn: byCode('E400') }), { clock });
    await expect(out).rejects.toBe(err);
    expect(n).toBe(1);
  });

  it('stops retrying at the deadline', async () => {
    const clock = new ManualClock();
    let n = 0;
    const out = withRetry(async () => Promise.reject(new Error(`fail ${++n}`)), fixedRetry(400, { maxAttempts: 100, deadline: 1000 }), { clock });
    out.catch(() => {});
    for (let i = 0; i < 20; i++) {
      await flush();
      clock.advance(100);
    }
    expect(await codeOf(out)).toBe('ERR_RETRIES_EXHAUSTED');
    expect(n).toBe(3); // at 0, 400, 800; a wait to 1200 would pass the deadline
  });

  it('an abort during the wait rejects ERR_ABORTED at once and calls no more', async () => {
    const clock = new ManualClock();
    const ctl = new AbortController();
    let n = 0;
    const out = withRetry(async () => Promise.reject(new Error(`fail ${++n}`)), fixedRetry(10_000, { maxAttempts: 5 }), { clock, signal: ctl.signal });
    out.catch(() => {});
    await flush();
    expect(clock.pendingTimers).toBe(1);
    ctl.abort();
    expect(await codeOf(out)).toBe('ERR_ABORTED');
    expect(clock.pendingTimers).toBe(0);
    clock.advance(60_000);
    await flush();
    expect(n).toBe(1);
  });
});
