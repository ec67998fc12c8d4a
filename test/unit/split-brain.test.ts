/**
 * The split-brain resolver (runtime/cluster/split-brain.ts): the decision of each strategy
 * for a view, and when it is taken, on a manual clock.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../index.js';
import { decideDowning, SplitBrainResolver, type ViewMember } from '../../runtime/cluster/split-brain.js';

/** A view from `self`'s side: `reachable` names (self included) and `unreachable` names, incarnation = position. */
function view(reachable: string[], unreachable: string[]): ViewMember[] {
  const all = [...reachable.map((node) => ({ node, reachable: true })), ...unreachable.map((node) => ({ node, reachable: false }))];
  return all.map((m) => ({ ...m, incarnation: 100 + m.node.charCodeAt(0) }));
}

describe('decideDowning', () => {
  it('does nothing while every member is reachable, and nothing at all when off', () => {
    expect(decideDowning('keep-majority', view(['a', 'b', 'c'], []))).toBe('none');
    expect(decideDowning('off', view(['a'], ['b', 'c']))).toBe('none');
  });

  it('keep-majority: the larger side downs the others, the smaller side downs itself — the two sides of one partition decide opposite things', () => {
    expect(decideDowning('keep-majority', view(['a', 'b'], ['c']))).toBe('down-unreachable');
    expect(decideDowning('keep-majority', view(['c'], ['a', 'b']))).toBe('down-self');
    expect(decideDowning('keep-majority', view(['b', 'c', 'd'], ['a', 'e']))).toBe('down-unreachable');
    expect(decideDowning('keep-majority', view(['a', 'e'], ['b', 'c', 'd']))).toBe('down-self');
  });

  it('keep-majority on an even split keeps the side holding the lowest name', () => {
    expect(decideDowning('keep-majority', view(['a', 'd'], ['b', 'c']))).toBe('down-unreachable');
    expect(decideDowning('keep-majority', view(['b', 'c'], ['a', 'd']))).toBe('down-self');
    // two nodes, each alone: only the lower one keeps
    expect(decideDowning('keep-majority', view(['a'], ['b']))).toBe('down-unreachable');
    expect(decideDowning('keep-majority', view(['b'], ['a']))).toBe('down-self');
  });

  it('static-quorum: a side keeps with at least quorumSize members (0: more than half)', () => {
    expect(decideDowning('static-quorum', view(['a', 'b'], ['c', 'd', 'e']), 2)).toBe('down-unreachable');
    expect(decideDowning('static-quorum', view(['c'], ['a', 'b', 'd', 'e']), 2)).toBe('down-self');
    expect(decideDowning('static-quorum', view(['a', 'b'], ['c', 'd']), 0)).toBe('down-self');
    expect(decideDowning('static-quorum', view(['a', 'b', 'c'], ['d', 'e']), 0)).toBe('down-unreachable');
  });

  it('keep-oldest: the side with the oldest member keeps, unless it is alone there', () => {
    // 'a' has the smallest incarnation
    expect(decideDowning('keep-oldest', view(['a'], ['b']))).toBe('down-unreachable');
    expect(decideDowning('keep-oldest', view(['b'], ['a']))).toBe('down-self');
    expect(decideDowning('keep-oldest', view(['a', 'b'], ['c', 'd', 'e']))).toBe('down-unreachable');
    expect(decideDowning('keep-oldest', view(['c', 'd', 'e'], ['a', 'b']))).toBe('down-self');
    // the oldest alone on its side (of more than two members) downs itself, the others keep
    expect(decideDowning('keep-oldest', view(['a'], ['b', 'c']))).toBe('down-self');
    expect(decideDowning('keep-oldest', view(['b', 'c'], ['a']))).toBe('down-unreachable');
  });
});

describe('SplitBrainResolver', () => {
  it('decides only once the view has been stable for stableAfterMs, the keeping side marginMs later', () => {
    const clock = new ManualClock();
    const keep = new SplitBrainResolver({ strategy: 'keep-majority', stableAfterMs: 1000, marginMs: 500 }, clock.now());
    const leave = new SplitBrainResolver({ strategy: 'keep-majority', stableAfterMs: 1000, marginMs: 500 }, clock.now());
    const majority = view(['a', 'b'], ['c']);
    const minority = view(['c'], ['a', 'b']);
    expect(keep.check(majority, clock.now())).toBe('none');
    expect(leave.check(minority, clock.now())).toBe('none');
    clock.advance(999);
    expect(keep.check(majority, clock.now())).toBe('none');
    expect(leave.check(minority, clock.now())).toBe('none');
    clock.advance(1);
    expect(leave.check(minority, clock.now())).toBe('down-self');
    expect(keep.check(majority, clock.now())).toBe('none');
    clock.advance(499);
    expect(keep.check(majority, clock.now())).toBe('none');
    clock.advance(1);
    expect(keep.check(majority, clock.now())).toBe('down-unreachable');
  });

  it('starts the stable period over when the view changes, or after a reset (this node stalled)', () => {
    const clock = new ManualClock();
    const r = new SplitBrainResolver({ strategy: 'keep-majority', stableAfterMs: 1000, marginMs: 0 }, clock.now());
    r.check(view(['a', 'b', 'c'], ['d', 'e']), clock.now());
    clock.advance(800);
    expect(r.check(view(['a', 'b'], ['c', 'd', 'e']), clock.now())).toBe('none'); // c became unreachable: a new view
    clock.advance(800);
    expect(r.check(view(['a', 'b'], ['c', 'd', 'e']), clock.now())).toBe('none');
    clock.advance(200);
    expect(r.check(view(['a', 'b'], ['c', 'd', 'e']), clock.now())).toBe('down-self');
    r.reset(clock.now());
    expect(r.check(view(['a', 'b'], ['c', 'd', 'e']), clock.now())).toBe('none');
    clock.advance(1000);
    expect(r.check(view(['a', 'b'], ['c', 'd', 'e']), clock.now())).toBe('down-self');
  });
});
