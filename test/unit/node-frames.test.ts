/**
 * Frames from other nodes are untrusted: every kind and shape is checked before anything
 * acts on it, and the member table changes state one step at a time.
 */
import { describe, expect, it } from 'vitest';
import { ActorRef } from '../../actors/actor-ref.js';
import { checkNodeFrame } from '../../transport/frame-checks.js';
import { Membership, type MemberEvent } from '../../transport/membership.js';

/** A ref as a decoded frame holds one (refs decode to ActorRef instances). */
const ref = new ActorRef({ node: 'b', incarnation: 1, thread: 0, id: 9 }, '/x', {
  deliver: () => false,
  asks: undefined as never,
  dead: true,
});

describe('checkNodeFrame', () => {
  it.each([
    ['a tell', [0, 0, 5, { hi: 1 }, 2, null]],
    ['an ask', [1, 1, 5, 'x', 0, null, 9]],
    ['a reply', [2, 9, { ok: true }]],
    ['a failure', [3, 9, { name: 'Error', message: 'boom' }]],
    ['a watch', [4, 0, 5, { k: 'watch', watcher: ref }]],
    ['a terminated', [4, 0, 5, { k: 'terminated', ref, reason: { error: { name: 'Error', message: 'boom' } } }]],
    ['an exit', [4, 0, 5, { k: 'exit', incarnation: 2, reason: 'normal', resumable: false }]],
    ['a response with a ref', [6, 1, { ok: true, ref }]],
    ['a cancel', [4, 0, 5, { k: 'cancel', ask: 9 }]],
    ['a spawn request for the main thread', [5, -1, 0, 1, { k: 'spawn', module: 'file:///a.mjs', exportName: 'A', args: [1], path: '/a', thread: 0 }]],
    ['a spawn request for any worker, with a mailbox', [5, -1, 0, 1, { k: 'spawn', module: 'file:///a.mjs', exportName: 'A', args: null, path: '/a', thread: 'auto', mailbox: { capacity: 10, overflow: 'reject' } }]],
    ['a spawn request for worker 2', [5, -1, 0, 1, { k: 'spawn', module: 'file:///a.mjs', exportName: 'A', args: null, path: '/a', thread: 2 }]],
    ['a lost (the worker that ran a child died)', [4, 1, 5, { k: 'lost', reason: 'thread-crash' }]],
    ['a lookup', [5, -1, 0, 2, { k: 'lookup', name: 'inbox' }]],
    ['a response', [6, 1, { ok: true }]],
    ['a heartbeat', [8, 12]],
    ['gossip', [9, [{ node: 'a', incarnation: 1, url: 'ws://127.0.0.1:1', state: 'up' }]]],
    ['a credit grant', [12, 262144]],
  ])('accepts %s', (_name, frame) => {
    expect(checkNodeFrame(frame)).toBe(frame);
  });

  it.each([
    ['not an array', { k: 1 }],
    ['an unknown kind', [77, 1, 2]],
    ['a credit grant that is negative', [12, -5]],
    ['a credit grant that is not an integer', [12, 0.5]],
    ['a credit grant without its amount', [12]],
    ['a forward (threads only)', [10, ref, 'x', 2, null, 0]],
    ['a tell with a non-integer target', [0, 0, 'five', 'x', 2, null]],
    ['a tell with a priority out of range', [0, 0, 5, 'x', 9, null]],
    ['an ask without its id', [1, 0, 5, 'x', 2, null]],
    ['a system frame of an unknown kind', [4, 0, 5, { k: 'supervise' }]],
    ['a watch whose watcher is not a ref', [4, 0, 5, { k: 'watch', watcher: null }]],
    ['an unwatch whose watcher is a plain object', [4, 0, 5, { k: 'unwatch', watcher: { node: 'b', thread: 0, id: 1 } }]],
    ['a terminated without a ref', [4, 0, 5, { k: 'terminated', ref: 7, reason: 'normal' }]],
    ['a terminated with an unknown reason', [4, 0, 5, { k: 'terminated', ref, reason: 'vanished' }]],
    ['a kill without its final flag', [4, 0, 5, { k: 'kill', reason: 'killed' }]],
    ['a response whose ref is not a ref', [6, 1, { ok: true, ref: 5 }]],
    ['a cancel without its ask id', [4, 0, 5, { k: 'cancel', ask: 'x' }]],
    ['a lookup without a name', [5, -1, 0, 2, { k: 'lookup' }]],
    ['a spawn request without its fields', [5, -1, 0, 1, { k: 'spawn' }]],
    ['a spawn request with a negative thread', [5, -1, 0, 1, { k: 'spawn', module: 'file:///a.mjs', exportName: 'A', path: '/a', thread: -1 }]],
    ['a spawn request with a fractional thread', [5, -1, 0, 1, { k: 'spawn', module: 'file:///a.mjs', exportName: 'A', path: '/a', thread: 1.5 }]],
    ['a spawn request with a thread name', [5, -1, 0, 1, { k: 'spawn', module: 'file:///a.mjs', exportName: 'A', path: '/a', thread: 'any' }]],
    ['a spawn request without a thread', [5, -1, 0, 1, { k: 'spawn', module: 'file:///a.mjs', exportName: 'A', path: '/a' }]],
    ['a spawn request with a module that is not a string', [5, -1, 0, 1, { k: 'spawn', module: 7, exportName: 'A', path: '/a', thread: 0 }]],
    ['a spawn request with an unknown overflow policy', [5, -1, 0, 1, { k: 'spawn', module: 'file:///a.mjs', exportName: 'A', path: '/a', thread: 0, mailbox: { overflow: 'explode' } }]],
    ['a spawn request with a mailbox that is not an object', [5, -1, 0, 1, { k: 'spawn', module: 'file:///a.mjs', exportName: 'A', path: '/a', thread: 0, mailbox: 3 }]],
    ['a lost with another reason', [4, 1, 5, { k: 'lost', reason: 'normal' }]],
    ['a lookup of an over-long name', [5, -1, 0, 2, { k: 'lookup', name: 'x'.repeat(257) }]],
    ['a request of an unknown kind', [5, 0, 5, 1, { k: 'eval' }]],
    ['a failure without a message', [3, 1, { name: 'Error' }]],
    ['gossip with a malformed member', [9, [{ node: 'a' }]]],
  ])('rejects %s with ERR_MALFORMED_FRAME', (_name, frame) => {
    expect(() => checkNodeFrame(frame)).toThrow(expect.objectContaining({ code: 'ERR_MALFORMED_FRAME' }));
  });
});

