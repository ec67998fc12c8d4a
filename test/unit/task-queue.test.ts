/**
 * The durable task queue on every task store — memory, LMDB in a temp directory, a real
 * redis-server on 127.0.0.1 — keeps one set of semantics: lifecycle and timestamps,
 * priorities, idempotency keys, leases that run out, stale tokens, retries into the dead
 * queue, retry and purge, task events; then what only some backends do (LMDB reopens with
 * its tasks, Redis consumers compete without sharing a task, submissions reject while Redis
 * is away and nothing accepted is lost).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../actors/foundation/clock.js';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import type { SystemEvent } from '../../actors/events.js';
import { Actor, ActorSystem } from '../../index.js';
import { createMemoryTaskStore } from '../../runtime/tasks/local-task-store.js';
import { openLmdbTaskStore } from '../../runtime/tasks/lmdb-task-store.js';
import { openRedisTaskStore } from '../../runtime/tasks/redis-task-store.js';
import { createTaskQueue, type TaskQueue } from '../../runtime/tasks/task-queue.js';
import type { TaskStore } from '../../runtime/tasks/task-store.js';
import { openTaskStore } from '../../runtime/tasks/open-task-store.js';
import { open as openLmdb } from 'lmdb';
import type { Task } from '../../runtime/tasks/task.js';
import { startRedisServer as startRedis, type RedisServer } from '../integration/redis-server.js';

const T0 = 1_800_000_000_000;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof ApiaryError ? err.code : `not an ApiaryError: ${String(err)}`;
  }
  return 'resolved';
}

let redis: RedisServer | undefined;
let redisDir: string;
let prefixes = 0;
const dirs: string[] = [];

beforeAll(async () => {
  redisDir = mkdtempSync(join(tmpdir(), 'apiary-task-redis-'));
  redis = await startRedis({ dir: redisDir });
});
afterAll(async () => {
  await redis?.stop();
  rmSync(redisDir, { recursive: true, force: true });
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Backend = { name: string; open: () => Promise<TaskStore> };
const BACKENDS: Backend[] = [
  { name: 'memory', open: async () => createMemoryTaskStore() },
  {
    name: 'lmdb',
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'apiary-tasks-'));
      dirs.push(dir);
      return openLmdbTaskStore({ dir });
    },
  },
  { name: 'redis', open: async () => openRedisTaskStore({ redis: redis!.url, prefix: `t${++prefixes}:` }) },
];

describe.each(BACKENDS)('the task queue on the $name store', ({ open }) => {
  let clock: ManualClock;
  let events: SystemEvent[];
  let tasks: TaskQueue;

  beforeEach(async () => {
    clock = new ManualClock({ start: T0 });
    events = [];
    tasks = createTaskQueue({ store: await open(), clock, system: { clock, name: 'n1', publish: (e) => events.push(e) } });
  });
  afterEach(async () => {
    await tasks.close();
  });

  it('a submitted task is queued, claimed under a lease, and done with its result and timestamps', async () => {
    const t = await tasks.submit({ queue: 'q', payload: { n: 1 } });
    expect(t).toMatchObject({ queue: 'q', payload: { n: 1 }, state: 'queued', attempts: 0, priority: 'medium', createdAt: T0 });
    clock.advance(5);
    const [c] = await tasks.claim('q', { leaseMs: 1000 });
    expect(c).toMatchObject({ id: t.id, state: 'running', attempts: 1, startedAt: T0 + 5, lease: { until: T0 + 1005 } });
    clock.advance(5);
    await tasks.complete(c!, { answer: 42 });
    expect(await tasks.get(t.id)).toMatchObject({ state: 'done', result: { answer: 42 }, finishedAt: T0 + 10, attempts: 1 });
    expect((await tasks.get(t.id)).lease).toBeUndefined();
    expect(await tasks.claim('q')).toEqual([]);
    expect(await tasks.counts('q')).toEqual({ queued: 0, running: 0, done: 1, failed: 0, dead: 0 });
    expect((await tasks.counts()).done).toBe(1);
  });

  it('claims every critical task before any high one, and FIFO within a priority', async () => {
    const order: [string, 'critical' | 'high' | 'medium' | 'low'][] = [
      ['a', 'low'],
      ['b', 'medium'],
      ['c', 'critical'],
      ['d', 'high'],
      ['e', 'critical'],
      ['f', 'low'],
    ];
    for (const [name, priority] of order) await tasks.submit({ queue: 'q', payload: name }, { priority });
    const claimed = await tasks.claim('q', { max: 10 });
    expect(claimed.map((t) => t.payload)).toEqual(['c', 'e', 'd', 'b', 'a', 'f']);
  });

  it('a resubmit with the same idempotency key returns the first task, and once done its stored result', async () => {
    const first = await tasks.submit({ queue: 'q', payload: 1 }, { idempotencyKey: 'k1' });
    const again = await tasks.submit({ queue: 'q', payload: 2 }, { idempotencyKey: 'k1' });
    expect(again.id).toBe(first.id);
    expect(again.payload).toBe(1);
    const other = await tasks.submit({ queue: 'other', payload: 3 }, { idempotencyKey: 'k1' });
    expect(other.id).not.toBe(first.id);
    const [c] = await tasks.claim('q');
    await tasks.complete(c!, 'the result');
    const third = await tasks.submit({ queue: 'q', payload: 4 }, { idempotencyKey: 'k1' });
    expect(third).toMatchObject({ id: first.id, state: 'done', result: 'the result' });
    expect((await tasks.list({ queue: 'q' })).length).toBe(1);
  });

  it('a task whose lease ran out is claimed again (attempts + 1) and the stale token is refused ERR_LEASE_LOST', async () => {
    const t = await tasks.submit({ queue: 'q', payload: 'x' });
    const [first] = await tasks.claim('q', { leaseMs: 100, owner: 'w1' });
    clock.advance(50);
    expect(await tasks.claim('q', { owner: 'w2' })).toEqual([]);
    clock.advance(51);
    const [second] = await tasks.claim('q', { leaseMs: 100, owner: 'w2' });
    expect(second).toMatchObject({ id: t.id, attempts: 2, lease: { owner: 'w2' } });
    expect(await codeOf(tasks.complete(first!, 'late'))).toBe(ErrorCodes.LEASE_LOST);
    expect(await codeOf(tasks.fail(first!, new Error('late')))).toBe(ErrorCodes.LEASE_LOST);
    expect(await codeOf(tasks.extend(first!, 100))).toBe(ErrorCodes.LEASE_LOST);
    const extended = await tasks.extend(second!, 1000);
    clock.advance(500);
    expect(await tasks.claim('q')).toEqual([]);
    await tasks.complete(extended, 'ok');
    expect(await tasks.get(t.id)).toMatchObject({ state: 'done', result: 'ok', attempts: 2 });
  });

  it('a failing task is retried after its backoff, goes dead after maxAttempts, and retry() queues it again', async () => {
    const retry = { shape: { kind: 'exponential', initial: 100, factor: 2 }, maxAttempts: 3 } as const;
    const t = await tasks.submit({ queue: 'q', payload: 'x' }, { retry });
    let [c] = await tasks.claim('q');
    let after = await tasks.fail(c!, new ApiaryError(ErrorCodes.TIMEOUT, 'boom 1'));
    expect(after).toMatchObject({ state: 'queued', runAt: T0 + 100, error: { code: 'ERR_TIMEOUT' } });
    clock.advance(99);
    expect(await tasks.claim('q')).toEqual([]);
    clock.advance(1);
    [c] = await tasks.claim('q');
    expect(c!.attempts).toBe(2);
    after = await tasks.fail(c!, new Error('boom 2'));
    expect(after.runAt).toBe(T0 + 100 + 200);
    clock.advance(200);
    [c] = await tasks.claim('q');
    after = await tasks.fail(c!, new Error('boom 3'));
    expect(after).toMatchObject({ state: 'dead', attempts: 3, error: { message: 'boom 3' } });
    expect((await tasks.list({ state: 'dead' })).map((x) => x.id)).toEqual([t.id]);
    expect(await codeOf(tasks.retry(t.id + 'x'))).toBe(ErrorCodes.TASK_NOT_FOUND);
    const again = await tasks.retry(t.id);
    expect(again).toMatchObject({ state: 'queued', attempts: 0 });
    expect(await codeOf(tasks.retry(t.id))).toBe(ErrorCodes.INVALID_ARGUMENT);
    [c] = await tasks.claim('q');
    expect(c).toMatchObject({ id: t.id, attempts: 1 });
  });

  it('a task whose lease ran out on its last attempt goes dead, not to a worker', async () => {
    const t = await tasks.submit({ queue: 'q', payload: 'x' }, { retry: { shape: { kind: 'fixed', delay: 0 }, maxAttempts: 1 } });
    await tasks.claim('q', { leaseMs: 10 });
    clock.advance(10);
    expect(await tasks.claim('q')).toEqual([]);
    expect(await tasks.get(t.id)).toMatchObject({ state: 'dead', error: { code: ErrorCodes.LEASE_LOST } });
  });

  it('a delayed task is not claimable before its time, and one past its deadline is failed without running', async () => {
    const later = await tasks.submit({ queue: 'q', payload: 'later' }, { delayMs: 1000 });
    const late = await tasks.submit({ queue: 'q', payload: 'late' }, { deadline: T0 + 500 });
    clock.advance(600);
    expect(await tasks.claim('q', { max: 5 })).toEqual([]);
    expect(await tasks.get(late.id)).toMatchObject({ state: 'failed', error: { code: ErrorCodes.TIMEOUT } });
    clock.advance(400);
    expect((await tasks.claim('q', { max: 5 })).map((t) => t.id)).toEqual([later.id]);
  });

  it('a failure whose retry would start past the deadline fails the task', async () => {
    await tasks.submit({ queue: 'q', payload: 'x' }, { deadline: T0 + 500, retry: { shape: { kind: 'fixed', delay: 1000 }, maxAttempts: 5 } });
    const [c] = await tasks.claim('q');
    expect(await tasks.fail(c!, new Error('no'))).toMatchObject({ state: 'failed' });
  });

  it('purge removes finished tasks and frees their keys; an unknown id is ERR_TASK_NOT_FOUND', async () => {
    const done = await tasks.submit({ queue: 'q', payload: 1 }, { idempotencyKey: 'k' });
    const queued = await tasks.submit({ queue: 'q', payload: 2 });
    const [c] = await tasks.claim('q');
    await tasks.complete(c!, 'r');
    expect(await tasks.purge()).toBe(1);
    expect(await codeOf(tasks.get(done.id))).toBe(ErrorCodes.TASK_NOT_FOUND);
    expect((await tasks.get(queued.id)).state).toBe('queued');
    const fresh = await tasks.submit({ queue: 'q', payload: 3 }, { idempotencyKey: 'k' });
    expect(fresh.id).not.toBe(done.id);
    expect(await tasks.purge({ id: queued.id })).toBe(1);
    expect(await codeOf(tasks.purge({ id: queued.id }))).toBe(ErrorCodes.TASK_NOT_FOUND);
    expect(await tasks.counts('q')).toEqual({ queued: 1, running: 0, done: 0, failed: 0, dead: 0 });
  });

  it('rejects bad input with ERR_INVALID_ARGUMENT naming the field', async () => {
    const fieldOf = async (p: Promise<unknown>) => p.then(() => 'resolved', (e: ApiaryError) => `${e.code}:${e.field}`);
    expect(await fieldOf(tasks.submit({ queue: '', payload: 1 }))).toBe('ERR_INVALID_ARGUMENT:queue');
    expect(await fieldOf(tasks.submit({ queue: 'q', payload: 1 }, { priority: 'urgent' as never }))).toBe('ERR_INVALID_ARGUMENT:priority');
    expect(await fieldOf(tasks.submit({ queue: 'q', payload: 1 }, { retry: { shape: { kind: 'fixed', delay: 1 }, maxAttempts: 0 } }))).toBe('ERR_INVALID_ARGUMENT:retry.maxAttempts');
    expect(await fieldOf(tasks.list({ state: 'lost' as never }))).toBe('ERR_INVALID_ARGUMENT:state');
    // a payload no store can encode: refused before anything is stored
    let deep: unknown = 0;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(await fieldOf(tasks.submit({ queue: 'q', payload: deep }))).toMatch(/^ERR_UNSERIALIZABLE:payload/);
    expect(await fieldOf(tasks.submit({ queue: 'q', payload: { run: () => 1 } }))).toBe('ERR_UNSERIALIZABLE:payload.run');
    expect(await tasks.list()).toEqual([]);
  });

  it('rejects every call ERR_STORE_UNAVAILABLE once the store is closed', async () => {
    const t = await tasks.submit({ queue: 'q', payload: 1 });
    await tasks.close();
    expect(await codeOf(tasks.submit({ queue: 'q', payload: 2 }))).toBe(ErrorCodes.STORE_UNAVAILABLE);
    expect(await codeOf(tasks.get(t.id))).toBe(ErrorCodes.STORE_UNAVAILABLE);
    expect(await codeOf(tasks.claim('q'))).toBe(ErrorCodes.STORE_UNAVAILABLE);
  });

  it('publishes every state change as a task event', async () => {
    const t = await tasks.submit({ queue: 'q', payload: 1 });
    const [c] = await tasks.claim('q');
    await tasks.complete(c!, 1);
    const mine = events.filter((e): e is Extract<SystemEvent, { type: 'task' }> => e.type === 'task' && e.id === t.id);
    expect(mine.map((e) => [e.previous, e.state])).toEqual([
      [undefined, 'queued'],
      ['queued', 'running'],
      ['running', 'done'],
    ]);
    expect(mine[0]).toMatchObject({ queue: 'q', attempts: 0, at: T0 });
  });
});

class Doubler extends Actor<{ n: number }, number> {
  receive(msg: { n: number }): number {
    if (msg.n < 0) throw new Error('negative');
    return msg.n * 2;
  }
}

describe.each(BACKENDS)('consumers on the $name store', ({ open }) => {
  let tasks: TaskQueue;
  let system: ActorSystem;
  beforeEach(async () => {
    system = new ActorSystem({ name: 'consumers' });
    tasks = createTaskQueue({ store: await open(), system });
  });
  afterEach(async () => {
    await tasks.close();
    await system.stop();
  });

  async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
    const end = performance.now() + ms;
    while (!(await check())) {
      if (performance.now() > end) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('a worker actor is asked with each payload; its reply completes the task, a throw fails it', async () => {
    const ref = await system.spawn(Doubler);
    const consumer = tasks.consume('jobs', ref, { concurrency: 4, leaseMs: 1000, pollMs: 20 });
    const good = await Promise.all([1, 2, 3].map((n) => tasks.submit({ queue: 'jobs', payload: { n } })));
    const bad = await tasks.submit({ queue: 'jobs', payload: { n: -1 } }, { retry: { shape: { kind: 'fixed', delay: 10 }, maxAttempts: 2 } });
    await until(async () => consumer.stats.done === 3 && consumer.stats.failed === 2);
    expect((await tasks.get(bad.id)).state).toBe('dead');
    expect(await Promise.all(good.map(async (t) => (await tasks.get(t.id)).result))).toEqual([2, 4, 6]);
    expect((await tasks.get(bad.id)).attempts).toBe(2);
    expect(consumer.stats).toMatchObject({ done: 3, failed: 2, lost: 0 });
    await consumer.stop();
  });

  it('a handler whose result no store can encode fails its attempt (ERR_UNSERIALIZABLE), the task is not left running', async () => {
    const consumer = tasks.consume('odd', () => ({ callback: () => 1 }), { concurrency: 1, leaseMs: 60_000, pollMs: 20 });
    const t = await tasks.submit({ queue: 'odd', payload: 1 }, { retry: { shape: { kind: 'fixed', delay: 1 }, maxAttempts: 1 } });
    await until(async () => (await tasks.get(t.id)).state === 'dead');
    expect((await tasks.get(t.id)).error).toMatchObject({ code: 'ERR_UNSERIALIZABLE' });
    expect(consumer.stats).toMatchObject({ done: 0, failed: 1, storeErrors: 0 });
    await consumer.stop();
  });

  it('a handler that runs longer than the lease keeps it (extended) and is not run twice', async () => {
    let runs = 0;
    const consumer = tasks.consume(
      'slow',
      async () => {
        runs++;
        await new Promise((r) => setTimeout(r, 250));
        return 'slow done';
      },
      { leaseMs: 60, pollMs: 10 },
    );
    const other = tasks.consume('slow', async () => void runs++, { leaseMs: 60, pollMs: 10 });
    const t = await tasks.submit({ queue: 'slow', payload: null });
    await until(async () => (await tasks.get(t.id)).state === 'done');
    expect(runs).toBe(1);
    expect((await tasks.get(t.id)).result).toBe('slow done');
    await Promise.all([consumer.stop(), other.stop()]);
  });
});

describe('the LMDB task store', () => {
  it('keeps queued, running and done tasks across a close and a reopen; a task running at the close is claimable at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'apiary-tasks-'));
    dirs.push(dir);
    const clock = new ManualClock({ start: T0 });
    const a = createTaskQueue({ store: await openLmdbTaskStore({ dir }), clock });
    const done = await a.submit({ queue: 'q', payload: 'd' }, { idempotencyKey: 'd' });
    const queued = await a.submit({ queue: 'q', payload: 'q' }, { priority: 'high' });
    const [c] = await a.claim('q', { leaseMs: 100 });
    expect(c!.id).toBe(queued.id);
    const [c2] = await a.claim('q');
    await a.complete(c2!, 'r');
    await a.close();
    const b = createTaskQueue({ store: await openLmdbTaskStore({ dir }), clock });
    expect(await b.get(done.id)).toMatchObject({ state: 'done', result: 'r' });
    expect((await b.submit({ queue: 'q', payload: 'again' }, { idempotencyKey: 'd' })).id).toBe(done.id);
    // the process that held the lease is gone: claimable at once, not after the lease
    expect((await b.claim('q')).map((t) => [t.id, t.attempts])).toEqual([[queued.id, 2]]);
    await b.close();
  });
});

describe('the LMDB task store on bad data', () => {
  it('refuses to open ERR_STORE_CORRUPT when a record is not a task, rather than start without it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'apiary-tasks-'));
    dirs.push(dir);
    const root = openLmdb({ path: dir, maxDbs: 4 });
    await root.openDB({ name: 'apiary-tasks', encoding: 'msgpack' }).put('t-1', { id: 't-1', state: 'exploded' });
    await root.close();
    const err = await openLmdbTaskStore({ dir }).then(
      () => undefined,
      (e: ApiaryError) => e,
    );
    expect(err?.code).toBe(ErrorCodes.STORE_CORRUPT);
  });
});

describe('the Redis task store', () => {
  it('lets competing consumers on several connections claim every task exactly once, priorities first', async () => {
    const prefix = `compete${++prefixes}:`;
    const [a, b] = await Promise.all([0, 1].map(async () => createTaskQueue({ store: await openRedisTaskStore({ redis: redis!.url, prefix }) })));
    for (let i = 0; i < 200; i++) await a!.submit({ queue: 'q', payload: i }, { priority: i < 20 ? 'critical' : 'low' });
    const got: Task[][] = [[], []];
    await Promise.all(
      [a!, b!].map(async (q, i) => {
        for (;;) {
          const batch = await q.claim('q', { max: 7 });
          if (batch.length === 0) return;
          got[i]!.push(...batch);
        }
      }),
    );
    const ids = [...got[0]!, ...got[1]!].map((t) => t.id);
    expect(ids.length).toBe(200);
    expect(new Set(ids).size).toBe(200);
    expect(got[0]!.length).toBeGreaterThan(0);
    expect(got[1]!.length).toBeGreaterThan(0);
    for (const g of got) expect(g.slice(0, 2).every((t) => (t.payload as number) < 20)).toBe(true);
    expect(await a!.counts('q')).toMatchObject({ queued: 0, running: 200 });
    await Promise.all([a!.close(), b!.close()]);
  });

  it('rejects submissions ERR_STORE_UNAVAILABLE while Redis is stopped, loses nothing accepted, and the work resumes when it is back', async () => {
    const tasks = createTaskQueue({ store: await openRedisTaskStore({ redis: redis!.url, prefix: `down${++prefixes}:` }) });
    const accepted = await Promise.all([1, 2, 3].map((n) => tasks.submit({ queue: 'q', payload: n }, { idempotencyKey: `k${n}`, delayMs: 300 })));
    const consumer = tasks.consume('q', (n: number) => n * 10, { pollMs: 20 });
    await redis!.stop();
    expect(await codeOf(tasks.submit({ queue: 'q', payload: 4 }, { idempotencyKey: 'k4' }))).toBe(ErrorCodes.STORE_UNAVAILABLE);
    expect(await codeOf(tasks.get(accepted[0]!.id))).toBe(ErrorCodes.STORE_UNAVAILABLE);
    await redis!.start();
    const end = performance.now() + 5000;
    let fourth: Task | undefined;
    while (fourth === undefined && performance.now() < end) {
      fourth = await tasks.submit({ queue: 'q', payload: 4 }, { idempotencyKey: 'k4' }).catch(() => undefined);
      if (fourth === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    expect(fourth?.state).toBe('queued');
    for (const t of accepted) expect((await tasks.get(t.id)).payload).toBe(Number(t.idempotencyKey!.slice(1)));
    // the consumer that ran through the outage (its claims refused meanwhile) does the work
    while (consumer.stats.done < 4 && performance.now() < end + 5000) await new Promise((r) => setTimeout(r, 20));
    expect(consumer.stats.storeErrors).toBeGreaterThan(0);
    expect((await Promise.all([...accepted, fourth!].map(async (t) => (await tasks.get(t.id)).result))).sort()).toEqual([10, 20, 30, 40]);
    await tasks.close();
  });

  it('refuses to open ERR_STORE_UNAVAILABLE when no server answers', async () => {
    expect(await codeOf(openRedisTaskStore({ redis: 'redis://127.0.0.1:1', connectTimeoutMs: 300 }))).toBe(ErrorCodes.STORE_UNAVAILABLE);
  });
});

describe('openTaskStore', () => {
  it('opens the backend of a store spec, in a shared LMDB environment when given one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'apiary-tasks-'));
    dirs.push(dir);
    const root = openLmdb({ path: dir, maxDbs: 4 });
    const specs = [
      openTaskStore({ kind: 'lmdb', dir }, { lmdbRoot: root }),
      openTaskStore({ kind: 'redis', url: redis!.url, prefix: `spec${++prefixes}:` }),
      openTaskStore({ kind: 'memory' }),
    ];
    const stores = await Promise.all(specs);
    expect(stores.map((s) => s.kind)).toEqual(['lmdb', 'redis', 'memory']);
    const tasks = createTaskQueue({ store: stores[0]! });
    const t = await tasks.submit({ queue: 'q', payload: 'shared' });
    await Promise.all(stores.map((s) => s.close()));
    expect(root.openDB({ name: 'apiary-tasks', encoding: 'msgpack' }).get(t.id)).toMatchObject({ id: t.id, state: 'queued' });
    await root.close();
  });
});
