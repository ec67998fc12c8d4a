/**
 * Routers over real in-thread actors on a manual clock: the distribution of 10k messages
 * per strategy, health-aware skipping, least-loaded, the router actor's asks and cancels,
 * and a pool router resizing between min and max.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Actor, poolRouter, Router, RouterActor, type ActorRef, type RoutingStrategy } from '../../../index.js';
import { codeOf, deferred, testSystem, type Deferred, type TestSystem } from '../support.js';

let t: TestSystem;
afterEach(async () => t?.dispose());

/** Answers `{ n }` with its own path; a `hold` message waits on the test's gate; records aborts. */
class Worker extends Actor<{ n?: number; key?: string; hold?: boolean }, string> {
  static gate: Deferred<void> | undefined;
  static aborted: string[] = [];
  async receive(msg: { hold?: boolean }): Promise<string> {
    if (msg.hold) {
      const signal = this.context.signal;
      signal.addEventListener('abort', () => Worker.aborted.push(this.context.path));
      await Worker.gate?.promise;
    }
    return this.context.path;
  }
}

async function workers(n: number): Promise<ActorRef<any, string>[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => t.system.spawn(Worker, { name: `w${i}` })));
}

describe('routing strategies over 10k messages', () => {
  it('round-robin gives every routee exactly its share', async () => {
    t = testSystem();
    const router = new Router({ strategy: 'round-robin', routees: await workers(4) }, t.clock);
    for (let i = 0; i < 10_000; i++) router.pick({ n: i });
    expect(router.counts).toEqual([2500, 2500, 2500, 2500]);
  });

  it('weighted stays within 5% of each weight’s share', async () => {
    t = testSystem();
    const weights = [1, 2, 3, 4];
    const router = new Router({ strategy: 'weighted', routees: await workers(4), weights }, t.clock);
    for (let i = 0; i < 10_000; i++) router.pick({ n: i });
    router.counts.forEach((c, i) => expect(Math.abs(c - (10_000 * weights[i]!) / 10) / ((10_000 * weights[i]!) / 10)).toBeLessThan(0.05));
  });

  it('random spreads roughly evenly', async () => {
    t = testSystem();
    const router = new Router({ strategy: 'random', routees: await workers(4) }, t.clock);
    for (let i = 0; i < 10_000; i++) router.pick({ n: i });
    for (const c of router.counts) expect(Math.abs(c - 2500)).toBeLessThan(250);
  });

  it.each([4, 9])('consistent-hash moves at most 1.5/n of 10k keys, all to the new routee, when routee n (%i + 1) joins', async (before) => {
    t = testSystem();
    const refs = await workers(before + 1);
    const router = new Router<{ key: string }>({ strategy: 'consistent-hash', routees: refs.slice(0, before) }, t.clock);
    const keys = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
    const owners = keys.map((key) => router.pick({ key }).path);
    expect(keys.map((key) => router.pick({ key }).path)).toEqual(owners); // stable
    router.add(refs[before]!);
    const after = keys.map((key) => router.pick({ key }).path);
    const moved = after.filter((p, i) => p !== owners[i]);
    expect(moved.length / keys.length).toBeLessThanOrEqual(1.5 / (before + 1));
    expect(moved.length).toBeGreaterThan(0);
    expect(new Set(moved)).toEqual(new Set([refs[before]!.path]));
  });

  it('health-aware never picks a routee whose breaker is open, nor a critical one', async () => {
    t = testSystem();
    const refs = await workers(4);
    const router = new Router(
      { strategy: 'round-robin', routees: refs, healthAware: true, breaker: { failureThreshold: 1 }, healthOf: (r) => (r.equals(refs[3]) ? 'critical' : 'healthy') },
      t.clock,
    );
    router.breakerOf(refs[1]!)!.forceOpen();
    for (let i = 0; i < 10_000; i++) router.pick({ n: i });
    expect(router.counts).toEqual([5000, 0, 5000, 0]);
    router.breakerOf(refs[0]!)!.forceOpen();
    router.breakerOf(refs[2]!)!.forceOpen();
    expect(() => router.pick({})).toThrow(expect.objectContaining({ code: 'ERR_NO_ROUTEE' }));
  });

  it('least-loaded prefers the empty mailbox, then the routee with fewer asks in flight', async () => {
    t = testSystem();
    Worker.gate = deferred();
    const refs = await workers(3);
    for (const r of refs.slice(0, 2)) for (let i = 0; i < 5; i++) r.tell({ hold: true }); // one running, four queued
    await t.settle();
    const router = new Router({ strategy: 'least-loaded', routees: refs }, t.clock);
    for (let i = 0; i < 10_000; i++) expect(router.pick({}).equals(refs[2])).toBe(true);
    Worker.gate.resolve();
  });

  it.each<RoutingStrategy>(['latency', 'least-loaded', 'round-robin'])('%s routes real asks and returns each answer', async (strategy) => {
    t = testSystem();
    Worker.gate = undefined;
    const refs = await workers(3);
    const router = new Router<{ n: number }, string>({ strategy, routees: refs }, t.clock);
    const answers = await Promise.all(Array.from({ length: 30 }, (_, n) => router.ask({ n })));
    expect(new Set(answers).size).toBeGreaterThan(0);
    expect(answers.every((a) => refs.some((r) => r.path === a))).toBe(true);
  });
});

describe('the router actor', () => {
  it('answers asks from its routees with several in flight, and passes a cancel on to the routee', async () => {
    t = testSystem();
    Worker.gate = deferred();
    Worker.aborted = [];
    const refs = await workers(2);
    const router = await t.system.spawn(RouterActor, { args: { strategy: 'round-robin', routees: refs } });
    const ctl = new AbortController();
    const first = router.ask({ hold: true }, { signal: ctl.signal, timeout: Infinity });
    const second = router.ask({ hold: true }, { timeout: Infinity }); // not blocked behind the first
    await t.settle();
    ctl.abort();
    expect(await codeOf(first)).toBe('ERR_ABORTED');
    await t.settle();
    expect(Worker.aborted).toEqual([refs[0]!.path]);
    Worker.gate.resolve();
    expect(await second).toBe(refs[1]!.path);
    expect(await router.ask({ type: 'router:counts' })).toEqual([1, 1]);
  });
});

describe('a pool router', () => {
  it('starts min routees, grows toward max under deep mailboxes, shrinks back to min when idle', async () => {
    t = testSystem();
    Worker.gate = deferred();
    await t.system.spawn(poolRouter({ name: 'pool', actor: Worker, strategy: 'least-loaded', min: 1, max: 3, growAtMailbox: 2, checkMs: 100, shrinkAfterIdleMs: 500 }));
    const pool = t.system.lookup<any, unknown>('pool')!;
    expect(await pool.ask({ type: 'pool:size' })).toBe(1);
    const held = Array.from({ length: 12 }, () => pool.ask({ hold: true }, { timeout: Infinity }));
    const sizes: number[] = [];
    for (let i = 0; i < 4; i++) {
      t.clock.advance(100);
      await t.settle();
      sizes.push((await pool.ask({ type: 'pool:size' })) as number);
    }
    expect(sizes).toEqual([2, 3, 3, 3]); // capped at max
    Worker.gate.resolve();
    await Promise.all(held);
    for (let i = 0; i < 30; i++) {
      t.clock.advance(100);
      await t.settle();
    }
    expect(await pool.ask({ type: 'pool:size' })).toBe(1);
  });
});
