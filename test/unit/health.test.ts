/**
 * Phi accrual and the health monitor, stepped on a manual clock.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../index.js';
import { PhiAccrual, phi } from '../../internals.js';
import { HealthMonitor, type HealthChange } from '../../runtime/observability/health.js';
import type { Heartbeat } from '../../runtime/observability/heartbeat.js';

const beat = (thread: number, lagMs = 0): Heartbeat => ({ thread, at: 0, seq: 0, lagMs, utilization: 0.1, actors: 1, mailbox: 0 });

describe('phi', () => {
  it('grows with silence: ~0 on time, ≥ 1 somewhat late, ≥ 8 long overdue', () => {
    expect(phi(100, 100, 100)).toBeLessThan(0.5);
    expect(phi(250, 100, 100)).toBeGreaterThan(1);
    expect(phi(700, 100, 100)).toBeGreaterThan(8);
    const samples = [0, 100, 200, 400, 800].map((t) => phi(t, 300, 100));
    expect([...samples].sort((a, b) => a - b)).toEqual(samples); // monotonic
  });

  it('adapts to the intervals it observes, with the acceptable pause on top', () => {
    const fast = new PhiAccrual({ threshold: 8, minStdDevMs: 10, acceptablePauseMs: 0, windowSize: 100 }, 100);
    const slow = new PhiAccrual({ threshold: 8, minStdDevMs: 10, acceptablePauseMs: 0, windowSize: 100 }, 100);
    for (let t = 0; t <= 2000; t += 100) fast.heartbeat(t);
    for (let t = 0; t <= 20000; t += 1000) slow.heartbeat(t);
    // 500 ms of silence is alarming after 100 ms beats, nothing after 1 s beats
    expect(fast.phi(2000 + 500)).toBeGreaterThan(8);
    expect(slow.phi(20000 + 500)).toBeLessThan(1);
    const paused = new PhiAccrual({ threshold: 8, minStdDevMs: 10, acceptablePauseMs: 1000, windowSize: 100 }, 100);
    for (let t = 0; t <= 2000; t += 100) paused.heartbeat(t);
    expect(paused.phi(2000 + 500)).toBeLessThan(1);
  });
});

describe('HealthMonitor', () => {
  function setup() {
    const clock = new ManualClock();
    const changes: HealthChange[] = [];
    const monitor = new HealthMonitor(clock, 100, (c) => changes.push(c), { acceptablePauseMs: 200, minStdDevMs: 50, recoverAfter: 2, checkMs: 50 });
    monitor.start();
    const steady = (thread: number, until: number, lagMs = 0) => {
      while (clock.now() < until) {
        clock.advance(100);
        monitor.heartbeat(beat(thread, lagMs));
      }
    };
    return { clock, changes, monitor, steady };
  }

  it('a silent thread goes degraded, then critical; the node follows its worst thread', () => {
    const { clock, changes, monitor, steady } = setup();
    steady(1, 2000);
    steady(2, 2000);
    expect(changes).toEqual([]);
    // thread 1 falls silent; thread 2 keeps beating
    for (let i = 0; i < 20; i++) {
      clock.advance(100);
      monitor.heartbeat(beat(2));
    }
    const t1 = changes.filter((c) => c.thread === 1).map((c) => c.status);
    expect(t1).toEqual(['degraded', 'critical']);
    expect(monitor.status).toBe('critical');
    expect(changes.filter((c) => c.thread === undefined).map((c) => c.status)).toEqual(['degraded', 'critical']);
    expect(monitor.snapshot().find((t) => t.thread === 2)!.status).toBe('healthy');
  });

  it('gets worse at once but better only after recoverAfter good evaluations (hysteresis)', () => {
    const { clock, changes, monitor, steady } = setup();
    steady(1, 1000);
    monitor.heartbeat(beat(1, 150)); // lag 150 ms: degraded at once
    expect(changes.map((c) => c.status)).toEqual(['degraded', 'degraded']); // thread, then node
    monitor.heartbeat(beat(1, 0)); // one good beat is not enough
    expect(monitor.snapshot()[0]!.status).toBe('degraded');
    clock.advance(50); // a check
    expect(monitor.snapshot()[0]!.status).toBe('healthy');
    expect(monitor.status).toBe('healthy');
  });

  it('a thread that died is failed until its replacement beats again', () => {
    const { changes, monitor, steady, clock } = setup();
    steady(1, 1000);
    monitor.threadDown(1);
    expect(monitor.snapshot()[0]!.status).toBe('failed');
    clock.advance(5000);
    expect(monitor.snapshot()[0]!.status).toBe('failed');
    monitor.heartbeat(beat(1));
    expect(monitor.snapshot()[0]!.status).toBe('healthy');
    expect(changes.filter((c) => c.thread === 1).map((c) => c.status)).toEqual(['failed', 'healthy']);
  });
});
