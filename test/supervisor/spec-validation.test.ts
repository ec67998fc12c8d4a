/**
 * Invalid supervisor and child specs are rejected up front with stable codes naming the field.
 */
import { describe, expect, it } from 'vitest';
import { supervisor, type SupervisorOptions } from '../../index.js';
import { Probe } from './helpers.js';

describe('spec validation', () => {
  it.each<[string, SupervisorOptions, string, string]>([
    ['duplicate child id', { children: [{ id: 'a', actor: Probe }, { id: 'a', actor: Probe }] }, 'ERR_DUPLICATE_CHILD_ID', 'children[1].id'],
    ['unknown strategy', { strategy: 'one-for-some' as never }, 'ERR_INVALID_SPEC', 'strategy'],
    ['negative intensity', { intensity: -1 }, 'ERR_INVALID_SPEC', 'intensity'],
    ['fractional intensity', { intensity: 1.5 }, 'ERR_INVALID_SPEC', 'intensity'],
    ['zero period', { period: 0 }, 'ERR_INVALID_SPEC', 'period'],
    ['missing child id', { children: [{ actor: Probe } as never] }, 'ERR_INVALID_SPEC', 'children[0].id'],
    ['child without actor', { children: [{ id: 'a' } as never] }, 'ERR_INVALID_SPEC', 'children[0].actor'],
    ['unknown restart type', { children: [{ id: 'a', actor: Probe, restart: 'sometimes' as never }] }, 'ERR_INVALID_SPEC', 'children[0].restart'],
    ['negative shutdown', { children: [{ id: 'a', actor: Probe, shutdown: -5 }] }, 'ERR_INVALID_SPEC', 'children[0].shutdown'],
    ['unknown overflow', { children: [{ id: 'a', actor: Probe, mailbox: { overflow: 'explode' as never } }] }, 'ERR_INVALID_SPEC', 'children[0].mailbox.overflow'],
    ['backoff max < min', { backoff: { minBackoff: 100, maxBackoff: 10 } }, 'ERR_INVALID_SPEC', 'backoff.maxBackoff'],
    ['randomFactor > 1', { backoff: { minBackoff: 1, maxBackoff: 10, randomFactor: 2 } }, 'ERR_INVALID_SPEC', 'backoff.randomFactor'],
    ['simple-one-for-one without template', { strategy: 'simple-one-for-one' }, 'ERR_INVALID_SPEC', 'template'],
    ['template on one-for-one', { template: { actor: Probe } }, 'ERR_INVALID_SPEC', 'template'],
  ])('%s → %s naming %s', (_name, options, code, field) => {
    let caught: unknown;
    try {
      supervisor(options);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code, field });
  });

  it('fills in the OTP defaults', () => {
    const spec = supervisor({ children: [{ id: 'w', actor: Probe }, { id: 's', actor: supervisor() }] });
    expect(spec).toMatchObject({ strategy: 'one-for-one', intensity: 1, period: 5000 });
    expect(spec.children.map((c) => [c.id, c.restart, c.shutdown, c.kind])).toEqual([
      ['w', 'permanent', 5000, 'worker'],
      ['s', 'permanent', 'infinity', 'supervisor'],
    ]);
  });
});
