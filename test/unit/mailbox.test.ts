/**
 * Mailboxes: per-sender order, the system queue before the user queue, bounded user queues
 * with their overflow policies, and priority levels — first through actors, then on the
 * Mailbox class itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Actor, ErrorCodes, type ActorRef, type OverflowPolicy, type Priority } from '../../index.js';
import { Mailbox, priorityIndex, type Envelope } from '../../actors/mailbox.js';
import { codeOf, deferred, ofType, testSystem, type TestSystem } from './support.js';

/** `hold` carries a gate; `stop-self` stops the actor; anything else is just recorded. */
interface Msg {
  type: string;
  n?: number;
  gate?: Promise<void>;
}

/** Records what it handled; `hold` keeps it busy until the gate opens. */
class Recorder extends Actor<Msg, string> {
  constructor(private readonly log: string[]) {
    super();
  }

  receive(msg: Msg): string | Promise<string> {
    const label = msg.n === undefined ? msg.type : `${msg.type}${msg.n}`;
    this.log.push(label);
    if (msg.gate !== undefined) return msg.gate.then(() => label);
    if (msg.type === 'stop-self') this.context.stop();
    return label;
  }
}

/** Checks each message is the next number: no loss, no duplicate, no reordering. */
class Sequence extends Actor<number> {
  constructor(private readonly seen: { next: number; errors: number }) {
    super();
  }

  receive(n: number): void {
    if (n !== this.seen.next) this.seen.errors++;
    this.seen.next = n + 1;
  }
}

class Sender extends Actor<{ to: ActorRef<number>; count: number }> {
  receive(msg: { to: ActorRef<number>; count: number }): void {
    for (let i = 0; i < msg.count; i++) msg.to.tell(i, { sender: this.self });
  }
}

let t: TestSystem;
afterEach(async () => t?.dispose());

/** Spawns a Recorder and keeps it busy on a held message, so what follows queues up. */
async function busyRecorder(mailbox?: { capacity: number; overflow: OverflowPolicy }) {
  const log: string[] = [];
  const ref = await t.system.spawn(Recorder, { args: log, mailbox });
  const gate = deferred();
  ref.tell({ type: 'hold', gate: gate.promise });
  await t.settle();
  expect(log).toEqual(['hold']); // busy, mailbox empty
  return { ref, log, release: () => gate.resolve() };
}

describe('ordering', () => {
  it('100k messages from one sender arrive in send order, none lost, none twice', async () => {
    t = testSystem();
    const seen = { next: 0, errors: 0 };
    const target = await t.system.spawn(Sequence, { args: seen });
    const sender = await t.system.spawn(Sender);
    sender.tell({ to: target, count: 100_000 });
    await t.settle();
    expect(seen.errors).toBe(0);
    expect(seen.next).toBe(100_000);
  });

  it('messages told from outside any actor arrive in send order too', async () => {
    t = testSystem();
    const { ref, log, release } = await busyRecorder();
    for (let n = 0; n < 50; n++) ref.tell({ type: 'm', n });
    release();
    await t.settle();
    expect(log).toEqual(['hold', ...Array.from({ length: 50 }, (_, n) => `m${n}`)]);
  });
});

describe('the system queue', () => {
  it('a stop overtakes queued user messages: they become dead letters and are never processed', async () => {
    t = testSystem();
    const { ref, log, release } = await busyRecorder();
    for (let n = 0; n < 3; n++) ref.tell({ type: 'queued', n });

    const stopped = t.system.stopActor(ref);
    release();
    await t.settle();

    expect(await stopped).toBe('shutdown');
    expect(log).toEqual(['hold']);
    const dead = ofType(t.events, 'dead-letter');
    expect(dead.map((e) => [e.messageType, e.reason])).toEqual([
      ['queued', 'stopped'],
      ['queued', 'stopped'],
      ['queued', 'stopped'],
    ]);
  });

  it('context.stop() takes effect after the current message: messages already queued behind it are not processed', async () => {
    t = testSystem();
    const log: string[] = [];
    const ref = await t.system.spawn(Recorder, { args: log });
    const ended = t.system.watch(ref);
    ref.tell({ type: 'before' });
    ref.tell({ type: 'stop-self' });
    ref.tell({ type: 'after', n: 1 });
    ref.tell({ type: 'after', n: 2 });
    await t.settle();

    expect(await ended).toBe('normal');
    expect(log).toEqual(['before', 'stop-self']);
    expect(ofType(t.events, 'dead-letter').map((e) => e.messageType)).toEqual(['after', 'after']);
  });

  it('a stop requested before the first turn runs ahead of everything already told', async () => {
    t = testSystem();
    const log: string[] = [];
    const ref = await t.system.spawn(Recorder, { args: log });
    ref.tell({ type: 'early', n: 1 });
    ref.tell({ type: 'early', n: 2 });
    const stopped = t.system.stopActor(ref); // same tick: the dispatcher has not run yet
    await t.settle();
    expect(await stopped).toBe('shutdown');
    expect(log).toEqual([]);
    expect(ofType(t.events, 'dead-letter')).toHaveLength(2);
  });
});

