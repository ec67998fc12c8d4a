/**
 * The circuit breaker on a manual clock: trips, fails fast, one probe, closes or reopens
 * with a grown timeout, rate trips with a minimum volume, timeouts, forced states, events.
 */
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, ManualClock, type BreakerOptions } from '../../../index.js';
import { codeOf, deferred } from '../support.js';

function breaker(options: Partial<BreakerOptions> = {}) {
  const clock = new ManualClock();
  const changes: string[] = [];
  const b = new CircuitBreaker({
    name: 'llm',
    clock,
    failureThreshold: 3,
    resetTimeout: 1000,
    resetFactor: 2,
    maxResetTimeout: 3000,
    onStateChange: (e) => changes.push(`${e.previous}→${e.state}`),
    ...options,
  });
  let calls = 0;
  const ok = () => b.call(async () => (calls++, 'ok'));
  const fail = () => b.call(async () => Promise.reject((calls++, new Error('503'))));
  return { b, clock, changes, ok, fail, calls: () => calls };
}

async function failTimes(fail: () => Promise<unknown>, n: number) {
  for (let i = 0; i < n; i++) await fail().catch(() => {});
}

describe('circuit breaker', () => {
  it('tells its initial state once at construction (previous equals state), before any call', () => {
    const t = breaker();
    expect(t.changes).toEqual(['closed→closed']);
    expect(t.calls()).toBe(0);
  });

  it('opens after failureThreshold consecutive failures, not before', async () => {
    const t = breaker();
    await failTimes(t.fail, 2);
    expect(t.b.state).toBe('closed');
    await t.ok(); // a success resets the count
    await failTimes(t.fail, 2);
    expect(t.b.state).toBe('closed');
    await failTimes(t.fail, 1);
    expect(t.b.state).toBe('open');
    expect(t.changes).toEqual(['closed→closed', 'closed→open']);
  });

  it('fails fast with ERR_CIRCUIT_OPEN while open, without calling', async () => {
    const t = breaker();
    await failTimes(t.fail, 3);
    const before = t.calls();
    for (let i = 0; i < 5; i++) expect(await codeOf(t.ok())).toBe('ERR_CIRCUIT_OPEN');
    t.clock.advance(999);
    expect(await codeOf(t.ok())).toBe('ERR_CIRCUIT_OPEN');
    expect(t.calls()).toBe(before);
  });

  it('after the reset timeout lets exactly one probe through; the rest fail fast until it settles', async () => {
    const t = breaker();
    await failTimes(t.fail, 3);
    t.clock.advance(1000);
    expect(t.b.state).toBe('half-open');
    const probe = deferred<string>();
    const first = t.b.call(() => probe.promise);
    const others = await Promise.all([1, 2, 3].map(() => codeOf(t.ok())));
    expect(others).toEqual(['ERR_CIRCUIT_OPEN', 'ERR_CIRCUIT_OPEN', 'ERR_CIRCUIT_OPEN']);
    probe.resolve('fine');
    expect(await first).toBe('fine');
    expect(t.b.state).toBe('closed');
    expect(t.changes).toEqual(['closed→closed', 'closed→open', 'open→half-open', 'half-open→closed']);
    expect(await t.ok()).toBe('ok');
  });

  it('a failed probe reopens with the reset timeout grown by the factor, up to the max', async () => {
    const t = breaker();
    await failTimes(t.fail, 3);
    const timeouts: number[] = [];
    for (let i = 0; i < 4; i++) {
      t.clock.advance(t.b.resetTimeout - 1);
      expect(t.b.state).toBe('open');
      t.clock.advance(1);
      await failTimes(t.fail, 1); // the probe fails
      expect(t.b.state).toBe('open');
      timeouts.push(t.b.resetTimeout);
    }
    expect(timeouts).toEqual([2000, 3000, 3000, 3000]);
    t.clock.advance(3000);
    await t.ok();
    expect(t.b.state).toBe('closed');
    expect(t.b.resetTimeout).toBe(1000); // success starts over
  });

  it('trips on the failure rate over the window only once the minimum call volume is seen', async () => {
    const t = breaker({ failureThreshold: 100, failureRate: { threshold: 0.5, windowMs: 10_000, minCalls: 10 } });
    // 4 failures of 4 calls: 100 %, but below the minimum volume
    await failTimes(t.fail, 4);
    expect(t.b.state).toBe('closed');
    for (let i = 0; i < 4; i++) await t.ok();
    await failTimes(t.fail, 1); // 5 / 9
    expect(t.b.state).toBe('closed');
    await failTimes(t.fail, 1); // 6 / 10 ≥ 50 % with 10 calls
    expect(t.b.state).toBe('open');
  });

  it('forgets calls older than the window', async () => {
    const t = breaker({ failureThreshold: 100, failureRate: { threshold: 0.5, windowMs: 10_000, minCalls: 4 } });
    await failTimes(t.fail, 3);
    t.clock.advance(11_000);
    await t.ok();
    await failTimes(t.fail, 1); // 1 / 2 in the window: below the minimum volume
    expect(t.b.state).toBe('closed');
  });

  it('counts a call that outlives callTimeout as a failure (ERR_TIMEOUT)', async () => {
    const t = breaker({ failureThreshold: 1, callTimeout: 500 });
    const slow = t.b.call(() => new Promise(() => {}));
    t.clock.advance(500);
    expect(await codeOf(slow)).toBe('ERR_TIMEOUT');
    expect(t.b.state).toBe('open');
  });

  it('force-open fails every call; force-close passes every call and never trips', async () => {
    const t = breaker();
    t.b.forceOpen();
    t.clock.advance(60_000);
    expect(await codeOf(t.ok())).toBe('ERR_CIRCUIT_OPEN');
    t.b.forceClose();
    await failTimes(t.fail, 10);
    expect(t.b.state).toBe('closed');
    expect(await t.ok()).toBe('ok');
  });
});
