/**
 * Cluster singletons (runtime/cluster/singletons.ts): one instance at a time among the nodes
 * that offer it, found by `ref(name)` from any of them; restarted in place when it crashes;
 * taken over by another node when its node stops, or — on a shared Redis store — is killed -9.
 * Two clustered systems in one process sharing a store object, and real node processes.
 */
import { describe, expect, it } from 'vitest';
import { Actor, ActorSystem, MemoryStore, startAdminServer, type ActorRef } from '../../dist/index.js';
import { Sink } from '../fixtures/cluster-agents.mjs';
import { allUp, membersUntil, nodesOfTest, until as untilValue } from './cluster-driver.js';
import { redisOfTest } from './redis-server.js';
import { inProcessCluster, until } from './in-process-cluster.js';

const { node: clustered, track } = inProcessCluster();
const node = (name: string, store: MemoryStore, seeds: ActorSystem[] = []) => clustered(name, { store, seeds });

const ping = async (ref: ActorRef | undefined): Promise<string | undefined> => (ref === undefined ? undefined : ((await ref.ask({ type: 'ping', n: 1 }, { timeout: 2000 })) as { node: string }).node);
const running = async (s: ActorSystem): Promise<boolean> => (await s.singletons.status()).some((x) => x.running);

describe('a cluster singleton', () => {
  it('runs on one node of those that offer it, is reached from each, restarts in place when it crashes, and moves when its node stops', async () => {
    const store = new MemoryStore();
    const a = await node('a', store);
    const b = await node('b', store, [a]);
    await until('a and b up', () => a.members().filter((m) => m.state === 'up').length === 2 && b.members().filter((m) => m.state === 'up').length === 2);
    const options = { ttlMs: 400, retryMs: 50 };
    a.singletons.start('leader', Sink, options);
    b.singletons.start('leader', Sink, options);
    await until('one runs it', async () => (await running(a)) || (await running(b)));
    await new Promise((r) => setTimeout(r, 300)); // the other keeps trying meanwhile
    expect([await running(a), await running(b)].filter(Boolean)).toHaveLength(1);
    const holder = (await running(a)) ? a : b;
    const other = holder === a ? b : a;
    expect(await ping(await a.singletons.ref('leader'))).toBe(holder.name);
    expect(await ping(await b.singletons.ref('leader'))).toBe(holder.name);
    expect((await other.singletons.status())[0]).toMatchObject({ name: 'leader', offered: true, running: false, holder: { node: holder.name } });
    expect(() => a.singletons.start('leader', Sink)).toThrow(expect.objectContaining({ code: 'ERR_NAME_TAKEN' }));
    const admin = await startAdminServer(other, { host: '127.0.0.1', port: 0 });
    try {
      expect(await (await fetch(`http://${admin.address}/singletons`)).json()).toEqual({
        node: other.name,
        singletons: [{ name: 'leader', offered: true, running: false, holder: { owner: expect.stringMatching(new RegExp(`^${holder.name}#`)), node: holder.name, token: expect.any(Number) } }],
      });
    } finally {
      await admin.close();
    }

    // a crash: its supervisor restarts it where it is (the name is registered again)
    const restarts: string[] = [];
    const sub = holder.events$.subscribe((e) => {
      if (e.type === 'restarted') restarts.push(e.path);
    });
    expect(holder.kill((await holder.singletons.ref('leader'))!)).toBe(true);
    await until('restarted in place', async () => restarts.length === 1 && (await ping(await other.singletons.ref('leader')).catch(() => undefined)) === holder.name);
    sub.unsubscribe();
    expect(restarts).toEqual(['/singleton.leader/leader']);

    // its node stops: the lease is given up, the other node takes it
    await holder.stop();
    await until('moved', async () => (await ping(await other.singletons.ref('leader').catch(() => undefined)).catch(() => undefined)) === other.name);
    expect(await running(other)).toBe(true);
  });

  it('lets its node stop while the instance is still starting (the start finishes, then it is stopped)', async () => {
    class SlowStarter extends Actor<unknown, unknown> {
      override async started(): Promise<void> {
        await new Promise((r) => setTimeout(r, 500));
      }
      receive(m: unknown): unknown {
        return m;
      }
    }
    const s = track(new ActorSystem({ name: 'starting', store: new MemoryStore() }));
    s.singletons.start('slow', SlowStarter, { ttlMs: 600, retryMs: 50 });
    await new Promise((r) => setTimeout(r, 150)); // the lease is taken, the instance is starting
    const outcome = await Promise.race([s.stop().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still stopping after 5 s'), 5000))]);
    expect(outcome).toBe('stopped');
  });

  it('refuses a bad name, and a node without a store', async () => {
    const lonely = track(new ActorSystem({ name: 'no-store' }));
    expect(() => lonely.singletons.start('leader', Sink)).toThrow(expect.objectContaining({ code: 'ERR_STORE_UNAVAILABLE' }));
    const store = new MemoryStore();
    const s = track(new ActorSystem({ name: 'with-store', store }));
    expect(() => s.singletons.start('has space', Sink)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field: 'name' }));
  });
});

