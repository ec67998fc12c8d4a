/**
 * Asks sent over a link under wire ids: found by wire id (the answer) or by the asker's own
 * id (a cancel), each once; bounded, oldest forgotten first; drained when the link goes.
 */
import { expect, it } from 'vitest';
import type { AskReplyTo } from '../../actors/mailbox.js';
import { WireAsks } from '../../transport/wire-asks.js';

const route = (): AskReplyTo => ({ resolve: () => true, reject: () => true });

it('finds an ask by wire id or by its asker, once, keeps at most max, and drains', () => {
  const a = route();
  const b = route();
  const asks = new WireAsks(3);
  asks.add(10, a, 1);
  asks.add(11, b, 1); // the same ask id from another route is another ask
  asks.add(12, a, 2);
  expect(asks.takeByAsker(a, 1)).toBe(10);
  expect(asks.take(10)).toBeUndefined(); // a cancelled ask's late answer finds nothing
  expect(asks.take(11)).toEqual({ replyTo: b, ask: 1 });
  expect(asks.takeByAsker(b, 1)).toBeUndefined();
  asks.add(13, a, 3);
  asks.add(14, a, 4);
  asks.add(15, a, 5); // a fourth in flight: the oldest (12) is forgotten, both ways
  expect(asks.size).toBe(3);
  expect(asks.take(12)).toBeUndefined();
  expect(asks.takeByAsker(a, 2)).toBeUndefined();
  expect(asks.drain().map((e) => e.ask)).toEqual([3, 4, 5]);
  expect(asks.size).toBe(0);
  expect(asks.takeByAsker(a, 3)).toBeUndefined();
});
