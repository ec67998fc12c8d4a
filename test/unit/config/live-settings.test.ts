/**
 * Followers of `system.settings`: a named rate limiter, a named degradation controller and
 * the node's alert engine take new values from the next call, check or snapshot on, without
 * being re-created.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DegradationController, ManualClock, RateLimiter, type AlertNotice, type AlertRule, type MetricsSnapshot } from '../../../index.js';
import { AlertEngine } from '../../../internals.js';
import { LiveSettings } from '../../../runtime/config/live-settings.js';
import { testSystem, type TestSystem } from '../support.js';

const noAlerts = { rules: [], channels: [] };

describe('a rate limiter with a name and settings', () => {
  it('uses the config values for its name over its own, and follows an update from its next call', () => {
    const clock = new ManualClock();
    const settings = new LiveSettings({ alerts: noAlerts, rateLimits: { api: { tokens: 1 } } });
    const limiter = new RateLimiter({ name: 'api', settings, tokens: 3, intervalMs: 1000, clock });
    expect(limiter.policy).toEqual({ tokens: 1, intervalMs: 1000, burst: 1 });
    expect([limiter.tryAcquire(), limiter.tryAcquire()]).toEqual([true, false]);

    expect(settings.update({ rateLimits: { api: { tokens: 2, burst: 4 } } })).toEqual(['rateLimits.api']);
    clock.advance(1000);
    expect([limiter.tryAcquire(), limiter.tryAcquire(), limiter.tryAcquire()]).toEqual([true, true, false]);
    expect(limiter.policy).toEqual({ tokens: 2, intervalMs: 1000, burst: 4 });

    settings.update({ rateLimits: {} }); // the entry removed: its own values again
    expect(limiter.policy).toEqual({ tokens: 3, intervalMs: 1000, burst: 3 });
  });

  it('caps a full bucket at a lowered burst', () => {
    const clock = new ManualClock();
    const settings = new LiveSettings({ alerts: noAlerts });
    const limiter = new RateLimiter({ name: 'api', settings, tokens: 5, intervalMs: 1000, clock });
    expect(limiter.tryAcquire()).toBe(true); // 4 left
    settings.update({ rateLimits: { api: { burst: 1 } } });
    expect([limiter.tryAcquire(), limiter.tryAcquire()]).toEqual([true, false]);
  });

  it('takes its maxWaitMs from config too', async () => {
    const clock = new ManualClock();
    const settings = new LiveSettings({ alerts: noAlerts, rateLimits: { api: { maxWaitMs: 0 } } });
    const limiter = new RateLimiter({ name: 'api', settings, tokens: 1, intervalMs: 1000, clock, maxWaitMs: 5000 });
    expect(limiter.tryAcquire()).toBe(true);
    await expect(limiter.acquire()).rejects.toMatchObject({ code: 'ERR_RATE_LIMITED' });
  });
});

describe('a degradation controller of a system', () => {
  let t: TestSystem;
  let controller: DegradationController | undefined;
  afterEach(async () => {
    controller?.close();
    await t?.dispose();
  });

  it('runs the rules the config gives for its name, and re-evaluates at once when they change', () => {
    t = testSystem({ degradation: { swarm: { recoverAfterMs: 0, rules: [{ level: 'REDUCED', signal: 'queue', op: '>', value: 100 }] } } });
    controller = new DegradationController({ system: t.system, name: 'swarm' });
    expect(controller.update({ queue: 80 })).toBe('FULL');
    expect(controller.update({ queue: 120 })).toBe('REDUCED');
    t.system.settings.update({ degradation: { swarm: { recoverAfterMs: 0, rules: [{ level: 'REDUCED', signal: 'queue', op: '>', value: 200 }] } } });
    expect(controller.level).toBe('FULL');
    t.system.settings.update({ degradation: { swarm: { recoverAfterMs: 0, rules: [{ level: 'MINIMAL', signal: 'health', op: '>=', value: 'degraded' }] } } });
    t.system.publish({ type: 'health', thread: undefined, status: 'degraded', previous: 'healthy', at: t.clock.now() });
    expect(controller.level).toBe('MINIMAL');
  });

  it('keeps its own rules when the config has none for its name', () => {
    t = testSystem({ degradation: { other: { recoverAfterMs: 0 } } });
    controller = new DegradationController({ system: t.system, name: 'swarm', recoverAfterMs: 10_000 });
    t.system.publish({ type: 'health', thread: undefined, status: 'critical', previous: 'healthy', at: t.clock.now() });
    expect(controller.level).toBe('MINIMAL'); // HEALTH_RULES
  });
});

describe('alert rules and channels replaced live', () => {
  let t: TestSystem;
  afterEach(async () => t?.dispose());

  it('a running node evaluates a rule added through its settings from the next snapshot on', async () => {
    const notices: AlertNotice[] = [];
    t = testSystem({ metricsMs: 1000, alerts: { rules: [], channels: [{ send: (n) => void notices.push(n) }] } });
    await t.system.ready();
    t.clock.advance(1000);
    expect(notices).toEqual([]);
    const always: AlertRule = { name: 'Always', metric: 'threads', op: '>=', threshold: 0, severity: 'info' };
    t.system.settings.update({ alerts: { rules: [always], channels: t.system.settings.alerts.channels } });
    t.clock.advance(1000);
    expect(notices.map((n) => `${n.rule} ${n.state}`)).toEqual(['Always firing']);
  });

  it('a kept rule keeps firing without a new notice; a removed one is forgotten', () => {
    const clock = new ManualClock();
    const sent: string[] = [];
    const channel = { send: (n: AlertNotice) => void sent.push(`${n.rule} ${n.state}`) };
    const rule = (name: string): AlertRule => ({ name, metric: 'mailboxDepth', op: '>', threshold: 10, severity: 'warning' });
    const engine = new AlertEngine([rule('A'), rule('B')], [channel], clock);
    const snap = { node: 'n', at: 0, mailboxDepth: 50 } as MetricsSnapshot;
    engine.evaluate(snap);
    expect(sent).toEqual(['A firing', 'B firing']);
    engine.replace([rule('A')], [channel]);
    clock.advance(1000);
    engine.evaluate({ ...snap, at: 1000 });
    engine.replace([rule('A'), rule('B')], [channel]);
    engine.evaluate({ ...snap, at: 2000 });
    expect(sent).toEqual(['A firing', 'B firing', 'B firing']);
  });
});
