/**
 * Scaling: starting and stopping children is linear in their number (a ratio, not a clock limit).
 *
 * Method, so that the ratio measures the supervisor and not the machine:
 * - the time of "1,000" is the mean over ten 1,000-child supervisors started one after the
 *   other in one system and then stopped (10,000 live children, like the large run), because
 *   one isolated 1,000-child run fits in this CPU's 1 MiB L2 cache and V8's young
 *   generation while a 10,000-child run cannot (that alone gave 12–15× with O(1) work per
 *   child);
 * - garbage-collector pauses (perf_hooks `gc` entries) are subtracted from both.
 * Work quadratic in one supervisor's child count would still give a ratio near 100.
 */
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Actor, ActorSystem, ManualClock, supervisor, type SupervisorRef } from '../../index.js';

class Idle extends Actor<unknown, void> {
  receive(): void {}
}

const observer = new PerformanceObserver(() => {});
beforeAll(() => observer.observe({ entryTypes: ['gc'] }));
afterAll(() => observer.disconnect());

/** ms of GC pauses that started within [t0, t1) (entries are queued a turn after they happen). */
async function gcPausedBetween(t0: number, t1: number): Promise<number> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  const entries: PerformanceEntry[] = observer.takeRecords();
  return entries.filter((e) => e.startTime >= t0 && e.startTime < t1).reduce((sum, e) => sum + e.duration, 0);
}

const spec = (n: number) => supervisor({ children: Array.from({ length: n }, (_, i) => ({ id: `c${i}`, actor: Idle })) });

/** Mean ms (GC pauses excluded) per supervisor to start `groups` supervisors of `n` children, then stop them. */
async function perSupervisor(groups: number, n: number): Promise<number> {
  const specs = Array.from({ length: groups }, () => spec(n));
  await gcPausedBetween(0, 0); // drop older entries
  const t0 = performance.now();
  const system = new ActorSystem({ clock: new ManualClock() });
  const refs: SupervisorRef[] = [];
  for (const s of specs) refs.push(await system.spawn(s));
  const counts = await Promise.all(refs.map((r) => r.countChildren()));
  await system.stop();
  const t1 = performance.now();
  const paused = await gcPausedBetween(t0, t1);
  expect(counts.map((c) => c.active)).toEqual(specs.map(() => n));
  expect(system.tree().children).toEqual([]);
  return (t1 - t0 - paused) / groups;
}

describe('scaling', () => {
  it('10,000 children start and stop under one supervisor in < 10× the time of 1,000', async () => {
    for (let i = 0; i < 2; i++) await perSupervisor(10, 1000), await perSupervisor(1, 10_000); // warm up both paths
    const small: number[] = [];
    const large: number[] = [];
    for (let i = 0; i < 7; i++) {
      small.push(await perSupervisor(10, 1000));
      large.push(await perSupervisor(1, 10_000));
    }
    // the fastest of seven rounds each: the least disturbed by other work on a shared machine
    const ratio = Math.min(...large) / Math.min(...small);
    expect(ratio).toBeLessThan(10);
  });
});
