/**
 * Restart backoff (Akka's restartWithBackoff): the pure delay function stepped, and the
 * supervisor applying it on manual time, including what happens to messages meanwhile.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, supervisor, type ActorRef } from '../../index.js';
import { attemptAfterRun, backoffDelay, type BackoffPolicy } from '../../internals.js';
import { child, harness, ofType, type Harness, type ProbeMsg } from './helpers.js';

let h: Harness;
afterEach(async () => h?.dispose());

const policy = (p: Partial<BackoffPolicy> = {}): BackoffPolicy => ({
  minBackoff: 100,
  maxBackoff: 1000,
  randomFactor: 0,
  resetAfter: 5000,
  stashCapacity: 1000,
  ...p,
});

describe('backoffDelay', () => {
  it('follows min·2ⁿ capped at max without jitter', () => {
    const delays = [0, 1, 2, 3, 4, 5, 6].map((n) => backoffDelay(policy(), n, 0.5));
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('keeps jitter within ±randomFactor of the capped delay', () => {
    const clock = new ManualClock({ seed: 42 });
    const p = policy({ randomFactor: 0.3 });
    const seen: number[] = [];
    for (let n = 0; n < 8; n++) {
      const base = Math.min(1000, 100 * 2 ** n);
      for (let i = 0; i < 500; i++) {
        const d = backoffDelay(p, n, clock.random());
        expect(d).toBeGreaterThanOrEqual(base * 0.7);
        expect(d).toBeLessThanOrEqual(base * 1.3);
        seen.push(d / base);
      }
    }
    // the jitter really spreads over the band, not a constant
    expect(Math.min(...seen)).toBeLessThan(0.75);
    expect(Math.max(...seen)).toBeGreaterThan(1.25);
  });

  it('resets the attempt after resetAfter of calm', () => {
    expect(attemptAfterRun(policy(), 4, 4999)).toBe(4);
    expect(attemptAfterRun(policy(), 4, 5000)).toBe(0);
  });
});

describe('a supervisor with backoff', () => {
  async function setup(backoff: Record<string, number>) {
    h = harness();
    const sup = await h.system.spawn(
      supervisor({ intensity: 100, period: 1000, backoff: { minBackoff: 100, maxBackoff: 1000, randomFactor: 0, ...backoff }, children: [child('w')] }),
    );
    const w = (await sup.whichChildren())[0]!.ref as ActorRef<ProbeMsg, unknown>;
    return { sup, w };
  }

  it('waits min·2ⁿ (capped) of manual time before each restart', async () => {
    const { w } = await setup({ resetAfter: 60_000 });
    const observed: number[] = [];
    for (let i = 0; i < 6; i++) {
      h.system.kill(w);
      await h.settle();
      const scheduled = ofType(h.events, 'restart-scheduled').at(-1)!;
      observed.push(scheduled.delay);
      await h.advance(scheduled.delay - 1);
      expect(h.system.tree().children[0]!.children![0]!.status).toBe('restarting');
      await h.advance(1);
      expect(h.system.tree().children[0]!.children![0]!.status).toBe('running');
      expect(await w.ask({ type: 'incarnation' })).toBe(i + 2);
    }
    expect(observed).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('starts again from minBackoff after the child ran resetAfter without failing', async () => {
    const { w } = await setup({ resetAfter: 3000 });
    for (let i = 0; i < 3; i++) {
      h.system.kill(w);
      await h.settle();
      await h.advance(ofType(h.events, 'restart-scheduled').at(-1)!.delay);
    }
    expect(ofType(h.events, 'restart-scheduled').map((e) => e.delay)).toEqual([100, 200, 400]);
    await h.advance(3000); // calm
    h.system.kill(w);
    await h.settle();
    expect(ofType(h.events, 'restart-scheduled').at(-1)!.delay).toBe(100);
  });

  it('keeps messages sent during the backoff up to stashCapacity and dead-letters the rest', async () => {
    const { w } = await setup({ stashCapacity: 3 });
    h.system.kill(w);
    await h.settle();
    const accepted = [1, 2, 3, 4, 5].map((n) => w.tell({ type: 'add', n }));
    expect(accepted).toEqual([true, true, true, false, false]);
    const dead = ofType(h.events, 'dead-letter');
    expect(dead.map((d) => [d.recipient, d.messageType, d.reason])).toEqual([
      ['/' + h.system.tree().children[0]!.id + '/w', 'add', 'restarting-stash-full'],
      ['/' + h.system.tree().children[0]!.id + '/w', 'add', 'restarting-stash-full'],
    ]);
    await h.advance(100);
    expect(await w.ask({ type: 'get' })).toBe(1 + 2 + 3); // kept messages ran, in order, on the new incarnation
  });
});
