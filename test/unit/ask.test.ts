/**
 * Request/response: `ask` resolves with what `receive` returns, rejects on timeout (a late
 * reply is dropped), at once when the actor is dead, and with ERR_ACTOR_FAILED when
 * `receive` throws on that message.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Actor, ApiaryError, ErrorCodes, type ActorRef } from '../../index.js';
import { codeOf, deferred, outcomeOf, testSystem, type Deferred, type TestSystem } from './support.js';

type Msg =
  | { type: 'echo'; value: string }
  | { type: 'echo-later'; value: string }
  | { type: 'hang'; gate: Promise<void>; value: string }
  | { type: 'throw'; message: string }
  | { type: 'reject'; message: string }
  | { type: 'who-sent' };

class Echo extends Actor<Msg, string | undefined> {
  async receiveAsync(value: string): Promise<string> {
    await Promise.resolve();
    return value;
  }

  receive(msg: Msg): string | undefined | Promise<string | undefined> {
    switch (msg.type) {
      case 'echo':
        return msg.value;
      case 'echo-later':
        return this.receiveAsync(msg.value);
      case 'hang':
        return msg.gate.then(() => msg.value);
      case 'throw':
        throw new Error(msg.message);
      case 'reject':
        return Promise.reject(new Error(msg.message));
      case 'who-sent':
        return this.context.sender?.path;
    }
  }
}

let t: TestSystem;
afterEach(async () => t?.dispose());

describe('ask', () => {
  it.each([
    ['a synchronous receive', 'echo'],
    ['an async receive', 'echo-later'],
  ] as const)('resolves with the value %s returns', async (_what, type) => {
    t = testSystem();
    const ref = await t.system.spawn(Echo);
    await expect(ref.ask({ type, value: 'hello' })).resolves.toBe('hello');
    await expect(ref.ask({ type, value: 'again' })).resolves.toBe('again');
    expect(t.clock.pendingTimers).toBe(0); // an answered ask leaves no timeout timer behind
  });

  it('gives the receiver the sender passed with the ask', async () => {
    t = testSystem();
    const ref = await t.system.spawn(Echo);
    const other = await t.system.spawn(Echo, { name: 'other' });
    await expect(ref.ask({ type: 'who-sent' }, { sender: other })).resolves.toBe('/other');
    await expect(ref.ask({ type: 'who-sent' })).resolves.toBeUndefined();
  });

  it.each([
    ['the default timeout', undefined, 5000],
    ['a 250 ms timeout', 250, 250],
  ])('rejects ERR_ASK_TIMEOUT after %s while receive hangs, not a millisecond earlier', async (_what, timeout, ms) => {
    t = testSystem();
    const ref = await t.system.spawn(Echo);
    const gate = deferred();
    const answer = ref.ask({ type: 'hang', gate: gate.promise, value: 'too late' }, { timeout });

    t.clock.advance(ms - 1);
    expect((await outcomeOf(answer, t.system)).state).toBe('pending');

    t.clock.advance(1);
    const out = await outcomeOf(answer, t.system);
    expect(out.state).toBe('rejected');
    expect(out.state === 'rejected' && out.error).toBeInstanceOf(ApiaryError);
    expect(out.state === 'rejected' && (out.error as ApiaryError).code).toBe(ErrorCodes.ASK_TIMEOUT);
    gate.resolve();
  });

  it('a late reply is dropped and never reaches the next ask', async () => {
    t = testSystem();
    const ref = await t.system.spawn(Echo);
    const gate = deferred();
    const first = ref.ask({ type: 'hang', gate: gate.promise, value: 'first' });
    await t.settle();
    t.clock.advance(5001);
    expect(await codeOf(first)).toBe(ErrorCodes.ASK_TIMEOUT);

    // the second ask is queued while the first is still being handled
    const second = ref.ask({ type: 'echo', value: 'second' });
    gate.resolve(); // the first receive now answers 'first', after its ask gave up
    await t.settle();

    await expect(second).resolves.toBe('second');
    await expect(ref.ask({ type: 'echo', value: 'third' })).resolves.toBe('third');
  });

  it('rejects ERR_ACTOR_STOPPED at once when the actor is already stopped (no time passes)', async () => {
    t = testSystem();
    const ref = await t.system.spawn(Echo);
    await t.system.stopActor(ref);
    const timersBefore = t.clock.pendingTimers;

    const answer = ref.ask({ type: 'echo', value: 'anyone?' });
    const out = await outcomeOf(answer, t.system);

    expect(out.state).toBe('rejected');
    expect(out.state === 'rejected' && (out.error as ApiaryError).code).toBe(ErrorCodes.ACTOR_STOPPED);
    expect(t.clock.now()).toBe(0);
    expect(t.clock.pendingTimers).toBe(timersBefore); // its timeout timer is gone too
  });

  it.each([
    ['throws', 'throw'],
    ['returns a rejected promise', 'reject'],
  ] as const)('rejects ERR_ACTOR_FAILED with the error as cause when receive %s on that message', async (_what, type) => {
    t = testSystem();
    const ref = await t.system.spawn(Echo);
    let caught: unknown;
    try {
      await ref.ask({ type, message: 'boom' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ApiaryError);
    expect((caught as ApiaryError).code).toBe(ErrorCodes.ACTOR_FAILED);
    expect((caught as ApiaryError).cause).toBeInstanceOf(Error);
    expect(((caught as ApiaryError).cause as Error).message).toBe('boom');
  });

  it('asks queued behind a failing message reject ERR_ACTOR_STOPPED (the unsupervised actor stops)', async () => {
    t = testSystem();
    const ref = await t.system.spawn(Echo);
    const failing = ref.ask({ type: 'throw', message: 'boom' });
    const behind = ref.ask({ type: 'echo', value: 'never' });
    expect(await codeOf(failing)).toBe(ErrorCodes.ACTOR_FAILED);
    expect(await codeOf(behind)).toBe(ErrorCodes.ACTOR_STOPPED);
  });

  it.each([0, -1, Number.NaN])('refuses a timeout of %s with ERR_INVALID_ARGUMENT', async (timeout) => {
    t = testSystem();
    const ref = await t.system.spawn(Echo);
    expect(await codeOf(ref.ask({ type: 'echo', value: 'x' }, { timeout }))).toBe(ErrorCodes.INVALID_ARGUMENT);
  });

  it('an ask without a timeout (Infinity) waits past any time and is rejected ERR_ACTOR_STOPPED when the stopping system kills its actor', async () => {
    t = testSystem();
    const ref = await t.system.spawn(Echo, { shutdown: 'brutal-kill' });
    const gate: Deferred<void> = deferred();
    const answer = ref.ask({ type: 'hang', gate: gate.promise, value: 'x' }, { timeout: Infinity });
    t.clock.advance(24 * 3600_000);
    expect((await outcomeOf(answer, t.system)).state).toBe('pending');

    await t.system.stop();
    expect(await codeOf(answer)).toBe(ErrorCodes.ACTOR_STOPPED);
  });

  it('an ask whose message is being handled when the actor is killed rejects at once with ERR_ACTOR_STOPPED', async () => {
    t = testSystem();
    const ref = await t.system.spawn(Echo);
    const gate: Deferred<void> = deferred();
    const answer = ref.ask({ type: 'hang', gate: gate.promise, value: 'x' });
    await t.settle();
    t.system.kill(ref);
    expect(await codeOf(answer)).toBe(ErrorCodes.ACTOR_STOPPED);
    expect(t.clock.now()).toBe(0); // no timeout was needed
  });
});

describe('passing a cancel through a hop: replyLater().onCancel and ask({ cancelWith })', () => {
  const hooked: string[] = [];
  /** Holds each ask open and records a cancel; `quick` is answered at once; `gated` waits for the gate first. */
  class Back extends Actor<{ tag: string; gate?: Promise<void> }, string | undefined> {
    async receive(msg: { tag: string; gate?: Promise<void> }): Promise<undefined> {
      if (msg.gate) await msg.gate;
      const reply = this.context.replyLater<string>()!;
      reply.onCancel(() => hooked.push(msg.tag));
      if (msg.tag === 'quick') reply.resolve('done');
      return undefined;
    }
  }
  /** Forwards every ask to `back`, passing its asker's cancel on. */
  class Front extends Actor<{ tag: string }, string | undefined> {
    constructor(private readonly back: ActorRef<{ tag: string }, string | undefined>) {
      super();
    }
    receive(msg: { tag: string }): undefined {
      const reply = this.context.replyLater<string | undefined>()!;
      this.back.ask(msg, { cancelWith: reply.onCancel, timeout: Infinity }).then(reply.resolve, reply.reject);
      return undefined;
    }
  }

  it("an asker's cancel reaches the actor behind the hop; a settled reply runs no hook; a hook added after the cancel runs at once", async () => {
    t = testSystem();
    hooked.length = 0;
    const back = await t.system.spawn(Back);
    const front = await t.system.spawn(Front, { args: back });
    const ctl = new AbortController();
    const slow = front.ask({ tag: 'slow' }, { signal: ctl.signal, timeout: Infinity });
    await t.settle();
    expect(hooked).toEqual([]);
    ctl.abort();
    expect(await codeOf(slow)).toBe('ERR_ABORTED');
    await t.settle();
    expect(hooked).toEqual(['slow']);

    const late = new AbortController();
    expect(await front.ask({ tag: 'quick' }, { signal: late.signal })).toBe('done');
    late.abort();
    await t.settle();
    expect(hooked).toEqual(['slow']); // answered before the cancel: no hook

    const gate = deferred();
    const direct = new AbortController();
    const gated = back.ask({ tag: 'gated', gate: gate.promise }, { signal: direct.signal, timeout: Infinity });
    await t.settle();
    direct.abort(); // while `receive` awaits, before it takes the reply over
    expect(await codeOf(gated)).toBe('ERR_ABORTED');
    gate.resolve();
    await t.settle();
    expect(hooked).toEqual(['slow', 'gated']);
  });
});
