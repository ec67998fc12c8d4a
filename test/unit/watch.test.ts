/**
 * Watch: a watcher receives exactly one `terminated` message with the reason when the
 * watched actor dies, or at once if it is already dead; unwatch stops that, even for a
 * `terminated` already queued.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Actor, ErrorCodes, isTerminated, type ActorRef, type ActorSystem, type ExitReason, type OverflowPolicy, type Terminated } from '../../index.js';
import { codeOf, deferred, ofType, testSystem, type TestSystem } from './support.js';

type TargetMsg = { type: 'exit'; reason?: ExitReason } | { type: 'throw' } | { type: 'ping' };

class Target extends Actor<TargetMsg, string> {
  receive(msg: TargetMsg): string {
    if (msg.type === 'exit') this.context.stop(msg.reason);
    if (msg.type === 'throw') throw new Error('boom');
    return 'pong';
  }
}

type WatcherMsg =
  | Terminated
  | { type: 'watch'; ref: ActorRef; times?: number }
  | { type: 'unwatch'; ref: ActorRef }
  | { type: 'hold'; gate: Promise<void>; thenUnwatch?: ActorRef }
  | { type: 'noise'; n?: number }
  | { type: 'count' };

/** Records every `terminated` it receives. */
class Watcher extends Actor<WatcherMsg, number | undefined> {
  constructor(private readonly seen: Terminated[]) {
    super();
  }

  async receive(msg: WatcherMsg): Promise<number | undefined> {
    if (isTerminated(msg)) {
      this.seen.push(msg);
      return undefined;
    }
    switch (msg.type) {
      case 'watch':
        for (let i = 0; i < (msg.times ?? 1); i++) this.context.watch(msg.ref);
        return undefined;
      case 'unwatch':
        this.context.unwatch(msg.ref);
        return undefined;
      case 'hold':
        await msg.gate;
        if (msg.thenUnwatch) this.context.unwatch(msg.thenUnwatch);
        return undefined;
      case 'noise':
        return msg.n;
      case 'count':
        return this.seen.length;
    }
  }
}

let t: TestSystem;
afterEach(async () => t?.dispose());

async function setup() {
  t = testSystem();
  const seen: Terminated[] = [];
  const target = await t.system.spawn(Target, { name: 'target' });
  const watcher = await t.system.spawn(Watcher, { args: seen, name: 'watcher' });
  return { seen, target, watcher };
}

/** Lets the system run a while longer: more time, more turns — a second `terminated` would show. */
async function linger(system: ActorSystem, clock: TestSystem['clock']) {
  for (let i = 0; i < 3; i++) {
    clock.advance(10_000);
    await system.whenIdle();
  }
}

