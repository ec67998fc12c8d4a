/**
 * Sharded entities (runtime/cluster/entities.ts): clustered systems in one process sharing a
 * store object, over real WebSockets on 127.0.0.1. Each id runs on one node whoever asks; a
 * persistent entity keeps its count when its node stops and another takes its shard; idle
 * entities are passivated and come back; a node that joins takes its share of the shards.
 */
import { describe, expect, it } from 'vitest';
import { ActorSystem, MemoryStore, startAdminServer } from '../../dist/index.js';
import { Counter, DurableCounter } from '../fixtures/entity-agents.mjs';
import { allUp, membersUntil, nodesOfTest } from './cluster-driver.js';
import { inProcessCluster, until } from './in-process-cluster.js';
import { redisOfTest } from './redis-server.js';

const { node: clustered, track } = inProcessCluster();
const node = (name: string, store: MemoryStore, seeds: ActorSystem[] = []) => clustered(name, { store, seeds });

const FAST = { shards: 32, rebalanceMs: 50, ttlMs: 600 };
const owned = (...nodes: ActorSystem[]) => nodes.reduce((n, s) => n + (s.entities.status()[0]?.shards.length ?? 0), 0);
const running = (...nodes: ActorSystem[]) => nodes.reduce((n, s) => n + (s.entities.status()[0]?.entities ?? 0), 0);
type Answer = { n: number; node: string };

describe('sharded entities', () => {
  it('run each id on one node whoever asks, and a persistent entity keeps its count when its node stops and another takes its shard', async () => {
    const store = new MemoryStore();
    const a = await node('a', store);
    const b = await node('b', store, [a]);
    a.entities.define('counter', DurableCounter, FAST);
    b.entities.define('counter', DurableCounter, FAST);
    await until('both nodes own shards, all 32 owned', () => owned(a, b) === 32 && owned(a) > 0 && owned(b) > 0);
    const ids = Array.from({ length: 30 }, (_, i) => `cart-${i}`);
    const first = await Promise.all(ids.map((id) => a.entities.ref<{ add: number }, Answer>('counter', id).ask({ add: 1 })));
    const second = await Promise.all(ids.map((id) => b.entities.ref<{ add: number }, Answer>('counter', id).ask({ add: 1 })));
    expect(first.map((r) => r.n)).toEqual(ids.map(() => 1));
    expect(second.map((r) => r.n)).toEqual(ids.map(() => 2));
    expect(second.map((r) => r.node)).toEqual(first.map((r) => r.node)); // the same instance, asked from either node
    expect(new Set(first.map((r) => r.node))).toEqual(new Set(['a', 'b']));
    expect(running(a, b)).toBe(30);
    const admin = await startAdminServer(a, { host: '127.0.0.1', port: 0 });
    try {
      const listed = (await (await fetch(`http://${admin.address}/entities`)).json()) as { node: string; types: { type: string; shards: number[]; entities: number }[] };
      expect(listed).toEqual({ node: 'a', types: [{ type: 'counter', shards: a.entities.status()[0]!.shards, entities: running(a) }] });
      expect((await fetch(`http://${admin.address}/entities`, { method: 'POST' })).status).toBe(405);
    } finally {
      await admin.close();
    }

    await b.stop(); // hands its shards off: entities stopped, leases released
    await until('a owns every shard', () => owned(a) === 32);
    const third = await Promise.all(ids.map((id) => a.entities.ref<{ add: number }, Answer>('counter', id).ask({ add: 1 })));
    expect(third).toEqual(ids.map(() => ({ n: 3, node: 'a' })));
  });

  it('passivates an idle entity and activates it again on its next message', async () => {
    const store = new MemoryStore();
    const a = await node('solo', store);
    a.entities.define('counter', DurableCounter, { ...FAST, passivateAfterMs: 150 });
    await until('all shards owned', () => owned(a) === 32);
    const ref = a.entities.ref<{ add: number }, Answer>('counter', 'idle-one');
    expect((await ref.ask({ add: 5 })).n).toBe(5);
    expect(running(a)).toBe(1);
    await until('passivated', () => running(a) === 0, 5000);
    expect((await ref.ask({ add: 1 })).n).toBe(6);
  });

  it('gives a node that joins its share of the shards; every id still answers', async () => {
    const store = new MemoryStore();
    const a = await node('a', store);
    a.entities.define('counter', Counter, FAST);
    await until('a owns all', () => owned(a) === 32);
    const c = await node('c', store, [a]);
    c.entities.define('counter', Counter, FAST);
    await until('c took its share', () => owned(c) > 0 && owned(a, c) === 32 && owned(a) < 32);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => c.entities.ref<{ add: number }, { n: number }>('counter', `x${i}`).ask({ add: 2 })));
    expect(answers.map((r) => r.n)).toEqual(Array.from({ length: 20 }, () => 2));
  });

  it('are reached from a node that does not host the type (it asks a host for the shard count: here 7, not the default)', async () => {
    const store = new MemoryStore();
    const a = await node('host', store);
    a.entities.define('counter', Counter, { ...FAST, shards: 7 });
    const b = await node('client', store, [a]);
    await until('a owns its 7 shards', () => owned(a) === 7);
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => b.entities.ref<{ add: number }, { n: number; node: string }>('counter', `y${i}`).ask({ add: 1 })));
    expect(answers.map((r) => [r.n, r.node])).toEqual(Array.from({ length: 10 }, () => [1, 'host']));
  });

  it('refuses bad input: type, id, shards, a second definition, a node without a store', async () => {
    const store = new MemoryStore();
    const a = track(new ActorSystem({ name: 'checks', store }));
    expect(() => a.entities.ref('has space', 'x')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field: 'type' }));
    expect(() => a.entities.ref('counter', '')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field: 'id' }));
    expect(() => a.entities.define('counter', Counter, { shards: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field: 'shards' }));
    a.entities.define('counter', Counter, FAST);
    expect(() => a.entities.define('counter', Counter, FAST)).toThrow(expect.objectContaining({ code: 'ERR_NAME_TAKEN' }));
    const none = track(new ActorSystem({ name: 'no-store' }));
    expect(() => none.entities.define('counter', Counter)).toThrow(expect.objectContaining({ code: 'ERR_STORE_UNAVAILABLE' }));
    await expect(none.entities.ref('counter', 'x').ask({ add: 1 }, { timeout: 200 })).rejects.toMatchObject({ code: 'ERR_ASK_TIMEOUT' });
  });
});

