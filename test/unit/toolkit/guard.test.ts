/**
 * The Guard actor in front of a real flaky agent on a manual clock: retries, the breaker
 * opening and failing fast, a fallback ref, forced states, and the breaker-state events.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Actor, fixedRetry, Guard, supervisor, type ActorRef } from '../../../index.js';
import { codeOf, ofType, testSystem, type TestSystem } from '../support.js';

let t: TestSystem;
afterEach(async () => t?.dispose());

/** Fails while `down` is set; counts calls. */
class Flaky extends Actor<{ q: string }, string> {
  static down = false;
  static calls = 0;
  receive(msg: { q: string }): string {
    Flaky.calls++;
    if (Flaky.down) throw Object.assign(new Error('503'), { retryAfter: 0 });
    return `answer to ${msg.q}`;
  }
}

class Cache extends Actor<{ q: string }, string> {
  receive(msg: { q: string }): string {
    return `cached ${msg.q}`;
  }
}

async function flaky(): Promise<ActorRef<{ q: string }, string>> {
  Flaky.down = false;
  Flaky.calls = 0;
  const sup = await t.system.spawn(supervisor({ intensity: 1000, period: 1000, children: [{ id: 'flaky', actor: Flaky }] }));
  return (await sup.whichChildren())[0]!.ref as ActorRef<{ q: string }, string>;
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
};

describe('a Guard actor in front of a flaky agent', () => {
  it('passes answers through; opens after the threshold and then fails fast without calling the agent', async () => {
    t = testSystem();
    const target = await flaky();
    const guard = await t.system.spawn(Guard, { args: { target, breaker: { name: 'api', failureThreshold: 2, resetTimeout: 1000 } } });
    expect(await guard.ask({ q: 'a' })).toBe('answer to a');
    Flaky.down = true;
    expect(await codeOf(guard.ask({ q: 'b' }))).toBe('ERR_ACTOR_FAILED');
    expect(await codeOf(guard.ask({ q: 'c' }))).toBe('ERR_ACTOR_FAILED');
    expect(await guard.ask({ type: 'guard:state' })).toBe('open');
    const calls = Flaky.calls;
    expect(await codeOf(guard.ask({ q: 'd' }))).toBe('ERR_CIRCUIT_OPEN');
    expect(Flaky.calls).toBe(calls);
    Flaky.down = false;
    t.clock.advance(1000);
    expect(await guard.ask({ q: 'e' })).toBe('answer to e'); // the probe closes it
    expect(ofType(t.events, 'breaker-state').map((e) => e.state)).toEqual(['closed', 'open', 'half-open', 'closed']); // the first: its initial state
  });

  it('retries a failure and answers from the fallback ref when retries run out', async () => {
    t = testSystem();
    const target = await flaky();
    const cache = await t.system.spawn(Cache);
    const guard = await t.system.spawn(Guard, { args: { target, retry: fixedRetry(100, { maxAttempts: 3 }), fallback: cache } });
    Flaky.down = true;
    const out = guard.ask({ q: 'x' }, { timeout: Infinity });
    for (let i = 0; i < 5; i++) {
      await flush();
      await t.settle();
      t.clock.advance(100);
    }
    expect(await out).toBe('cached x');
    expect(Flaky.calls).toBe(3);
  });

  it('force-open fails every call fast; force-close lets them through', async () => {
    t = testSystem();
    const target = await flaky();
    const guard = await t.system.spawn(Guard, { args: { target, breaker: { failureThreshold: 1 } } });
    expect(await guard.ask({ type: 'guard:force-open' })).toBe('open');
    expect(await codeOf(guard.ask({ q: 'a' }))).toBe('ERR_CIRCUIT_OPEN');
    expect(await guard.ask({ type: 'guard:force-close' })).toBe('closed');
    expect(await guard.ask({ q: 'b' })).toBe('answer to b');
  });
});
