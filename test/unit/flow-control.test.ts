/**
 * Flow control on a link (transport/endpoint.ts, receive-window.ts; docs/architecture.md §
 * Flow control): two real endpoints with real codecs over an in-memory carrier whose batches
 * wait until the test delivers them, and real mailboxes on the receiving side. No time passes.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../actors/foundation/clock.js';
import { ErrorCodes } from '../../actors/foundation/errors.js';
import { Host } from '../../actors/host.js';
import { Mailbox, type AskReplyTo, type Envelope } from '../../actors/mailbox.js';
import { Codec } from '../../transport/codec.js';
import { Endpoint, MAX_BATCH_BYTES, type Carrier, type FrameHandler } from '../../transport/endpoint.js';
import { CREDIT, FLOW_CONTROL, TELL } from '../../transport/frames.js';
import type { Heartbeat, ReqPayload, ResPayload, SysPayload } from '../../transport/frames.js';

const host = new Host({ node: 'n', incarnation: 1, thread: 0, clock: new ManualClock() });

/** One direction of a link: batches wait, in order, until the test delivers them. */
class Wire implements Carrier {
  readonly waiting: Uint8Array[] = [];
  /** Pretend the socket holds this much unsent (a peer that does not read). */
  bufferedAmount = 0;
  to!: Endpoint;
  send(batch: Uint8Array): boolean {
    this.waiting.push(batch.slice());
    return true;
  }
  deliver(): number {
    let n = 0;
    for (let b = this.waiting.shift(); b !== undefined; b = this.waiting.shift(), n++) this.to.receive(b);
    return n;
  }
}

/** The actors of one side: every message goes into one mailbox, taken from only when the test says. */
class Side implements FrameHandler {
  readonly mailbox = new Mailbox();
  readonly sys: SysPayload[] = [];
  readonly beats: (number | Heartbeat)[] = [];
  readonly malformed: unknown[] = [];
  /** Messages that had arrived when each system frame did. */
  readonly sysAfter: number[] = [];
  delivered = 0;
  relay: ((env: Envelope) => void) | undefined;
  onMessage(_thread: number, _id: number, env: Envelope): void {
    this.delivered++;
    if (this.relay !== undefined) return this.relay(env);
    this.mailbox.enqueue(env);
  }
  onSys(_thread: number, _id: number, p: SysPayload): void {
    this.sys.push(p);
    this.sysAfter.push(this.delivered);
  }
  onRequest(_thread: number, _id: number, _p: ReqPayload): Promise<ResPayload> {
    return Promise.resolve({ ok: true });
  }
  onHeartbeat(beat: number | Heartbeat): void {
    this.beats.push(beat);
  }
  onMalformed(err: unknown): void {
    this.malformed.push(err);
  }
  /** Processes up to `n` messages, as the dispatcher does (each leaves the mailbox); their bodies. */
  take(n = Infinity): Envelope[] {
    const out: Envelope[] = [];
    while (out.length < n) {
      const env = this.mailbox.dequeue();
      if (env === undefined) break;
      out.push(env);
    }
    return out;
  }
}

/** The asker's side of asks: answers by ask id. */
class Asker implements AskReplyTo {
  readonly answers = new Map<number, unknown>();
  resolve(id: number, value: unknown): boolean {
    this.answers.set(id, value);
    return true;
  }
  reject(id: number, err: unknown): boolean {
    this.answers.set(id, err);
    return true;
  }
}

interface LinkOptions {
  trust?: 'trusted' | 'checked';
  windowBytes?: number;
  maxQueuedBytes?: number;
  highWaterBytes?: number;
}

/** Two ends of one link; `a` sends to `b` and back. */
function link(options: LinkOptions = {}) {
  const trusted = (options.trust ?? 'trusted') === 'trusted';
  const codec = () => new Codec({ records: trusted ? 'sequential' : 'none', resolveRef: (address, path) => host.resolveRef(address, path) });
  const drops = { answers: [] as unknown[], overflows: [] as string[] };
  const end = (side: Side) =>
    new Endpoint({
      codec: codec(),
      handler: side,
      dispatcher: host.dispatcher,
      trust: options.trust ?? 'trusted',
      windowBytes: options.windowBytes ?? FLOW_CONTROL.initialCredit,
      maxQueuedBytes: options.maxQueuedBytes,
      highWaterBytes: options.highWaterBytes,
      drops: { answer: (v) => void drops.answers.push(v), overflow: (what) => void drops.overflows.push(what) },
    });
  const aSide = new Side();
  const bSide = new Side();
  const a = end(aSide);
  const b = end(bSide);
  const ab = new Wire();
  const ba = new Wire();
  ab.to = b;
  ba.to = a;
  a.attach(ab);
  b.attach(ba);
  /** Ends the turn (batches and grants go out) and delivers both ways until nothing moves. */
  const settle = async (): Promise<void> => {
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (ab.deliver() + ba.deliver() === 0) return;
    }
  };
  return { a, b, ab, ba, aSide, bSide, drops, settle };
}

