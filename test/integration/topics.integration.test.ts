/**
 * Topics across nodes (runtime/cluster/topics.ts): clustered systems in one process over real
 * WebSockets on 127.0.0.1, with a worker thread — every node learns every other node's
 * subscribers (also a node that joins later), a publish from any node reaches each subscriber
 * once and in order, and subscribers that die or nodes that leave drop out of every view.
 * The admin API's /topics routes on a real HTTP server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ActorSystem, startAdminServer, type ActorRef, type AdminServer } from '../../dist/index.js';
import { Sink } from '../fixtures/cluster-agents.mjs';
import { Publisher, SelfSubscriber } from '../fixtures/topic-agents.mjs';
import { inProcessCluster, until } from './in-process-cluster.js';

const { node: clustered } = inProcessCluster();
const node = (name: string, seeds: ActorSystem[] = [], threads = 0) => clustered(name, { seeds, threads });
const servers: AdminServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const report = (ref: ActorRef) => ref.ask({ type: 'report' }, { timeout: 10_000 }) as Promise<{ count: number; outOfOrder: number; node: string }>;

/** The sink's report once it has counted `n` messages (publishes to other nodes are still on their way when publish returns). */
async function reportAt(ref: ActorRef, n: number, ms = 10_000): Promise<{ count: number; outOfOrder: number; node: string }> {
  const deadline = performance.now() + ms;
  for (;;) {
    const r = await report(ref);
    if (r.count >= n || performance.now() > deadline) return r;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
const where = (s: ActorSystem, topic: string) => s.topics.subscribers(topic).map((r) => `${r.node}/${r.thread}`).sort();

describe('topics across nodes', () => {
  it('every node learns every subscriber (a late joiner too); a publish from any node reaches each once, in order (slow-ish: three nodes, one worker thread)', async () => {
    const a = await node('a');
    const b = await node('b', [a], 1);
    const onA = await a.spawn(Sink);
    const onB = await b.spawn(Sink, { thread: 1 });
    a.topics.subscribe('jobs', onA);
    b.topics.subscribe('jobs', onB);
    await until('a and b see both', () => where(a, 'jobs').length === 2 && where(b, 'jobs').length === 2);
    expect(where(a, 'jobs')).toEqual(['a/0', 'b/1']);
    for (let seq = 0; seq < 500; seq++) expect(a.topics.publish('jobs', { seq })).toEqual({ local: 1, nodes: 1 });
    expect(await reportAt(onB, 500)).toEqual({ count: 500, outOfOrder: 0, node: 'b' });
    expect(await report(onA)).toEqual({ count: 500, outOfOrder: 0, node: 'a' });

    const c = await node('c', [a]);
    const onC = await c.spawn(Sink);
    c.topics.subscribe('jobs', onC);
    await until('all three see all three', () => [a, b, c].every((s) => where(s, 'jobs').length === 3));
    expect(c.topics.topics()).toEqual([{ topic: 'jobs', local: 1, nodes: { a: 1, b: 1 } }]);
    for (let seq = 500; seq < 800; seq++) c.topics.publish('jobs', { seq });
    expect(await reportAt(onA, 800)).toEqual({ count: 800, outOfOrder: 0, node: 'a' });
    expect(await reportAt(onB, 800)).toEqual({ count: 800, outOfOrder: 0, node: 'b' });
    expect((await report(onC)).count).toBe(300);
  });

  it('a subscriber that dies, one that unsubscribes, and a node that stops drop out of every view', async () => {
    const a = await node('a');
    const b = await node('b', [a], 1);
    const onA = await a.spawn(Sink);
    const [first, second] = [await b.spawn(Sink, { thread: 1 }), await b.spawn(Sink)];
    a.topics.subscribe('alerts', onA);
    b.topics.subscribe('alerts', first);
    b.topics.subscribe('alerts', second);
    b.topics.subscribe('audit', second);
    await until('a sees b’s two', () => where(a, 'alerts').length === 3 && where(a, 'audit').length === 1);
    await b.stopActor(first);
    await until('the dead one gone on a', () => where(a, 'alerts').length === 2);
    expect(where(a, 'alerts')).toEqual(['a/0', 'b/0']);
    b.topics.unsubscribe('audit', second);
    await until('the unsubscribed one gone on a', () => a.topics.topics().every((t) => t.topic !== 'audit'));
    await b.stop();
    await until('b’s subscribers gone with b', () => where(a, 'alerts').length === 1);
    expect(a.topics.topics()).toEqual([{ topic: 'alerts', local: 1, nodes: {} }]);
  });
});

describe('topics from inside actors (topicsOf), on worker threads', () => {
  it('an actor subscribes itself when it starts, an actor on another node’s worker publishes with itself as sender, and an unsubscribe is heard everywhere', async () => {
    const a = await node('a', [], 1);
    const b = await node('b', [a], 1);
    const onB = await b.spawn(SelfSubscriber, { thread: 1, args: { topic: 'work' } });
    const onA = await a.spawn(SelfSubscriber, { args: { topic: 'work' } });
    await until('both nodes see both', () => where(a, 'work').length === 2 && where(b, 'work').length === 2);
    expect(where(a, 'work')).toEqual(['a/0', 'b/1']);
    const publisher = await a.spawn(Publisher, { thread: 1, name: 'publisher' });
    expect(await publisher.ask({ topic: 'work', n: 50 })).toBe(50);
    const reportOf = (ref: ActorRef) => ref.ask({ type: 'report' }) as Promise<{ count: number; from: string | null; thread: number }>;
    const deadline = performance.now() + 10_000;
    let got = [await reportOf(onA), await reportOf(onB)];
    while (got.some((r) => r.count < 50) && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      got = [await reportOf(onA), await reportOf(onB)];
    }
    expect(got).toEqual([
      { count: 50, from: '/publisher', thread: 0 },
      { count: 50, from: '/publisher', thread: 1 },
    ]);
    expect(await onB.ask({ type: 'bad' })).toBe('ERR_INVALID_ARGUMENT');
    expect(await onB.ask({ type: 'leave' })).toBe(true);
    expect(await onB.ask({ type: 'leave' })).toBe(false);
    await until('a heard the unsubscribe', () => where(a, 'work').length === 1);
  });
});

describe('the admin API’s /topics routes', () => {
  it('lists topics, shows a topic’s subscribers, and publishes a JSON body to every subscriber', async () => {
    const a = await node('a');
    const b = await node('b', [a]);
    const [onA, onB] = [await a.spawn(Sink, { name: 'sink-a' }), await b.spawn(Sink, { name: 'sink-b' })];
    a.topics.subscribe('deploys', onA);
    b.topics.subscribe('deploys', onB);
    await until('a sees both', () => where(a, 'deploys').length === 2);
    const admin = await startAdminServer(a, { host: '127.0.0.1', port: 0 });
    servers.push(admin);
    const base = `http://${admin.address}`;
    expect(await (await fetch(`${base}/topics`)).json()).toEqual({ node: 'a', topics: [{ topic: 'deploys', local: 1, nodes: { b: 1 } }] });
    expect(await (await fetch(`${base}/topics/deploys`)).json()).toEqual({
      topic: 'deploys',
      subscribers: [
        { node: 'a', thread: 0, path: '/sink-a' },
        { node: 'b', thread: 0, path: '/sink-b' },
      ],
    });
    const published = await fetch(`${base}/topics/deploys/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ seq: 0 }) });
    expect(published.status).toBe(200);
    expect(await published.json()).toEqual({ topic: 'deploys', local: 1, nodes: 1 });
    expect((await report(onA)).count).toBe(1);
    expect((await reportAt(onB, 1)).count).toBe(1);
    expect((await fetch(`${base}/topics/deploys/publish`)).status).toBe(405);
    const bad = await fetch(`${base}/topics/deploys/publish`, { method: 'POST', body: '{not json' });
    expect(bad.status).toBe(400);
    const long = await fetch(`${base}/topics/${'x'.repeat(300)}/publish`, { method: 'POST', body: '1' });
    expect([long.status, ((await long.json()) as { error: { code: string } }).error.code]).toEqual([400, 'ERR_INVALID_ARGUMENT']);
  });
});
