/**
 * Dead letters: a message that cannot be delivered is reported on `system.events$` with
 * sender path, recipient path, message type and why.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Actor, ErrorCodes, type ActorRef } from '../../index.js';
import { codeOf, deferred, ofType, testSystem, type TestSystem } from './support.js';

class Sink extends Actor<unknown> {
  receive(msg: unknown): unknown {
    return (msg as { gate?: Promise<void> }).gate;
  }
}

/** Forwards `{ to, msg }` with itself as the sender. */
class Relay extends Actor<{ to: ActorRef; msg: unknown }, boolean> {
  receive(m: { to: ActorRef; msg: unknown }): boolean {
    return m.to.tell(m.msg, { sender: this.self });
  }
}

class Order {
  constructor(readonly id: number) {}
}

let t: TestSystem;
afterEach(async () => t?.dispose());

describe('dead letters', () => {
  it('a tell to a stopped actor returns false and becomes a dead letter with sender, recipient and message type', async () => {
    t = testSystem();
    const target = await t.system.spawn(Sink, { name: 'target' });
    const sender = await t.system.spawn(Sink, { name: 'sender' });
    await t.system.stopActor(target);

    expect(target.tell({ type: 'greeting', text: 'hi' }, { sender })).toBe(false);

    expect(ofType(t.events, 'dead-letter')).toEqual([
      { type: 'dead-letter', sender: '/sender', recipient: '/target', messageType: 'greeting', reason: 'stopped', at: 0 },
    ]);
  });

  it('the sender is the actor that told, when the tell comes from inside an actor', async () => {
    t = testSystem();
    const target = await t.system.spawn(Sink, { name: 'target' });
    const relay = await t.system.spawn(Relay, { name: 'relay' });
    await t.system.stopActor(target);
    await expect(relay.ask({ to: target, msg: { type: 'forwarded' } })).resolves.toBe(false);
    const [dead] = ofType(t.events, 'dead-letter');
    expect(dead).toMatchObject({ sender: '/relay', recipient: '/target', messageType: 'forwarded' });
  });

  it('without a sender the dead letter says so (sender undefined)', async () => {
    t = testSystem();
    const target = await t.system.spawn(Sink);
    await t.system.stopActor(target);
    target.tell('loose');
    const [dead] = ofType(t.events, 'dead-letter');
    expect(dead).toMatchObject({ sender: undefined, recipient: target.path, messageType: 'string', reason: 'stopped' });
  });

  it.each<[string, unknown, string]>([
    ['its `type` field', { type: 'order-placed' }, 'order-placed'],
    ['its class name', new Order(1), 'Order'],
    ['`object` for a plain object without type', { id: 1 }, 'object'],
    ['typeof for a number', 42, 'number'],
    ['`null` for null', null, 'null'],
  ])('names the message type after %s', async (_what, msg, messageType) => {
    t = testSystem();
    const target = await t.system.spawn(Sink);
    await t.system.stopActor(target);
    target.tell(msg);
    expect(ofType(t.events, 'dead-letter').map((e) => e.messageType)).toEqual([messageType]);
  });

  it('an ask to a stopped actor is a dead letter too, and the ask rejects ERR_ACTOR_STOPPED', async () => {
    t = testSystem();
    const target = await t.system.spawn(Sink);
    await t.system.stopActor(target);
    expect(await codeOf(target.ask({ type: 'question' }))).toBe(ErrorCodes.ACTOR_STOPPED);
    expect(ofType(t.events, 'dead-letter').map((e) => [e.messageType, e.reason])).toEqual([['question', 'stopped']]);
  });

  it('messages still queued when an actor is killed become dead letters in queue order', async () => {
    t = testSystem();
    const target = await t.system.spawn(Sink);
    const gate = deferred();
    target.tell({ type: 'busy', gate: gate.promise });
    await t.settle();
    target.tell({ type: 'first' });
    target.tell({ type: 'second' });
    expect(t.system.kill(target)).toBe(true);
    await t.settle();
    expect(await t.system.watch(target)).toBe('killed');
    expect(ofType(t.events, 'dead-letter').map((e) => [e.messageType, e.reason])).toEqual([
      ['first', 'stopped'],
      ['second', 'stopped'],
    ]);
  });
});
