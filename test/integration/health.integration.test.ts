/**
 * Heartbeat-based health on real threads: a blocked thread is seen degraded, then critical,
 * then replaced by the watchdog, then healthy again — in events$ and in health().
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ActorSystem, supervisor, type SystemEvent } from '../../dist/index.js';
import { Troublemaker } from '../fixtures/agents.mjs';

let system: ActorSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

describe('health', () => {
  it('every thread sends heartbeats with lag and utilization; a quiet node is healthy', async () => {
    system = await ActorSystem.start({ threads: 2, heartbeatMs: 100 });
    const seen = new Set<number>();
    const sub = system.heartbeats$.subscribe((hb) => {
      expect(hb.lagMs).toBeGreaterThanOrEqual(0);
      expect(hb.utilization).toBeGreaterThanOrEqual(0);
      seen.add(hb.thread);
    });
    const deadline = performance.now() + 3000;
    while (seen.size < 3 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    sub.unsubscribe();
    expect([...seen].sort()).toEqual([0, 1, 2]);
    expect(system.health()).toMatchObject({ status: 'healthy', threads: [{ thread: 0 }, { thread: 1 }, { thread: 2 }] });
  });

  it('a thread blocked by a busy loop goes degraded → critical → failed (watchdog) → healthy; health() shows each step', async () => {
    system = await ActorSystem.start({ threads: 2, heartbeatMs: 100, watchdogMs: 2500, health: { acceptablePauseMs: 300 } });
    const events: SystemEvent[] = [];
    system.events$.subscribe((e) => events.push(e));
    const sup = await system.spawn(supervisor({ intensity: 5, children: [{ id: 'stuck', actor: Troublemaker, thread: 1 }] }), { name: 'sup' });
    await new Promise((r) => setTimeout(r, 500)); // a few heartbeats to learn the rhythm
    (await sup.whichChildren())[0]!.ref!.tell({ type: 'block' });
    const sampled: string[] = [];
    const deadline = performance.now() + 10_000;
    while (performance.now() < deadline) {
      const t1 = system.health().threads.find((t) => t.thread === 1)?.status ?? 'unknown';
      if (sampled.at(-1) !== t1) sampled.push(t1);
      if (sampled.includes('failed') && t1 === 'healthy') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const steps = events.filter((e): e is Extract<SystemEvent, { type: 'health' }> => e.type === 'health' && e.thread === 1).map((e) => e.status);
    // in this order (a loaded machine may add a blip before the block, so look for the sequence)
    const want = ['degraded', 'critical', 'failed', 'healthy'];
    let found = 0;
    for (const s of steps) if (s === want[found]) found++;
    expect(found, `steps: ${steps.join(' → ')}`).toBe(want.length);
    expect(sampled).toEqual(expect.arrayContaining(['degraded', 'critical', 'failed']));
    expect(sampled.at(-1)).toBe('healthy');
    // the node followed: it was critical or worse while thread 1 was
    const node = events.filter((e): e is Extract<SystemEvent, { type: 'health' }> => e.type === 'health' && e.thread === undefined).map((e) => e.status);
    expect(node).toContain('critical');
    expect(events.some((e) => e.type === 'thread-down' && e.thread === 1)).toBe(true);
  });
});