const tell = (seq: unknown): Envelope => ({ msg: seq, sender: undefined, ask: 0, priority: 2 });
const seqs = (envs: Envelope[]) => envs.map((e) => e.msg);
/** The most one batch can hold beyond what a sender still had: its last batch may overshoot. */
const BATCH_SLACK = 1024 * (FLOW_CONTROL.messageCost + 64);

describe('flow control on a link', () => {
  it('keeps what the receiver has not processed within its window; the rest waits at the sender, in order, and flows as the receiver processes', async () => {
    const l = link({ windowBytes: 2 * 1024 * 1024 });
    for (let i = 0; i < 50_000; i++) expect(l.a.sendMessage(0, 1, tell({ seq: i }))).toBe(true);
    await l.settle();
    expect(l.b.flow.outstanding).toBeGreaterThan(0);
    expect(l.b.flow.outstanding).toBeLessThanOrEqual(2 * 1024 * 1024 + BATCH_SLACK);
    expect(l.a.flow.queuedBytes).toBeGreaterThan(0);
    const got: unknown[] = [];
    while (got.length < 50_000) {
      const taken = l.bSide.take(3000);
      expect(taken.length).toBeGreaterThan(0);
      got.push(...seqs(taken).map((m) => (m as { seq: number }).seq));
      await l.settle();
      expect(l.b.flow.outstanding).toBeLessThanOrEqual(2 * 1024 * 1024 + BATCH_SLACK);
    }
    expect(got).toEqual(Array.from({ length: 50_000 }, (_, i) => i));
    expect(l.a.flow.queuedBytes).toBe(0);
    expect(l.b.flow.outstanding).toBe(0);
  });

  it('past the sender\'s bound refuses a message (false, counted); nothing that was accepted is lost', async () => {
    const l = link({ maxQueuedBytes: 256 * 1024 });
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 100_000; i++) {
      if (l.a.sendMessage(0, 1, tell(i))) accepted++;
      else refused++;
    }
    expect(refused).toBeGreaterThan(0);
    expect(l.a.stats.refused).toBe(refused);
    const got: unknown[] = [];
    for (let round = 0; round < 1000 && got.length < accepted; round++) {
      await l.settle();
      got.push(...seqs(l.bSide.take()));
    }
    expect(got).toEqual(Array.from({ length: accepted }, (_, i) => i));
  });

  it.each(['trusted', 'checked'] as const)('lets answers and heartbeats overtake messages waiting for the window (%s link)', async (trust) => {
    const l = link({ trust });
    // b floods a, which processes nothing: b's window on a runs out and b's tells wait
    for (let i = 0; i < 20_000; i++) l.b.sendMessage(0, 1, tell({ seq: i, pad: 'x'.repeat(40) }));
    await l.settle();
    expect(l.b.flow.queuedBytes).toBeGreaterThan(0);
    // a asks b; b answers with a shape it never sent before, and beats
    const asker = new Asker();
    l.a.sendMessage(0, 2, { msg: 'question', sender: undefined, ask: 7, priority: 2, replyTo: asker });
    await l.settle();
    const [ask] = l.bSide.take(1);
    expect(ask!.msg).toBe('question');
    ask!.replyTo!.resolve(ask!.ask, { answer: 42, seq: 'a new shape' });
    l.b.sendHeartbeat(9);
    await l.settle();
    expect(asker.answers.get(7)).toEqual({ answer: 42, seq: 'a new shape' });
    expect(l.aSide.beats).toEqual([9]);
    expect(l.b.flow.queuedBytes).toBeGreaterThan(0);
    expect(l.aSide.malformed).toEqual([]);
    // and the waiting tells still arrive, in order, once a processes
    const got: number[] = [];
    for (let round = 0; round < 1000 && got.length < 20_000; round++) {
      got.push(...seqs(l.aSide.take()).map((m) => (m as { seq: number }).seq));
      await l.settle();
    }
    expect(got).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
  });

  it('from a node: a batch sent beyond what the peer was granted is malformed (its link closes); within it is accepted', () => {
    const l = link({ trust: 'checked' });
    const peer = new Codec();
    const batch = (n: number, from: number): Uint8Array => Buffer.concat(Array.from({ length: n }, (_, i) => peer.encode([TELL, 0, 1, { seq: from + i }, 2, null])));
    let sent = 0;
    // within the initial credit: fine
    while (sent < FLOW_CONTROL.initialCredit / (FLOW_CONTROL.messageCost + 16) - 200) {
      l.b.receive(batch(100, sent));
      sent += 100;
    }
    expect(l.bSide.malformed).toEqual([]);
    // ignoring the window (no grant came, nothing was processed): cut off
    for (let i = 0; i < 20 && l.bSide.malformed.length === 0; i++, sent += 100) l.b.receive(batch(100, sent));
    expect(l.bSide.malformed).toHaveLength(1);
    expect((l.bSide.malformed[0] as { code: string }).code).toBe(ErrorCodes.MALFORMED_FRAME);
  });

  it('to a peer that does not read: answers past the control lane\'s bound are dropped and reported (the asker times out); heartbeats too', async () => {
    const l = link({ trust: 'checked', maxQueuedBytes: 64 * 1024, highWaterBytes: 16 * 1024 });
    const asker = new Asker();
    for (let i = 1; i <= 2000; i++) l.a.sendMessage(0, 2, { msg: i, sender: undefined, ask: i, priority: 2, replyTo: asker });
    await l.settle();
    const asks = l.bSide.take();
    expect(asks).toHaveLength(2000);
    l.ba.bufferedAmount = 1024 * 1024; // a stops reading
    let answered = 0;
    for (const env of asks) if (env.replyTo!.resolve(env.ask, 'y'.repeat(1000))) answered++;
    l.b.sendHeartbeat(1);
    expect(answered).toBeLessThan(2000);
    expect(l.drops.answers).toHaveLength(2000 - answered);
    expect(l.b.stats.droppedAnswers).toBe(2000 - answered);
    expect(l.b.stats.droppedControl).toBe(1);
    // this turn's batch (up to MAX_BATCH_BYTES and one answer) went to the queue; the control lane holds a quarter of the bound
    expect(l.b.flow.queuedBytes).toBeLessThan(MAX_BATCH_BYTES * 2 + 64 * 1024 * 0.25 + 2048);
  });

  it('system frames overtake messages in the control lane, within its bound and a reserve; past it they are dropped and the link is given up; a request is refused ERR_BACKPRESSURE', async () => {
    const max = 64 * 1024;
    const l = link({ trust: 'checked', maxQueuedBytes: max, highWaterBytes: 16 * 1024 });
    l.ab.bufferedAmount = 1024 * 1024; // b does not read
    let i = 0;
    while (l.a.sendMessage(0, 1, tell(i++)));
    await new Promise((r) => setImmediate(r));
    const watcher = host.resolveRef({ node: 'n', incarnation: 1, thread: 0, id: 99 }, '/w');
    l.a.sendSys(0, 1, { k: 'watch', watcher });
    expect(l.drops.overflows).toEqual([]);
    for (let k = 0; k < 10_000 && l.drops.overflows.length === 0; k++) l.a.sendSys(0, 1, { k: 'watch', watcher });
    expect(l.drops.overflows).toEqual(['system message']);
    // messages: the bound (and this turn's batch); control lane: a quarter of it plus a quarter of reserve
    expect(l.a.flow.queuedBytes).toBeLessThan(max * 1.5 + 2 * MAX_BATCH_BYTES);
    expect(await l.a.request(0, 1, { k: 'start' })).toMatchObject({ ok: false, error: { code: ErrorCodes.BACKPRESSURE } });
  });

  it('a terminated stays behind the messages sent before it, even when they fill the bound (it has a reserve past it)', async () => {
    const max = 64 * 1024;
    const l = link({ trust: 'checked', maxQueuedBytes: max, highWaterBytes: 16 * 1024 });
    l.ab.bufferedAmount = 1024 * 1024;
    let accepted = 0;
    while (l.a.sendMessage(0, 1, tell(accepted))) accepted++;
    const watcher = host.resolveRef({ node: 'n', incarnation: 1, thread: 0, id: 99 }, '/w');
    l.a.sendSys(0, 1, { k: 'terminated', ref: watcher, reason: 'normal' });
    l.a.sendSys(0, 1, { k: 'watch', watcher });
    await new Promise((r) => setImmediate(r));
    expect(l.drops.overflows).toEqual([]);
    l.ab.bufferedAmount = 0; // b reads again; the next turn that sends (a heartbeat) resumes the queue
    l.a.sendHeartbeat(1);
    for (let round = 0; round < 100 && l.bSide.sys.length < 2; round++) {
      l.bSide.take();
      await l.settle();
    }
    // the watch overtook the waiting messages; the terminated came after all of them
    expect(l.bSide.sys.map((p) => p.k)).toEqual(['watch', 'terminated']);
    expect(l.bSide.sysAfter[0]).toBeLessThan(accepted);
    expect(l.bSide.sysAfter[1]).toBe(accepted);
  });

  it('a message relayed to another link keeps its window on the link it came from until the next link takes it on', async () => {
    const first = link();
    const next = link();
    // first.b relays everything to next.a (as thread 0 relays a node's message to a worker)
    first.bSide.relay = (env) => expect(next.a.sendMessage(0, 1, env)).toBe(true);
    for (let i = 0; i < 30_000; i++) first.a.sendMessage(0, 1, tell({ seq: i }));
    for (let round = 0; round < 5; round++) {
      await first.settle();
      await next.settle();
    }
    // next's receiver processes nothing: next holds what does not fit, and first's window is held meanwhile
    expect(next.a.flow.queuedBytes).toBeGreaterThan(0);
    expect(first.b.flow.outstanding).toBeGreaterThan(0);
    expect(first.a.flow.queuedBytes).toBeGreaterThan(0);
    const got: number[] = [];
    for (let round = 0; round < 2000 && got.length < 30_000; round++) {
      got.push(...seqs(next.bSide.take()).map((m) => (m as { seq: number }).seq));
      await next.settle();
      await first.settle();
    }
    expect(got).toEqual(Array.from({ length: 30_000 }, (_, i) => i));
    expect(first.b.flow.outstanding).toBe(0);
  });

  it('a message dropped as a dead letter gives its window back', async () => {
    const l = link();
    l.bSide.relay = (env) => host.deadLetter('/gone', env, 'unknown-actor');
    for (let i = 0; i < 30_000; i++) expect(l.a.sendMessage(0, 1, tell(i))).toBe(true);
    for (let round = 0; round < 100 && l.a.flow.queuedBytes > 0; round++) await l.settle();
    expect(l.a.flow.queuedBytes).toBe(0);
    expect(l.b.flow.outstanding).toBe(0);
  });

  it('a replaced connection (a duplicate link being closed): its late frames are delivered, but its grants add no credit and its messages take no window of the new one', () => {
    const l = link();
    const plain = new Codec({ records: 'none' });
    const stale = l.a.attach(l.ab);
    const current = l.a.attach(l.ab);
    const credit = l.a.flow.credit;
    stale(plain.encode([CREDIT, 1_000_000]));
    expect(l.a.flow.credit).toBe(credit);
    stale(plain.encode([TELL, 0, 1, { seq: 1 }, 2, null]));
    expect(seqs(l.aSide.take())).toEqual([{ seq: 1 }]);
    expect(l.a.flow.outstanding).toBe(0);
    current(plain.encode([CREDIT, 1_000_000]));
    expect(l.a.flow.credit).toBe(credit + 1_000_000);
    expect(l.aSide.malformed).toEqual([]);
  });

  it('an ask frame carries its answer back through the endpoint it came in by', async () => {
    const l = link();
    const asker = new Asker();
    l.a.sendMessage(0, 1, { msg: 'q', sender: undefined, ask: 3, priority: 2, replyTo: asker });
    await l.settle();
    const [env] = l.bSide.take();
    expect(env!.replyTo).toBe(l.b);
    env!.replyTo!.resolve(env!.ask, 'a');
    await l.settle();
    expect(asker.answers.get(3)).toBe('a');
  });
});
