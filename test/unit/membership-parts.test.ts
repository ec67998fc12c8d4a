/**
 * The parts of cluster membership that need no sockets, on a manual clock: tombstones,
 * redials (healing), gossip checks and the dial budget, the member table's gossip and
 * reincarnation, and the test-only link fault injector.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../index.js';
import { Tombstones } from '../../runtime/cluster/tombstones.js';
import { Redials } from '../../runtime/cluster/redials.js';
import { DialBudget, validGossipMember, validNodeUrl } from '../../runtime/cluster/gossip-checks.js';
import { LinkFaults, testFaultsEnabled } from '../../runtime/cluster/link-faults.js';
import { Membership, type MemberEvent } from '../../transport/membership.js';
import type { NodeLink } from '../../transport/node-link.js';

describe('Tombstones', () => {
  it('quarantines a downed incarnation and every older one of that name, never a newer one', () => {
    const t = new Tombstones(10, 1000);
    expect(t.add('b', 5, 'ws://h:1', 0)).toBe(true);
    expect(t.quarantined('b', 5)).toBe(true);
    expect(t.quarantined('b', 4)).toBe(true);
    expect(t.quarantined('b', 6)).toBe(false);
    expect(t.quarantined('c', 1)).toBe(false);
    expect(t.add('b', 3, '', 0)).toBe(false); // an older one changes nothing
    expect(t.gossip(10)).toEqual([{ node: 'b', incarnation: 5, url: 'ws://h:1', state: 'down' }]);
  });

  it('is bounded (the name learnt longest ago goes first) and expires', () => {
    const t = new Tombstones(2, 1000);
    t.add('a', 1, '', 0);
    t.add('b', 1, '', 100);
    t.add('c', 1, '', 200);
    expect(t.size).toBe(2);
    expect(t.quarantined('a', 1)).toBe(false);
    expect(t.gossip(1).map((g) => g.node)).toEqual(['c']);
    t.expire(1100);
    expect(t.quarantined('b', 1)).toBe(false);
    expect(t.quarantined('c', 1)).toBe(true);
    t.expire(1200);
    expect(t.size).toBe(0);
  });
});

describe('Redials', () => {
  const options = { minMs: 100, maxMs: 1000, seedMinMs: 100, seedMaxMs: 1000, randomFactor: 0, forgetAfterMs: 5000, limit: 2 };
  const nobody = () => false;

  it('dials seeds at once and again with a doubling backoff while nobody is up there', () => {
    const clock = new ManualClock();
    const r = new Redials(options, ['ws://s:1'], clock.now(), () => clock.random());
    const at: number[] = [];
    for (let t = 0; t <= 2000; t += 50) {
      if (r.due(t, nobody, nobody).length > 0) at.push(t);
    }
    expect(at).toEqual([0, 100, 300, 700, 1500]);
  });

  it('stops while the name that answered there is up (whatever URL it gives itself), and starts over after', () => {
    const r = new Redials(options, ['ws://localhost:1'], 0, () => 0.5);
    expect(r.due(0, nobody, nobody)).toEqual(['ws://localhost:1']);
    r.answered('ws://localhost:1', 'n1');
    const up = (n: string) => n === 'n1';
    expect(r.due(5000, up, nobody)).toEqual([]);
    expect(r.due(5100, nobody, nobody)).toEqual(['ws://localhost:1']); // backoff started over: min after the last up
  });

  it('dials a lost member again until forgetAfterMs, never more than `limit` of them; seeds are never forgotten', () => {
    const r = new Redials(options, ['ws://s:1'], 0, () => 0.5);
    r.lost('ws://m:1', 'm1', 0);
    r.lost('ws://m:2', 'm2', 0);
    r.lost('ws://m:3', 'm3', 0);
    r.lost('', 'no-listener', 0);
    expect(r.list().map((t) => t.url)).toEqual(['ws://s:1', 'ws://m:2', 'ws://m:3']);
    expect(r.due(100, nobody, nobody)).toEqual(['ws://s:1', 'ws://m:2', 'ws://m:3']);
    r.due(5000, nobody, nobody);
    expect(r.list().map((t) => t.url)).toEqual(['ws://s:1']);
  });
});

describe('gossip checks', () => {
  it('accepts ws:// and wss:// host:port URLs (or none) and refuses anything else', () => {
    for (const url of ['', 'ws://127.0.0.1:7401', 'wss://node-1.example.com:443', 'ws://[::1]:7401', 'ws://h:1/']) expect(validNodeUrl(url), url).toBe(true);
    for (const url of ['http://h:1', 'ws://h', 'ws://h:0', 'ws://h:65536', 'ws://u@h:1', 'ws://h:1/x', 'ws://h:1?q', 'ws://-h:1', `ws://${'h'.repeat(300)}:1`, 7401]) {
      expect(validNodeUrl(url), String(url)).toBe(false);
    }
  });

  it('accepts only names within limits, positive incarnations and known states', () => {
    const ok = { node: 'n1', incarnation: 1, url: 'ws://h:1', state: 'up' };
    expect(validGossipMember(ok)).toBe(true);
    for (const bad of [{ node: 'a b' }, { node: 'x'.repeat(65) }, { node: '' }, { incarnation: 0 }, { incarnation: 1.5 }, { state: 'king' }, { url: 'ftp://h:1' }]) {
      expect(validGossipMember({ ...ok, ...bad }), JSON.stringify(bad)).toBe(false);
    }
  });

  it('DialBudget allows perSecond dials at once, then perSecond per second', () => {
    const b = new DialBudget(10, 0);
    let n = 0;
    for (let i = 0; i < 100; i++) if (b.take(0)) n++;
    expect(n).toBe(10);
    for (let t = 0; t <= 1000; t += 100) if (b.take(t)) n++;
    expect(n).toBe(20);
  });
});

describe('Membership', () => {
  it('gossips itself and the members it has a handshake with, never one only heard of, at most `max`', () => {
    const m = new Membership({ node: 'a', incarnation: 1, url: 'ws://a:1' }, 0);
    m.set('b', 1, 'ws://b:1', 'up', 0);
    m.set('c', 1, 'ws://c:1', 'unreachable', 0);
    m.set('d', 1, 'ws://d:1', 'joining', 0);
    m.set('e', 1, 'ws://e:1', 'down', 0);
    expect(m.gossip().map((g) => `${g.node}:${g.state}`)).toEqual(['a:up', 'b:up', 'c:unreachable']);
    expect(m.gossip(2).map((g) => g.node)).toEqual(['a', 'b']);
  });

  it('reincarnate: the old self goes down, the new one is up', () => {
    const m = new Membership({ node: 'a', incarnation: 1, url: 'ws://a:1' }, 0);
    const events: MemberEvent[] = [];
    m.changes$.subscribe((e) => events.push(e));
    m.reincarnate(7, 10);
    expect(events.map((e) => [e.node, e.incarnation, e.previous, e.state])).toEqual([
      ['a', 1, 'up', 'down'],
      ['a', 7, undefined, 'up'],
    ]);
    expect(m.self).toMatchObject({ node: 'a', incarnation: 7, state: 'up', self: true });
  });
});

describe('LinkFaults (test only)', () => {
  it('exists only with APIARY_TEST_FAULTS=1 outside NODE_ENV=production', () => {
    expect(testFaultsEnabled({})).toBe(false);
    expect(testFaultsEnabled({ APIARY_TEST_FAULTS: 'true' })).toBe(false);
    expect(testFaultsEnabled({ APIARY_TEST_FAULTS: '1' })).toBe(true);
    expect(testFaultsEnabled({ APIARY_TEST_FAULTS: '1', NODE_ENV: 'production' })).toBe(false);
  });

  it('drops frames both ways and holds the close back while the peer is cut; healing tells the close', () => {
    const sent: Uint8Array[] = [];
    const frameHandlers: ((b: Uint8Array) => void)[] = [];
    const closeHandlers: ((code: number, reason: string) => void)[] = [];
    const raw: NodeLink = {
      peer: { name: 'b', incarnation: 1 },
      address: 'b:1',
      send: (f) => (sent.push(f), true),
      bufferedAmount: 0,
      onFrame: (h) => void frameHandlers.push(h),
      onClose: (h) => void closeHandlers.push(h),
      close: () => {},
    };
    const faults = new LinkFaults();
    const link = faults.wrap(raw);
    const got: Uint8Array[] = [];
    const closes: number[] = [];
    link.onFrame((f) => got.push(f));
    link.onClose((code) => closes.push(code));
    link.send(new Uint8Array([1]));
    frameHandlers[0]!(new Uint8Array([2]));
    expect([sent.length, got.length]).toEqual([1, 1]);
    faults.partition(['b']);
    let written = false;
    expect(link.send(new Uint8Array([3]), () => (written = true))).toBe(true);
    frameHandlers[0]!(new Uint8Array([4]));
    closeHandlers[0]!(1006, '');
    expect([sent.length, got.length, closes.length, written, faults.dropped]).toEqual([1, 1, 0, true, 2]);
    faults.heal();
    expect(closes).toEqual([1006]);
  });
});
