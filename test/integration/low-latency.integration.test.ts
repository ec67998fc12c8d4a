/**
 * The low-latency mode (`lowLatency`) with real worker threads, through the public API:
 * order, the port fallback for messages larger than the ring, no starvation of timers, and
 * a thread crash while the main thread spins. The mode off is covered by every other
 * threads test (they run without it).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ActorSystem, lowLatencyStats, supervisor, type SystemEvent } from '../../dist/index.js';
import { Echo, OrderChecker, Sender, Troublemaker } from '../fixtures/agents.mjs';
import { Holder, Ticker } from '../fixtures/spin-agents.mjs';
import { childRef, eventually } from './threads-support.js';

let system: ActorSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

describe('lowLatency: messages across threads through the rings', () => {
  it('10k asks, one after another and 10k at once, are each answered with their own reply', async () => {
    system = await ActorSystem.start({ threads: 1, lowLatency: true });
    const echo = await system.spawn(Echo, { thread: 1 });
    for (let i = 0; i < 10_000; i++) expect(await echo.ask(i)).toBe(i);
    const all = await Promise.all(Array.from({ length: 10_000 }, (_, i) => echo.ask({ i })));
    expect(all).toEqual(Array.from({ length: 10_000 }, (_, i) => ({ i })));
    const stats = lowLatencyStats(system.host)!;
    // the asks went through the ring, and the main thread spun for answers (whether a spin
    // catches one depends on the OS running both threads at once: see transport/spinner.ts)
    expect(stats.ringBatches).toBeGreaterThan(10_000);
    expect(stats.spins).toBeGreaterThan(0);
  });

  it('tells keep their order when some are too big for the ring and go over the MessagePort', async () => {
    system = await ActorSystem.start({ threads: 2, lowLatency: { ringBytes: 4096 } });
    const checker = await system.spawn(OrderChecker, { thread: 2 });
    const big = 'x'.repeat(20_000);
    for (let i = 0; i < 5000; i++) {
      checker.tell(i % 97 === 0 ? { from: 'main', seq: i, big } : { from: 'main', seq: i });
      if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    }
    // and worker to worker, a flood far larger than the ring
    const sender = await system.spawn(Sender, { thread: 1 });
    await sender.ask({ n: 50_000, to: checker, from: 'thread-1' }, { timeout: 30_000 });
    const report = await eventually(async () => {
      const r = (await checker.ask({ type: 'report' })) as { count: number; outOfOrder: number; duplicates: number };
      return r.count === 55_000 ? r : undefined;
    });
    expect(report).toEqual({ count: 55_000, outOfOrder: 0, duplicates: 0 });
    const stats = lowLatencyStats(system.host)!;
    // the big ones share batches with their neighbours: at least one per slice that held one
    expect(stats.portBatches).toBeGreaterThanOrEqual(10);
    expect(stats.ringBatches).toBeGreaterThan(0);
  });

  it('a sustained ping-pong does not starve timers: one on the worker and one on the main thread fire on time', async () => {
    // 50 ms spins: a spin never comes up empty, so only the 1 ms burst budget lets the loops turn
    system = await ActorSystem.start({ threads: 1, lowLatency: { spinMicros: 50_000 } });
    const ticker = await system.spawn(Ticker, { thread: 1 });
    for (let i = 0; i < 1000; i++) await ticker.ask(i); // warm: both threads spinning
    const before = lowLatencyStats(system.host)!.spins;
    expect(await ticker.ask('arm')).toBe('armed'); // a 10 ms timer on the worker
    const t0 = performance.now();
    let mainFiredAt = Infinity;
    setTimeout(() => (mainFiredAt = performance.now() - t0), 10);
    let workerSeenAt = Infinity;
    let n = 0;
    // 400 ms of nothing but asks: only the mode's own yielding lets either event loop turn
    while (performance.now() - t0 < 400) {
      const r = (await ticker.ask(n++)) as { n: number; fired: boolean };
      if (r.fired && workerSeenAt === Infinity) workerSeenAt = performance.now() - t0;
    }
    expect(mainFiredAt).toBeLessThan(60); // due at 10 ms
    expect(workerSeenAt).toBeLessThan(60);
    expect(lowLatencyStats(system.host)!.spins - before).toBeGreaterThan(0);
  });

  it('a worker dying while the main thread spins rejects its open asks (ERR_ACTOR_STOPPED); the supervisor restarts the actor', async () => {
    system = await ActorSystem.start({ threads: 2, lowLatency: true });
    const events: SystemEvent[] = [];
    system.events$.subscribe((e) => events.push(e));
    const sup = await system.spawn(
      supervisor({
        intensity: 5,
        children: [
          { id: 'doomed', actor: Troublemaker, thread: 1 },
          { id: 'holder', actor: Holder, thread: 1 },
          { id: 'steady', actor: Echo, thread: 2 },
        ],
      }),
      { name: 'sup' },
    );
    const doomed = await childRef(sup, 'doomed');
    const holder = await childRef(sup, 'holder');
    const steady = await childRef(sup, 'steady');
    for (let i = 0; i < 1000; i++) await doomed.ask({ type: 'where' }); // both threads spinning
    const open = [holder.ask({ ms: 60_000 }, { timeout: 30_000 }), holder.ask({ ms: 60_000 }, { timeout: 30_000 })];
    const exit = doomed.ask({ type: 'exit', code: 7 }, { timeout: 30_000 });
    for (const p of [...open, exit]) await expect(p).rejects.toMatchObject({ code: 'ERR_ACTOR_STOPPED' });
    // the other thread keeps answering through the crash and the replacement
    let answered = 0;
    while (!events.some((e) => e.type === 'restarted' && e.path === '/sup/doomed')) {
      expect(await steady.ask(answered)).toBe(answered);
      answered++;
      if (answered > 1_000_000) throw new Error('no restart');
    }
    expect(events.find((e) => e.type === 'thread-down')).toMatchObject({ thread: 1, reason: 'exited with code 7' });
    const again = await childRef(sup, 'doomed');
    expect(await again.ask({ type: 'where' })).toMatchObject({ thread: 1 });
    expect(await (await childRef(sup, 'holder')).ask('ping')).toBe('pong');
  });

  it('is off by default, and a bad option fails at start with ERR_INVALID_ARGUMENT naming the field', async () => {
    system = await ActorSystem.start({ threads: 1 });
    expect(lowLatencyStats(system.host)).toBeUndefined();
    await system.stop();
    system = undefined;
    expect(() => new ActorSystem({ threads: 1, lowLatency: { spinMicros: -1 } })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field: 'lowLatency.spinMicros' }));
  });
});
