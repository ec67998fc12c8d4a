/**
 * Scaling: starting and stopping children is linear in their number (a ratio, not a clock limit).
 */
import { describe, expect, it } from 'vitest';
import { Actor, ActorSystem, ManualClock, supervisor } from '../../index.js';

class Idle extends Actor<unknown, void> {
  receive(): void {}
}

async function startAndStop(n: number): Promise<number> {
  const system = new ActorSystem({ clock: new ManualClock() });
  const spec = supervisor({ children: Array.from({ length: n }, (_, i) => ({ id: `c${i}`, actor: Idle })) });
  const t0 = performance.now();
  const sup = await system.spawn(spec);
  expect((await sup.countChildren()).active).toBe(n);
  await system.stop();
  const elapsed = performance.now() - t0;
  expect(system.tree().children).toEqual([]);
  return elapsed;
}

describe('scaling', () => {
  it('10,000 children start and stop under one supervisor in < 10× the time of 1,000', async () => {
    await startAndStop(1000); // warm up the JIT
    const small: number[] = [];
    const large: number[] = [];
    for (let i = 0; i < 3; i++) {
      small.push(await startAndStop(1000));
      large.push(await startAndStop(10_000));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    const ratio = median(large) / median(small);
    expect(ratio).toBeLessThan(10);
  });
});
