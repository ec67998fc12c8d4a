/**
 * One conformance suite for every store backend (store.ts's semantics): memory, LMDB in a
 * temporary directory, Redis on a real redis-server started for this file. Then what only
 * one backend has: LMDB's group commit and its refusal of corrupt files, Redis lost and back.
 */
import { existsSync, mkdtempSync, rmSync, truncateSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../actors/foundation/errors.js';
import { LmdbStore } from '../../runtime/persistence/lmdb-store.js';
import { MemoryStore } from '../../runtime/persistence/memory-store.js';
import { defaultDataDir, formatStoreSpec, openStore, parseStoreSpec, probeStore } from '../../runtime/persistence/open-store.js';
import { ActorSystem } from '../../runtime/node/actor-system.js';
import { RedisStore } from '../../runtime/persistence/redis-store.js';
import type { Store } from '../../runtime/persistence/store.js';
import { startRedisServer, type RedisServer } from '../integration/redis-server.js';

let redis: RedisServer;
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'apiary-store-'));
  dirs.push(dir);
  return dir;
}

beforeAll(async () => {
  redis = await startRedisServer();
});

afterAll(async () => {
  await redis?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Backend {
  name: string;
  /** A fresh, empty store. */
  fresh(): Promise<Store>;
  /** The same data opened again after close (undefined: nothing survives, memory). */
  reopen?(store: Store): Promise<Store>;
}

let redisDb = 0;
const backends: Backend[] = [
  { name: 'memory', fresh: async () => new MemoryStore() },
  {
    name: 'lmdb',
    fresh: () => LmdbStore.open(tempDir()),
    reopen: async (s) => {
      await s.close();
      return openStore(s.spec);
    },
  },
  {
    name: 'redis',
    // each store its own prefix on the one server: fresh and independent
    fresh: () => RedisStore.open(redis.url, { prefix: `t${++redisDb}:` }),
    reopen: async (s) => {
      await s.close();
      return openStore(s.spec);
    },
  },
];

const code = async (p: Promise<unknown>): Promise<string | undefined> => {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
};

describe.each(backends)('the $name store', (backend) => {
  it('gives each claim of an id a greater epoch, with the highest seq stored', async () => {
    const s = await backend.fresh();
    const a = await s.claim('agent/1', 'w1');
    const b = await s.claim('agent/1', 'w2');
    expect(b.epoch).toBeGreaterThan(a.epoch);
    await s.append('agent/1', b.epoch, 1, ['x', 'y'], 10);
    expect((await s.claim('agent/1', 'w3')).highestSeq).toBe(2);
    await s.close();
  });

  it('refuses a stale epoch ERR_PERSISTENCE_FENCED for append, snapshot, delete, save and clear, writing nothing', async () => {
    const s = await backend.fresh();
    const old = await s.claim('p', 'old');
    await s.append('p', old.epoch, 1, ['a'], 1);
    const cur = await s.claim('p', 'new');
    expect(await code(s.append('p', old.epoch, 2, ['stale'], 2))).toBe(ErrorCodes.PERSISTENCE_FENCED);
    expect(await code(s.saveSnapshot('p', old.epoch, { seq: 1, state: 'stale', at: 2 }))).toBe(ErrorCodes.PERSISTENCE_FENCED);
    expect(await code(s.deleteTo('p', old.epoch, 1))).toBe(ErrorCodes.PERSISTENCE_FENCED);
    expect(await s.read('p', 1)).toEqual([{ seq: 1, event: 'a', at: 1 }]);
    expect(await s.highestSeq('p')).toBe(1);
    expect(await s.loadSnapshot('p')).toBeUndefined();
    await s.append('p', cur.epoch, 2, ['b'], 3);
    expect(await s.highestSeq('p')).toBe(2);

    const st1 = await s.claimState('q', 'old');
    await s.saveState('q', st1.epoch, 1, 'first', 1);
    const st2 = await s.claimState('q', 'new');
    expect(await code(s.saveState('q', st1.epoch, 2, 'stale', 2))).toBe(ErrorCodes.PERSISTENCE_FENCED);
    expect(await code(s.clearState('q', st1.epoch))).toBe(ErrorCodes.PERSISTENCE_FENCED);
    expect(await s.loadState('q')).toEqual({ version: 1, state: 'first', at: 1 });
    await s.saveState('q', st2.epoch, 2, 'second', 3);
    expect((await s.loadState('q'))?.state).toBe('second');
    await s.close();
  });

  it('refuses an append that leaves a gap or repeats a seq, writing nothing', async () => {
    const s = await backend.fresh();
    const { epoch } = await s.claim('p', 'w');
    expect(await code(s.append('p', epoch, 2, ['gap'], 1))).toBe(ErrorCodes.PERSISTENCE_FENCED);
    await s.append('p', epoch, 1, ['a', 'b'], 1);
    expect(await code(s.append('p', epoch, 2, ['again'], 1))).toBe(ErrorCodes.PERSISTENCE_FENCED);
    expect(await code(s.append('p', epoch, 4, ['gap'], 1))).toBe(ErrorCodes.PERSISTENCE_FENCED);
    expect((await s.read('p', 1)).map((e) => e.event)).toEqual(['a', 'b']);
    await s.close();
  });

  it('reads ranges in order, and nothing for an id never written', async () => {
    const s = await backend.fresh();
    const { epoch } = await s.claim('p', 'w');
    await s.append('p', epoch, 1, [1, 2, 3], 7);
    await s.append('p', epoch, 4, [4, 5], 8);
    expect((await s.read('p', 2, 4)).map((e) => [e.seq, e.event])).toEqual([[2, 2], [3, 3], [4, 4]]);
    expect((await s.read('p', 4)).map((e) => e.seq)).toEqual([4, 5]);
    expect((await s.read('p', 9)).length).toBe(0);
    expect((await s.read('p', 1, 1))[0]).toEqual({ seq: 1, event: 1, at: 7 });
    expect(await s.read('nobody', 1)).toEqual([]);
    expect(await s.highestSeq('nobody')).toBe(0);
    await s.close();
  });

  it('keeps only the latest snapshot, and deletes events up to a seq while the highest seq stays', async () => {
    const s = await backend.fresh();
    const { epoch } = await s.claim('p', 'w');
    await s.append('p', epoch, 1, ['a', 'b', 'c', 'd'], 1);
    await s.saveSnapshot('p', epoch, { seq: 2, state: { upTo: 2 }, at: 2 });
    await s.saveSnapshot('p', epoch, { seq: 3, state: { upTo: 3 }, at: 3 });
    expect(await s.loadSnapshot('p')).toEqual({ seq: 3, state: { upTo: 3 }, at: 3 });
    await s.deleteTo('p', epoch, 3);
    expect((await s.read('p', 1)).map((e) => e.seq)).toEqual([4]);
    await s.deleteTo('p', epoch, 10);
    expect(await s.read('p', 1)).toEqual([]);
    expect(await s.highestSeq('p')).toBe(4);
    await s.append('p', epoch, 5, ['e'], 4);
    expect((await s.read('p', 1)).map((e) => [e.seq, e.event])).toEqual([[5, 'e']]);
    expect(await s.loadSnapshot('nobody')).toBeUndefined();
    await s.close();
  });

  it('versions durable states: exactly stored + 1, cleared states read as none', async () => {
    const s = await backend.fresh();
    const first = await s.claimState('q', 'w');
    expect(first.version).toBe(0);
    expect(await s.loadState('q')).toBeUndefined();
    expect(await code(s.saveState('q', first.epoch, 2, 'skip', 1))).toBe(ErrorCodes.PERSISTENCE_FENCED);
    await s.saveState('q', first.epoch, 1, { n: 1 }, 1);
    await s.saveState('q', first.epoch, 2, { n: 2 }, 2);
    expect(await code(s.saveState('q', first.epoch, 2, 'again', 3))).toBe(ErrorCodes.PERSISTENCE_FENCED);
    expect(await s.loadState('q')).toEqual({ version: 2, state: { n: 2 }, at: 2 });
    expect((await s.claimState('q', 'w2')).version).toBe(2);
    const { epoch } = await s.claimState('q', 'w3');
    await s.clearState('q', epoch);
    expect(await s.loadState('q')).toBeUndefined();
    await s.close();
  });

  it('lists ids by prefix in order, up to a limit', async () => {
    const s = await backend.fresh();
    for (const pid of ['run/b', 'run/a', 'other/x', 'run/c']) await s.claim(pid, 'w');
    const st = await s.claimState('run/state', 'w');
    await s.saveState('run/state', st.epoch, 1, {}, 1);
    expect(await s.ids('run/', 10)).toEqual(['run/a', 'run/b', 'run/c', 'run/state']);
    expect(await s.ids('run/', 2)).toEqual(['run/a', 'run/b']);
    expect(await s.ids('none/', 10)).toEqual([]);
    await s.clearState('run/state', st.epoch);
    expect(await s.ids('run/s', 10)).toEqual([]);
    await s.close();
  });

  it('stores copies: mutating what was saved or loaded changes nothing stored', async () => {
    const s = await backend.fresh();
    const { epoch } = await s.claim('p', 'w');
    const event = { list: [1, 2] };
    const appended = s.append('p', epoch, 1, [event], 1);
    event.list.push(3);
    await appended;
    const [read] = await s.read('p', 1);
    (read!.event as { list: number[] }).list.push(4);
    expect((await s.read('p', 1))[0]!.event).toEqual({ list: [1, 2] });
    const st = await s.claimState('q', 'w');
    const state = { k: 'v' };
    const saved = s.saveState('q', st.epoch, 1, state, 1);
    state.k = 'changed';
    await saved;
    expect((await s.loadState('q'))!.state).toEqual({ k: 'v' });
    await s.close();
  });

  it('rejects every call ERR_STORE_UNAVAILABLE once closed', async () => {
    const s = await backend.fresh();
    const { epoch } = await s.claim('p', 'w');
    await s.close();
    expect(await code(s.claim('p', 'w'))).toBe(ErrorCodes.STORE_UNAVAILABLE);
    expect(await code(s.append('p', epoch, 1, ['a'], 1))).toBe(ErrorCodes.STORE_UNAVAILABLE);
    expect(await code(s.read('p', 1))).toBe(ErrorCodes.STORE_UNAVAILABLE);
    expect(await code(s.loadState('p'))).toBe(ErrorCodes.STORE_UNAVAILABLE);
    expect(await code(s.ids('', 1))).toBe(ErrorCodes.STORE_UNAVAILABLE);
  });

  it('orders writes of one id issued in the same turn: consecutive appends land, a duplicate is refused, claims differ', async () => {
    const s = await backend.fresh();
    const [c1, c2] = await Promise.all([s.claim('p', 'a'), s.claim('p', 'b')]);
    expect(c2.epoch).toBe(c1.epoch + 1);
    const results = await Promise.allSettled([s.append('p', c2.epoch, 1, ['a', 'b'], 1), s.append('p', c2.epoch, 3, ['c'], 1), s.append('p', c2.epoch, 3, ['dup'], 1)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect((await s.read('p', 1)).map((e) => e.event)).toEqual(['a', 'b', 'c']);
    await s.close();
  });

  it('lands 1000 appends of different ids issued in one turn (group commit)', async () => {
    const s = await backend.fresh();
    const claims = await Promise.all(Array.from({ length: 1000 }, (_, i) => s.claim(`many/${i}`, 'w')));
    await Promise.all(claims.map((c, i) => s.append(`many/${i}`, c.epoch, 1, [{ i, body: 'x'.repeat(150) }], 1)));
    const highest = await Promise.all(claims.map((_, i) => s.highestSeq(`many/${i}`)));
    expect(highest.every((h) => h === 1)).toBe(true);
    expect((await s.read('many/999', 1))[0]!.event).toEqual({ i: 999, body: 'x'.repeat(150) });
    await s.close();
  });
});

describe.each(backends)('leases on the $name store', (backend) => {
  // memory and LMDB judge expiry by the `now` given (advanced here); Redis by its own clock (so waited for)
  const serverClock = backend.name === 'redis';
  let now = 1_000_000;
  const later = async (ms: number): Promise<void> => {
    now += ms;
    if (serverClock) await new Promise((r) => setTimeout(r, ms));
  };

  it('one holder at a time: another owner is refused until the lease runs out, then takes it with a greater token', async () => {
    const s = await backend.fresh();
    const a = await s.acquireLease('report', 'node-a', 150, now, { at: 'node-a/0/7' });
    expect(a).toMatchObject({ name: 'report', owner: 'node-a', data: { at: 'node-a/0/7' } });
    expect(await s.acquireLease('report', 'node-b', 150, now)).toBeUndefined();
    expect(await s.leaseHolder('report', now)).toMatchObject({ owner: 'node-a', token: a!.token, data: { at: 'node-a/0/7' } });
    // the holder taking it again renews it: same token
    expect((await s.acquireLease('report', 'node-a', 150, now))!.token).toBe(a!.token);
    await later(200);
    expect(await s.leaseHolder('report', now)).toBeUndefined();
    const b = await s.acquireLease('report', 'node-b', 150, now);
    expect(b!.token).toBeGreaterThan(a!.token);
    // the old holder's renew and release are refused: it lost the lease
    expect(await code(s.renewLease('report', 'node-a', a!.token, 150, now))).toBe('ERR_LEASE_LOST');
    expect(await s.releaseLease('report', 'node-a', a!.token)).toBe(false);
    expect((await s.leaseHolder('report', now))!.owner).toBe('node-b');
    await s.close();
  });

  it('renews extend the lease; a release frees it at once, and the next holder’s token is still greater', async () => {
    const s = await backend.fresh();
    const a = (await s.acquireLease('lock', 'w1', 150, now))!;
    await later(100);
    const renewed = await s.renewLease('lock', 'w1', a.token, 150, now, { n: 2 });
    expect(renewed).toMatchObject({ owner: 'w1', token: a.token, data: { n: 2 } });
    expect(renewed.expiresAt).toBeGreaterThan(a.expiresAt);
    await later(100); // past the first expiry, within the renewed one
    expect((await s.leaseHolder('lock', now))!.owner).toBe('w1');
    expect(await code(s.renewLease('lock', 'w1', a.token + 1, 150, now))).toBe('ERR_LEASE_LOST');
    expect(await s.releaseLease('lock', 'w1', a.token)).toBe(true);
    expect(await s.leaseHolder('lock', now)).toBeUndefined();
    const b = (await s.acquireLease('lock', 'w2', 150, now))!;
    expect(b.token).toBeGreaterThan(a.token);
    expect(await s.acquireLease('other-lock', 'w2', 150, now)).toMatchObject({ owner: 'w2' });
    await s.close();
  });
});

describe.each(backends.filter((b): b is Backend & Required<Pick<Backend, 'reopen'>> => b.reopen !== undefined))('the $name store, closed and opened again', (backend) => {
  it('keeps epochs, events, snapshots and states across close and reopen', async () => {
    let s = await backend.fresh();
    const a = await s.claim('p', 'w1');
    await s.append('p', a.epoch, 1, [{ n: 1 }], 5);
    await s.saveSnapshot('p', a.epoch, { seq: 1, state: { total: 1 }, at: 5 });
    const st = await s.claimState('q', 'w1');
    await s.saveState('q', st.epoch, 1, { v: 'one' }, 6);
    s = await backend.reopen(s);
    const b = await s.claim('p', 'w2');
    expect(b.epoch).toBeGreaterThan(a.epoch);
    expect(b.highestSeq).toBe(1);
    expect(await s.read('p', 1)).toEqual([{ seq: 1, event: { n: 1 }, at: 5 }]);
    expect(await s.loadSnapshot('p')).toEqual({ seq: 1, state: { total: 1 }, at: 5 });
    expect((await s.claimState('q', 'w2')).epoch).toBeGreaterThan(st.epoch);
    expect(await s.loadState('q')).toEqual({ version: 1, state: { v: 'one' }, at: 6 });
    await s.close();
  });

});

describe('the LMDB store on disk', () => {
  async function filledStore(): Promise<string> {
    const dir = tempDir();
    const s = await LmdbStore.open(dir);
    const { epoch } = await s.claim('p', 'w');
    for (let i = 0; i < 50; i++) await s.append('p', epoch, i * 5 + 1, Array.from({ length: 5 }, () => 'x'.repeat(2000)), 1);
    await s.close();
    return dir;
  }

  it.each([
    ['truncated to a third', (f: string) => truncateSync(f, Math.floor(statSync(f).size / 3))],
    ['truncated inside its meta pages', (f: string) => truncateSync(f, 100)],
    ['garbled at its start', (f: string) => writeFileSync(f, Buffer.concat([Buffer.alloc(9000, 0x41), readFileSync(f).subarray(9000)]))],
    ['replaced by text', (f: string) => writeFileSync(f, 'not a database\n'.repeat(1000))],
    ['with a garbled second meta page', (f: string) => writeFileSync(f, Buffer.concat([readFileSync(f).subarray(0, 4096), Buffer.alloc(200, 0x42), readFileSync(f).subarray(4296)]))],
  ])('refuses to open a data file %s: ERR_STORE_CORRUPT naming the file, never empty', async (_what, damage) => {
    const dir = await filledStore();
    const file = join(dir, 'data.mdb');
    damage(file);
    const err = await LmdbStore.open(dir).then(
      () => undefined,
      (e: unknown) => e as { code: string; field?: string },
    );
    expect(err?.code).toBe(ErrorCodes.STORE_CORRUPT);
    expect(err?.field).toBe(file);
  });

  it('fences a writer whose id another store of the same directory (another thread) claimed since its last append', async () => {
    const dir = tempDir();
    const a = await LmdbStore.open(dir);
    const b = await LmdbStore.open(dir);
    try {
      const first = await a.claim('agent', 'a');
      await a.append('agent', first.epoch, 1, ['one'], 1);
      await a.append('agent', first.epoch, 2, ['two'], 1);
      const second = await b.claim('agent', 'b');
      expect(second).toEqual({ epoch: first.epoch + 1, highestSeq: 2 });
      await expect(a.append('agent', first.epoch, 3, ['stale'], 1)).rejects.toMatchObject({ code: ErrorCodes.PERSISTENCE_FENCED });
      await b.append('agent', second.epoch, 3, ['three'], 1);
      // a's next try with the right seq is still fenced; b's appends go on after a's refusals
      await expect(a.append('agent', first.epoch, 4, ['stale'], 1)).rejects.toMatchObject({ code: ErrorCodes.PERSISTENCE_FENCED });
      await b.append('agent', second.epoch, 4, ['four'], 1);
      expect((await a.read('agent', 1)).map((e) => e.event)).toEqual(['one', 'two', 'three', 'four']);
      expect(await a.highestSeq('agent')).toBe(4);
    } finally {
      await b.close();
      await a.close();
    }
  });

  it('goes on appending for every writer of a turn when another store of the directory claims an unrelated id meanwhile', async () => {
    const dir = tempDir();
    const a = await LmdbStore.open(dir);
    const b = await LmdbStore.open(dir);
    try {
      const ids = Array.from({ length: 50 }, (_, i) => `w-${i}`);
      const epochs = await Promise.all(ids.map((id) => a.claim(id, 'a')));
      await Promise.all(ids.map((id, i) => a.append(id, epochs[i]!.epoch, 1, ['one'], 1)));
      // b's claim of another id bumps the claims record: a's next turn falls back to the checked path, and succeeds
      await b.claim('other', 'b');
      await Promise.all(ids.map((id, i) => a.append(id, epochs[i]!.epoch, 2, ['two'], 1)));
      // same turn: a claim of a new id among appends of the others
      const [, ...rest] = await Promise.all([a.claim('late', 'a'), ...ids.map((id, i) => a.append(id, epochs[i]!.epoch, 3, ['three'], 1))]);
      expect(rest).toHaveLength(ids.length);
      await Promise.all(ids.map((id, i) => a.append(id, epochs[i]!.epoch, 4, ['four'], 1)));
      for (const id of ids) expect((await b.read(id, 1)).map((e) => e.event)).toEqual(['one', 'two', 'three', 'four']);
      // and a gap is still refused after all that
      await expect(a.append('w-0', epochs[0]!.epoch, 9, ['gap'], 1)).rejects.toMatchObject({ code: ErrorCodes.PERSISTENCE_FENCED });
    } finally {
      await b.close();
      await a.close();
    }
  });

  it('keeps the highest seq when every event was deleted, across reopen, and a new claim continues after it', async () => {
    const dir = tempDir();
    const s = await LmdbStore.open(dir);
    const { epoch } = await s.claim('p', 'w');
    await s.append('p', epoch, 1, ['a', 'b', 'c'], 1);
    await s.deleteTo('p', epoch, 3);
    expect(await s.read('p', 1)).toEqual([]);
    expect(await s.highestSeq('p')).toBe(3);
    await s.append('p', epoch, 4, ['d'], 1);
    await s.deleteTo('p', epoch, 4);
    await s.close();
    const again = await LmdbStore.open(dir);
    try {
      expect(await again.claim('p', 'w2')).toEqual({ epoch: epoch + 1, highestSeq: 4 });
      await expect(again.append('p', epoch + 1, 4, ['dup'], 1)).rejects.toMatchObject({ code: ErrorCodes.PERSISTENCE_FENCED });
      await again.append('p', epoch + 1, 5, ['e'], 1);
      expect((await again.read('p', 1)).map((e) => e.seq)).toEqual([5]);
    } finally {
      await again.close();
    }
  });

  it('refuses an LMDB file that is not an apiary store, and one of an unknown format', async () => {
    const dir = tempDir();
    const s = await LmdbStore.open(dir);
    s.subDatabase('tasks.queue').putSync('k', 1);
    await s.close();
    expect((await LmdbStore.open(dir).then(async (again) => again.close()))).toBeUndefined();
    const { open } = await import('lmdb');
    const foreign = tempDir();
    const root = open({ path: join(foreign, 'data.mdb') });
    await root.put('someone-else', 1);
    await root.close();
    expect(await code(LmdbStore.open(foreign))).toBe(ErrorCodes.STORE_CORRUPT);
    const future = open({ path: join(dir, 'data.mdb') });
    await future.put('apiary:format', { format: 'apiary-store', version: 99 });
    await future.close();
    expect(await code(LmdbStore.open(dir))).toBe(ErrorCodes.STORE_CORRUPT);
  });

  it('gives other parts of the node sub-databases of their own in the same environment, its own names refused', async () => {
    const dir = tempDir();
    let s = await LmdbStore.open(dir);
    const tasks = s.subDatabase('tasks.records');
    const [claim] = await Promise.all([s.claim('p', 'w'), tasks.put('t1', { state: 'queued' })]);
    expect(claim.epoch).toBe(1);
    expect(s.lmdbRoot.openDB('tasks.records', {}).get('t1')).toEqual({ state: 'queued' });
    expect(() => s.subDatabase('apiary.events')).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    await s.close();
    s = await LmdbStore.open(dir);
    expect(s.subDatabase('tasks.records').get('t1')).toEqual({ state: 'queued' });
    await s.close();
  });
});

describe('the Redis store', () => {
  it('rejects ERR_STORE_UNAVAILABLE while the server is down, and works again once it is back', async () => {
    const s = await RedisStore.open(redis.url, { prefix: 'down:' });
    const { epoch } = await s.claim('p', 'w');
    await s.append('p', epoch, 1, ['before'], 1);
    await redis.stop();
    expect(await code(s.append('p', epoch, 2, ['lost'], 2))).toBe(ErrorCodes.STORE_UNAVAILABLE);
    expect(await code(s.read('p', 1))).toBe(ErrorCodes.STORE_UNAVAILABLE);
    await redis.start();
    let again: { epoch: number } | undefined;
    for (let i = 0; i < 100 && again === undefined; i++) {
      again = await s.claim('p', 'w').catch(() => undefined);
      if (again === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    expect(again?.epoch).toBeGreaterThan(0);
    await s.append('p', again!.epoch, 1, ['after'], 3); // this server keeps nothing on disk: it came back empty
    expect((await s.read('p', 1)).map((e) => e.event)).toEqual(['after']);
    await s.close();
  });

  it('refuses to open ERR_STORE_UNAVAILABLE, quickly, when nothing listens', async () => {
    const started = performance.now();
    expect(await code(RedisStore.open('redis://127.0.0.1:1'))).toBe(ErrorCodes.STORE_UNAVAILABLE);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('refuses keys of an unknown format under its prefix ERR_STORE_CORRUPT', async () => {
    const s = await RedisStore.open(redis.url, { prefix: 'fmt:' });
    const raw = await s.connection();
    await raw.set('fmt:format', '99');
    await raw.quit();
    await s.close();
    expect(await code(RedisStore.open(redis.url, { prefix: 'fmt:' }))).toBe(ErrorCodes.STORE_CORRUPT);
  });
});

describe('store specs', () => {
  it.each([
    ['memory', { kind: 'memory' }],
    ['lmdb:/var/lib/apiary', { kind: 'lmdb', dir: '/var/lib/apiary' }],
    ['lmdb:data', { kind: 'lmdb', dir: '/srv/data' }],
    ['redis://10.0.0.5:6379', { kind: 'redis', url: 'redis://10.0.0.5:6379' }],
  ])('reads %s', (text, spec) => {
    expect(parseStoreSpec(text, '/srv')).toEqual(spec);
    expect(parseStoreSpec(formatStoreSpec(parseStoreSpec(text, '/srv')), '/srv')).toEqual(spec);
  });

  it.each(['', 'lmdb:', 'postgres://x:1', 'redis://', 'file:/tmp'])('refuses %j ERR_INVALID_CONFIG', (text) => {
    expect(() => parseStoreSpec(text)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_CONFIG, field: 'store' }));
  });

  it('puts a node’s default data directory under the working directory, named after the node', () => {
    expect(defaultDataDir('n1', '/srv/app')).toBe('/srv/app/apiary-data/n1');
    expect(defaultDataDir('a/../b', '/srv/app')).toBe('/srv/app/apiary-data/a_.._b');
  });
});

describe('probing a store (apiary doctor)', () => {
  it('refuses a corrupt LMDB store and an unreachable Redis, and creates nothing for a new one', async () => {
    const bad = tempDir();
    writeFileSync(join(bad, 'data.mdb'), 'garbage'.repeat(2000));
    expect(await code(probeStore({ kind: 'lmdb', dir: bad }))).toBe(ErrorCodes.STORE_CORRUPT);
    expect(await code(probeStore({ kind: 'redis', url: 'redis://127.0.0.1:1' }))).toBe(ErrorCodes.STORE_UNAVAILABLE);
    const fresh = join(tempDir(), 'not', 'yet');
    await probeStore({ kind: 'lmdb', dir: fresh });
    expect(existsSync(fresh)).toBe(false);
    await probeStore({ kind: 'redis', url: redis.url });
  });
});

describe('an ActorSystem with a store', () => {
  it('opens a store spec at ready(), exposes it as system.store, and closes it at stop()', async () => {
    const dir = tempDir();
    const system = new ActorSystem({ name: 'n1', store: { kind: 'lmdb', dir } });
    expect(system.store).toBeUndefined();
    await system.ready();
    const store = system.store!;
    expect(store.spec).toEqual({ kind: 'lmdb', dir });
    expect((await store.claim('p', 'n1')).epoch).toBe(1);
    await system.stop();
    expect(await code(store.read('p', 1))).toBe(ErrorCodes.STORE_UNAVAILABLE);
  });

  it('rejects ready() with the store’s code when the store cannot be opened', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'data.mdb'), 'garbage'.repeat(2000));
    const corrupt = new ActorSystem({ name: 'n1', store: { kind: 'lmdb', dir } });
    expect(await code(corrupt.ready())).toBe(ErrorCodes.STORE_CORRUPT);
    await corrupt.stop();
    const unreachable = new ActorSystem({ name: 'n2', store: { kind: 'redis', url: 'redis://127.0.0.1:1' } });
    expect(await code(unreachable.ready())).toBe(ErrorCodes.STORE_UNAVAILABLE);
    await unreachable.stop();
  });

  it('uses an opened store as it is and leaves it open at stop()', async () => {
    const store = new MemoryStore();
    const system = new ActorSystem({ name: 'n1', store });
    expect(system.store).toBe(store);
    await system.ready();
    await system.stop();
    expect((await store.claim('p', 'w')).epoch).toBe(1);
  });
});