describe('Membership', () => {
  it('emits each state change once, and a new incarnation removes the old member first', () => {
    const m = new Membership({ node: 'a', incarnation: 1, url: 'ws://127.0.0.1:1' }, 0);
    const seen: MemberEvent[] = [];
    m.changes$.subscribe((e) => seen.push(e));
    m.set('b', 10, 'ws://127.0.0.1:2', 'joining', 1);
    m.set('b', 10, '', 'up', 2);
    m.set('b', 10, '', 'up', 3); // no change, no event
    m.set('b', 10, '', 'unreachable', 4);
    m.set('b', 11, 'ws://127.0.0.1:3', 'joining', 5);
    expect(seen.map((e) => [e.node, e.incarnation, e.previous, e.state])).toEqual([
      ['b', 10, undefined, 'joining'],
      ['b', 10, 'joining', 'up'],
      ['b', 10, 'up', 'unreachable'],
      ['b', 10, 'unreachable', 'removed'],
      ['b', 11, undefined, 'joining'],
    ]);
    expect(m.list().map((x) => [x.node, x.incarnation, x.state, x.self])).toEqual([
      ['a', 1, 'up', true],
      ['b', 11, 'joining', false],
    ]);
  });

  it('never removes this node itself', () => {
    const m = new Membership({ node: 'a', incarnation: 1, url: '' }, 0);
    m.remove('a', 1);
    expect(m.gossip()).toEqual([{ node: 'a', incarnation: 1, url: '', state: 'up' }]);
  });
});