describe('a cluster singleton on a shared Redis store', () => {
  const { node: driven } = nodesOfTest();
  const redisServer = redisOfTest();

  it('stops at once on its holder when the lease cannot be renewed (Redis gone), before the lease could pass on, and runs again once Redis is back', async () => {
    const redis = await redisServer.start();
    const store = { kind: 'redis' as const, url: redis.url, prefix: `singleton-lost-${process.pid}:` };
    const a = track(new ActorSystem({ name: 'a', store }));
    await a.ready();
    a.singletons.start('cron', Sink, { ttlMs: 600, retryMs: 50 });
    await until('running', () => running(a));
    const stopped: number[] = [];
    const sub = a.events$.subscribe((e) => {
      if (e.type === 'stopped' && e.path === '/singleton.cron') stopped.push(performance.now());
    });
    const cut = performance.now();
    await redis.stop();
    await until('stopped on lease loss', () => stopped.length > 0, 5000);
    // the holder's reckoning: 80 % of the TTL after the last confirmed renew (sent ≤ 200 ms before the cut)
    expect(stopped[0]! - cut).toBeLessThan(600);
    expect(await running(a)).toBe(false);
    await redis.start();
    await until('running again', () => running(a), 10_000);
    sub.unsubscribe();
  });

  it('is taken over by the surviving node once the lease of a node killed -9 ran out (slow: two processes and redis-server, ~3 s)', async () => {
    const redis = await redisServer.start();
    const store = { kind: 'redis', url: redis.url, prefix: `singleton-${process.pid}:` };
    const a = await driven({ name: 'a', store });
    const b = await driven({ name: 'b', seeds: [a.url], store });
    await membersUntil(a.http, allUp(['a', 'b']), 5000);
    await a.cmd({ cmd: 'singleton', name: 'scheduler', ttlMs: 1000 });
    await b.cmd({ cmd: 'singleton', name: 'scheduler', ttlMs: 1000 });
    const first = await untilValue(() => a.cmd({ cmd: 'singletonPing', name: 'scheduler' }), (r: { node?: string }) => r.node !== undefined, 5000, 'a holder');
    const fromB = await b.cmd({ cmd: 'singletonPing', name: 'scheduler' });
    expect(fromB).toEqual(first);
    const [victim, survivor] = first.node === 'a' ? [a, b] : [b, a];
    const killedAt = performance.now();
    victim.proc.child.kill('SIGKILL');
    const after = await untilValue(() => survivor.cmd({ cmd: 'singletonPing', name: 'scheduler' }), (r: { node?: string }) => r.node === survivor.name, 8000, 'taken over');
    expect(after.node).toBe(survivor.name);
    // not before the victim's lease (1 s) could have run out
    expect(performance.now() - killedAt).toBeGreaterThan(700);
  });
});
