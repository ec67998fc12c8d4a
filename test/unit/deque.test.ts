/**
 * Deque: the ring buffer under mailboxes and the run queue. FIFO, grows past its initial
 * capacity, wraps around, shrinks after a burst drains.
 */
import { describe, expect, it } from 'vitest';
import { Deque } from '../../actors/foundation/deque.js';

/** The length of the backing array (private; read here to observe growth and shrinking). */
const capacityOf = (d: Deque<unknown>): number => (d as unknown as { buf: unknown[] }).buf.length;

function shiftAll<T>(d: Deque<T>, bound = 1_000_000): T[] {
  const out: T[] = [];
  for (let i = 0; i < bound && d.length > 0; i++) out.push(d.shift() as T);
  return out;
}

describe('Deque', () => {
  it('is first in, first out', () => {
    const d = new Deque<number>();
    for (let i = 0; i < 5; i++) d.push(i);
    expect(d.length).toBe(5);
    expect(d.peek()).toBe(0);
    expect(shiftAll(d)).toEqual([0, 1, 2, 3, 4]);
    expect([d.length, d.shift(), d.peek()]).toEqual([0, undefined, undefined]);
  });

  it('allocates nothing until the first push', () => {
    const d = new Deque<number>(64);
    expect(capacityOf(d)).toBe(0);
    d.push(1);
    expect(capacityOf(d)).toBe(64);
  });

  it.each([1, 8, 9, 100, 5000])('grows past its initial capacity keeping order (%i items)', (n) => {
    const d = new Deque<number>(8);
    for (let i = 0; i < n; i++) d.push(i);
    expect(d.length).toBe(n);
    expect(capacityOf(d)).toBeGreaterThanOrEqual(n);
    expect(shiftAll(d)).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('wraps around its buffer without losing order, and grows correctly while wrapped', () => {
    const d = new Deque<number>(8);
    const expected: number[] = [];
    const got: number[] = [];
    let next = 0;
    // keep 5 items in an 8-slot ring while the head travels around it several times
    for (let round = 0; round < 20; round++) {
      while (d.length < 5) {
        expected.push(next);
        d.push(next++);
      }
      got.push(d.shift()!, d.shift()!, d.shift()!);
    }
    expect(capacityOf(d)).toBe(8);
    // now grow while the contents straddle the end of the ring
    for (let i = 0; i < 20; i++) {
      expected.push(next);
      d.push(next++);
    }
    expect(capacityOf(d)).toBeGreaterThan(8);
    got.push(...shiftAll(d));
    expect(got).toEqual(expected);
  });

  it('unshift puts an item at the front, also on an empty deque and across the wrap', () => {
    const d = new Deque<string>();
    d.unshift('b');
    d.unshift('a');
    d.push('c');
    expect(shiftAll(d)).toEqual(['a', 'b', 'c']);
    for (let i = 0; i < 8; i++) d.push(`x${i}`);
    d.unshift('first'); // full ring: grows, then wraps the head backwards
    expect(shiftAll(d)).toEqual(['first', 'x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7']);
  });

  it('shrinks after a large burst drains, staying FIFO throughout', () => {
    const d = new Deque<number>();
    const n = 200_000;
    for (let i = 0; i < n; i++) d.push(i);
    const peak = capacityOf(d);
    expect(peak).toBeGreaterThanOrEqual(n);

    let inOrder = true;
    for (let i = 0; i < n - 10; i++) if (d.shift() !== i) inOrder = false;
    expect(inOrder).toBe(true);
    expect(capacityOf(d)).toBeLessThanOrEqual(16_384);
    expect(shiftAll(d)).toEqual(Array.from({ length: 10 }, (_, i) => n - 10 + i));
  });

  it('keeps its buffer while it still holds a good part of its backlog (no resize churn)', () => {
    const d = new Deque<number>();
    for (let i = 0; i < 40_000; i++) d.push(i);
    const peak = capacityOf(d);
    for (let i = 0; i < 30_000; i++) d.shift();
    expect(capacityOf(d)).toBe(peak);
    expect(d.length).toBe(10_000);
    expect(d.peek()).toBe(30_000);
  });

  it('drain returns everything oldest first and leaves it empty and usable', () => {
    const d = new Deque<number>(8);
    for (let i = 0; i < 6; i++) d.push(i);
    d.shift();
    d.shift();
    for (let i = 6; i < 12; i++) d.push(i); // wrapped
    expect(d.drain()).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect([d.length, capacityOf(d)]).toEqual([0, 0]);
    d.push(99);
    expect(shiftAll(d)).toEqual([99]);
  });

  it('drops references to shifted items (no memory pinned by a drained slot)', () => {
    const d = new Deque<object>();
    d.push({});
    d.push({});
    d.shift();
    const buf = (d as unknown as { buf: unknown[] }).buf;
    expect(buf.filter((x) => x !== undefined)).toHaveLength(1);
  });
});
