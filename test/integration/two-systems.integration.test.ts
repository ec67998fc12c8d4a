/**
 * Two clustered systems in one process: nothing of a node is module-global (refs are rebuilt
 * by the codec that decodes them, routes belong to their host), so two nodes — each with a
 * worker thread — can live side by side and talk over their node link as two processes would.
 * Real worker threads and a real WebSocket on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ActorSystem } from '../../dist/index.js';
import { Relay, Sink } from '../fixtures/cluster-agents.mjs';

const secret = new TextEncoder().encode('two systems, one process, one secret');
const systems: ActorSystem[] = [];

afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.stop()));
});

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function upIn(system: ActorSystem, node: string): boolean {
  return system.members().some((m) => m.node === node && m.state === 'up');
}

describe('two clustered systems in one process', () => {
  it('join each other, place actors on each other’s worker threads, and pass refs in messages that each resolves through its own routes', async () => {
    const a = new ActorSystem({ name: 'a', threads: 1, cluster: { listen: { host: '127.0.0.1', port: 0 }, secret } });
    systems.push(a);
    await a.ready();
    const b = new ActorSystem({ name: 'b', threads: 1, cluster: { listen: { host: '127.0.0.1', port: 0 }, seeds: [a.cluster!.url], secret } });
    systems.push(b);
    await b.ready();
    await until(() => upIn(a, 'b') && upIn(b, 'a'));

    // a places a sink on b's worker thread; b places one on a's main thread
    const sinkOnB = await a.spawn(Sink, { node: 'b', thread: 1 });
    expect([sinkOnB.node, sinkOnB.thread]).toEqual(['b', 1]);
    const sinkOnA = await b.spawn(Sink, { node: 'a' });
    await expect(sinkOnA.ask({ type: 'ping', n: 1 })).resolves.toEqual({ pong: 1, node: 'a' });

    // a ref inside a message: decoded on a's worker (its own resolver), used there to reach node b's worker
    const relay = await a.spawn(Relay, { thread: 1 });
    const report = (await relay.ask({ n: 500, target: sinkOnB }, { timeout: 10_000 })) as { count: number; outOfOrder: number; node: string };
    expect(report).toEqual({ count: 500, outOfOrder: 0, node: 'b' });

    // and back: b's node sees a's actors through its own routes
    for (let i = 0; i < 200; i++) sinkOnA.tell({ seq: i });
    await expect(sinkOnA.ask({ type: 'report' })).resolves.toMatchObject({ count: 200, outOfOrder: 0, node: 'a' });

    // a ref decoded on a's main thread (a lookup's answer) is a's: it goes through a's link to b,
    // so once b is gone it is a node-down, not a local actor of b that stopped
    await b.spawn(Sink, { name: 'sink-b' });
    const found = (await a.lookupOn('b', 'sink-b'))!;
    await expect(found.ask({ type: 'ping', n: 2 })).resolves.toEqual({ pong: 2, node: 'b' });

    // a watch across the link ends with the reason the actor stopped with there
    const watched = a.watch(sinkOnB);
    await expect(a.stopActor(sinkOnB)).resolves.toBe('shutdown');
    await expect(watched).resolves.toBe('shutdown');

    await b.stop();
    await until(() => !upIn(a, 'b'));
    const err = await found.ask({ type: 'ping', n: 3 }, { timeout: 2000 }).catch((e: { code?: string }) => e);
    expect((err as { code?: string }).code).toBe('ERR_NODE_DOWN');
  });

  it('join through a dns:NAME:PORT seed: every address the name resolves to (here localhost) is a seed', async () => {
    const a = new ActorSystem({ name: 'a', cluster: { listen: { host: '127.0.0.1', port: 0 }, secret } });
    systems.push(a);
    await a.ready();
    const port = Number(/:(\d+)$/.exec(a.cluster!.url)![1]);
    const b = new ActorSystem({ name: 'b', cluster: { seeds: [`dns:localhost:${port}`], dnsRefreshMs: 200, secret } });
    systems.push(b);
    await b.ready();
    await until(() => upIn(a, 'b') && upIn(b, 'a'));
    expect(b.cluster!.redialTargets().filter((t) => t.seed).map((t) => t.url)).toContain(`ws://127.0.0.1:${port}`);
  });
});

