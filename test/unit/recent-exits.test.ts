/**
 * RecentExits: the reasons of a thread's last deaths, for a watch that arrives after its actor
 * died (actors/recent-exits.ts).
 */
import { describe, expect, it } from 'vitest';
import { RecentExits } from '../../actors/recent-exits.js';

describe('RecentExits', () => {
  it('answers the reason of each of the last `capacity` deaths, and nothing for older or unknown ids', () => {
    const exits = new RecentExits(3);
    expect(exits.reasonOf(1)).toBeUndefined();
    exits.record(1, 'normal');
    exits.record(2, 'shutdown');
    expect(exits.reasonOf(1)).toBe('normal');
    exits.record(3, { error: { name: 'Error', message: 'boom' } });
    exits.record(4, 'killed');
    expect(exits.reasonOf(1)).toBeUndefined(); // pushed out
    expect(exits.reasonOf(2)).toBe('shutdown');
    expect(exits.reasonOf(3)).toEqual({ error: { name: 'Error', message: 'boom' } });
    expect(exits.reasonOf(4)).toBe('killed');
    expect(exits.reasonOf(5)).toBeUndefined();
  });

  it('keeps ids beyond 2³² (a replaced thread’s generations) apart', () => {
    const exits = new RecentExits(4);
    exits.record(2 ** 32 + 1, 'normal');
    exits.record(1, 'killed');
    expect(exits.reasonOf(2 ** 32 + 1)).toBe('normal');
    expect(exits.reasonOf(1)).toBe('killed');
  });
});