describe('bounded mailboxes', () => {
  it.each<[OverflowPolicy, boolean, string[], string, string]>([
    // policy, tell of the 3rd returns, processed after release, dropped message, reason
    ['drop-newest', false, ['hold', 'm1', 'm2'], 'm3', 'dropped-newest'],
    ['drop-oldest', true, ['hold', 'm2', 'm3'], 'm1', 'dropped-oldest'],
    ['reject', false, ['hold', 'm1', 'm2'], 'm3', 'mailbox-full'],
  ])(
    'with capacity 2 and %s, a third tell returns %s; the others are processed and the dropped one is a dead letter',
    async (overflow, accepted, processed, dropped, reason) => {
      t = testSystem();
      const { ref, log, release } = await busyRecorder({ capacity: 2, overflow });
      expect(ref.tell({ type: 'm1' })).toBe(true);
      expect(ref.tell({ type: 'm2' })).toBe(true);
      expect(ref.tell({ type: 'm3' })).toBe(accepted);

      const dead = ofType(t.events, 'dead-letter');
      expect(dead.map((e) => [e.recipient, e.messageType, e.reason])).toEqual([[ref.path, dropped, reason]]);

      release();
      await t.settle();
      expect(log).toEqual(processed);
    },
  );

  it.each<[OverflowPolicy]>([['drop-newest'], ['reject']])(
    'with %s, an ask to a full mailbox rejects ERR_MAILBOX_FULL at once',
    async (overflow) => {
      t = testSystem();
      const { ref, release } = await busyRecorder({ capacity: 1, overflow });
      ref.tell({ type: 'm1' });
      const refused = ref.ask({ type: 'm2' });
      expect(await codeOf(refused)).toBe(ErrorCodes.MAILBOX_FULL);
      expect(t.clock.now()).toBe(0);
      release();
    },
  );

  it('with drop-oldest, an ask pushed out by a newer message rejects ERR_MAILBOX_FULL; the newer one is answered', async () => {
    t = testSystem();
    const { ref, release } = await busyRecorder({ capacity: 1, overflow: 'drop-oldest' });
    const evicted = codeOf(ref.ask({ type: 'old' }));
    const kept = ref.ask({ type: 'new' }).catch((err: { code: string }) => err.code);
    release();
    await t.settle();
    expect(await Promise.all([evicted, kept])).toEqual([ErrorCodes.MAILBOX_FULL, 'new']);
  });

  it('a full mailbox takes messages again once the actor has drained it', async () => {
    t = testSystem();
    const { ref, log, release } = await busyRecorder({ capacity: 1, overflow: 'reject' });
    expect(ref.tell({ type: 'a' })).toBe(true);
    expect(ref.tell({ type: 'b' })).toBe(false);
    release();
    await t.settle();
    expect(ref.tell({ type: 'c' })).toBe(true);
    await t.settle();
    expect(log).toEqual(['hold', 'a', 'c']);
  });
});

