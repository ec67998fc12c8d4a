/**
 * Graceful degradation on a manual clock: steps down at once under injected critical
 * health, back up only after the hysteresis window; the pure step; what agents select.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DegradationController, type DegradationLevel } from '../../../index.js';
import { degradationStep } from '../../../internals.js';
import { ofType, testSystem, type TestSystem } from '../support.js';

let t: TestSystem;
let controller: DegradationController | undefined;
afterEach(async () => {
  controller?.close();
  await t?.dispose();
});

function injectHealth(status: 'healthy' | 'degraded' | 'critical' | 'failed') {
  t.system.publish({ type: 'health', thread: undefined, status, previous: 'healthy', at: t.clock.now() });
}

describe('degradationStep', () => {
  it.each<[DegradationLevel, DegradationLevel, number | undefined, number, DegradationLevel]>([
    ['FULL', 'MINIMAL', undefined, 0, 'MINIMAL'], // worse: at once
    ['MINIMAL', 'FULL', undefined, 0, 'MINIMAL'], // better: the window starts
    ['MINIMAL', 'FULL', 0, 29_999, 'MINIMAL'],
    ['MINIMAL', 'FULL', 0, 30_000, 'FULL'],
    ['MINIMAL', 'REDUCED', 0, 30_000, 'REDUCED'],
  ])('%s demanded %s (better since %s) at %i → %s', (level, demanded, since, now, expected) => {
    expect(degradationStep({ level, betterSince: since }, demanded, now, 30_000).level).toBe(expected);
  });
});

describe('a degradation controller', () => {
  it('steps down under injected critical health and back up only after the hysteresis window', async () => {
    t = testSystem();
    controller = new DegradationController({ system: t.system, name: 'swarm', recoverAfterMs: 10_000 });
    expect(controller.level).toBe('FULL');
    injectHealth('critical');
    expect(controller.level).toBe('MINIMAL');
    expect(t.system.health().degradation).toEqual({ swarm: 'MINIMAL' });
    injectHealth('healthy');
    t.clock.advance(9_999);
    expect(controller.level).toBe('MINIMAL');
    t.clock.advance(1);
    expect(controller.level).toBe('FULL');
    expect(ofType(t.events, 'degradation-level').map((e) => `${e.previous}→${e.level}`)).toEqual(['FULL→MINIMAL', 'MINIMAL→FULL']);
  });

  it('a relapse during the window restarts it', () => {
    t = testSystem();
    controller = new DegradationController({ system: t.system, recoverAfterMs: 10_000 });
    injectHealth('failed');
    expect(controller.level).toBe('EMERGENCY');
    injectHealth('healthy');
    t.clock.advance(8000);
    injectHealth('degraded'); // REDUCED is still better than EMERGENCY: the window goes on
    t.clock.advance(2000);
    expect(controller.level).toBe('REDUCED');
    injectHealth('critical');
    expect(controller.level).toBe('MINIMAL');
    injectHealth('healthy');
    t.clock.advance(5000);
    injectHealth('critical'); // relapse
    injectHealth('healthy');
    t.clock.advance(9000);
    expect(controller.level).toBe('MINIMAL');
    t.clock.advance(1000);
    expect(controller.level).toBe('FULL');
  });

  it('custom rules over application signals pick what each agent declared for the level', () => {
    t = testSystem();
    controller = new DegradationController({
      system: t.system,
      recoverAfterMs: 0,
      rules: [
        { level: 'REDUCED', when: (s) => (s.errorRate as number) > 0.1 },
        { level: 'EMERGENCY', when: (s) => (s.errorRate as number) > 0.5 },
      ],
    });
    const model = { FULL: 'large', REDUCED: 'small', MINIMAL: 'tiny', EMERGENCY: 'cached' } as const;
    expect(controller.update({ errorRate: 0.2 })).toBe('REDUCED');
    expect(controller.select(model)).toBe('small');
    expect(controller.update({ errorRate: 0.9 })).toBe('EMERGENCY');
    expect(controller.select(model)).toBe('cached');
    expect(controller.update({ errorRate: 0 })).toBe('FULL');
  });
});