describe('sharded entities on a shared Redis store, across processes', () => {
  const { node: driven } = nodesOfTest();
  const redisServer = redisOfTest();

  it('move to the surviving node when theirs is killed -9, once its shard leases ran out, with every acknowledged count (slow: two processes and redis-server, ~3 s)', async () => {
    const redis = await redisServer.start();
    const store = { kind: 'redis', url: redis.url, prefix: `entities-${process.pid}:` };
    const a = await driven({ name: 'a', store });
    const b = await driven({ name: 'b', seeds: [a.url], store });
    await membersUntil(a.http, allUp(['a', 'b']), 5000);
    for (const n of [a, b]) await n.cmd({ cmd: 'defineEntities', type: 'counter', shards: 16, ttlMs: 1000 });
    const ids = Array.from({ length: 20 }, (_, i) => `agent-${i}`);
    const waitOwned = async () => {
      const deadline = performance.now() + 10_000;
      for (;;) {
        const [sa, sb] = [await a.cmd({ cmd: 'entityStatus' }), await b.cmd({ cmd: 'entityStatus' })];
        if (sa[0].shards.length > 0 && sb[0].shards.length > 0 && sa[0].shards.length + sb[0].shards.length === 16) return;
        if (performance.now() > deadline) throw new Error('shards not owned by both within 10 s');
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitOwned();
    const first = (await a.cmd({ cmd: 'entityAsks', type: 'counter', ids, msg: { add: 1 } }, 15_000)) as { n: number; node: string }[];
    expect(first.map((r) => r.n)).toEqual(ids.map(() => 1));
    expect(first.some((r) => r.node === 'b')).toBe(true);
    b.proc.child.kill('SIGKILL');
    const after = (await a.cmd({ cmd: 'entityAsks', type: 'counter', ids, msg: { add: 1 } }, 20_000)) as { n: number; node: string }[];
    expect(after).toEqual(ids.map(() => ({ n: 2, node: 'a' })));
  });
});

