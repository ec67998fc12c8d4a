/**
 * The cancelled asks of one cell: cancels for queued asks are kept until their message comes
 * up, bounded per reply route — when cancels that crossed their answers pile up, the oldest
 * go, and a fresh cancel still works.
 */
import { expect, it } from 'vitest';
import { Cancels } from '../../actors/ask-cancels.js';
import type { AskReplyTo, Envelope } from '../../actors/mailbox.js';

const route: AskReplyTo = { resolve: () => true, reject: () => true };
const queued = (ask: number): Envelope => ({ msg: 'm', sender: undefined, ask, priority: 2, replyTo: route });

it('skips a cancelled queued ask once, and keeps working after 10 000 leftover cancels', () => {
  const cancels = new Cancels();
  cancels.cancel(route, 1);
  expect(cancels.skip(queued(1))).toBe(true);
  expect(cancels.skip(queued(1))).toBe(false); // forgotten once used
  expect(cancels.skip(queued(2))).toBe(false);
  // cancels that crossed their answers: no message will ever take them
  for (let id = 100; id < 100 + 10_000; id++) cancels.cancel(route, id);
  cancels.cancel(route, 50_000); // an ask still queued
  expect(cancels.skip(queued(50_000))).toBe(true);
  expect(cancels.skip(queued(100))).toBe(false); // the oldest leftover made room
  expect(cancels.skip(queued(10_099))).toBe(true); // the newest leftovers are still there
});
