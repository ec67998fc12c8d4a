/**
 * The refused-links record of a cluster (runtime/cluster/refusals.ts), on a manual clock:
 * counts by reason, a bounded list of recent entries, and when a refusal is worth a log line.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../index.js';
import { Refusals } from '../../runtime/cluster/refusals.js';
import type { LinkRefusal } from '../../transport/node-link.js';

const badSecret = (peer: string): LinkRefusal => ({ reason: 'bad-secret', peer, node: 'x', detail: 'MAC does not verify' });

describe('Refusals', () => {
  it('counts every refusal by reason, with every reason present from the start', () => {
    const refusals = new Refusals(new ManualClock());
    expect(refusals.counts()).toEqual({ 'bad-secret': 0, 'name-taken': 0, quarantined: 0, protocol: 0, timeout: 0, malformed: 0, closed: 0, plaintext: 0, origin: 0, busy: 0, tls: 0 });
    refusals.record('accepting', badSecret('10.0.0.1:5000'));
    refusals.record('connecting', badSecret('10.0.0.2:7001'));
    refusals.record('accepting', { reason: 'timeout', peer: '10.0.0.3:5000', detail: 'silent' });
    expect(refusals.counts()).toMatchObject({ 'bad-secret': 2, timeout: 1, protocol: 0 });
    expect(refusals.total).toBe(3);
  });

  it('collapses repeats from the same host on the accepting side (its port changes every attempt) into one entry with a count', () => {
    const clock = new ManualClock();
    const refusals = new Refusals(clock);
    refusals.record('accepting', badSecret('10.0.0.1:5000'));
    clock.advance(2000);
    refusals.record('accepting', badSecret('10.0.0.1:5001'));
    const [entry, ...rest] = refusals.recent();
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({ side: 'accepting', reason: 'bad-secret', peer: '10.0.0.1:5001', node: 'x', count: 2 });
    expect(entry!.lastAt - entry!.firstAt).toBe(2000);
  });

  it('keeps apart what differs in side, reason or place, most recent first', () => {
    const refusals = new Refusals(new ManualClock());
    refusals.record('accepting', badSecret('10.0.0.1:5000'));
    refusals.record('connecting', badSecret('10.0.0.1:7001'));
    refusals.record('connecting', badSecret('10.0.0.1:7002'));
    refusals.record('accepting', { reason: 'protocol', peer: '10.0.0.1:5000', detail: 'v1' });
    expect(refusals.recent().map((e) => `${e.side} ${e.reason} ${e.peer}`)).toEqual([
      'accepting protocol 10.0.0.1:5000',
      'connecting bad-secret 10.0.0.1:7002',
      'connecting bad-secret 10.0.0.1:7001',
      'accepting bad-secret 10.0.0.1:5000',
    ]);
  });

  it('is bounded: past `limit` entries the least recently refused one goes, while the counts keep counting', () => {
    const refusals = new Refusals(new ManualClock(), { limit: 20 });
    for (let i = 0; i < 25; i++) refusals.record('accepting', badSecret(`10.0.0.${i}:5000`));
    expect(refusals.recent().map((e) => e.peer)).not.toContain('10.0.0.4:5000'); // the five oldest went
    refusals.record('accepting', badSecret('10.0.0.5:5001')); // refused again: now the most recent
    refusals.record('accepting', badSecret('10.0.0.99:5000')); // a new one pushes out the least recent: .6, not .5
    const peers = refusals.recent().map((e) => e.peer);
    expect(peers).toHaveLength(20);
    expect(peers.slice(0, 2)).toEqual(['10.0.0.99:5000', '10.0.0.5:5001']);
    expect(peers).not.toContain('10.0.0.6:5000');
    expect(peers).toContain('10.0.0.7:5000');
    expect(refusals.counts()['bad-secret']).toBe(27);
  });

  it('says to log the first refusal of an entry, then at most one line per repeatLogMs, with how many went unlogged', () => {
    const clock = new ManualClock();
    const refusals = new Refusals(clock, { repeatLogMs: 60_000 });
    expect(refusals.record('connecting', badSecret('10.0.0.1:7001'))).toMatchObject({ log: true, unlogged: 0 });
    for (let i = 0; i < 5; i++) {
      clock.advance(2000);
      expect(refusals.record('connecting', badSecret('10.0.0.1:7001')).log).toBe(false);
    }
    clock.advance(50_000);
    expect(refusals.record('connecting', badSecret('10.0.0.1:7001'))).toMatchObject({ log: true, unlogged: 5 });
    clock.advance(1000);
    expect(refusals.record('connecting', badSecret('10.0.0.1:7001')).log).toBe(false);
    // another place is logged at once
    expect(refusals.record('connecting', badSecret('10.0.0.2:7001')).log).toBe(true);
  });

  it('returns copies: what a caller does with recent() does not change the record', () => {
    const refusals = new Refusals(new ManualClock());
    refusals.record('accepting', badSecret('10.0.0.1:5000'));
    refusals.recent()[0]!.count = 99;
    expect(refusals.recent()[0]!.count).toBe(1);
  });
});