describe('watch', () => {
  it.each<[string, (target: ActorRef<TargetMsg, string>, system: ActorSystem) => unknown, ExitReason | object]>([
    ['it stops itself', (target) => target.tell({ type: 'exit' }), 'normal'],
    ['it stops itself with a reason', (target) => target.tell({ type: 'exit', reason: 'node-down' }), 'node-down'],
    ['it is stopped by the system', (target, system) => system.stopActor(target), 'shutdown'],
    ['it is killed', (target, system) => system.kill(target), 'killed'],
    ['its receive throws', (target) => target.tell({ type: 'throw' }), { error: { name: 'Error', message: 'boom' } }],
  ])('delivers one terminated message with the reason when %s', async (_how, kill, reason) => {
    const { seen, target, watcher } = await setup();
    watcher.tell({ type: 'watch', ref: target });
    await t.settle();
    expect(seen).toEqual([]);

    kill(target, t.system);
    await t.settle();
    await linger(t.system, t.clock);

    expect(seen).toHaveLength(1);
    expect(seen[0]!.ref.equals(target)).toBe(true);
    expect(seen[0]!.reason).toMatchObject(reason as object);
  });

  it('delivers terminated at once when the watched actor is already dead', async () => {
    const { seen, target, watcher } = await setup();
    const reason = await t.system.stopActor(target);
    watcher.tell({ type: 'watch', ref: target });
    await t.settle(); // no time passes

    expect(t.clock.now()).toBe(0);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.ref.equals(target)).toBe(true);
    // the reason it died with (DESIGN §3), or noproc (exit-reason.ts: "already dead when watched")
    expect([reason, 'noproc']).toContain(seen[0]!.reason);
  });

  it('unwatch before the death means no terminated message', async () => {
    const { target, watcher } = await setup();
    watcher.tell({ type: 'watch', ref: target });
    watcher.tell({ type: 'unwatch', ref: target });
    await t.settle();
    await t.system.stopActor(target);
    await linger(t.system, t.clock);
    await expect(watcher.ask({ type: 'count' })).resolves.toBe(0);
  });

  it('unwatch discards a terminated message that is already queued', async () => {
    const { seen, target, watcher } = await setup();
    watcher.tell({ type: 'watch', ref: target });
    const gate = deferred();
    watcher.tell({ type: 'hold', gate: gate.promise, thenUnwatch: target });
    await t.settle();

    await t.system.stopActor(target); // terminated now waits behind the held message
    gate.resolve(); // ...which unwatches before it is processed
    await t.settle();
    await linger(t.system, t.clock);

    expect(seen).toEqual([]);
    await expect(watcher.ask({ type: 'count' })).resolves.toBe(0);
  });

  it('watching the same actor twice delivers terminated once', async () => {
    const { seen, target, watcher } = await setup();
    watcher.tell({ type: 'watch', ref: target, times: 2 });
    watcher.tell({ type: 'watch', ref: target });
    await t.settle();
    target.tell({ type: 'exit' });
    await t.settle();
    await linger(t.system, t.clock);
    expect(seen).toHaveLength(1);
  });

  it('watching a dead actor twice delivers terminated once', async () => {
    const { seen, target, watcher } = await setup();
    await t.system.stopActor(target);
    watcher.tell({ type: 'watch', ref: target, times: 2 });
    await t.settle();
    await linger(t.system, t.clock);
    expect(seen).toHaveLength(1);
  });

  it('every watcher gets its own terminated message', async () => {
    const { seen, target, watcher } = await setup();
    const seen2: Terminated[] = [];
    const watcher2 = await t.system.spawn(Watcher, { args: seen2 });
    watcher.tell({ type: 'watch', ref: target });
    watcher2.tell({ type: 'watch', ref: target });
    await t.settle();
    t.system.kill(target);
    await t.settle();
    expect([seen.length, seen2.length]).toEqual([1, 1]);
    expect([seen[0]!.reason, seen2[0]!.reason]).toEqual(['killed', 'killed']);
  });

  it('a terminated message is not lost to a full drop-oldest mailbox (watch notifications must not be dropped)', async () => {
    t = testSystem();
    const seen: Terminated[] = [];
    const target = await t.system.spawn(Target);
    const watcher = await t.system.spawn(Watcher, { args: seen, mailbox: { capacity: 1, overflow: 'drop-oldest' } });
    watcher.tell({ type: 'watch', ref: target });
    await t.settle(); // (capacity 1: let the watch run before the next message arrives)
    const gate = deferred();
    watcher.tell({ type: 'hold', gate: gate.promise });
    await t.settle();

    t.system.kill(target); // terminated queues behind the held message
    await t.settle();
    watcher.tell({ type: 'noise' }); // the bounded mailbox is full: something must give, not the notification
    gate.resolve();
    await t.settle();

    expect(seen.map((m) => m.reason)).toEqual(['killed']);
  });
});

describe('watch notifications in a bounded mailbox', () => {
  /** A watcher with a bounded mailbox, busy on a held message, with a `terminated` queued behind it. */
  async function fullWatcher(overflow: OverflowPolicy) {
    t = testSystem();
    const seen: Terminated[] = [];
    const log: string[] = [];
    const target = await t.system.spawn(Target);
    const watcher = await t.system.spawn(Watcher, { args: seen, mailbox: { capacity: 1, overflow } });
    watcher.tell({ type: 'watch', ref: target });
    await t.settle();
    const gate = deferred();
    watcher.tell({ type: 'hold', gate: gate.promise });
    await t.settle();
    t.system.kill(target);
    await t.settle();
    return { seen, log, watcher, release: () => gate.resolve() };
  }

  it.each<[OverflowPolicy]>([['drop-newest'], ['drop-oldest'], ['reject']])(
    'a queued terminated does not take the slot of a capacity-1 mailbox (%s)',
    async (overflow) => {
      const { seen, watcher, release } = await fullWatcher(overflow);
      expect(watcher.tell({ type: 'noise' })).toBe(true);
      release();
      await t.settle();
      expect(seen.map((m) => m.reason)).toEqual(['killed']);
      expect(ofType(t.events, 'dead-letter')).toEqual([]);
    },
  );

  it('with drop-oldest, a terminated at the head of the queue does not turn the policy into drop-newest', async () => {
    const { seen, watcher, release } = await fullWatcher('drop-oldest');
    const older = codeOf(watcher.ask({ type: 'noise', n: 1 })); // takes the one slot (behind the terminated)
    const newer = watcher.ask({ type: 'noise', n: 2 }).catch((err: { code: string }) => err.code); // full: n 1 must go
    release();
    await t.settle();
    expect(await Promise.all([older, newer])).toEqual([ErrorCodes.MAILBOX_FULL, 2]);
    expect(seen).toHaveLength(1);
    const dead = ofType(t.events, 'dead-letter');
    expect(dead.map((e) => [e.messageType, e.reason])).toEqual([['noise', 'dropped-oldest']]);
  });
});

describe('system.watch', () => {
  it('resolves with the exit reason when the actor dies', async () => {
    const { target } = await setup();
    const ended = t.system.watch(target);
    target.tell({ type: 'exit', reason: 'shutdown' });
    await t.settle();
    await expect(ended).resolves.toBe('shutdown');
  });

  it('resolves at once for an actor that is already dead', async () => {
    const { target } = await setup();
    t.system.kill(target);
    await t.settle();
    await expect(t.system.watch(target)).resolves.toBe('killed');
  });
});
