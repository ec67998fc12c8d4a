/**
 * Topics on one node (runtime/cluster/topics.ts): OTP `pg` semantics for the node's own
 * subscribers — subscribe once, leave on death, publish to each once and in order — and what a
 * peer's scope may make this node hold (bounded, malformed entries counted and dropped).
 * The cluster half runs in test/integration/topics.integration.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Actor, ActorSystem, ErrorCodes, type ActorRef } from '../../index.js';

class Inbox extends Actor<unknown, unknown> {
  private readonly got: { msg: unknown; sender: string | undefined }[] = [];
  receive(msg: unknown): unknown {
    if ((msg as { type?: string })?.type === 'inbox') return this.got;
    this.got.push({ msg, sender: this.context.sender?.path });
    return undefined;
  }
}

const systems: ActorSystem[] = [];
afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.stop()));
});

function system(): ActorSystem {
  const s = new ActorSystem({ name: 'solo' });
  systems.push(s);
  return s;
}

const inbox = (ref: ActorRef) => ref.ask({ type: 'inbox' }) as Promise<{ msg: unknown; sender: string | undefined }[]>;

describe('topics on one node', () => {
  it('delivers a publish once to each subscriber, in publish order, with the sender; subscribing twice changes nothing', async () => {
    const s = system();
    const [a, b, sender] = [await s.spawn(Inbox, { name: 'a' }), await s.spawn(Inbox, { name: 'b' }), await s.spawn(Inbox, { name: 'publisher' })];
    s.topics.subscribe('news', a);
    s.topics.subscribe('news', a);
    s.topics.subscribe('news', b);
    s.topics.subscribe('other', b);
    for (let i = 0; i < 100; i++) expect(s.topics.publish('news', { i }, { sender })).toEqual({ local: 2, nodes: 0 });
    const [ga, gb] = [await inbox(a), await inbox(b)];
    expect(ga.map((g) => (g.msg as { i: number }).i)).toEqual([...Array(100).keys()]);
    expect(gb).toHaveLength(100);
    expect(ga[0]!.sender).toBe('/publisher');
    expect(s.topics.topics()).toEqual([
      { topic: 'news', local: 2, nodes: {} },
      { topic: 'other', local: 1, nodes: {} },
    ]);
    expect(s.topics.publish('nobody-listens', 1)).toEqual({ local: 0, nodes: 0 });
  });

  it('unsubscribe removes one topic; a subscriber that dies leaves every topic it was in', async () => {
    const s = system();
    const [a, b] = [await s.spawn(Inbox), await s.spawn(Inbox)];
    s.topics.subscribe('t1', a);
    s.topics.subscribe('t2', a);
    s.topics.subscribe('t1', b);
    expect(s.topics.unsubscribe('t1', b)).toBe(true);
    expect(s.topics.unsubscribe('t1', b)).toBe(false);
    expect(s.topics.subscribers('t1').map((r) => r.path)).toEqual([a.path]);
    await s.stopActor(a);
    await new Promise((r) => setImmediate(r));
    expect(s.topics.topics()).toEqual([]);
    // subscribed again after an unsubscribe: watched once, still removed when it dies
    s.topics.subscribe('t3', b);
    s.topics.unsubscribe('t3', b);
    s.topics.subscribe('t3', b);
    await s.stopActor(b);
    await new Promise((r) => setImmediate(r));
    expect(s.topics.subscribers('t3')).toEqual([]);
  });

  it.each([
    ['an empty topic', '', 'topic'],
    ['a topic of 257 characters', 'x'.repeat(257), 'topic'],
    ['a topic that is not a string', 42, 'topic'],
  ])('refuses %s: ERR_INVALID_ARGUMENT', async (_what, topic, field) => {
    const s = system();
    const a = await s.spawn(Inbox);
    expect(() => s.topics.subscribe(topic as string, a)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT, field }));
    expect(() => s.topics.publish(topic as string, 1)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT, field }));
  });

  it('refuses to subscribe something that is not a ref of this node', async () => {
    const s = system();
    const other = new ActorSystem({ name: 'elsewhere' });
    systems.push(other);
    const far = await other.spawn(Inbox);
    expect(() => s.topics.subscribe('t', far)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT, field: 'ref' }));
    expect(() => s.topics.subscribe('t', {} as ActorRef)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT, field: 'ref' }));
  });

  it('keeps at most maxTopics topics and maxSubscribers per topic on a node: ERR_LIMIT_REACHED past them', async () => {
    const s = new ActorSystem({ name: 'small' });
    systems.push(s);
    const { Topics } = await import('../../runtime/cluster/topics.js');
    const topics = new Topics({ node: s.name, incarnation: s.host.incarnation, watch: (r) => s.watch(r), lookupScope: async () => undefined, members$: undefined }, { maxTopics: 2, maxSubscribers: 2 });
    const refs = await Promise.all([1, 2, 3].map(() => s.spawn(Inbox)));
    topics.subscribe('a', refs[0]!);
    topics.subscribe('b', refs[0]!);
    expect(() => topics.subscribe('c', refs[0]!)).toThrow(expect.objectContaining({ code: ErrorCodes.LIMIT_REACHED, field: 'topic' }));
    topics.subscribe('a', refs[1]!);
    expect(() => topics.subscribe('a', refs[2]!)).toThrow(expect.objectContaining({ code: ErrorCodes.LIMIT_REACHED, field: 'ref' }));
    expect(topics.topics()).toEqual([
      { topic: 'a', local: 2, nodes: {} },
      { topic: 'b', local: 1, nodes: {} },
    ]);
  });

  it('counts and drops what a peer sends that is not the protocol, names another node, or is past the bounds', async () => {
    const s = system();
    const { Topics } = await import('../../runtime/cluster/topics.js');
    const topics = new Topics({ node: 'here', incarnation: 1, watch: (r) => s.watch(r), lookupScope: async () => undefined, members$: undefined }, { maxTopics: 3, maxSubscribers: 2 });
    const mine = await s.spawn(Inbox); // node 'solo': not node 'peer'
    topics.received({ $t: 'frobnicate' }, undefined);
    topics.received({ $t: 'join', node: 42, incarnation: 1, topic: 't', refs: [] }, undefined);
    topics.received({ $t: 'sync', node: 'peer', incarnation: 7, topics: 'all of them' }, undefined);
    topics.received({ $t: 'sync', node: 'peer', incarnation: 7, topics: [['x'.repeat(300), []], 'junk', ['t', ['not a ref', mine]]] }, undefined);
    topics.received({ $t: 'sync', node: 'peer', incarnation: 7, topics: Array.from({ length: 10 }, (_, i) => [`t${i}`, [mine]]) }, undefined);
    expect(topics.topics()).toEqual([]);
    expect(topics.rejectedFromPeers).toBe(2 + 1 + 4 + 10);
  });
});
