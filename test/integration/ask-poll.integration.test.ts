/**
 * Waiting for an answer by polling the port (`askPollMicros`, on by default): asks to a worker
 * thread are answered — each with its own reply, in order with the tells around them — while
 * the asking thread polls its port after sending, and turning it off leaves no poller.
 * Real worker threads.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ActorSystem, askPollStats, lowLatencyStats } from '../../dist/index.js';
import { Echo, OrderChecker } from '../fixtures/agents.mjs';

let system: ActorSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

describe('askPollMicros: the asking thread polls its port for the answer', () => {
  it('is on by default: 5000 asks one after another each get their own reply, and the thread polled after sending them', async () => {
    system = await ActorSystem.start({ threads: 1 });
    const echo = await system.spawn(Echo, { thread: 1 });
    for (let i = 0; i < 5000; i++) expect(await echo.ask(i)).toBe(i);
    const stats = askPollStats(system.host)!;
    expect(stats.polls).toBeGreaterThan(0);
    // whether a poll catches the answer depends on the OS running both threads at once
    expect(stats.hits).toBeLessThanOrEqual(stats.polls);
    expect(lowLatencyStats(system.host)).toBeUndefined(); // not the ring mode
  });

  it('keeps per-sender order when answers are taken off the port while polling: tells and asks interleaved', async () => {
    system = await ActorSystem.start({ threads: 1 });
    const checker = await system.spawn(OrderChecker, { thread: 1 });
    for (let i = 0; i < 3000; i++) {
      checker.tell({ from: 'main', seq: 2 * i });
      await checker.ask({ from: 'main', seq: 2 * i + 1 });
    }
    const report = (await checker.ask({ type: 'report' })) as { count: number; outOfOrder: number; duplicates: number };
    expect(report).toMatchObject({ outOfOrder: 0, duplicates: 0 });
    expect(report.count).toBe(6000);
  });

  it('askPollMicros: 0 turns it off (no poller), and asks still work', async () => {
    system = await ActorSystem.start({ threads: 1, askPollMicros: 0 });
    const echo = await system.spawn(Echo, { thread: 1 });
    for (let i = 0; i < 100; i++) expect(await echo.ask(i)).toBe(i);
    expect(askPollStats(system.host)).toBeUndefined();
  });

  it('a bad value fails at construction with ERR_INVALID_ARGUMENT naming the field', () => {
    expect(() => new ActorSystem({ threads: 1, askPollMicros: -1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field: 'askPollMicros' }));
  });
});