describe('priorities', () => {
  it('queued messages drain critical → high → normal → low, in send order within a level', async () => {
    t = testSystem();
    const { ref, log, release } = await busyRecorder();
    const sends: [string, Priority | undefined][] = [
      ['low1', 'low'],
      ['normal1', undefined],
      ['high1', 'high'],
      ['critical1', 'critical'],
      ['low2', 'low'],
      ['normal2', 'normal'],
      ['high2', 'high'],
      ['critical2', 'critical'],
    ];
    for (const [type, priority] of sends) ref.tell({ type }, { priority });
    release();
    await t.settle();
    expect(log).toEqual(['hold', 'critical1', 'critical2', 'high1', 'high2', 'normal1', 'normal2', 'low1', 'low2']);
  });

  it('an ask with a priority is served in its level and answered', async () => {
    t = testSystem();
    const { ref, log, release } = await busyRecorder();
    ref.tell({ type: 'normal' });
    const urgent = ref.ask({ type: 'urgent' }, { priority: 'critical' });
    release();
    await t.settle();
    await expect(urgent).resolves.toBe('urgent');
    expect(log).toEqual(['hold', 'urgent', 'normal']);
  });
});

describe('Mailbox', () => {
  const env = (msg: string, priority: Priority = 'normal'): Envelope => ({ msg, sender: undefined, ask: 0, priority: priorityIndex(priority) });
  const drainAll = (m: Mailbox) => {
    const out: unknown[] = [];
    for (let i = 0; i < 1000; i++) {
      const e = m.dequeue();
      if (e === undefined) break;
      out.push(e.msg);
    }
    return out;
  };

  it('is unbounded with drop-newest by default', () => {
    const m = new Mailbox();
    expect(m.capacity).toBe(Infinity);
    expect(m.overflow).toBe('drop-newest');
    for (let i = 0; i < 10_000; i++) expect(m.enqueue(env(`m${i}`))).toBeUndefined();
    expect(m.size).toBe(10_000);
  });

  it('counts system messages apart from user messages', () => {
    const m = new Mailbox<string>({ capacity: 1 });
    m.system.push('sys1');
    m.system.push('sys2');
    expect(m.enqueue(env('u'))).toBeUndefined();
    expect([m.systemSize, m.size, m.hasUser]).toEqual([2, 1, true]);
  });

  it('drop-oldest evicts the oldest message of the least urgent level', () => {
    const m = new Mailbox({ capacity: 3, overflow: 'drop-oldest' });
    m.enqueue(env('low1', 'low'));
    m.enqueue(env('high1', 'high'));
    m.enqueue(env('low2', 'low'));
    expect(m.enqueue(env('normal1'))?.msg).toBe('low1');
    expect(m.enqueue(env('normal2'))?.msg).toBe('low2');
    expect(m.enqueue(env('normal3'))?.msg).toBe('normal1');
    expect(drainAll(m)).toEqual(['high1', 'normal2', 'normal3']);
  });

  it('drop-oldest drops the incoming message instead when everything queued is more urgent', () => {
    const m = new Mailbox({ capacity: 2, overflow: 'drop-oldest' });
    m.enqueue(env('c1', 'critical'));
    m.enqueue(env('h1', 'high'));
    const incoming = env('low', 'low');
    expect(m.enqueue(incoming)).toBe(incoming);
    expect(drainAll(m)).toEqual(['c1', 'h1']);
  });

  it('enqueue with a smaller limit bounds the queue below its capacity', () => {
    const m = new Mailbox({ overflow: 'reject' });
    m.enqueue(env('a'), 1);
    const b = env('b');
    expect(m.enqueue(b, 1)).toBe(b);
    expect(m.size).toBe(1);
  });

  it('requeueFront puts a message back at the head of its level', () => {
    const m = new Mailbox();
    m.enqueue(env('n1'));
    m.enqueue(env('h1', 'high'));
    m.enqueue(env('h2', 'high'));
    const first = m.dequeue()!;
    expect(first.msg).toBe('h1');
    m.requeueFront(first);
    expect(drainAll(m)).toEqual(['h1', 'h2', 'n1']);
  });

  it('drainUser empties every level, most urgent first', () => {
    const m = new Mailbox();
    m.enqueue(env('l', 'low'));
    m.enqueue(env('n'));
    m.enqueue(env('c', 'critical'));
    expect(m.drainUser().map((e) => e.msg)).toEqual(['c', 'n', 'l']);
    expect([m.size, m.hasUser, m.dequeue()]).toEqual([0, false, undefined]);
    m.enqueue(env('again'));
    expect(drainAll(m)).toEqual(['again']);
  });
});
