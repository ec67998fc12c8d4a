/**
 * Worker threads, for real: messages across threads, supervision across threads, and each
 * way a thread can die. Runs the compiled package (dist/) as users do.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ActorSystem, supervisor } from '../../dist/index.js';
import { startNode } from './processes.js';
import { Echo, OrderChecker, Sender, Slowpoke, Troublemaker, Watcher } from '../fixtures/agents.mjs';
import { childRef, eventually, record } from './threads-support.js';

let system: ActorSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

describe('messages across threads', () => {
  it('actors on two worker threads play ping-pong, and the main thread asks both', async () => {
    system = await ActorSystem.start({ threads: 2 });
    const a = await system.spawn(Echo, { thread: 1 });
    const b = await system.spawn(Echo, { thread: 2 });
    expect([a.thread, b.thread]).toEqual([1, 2]);
    // ping-pong: a forwards to b by asking with b's ref inside the message
    const sender = await system.spawn(Sender, { thread: 1 });
    const checker = await system.spawn(OrderChecker, { thread: 2 });
    for (let i = 0; i < 50; i++) expect(await a.ask({ i })).toEqual({ i });
    expect(await b.ask('pong')).toBe('pong');
    expect(await sender.ask({ n: 10, to: checker, from: 'warm-up' })).toBe(10);
  });

  it('100k messages from one sender across threads arrive in order, none duplicated', async () => {
    system = await ActorSystem.start({ threads: 2 });
    const checker = await system.spawn(OrderChecker, { thread: 2 });
    const sender = await system.spawn(Sender, { thread: 1 });
    await sender.ask({ n: 100_000, to: checker, from: 'thread-1' }, { timeout: 60_000 });
    // and 100k more straight from the main thread
    for (let i = 0; i < 100_000; i++) checker.tell({ from: 'main', seq: i });
    const report = await eventually(async () => {
      const r = (await checker.ask({ type: 'report' }, { timeout: 60_000 })) as { count: number; outOfOrder: number; duplicates: number };
      return r.count === 200_000 ? r : undefined;
    }, 30_000);
    expect(report).toEqual({ count: 200_000, outOfOrder: 0, duplicates: 0 });
  });

  it('sending a function fails at the sender with ERR_UNSERIALIZABLE; the receiver never sees it', async () => {
    system = await ActorSystem.start({ threads: 1 });
    const checker = await system.spawn(OrderChecker, { thread: 1 });
    expect(() => checker.tell({ from: 'x', seq: 0, callback: () => 1 } as never)).toThrow(expect.objectContaining({ code: 'ERR_UNSERIALIZABLE' }));
    await expect(checker.ask({ from: 'x', seq: 0, when: Symbol('s') } as never)).rejects.toMatchObject({ code: 'ERR_UNSERIALIZABLE' });
    class WithMethods {
      n = 1;
      twice(): number {
        return this.n * 2;
      }
    }
    await expect(checker.ask(new WithMethods() as never)).rejects.toMatchObject({ code: 'ERR_UNSERIALIZABLE' });
    expect(await checker.ask({ type: 'report' })).toEqual({ count: 0, outOfOrder: 0, duplicates: 0 });
  });

  it('a message over the size cap fails at the sender with ERR_MESSAGE_TOO_LARGE', async () => {
    system = await ActorSystem.start({ threads: 1, maxMessageBytes: 64 * 1024 });
    const echo = await system.spawn(Echo, { thread: 1 });
    await expect(echo.ask({ blob: 'x'.repeat(100 * 1024) })).rejects.toMatchObject({ code: 'ERR_MESSAGE_TOO_LARGE' });
    expect(await echo.ask('still fine')).toBe('still fine');
  });

  it('spawning an actor whose module cannot be loaded fails at the spawner with ERR_MODULE_NOT_FOUND', async () => {
    system = await ActorSystem.start({ threads: 1 });
    const { Actor } = await import('../../dist/index.js');
    class Nowhere extends Actor {
      static readonly module = 'file:///nonexistent/agents.mjs';
      receive(): void {}
    }
    class Unplaced extends Actor {
      receive(): void {}
    }
    await expect(system.spawn(Nowhere, { thread: 1 })).rejects.toMatchObject({ code: 'ERR_MODULE_NOT_FOUND' });
    await expect(system.spawn(Unplaced, { thread: 1 })).rejects.toMatchObject({ code: 'ERR_MODULE_NOT_FOUND' });
  });
});

describe('placement and inspection', () => {
  it('the tree shows the mailbox depth of a busy actor on a worker, and auto placement avoids its thread', async () => {
    system = await ActorSystem.start({ threads: 2 });
    const sup = await system.spawn(
      supervisor({
        children: [
          { id: 'slow', actor: Slowpoke, thread: 1 },
          { id: 'spare', actor: Echo, thread: 2 },
        ],
      }),
      { name: 'sup' },
    );
    const slow = await childRef(sup, 'slow');
    for (let i = 0; i < 60; i++) slow.tell({ ms: 100 });
    const depth = await eventually(() => {
      const d = system!.tree().children[0]!.children![0]!.mailbox;
      return d > 10 ? d : undefined;
    }, 5000);
    expect(depth).toBeGreaterThan(10);
    expect(system.tree().children[0]!.children![1]!.mailbox).toBe(0);
    // one actor on each thread, but thread 1 has a backlog: 'auto' picks thread 2
    const placed = await system.spawn(Echo, { thread: 'auto' });
    expect(placed.thread).toBe(2);
  });
});

describe('supervision across threads', () => {
  it('a supervisor on thread 0 restarts a child on thread 1 that throws; the ref stays valid', async () => {
    system = await ActorSystem.start({ threads: 2 });
    const events = record(system);
    const sup = await system.spawn(supervisor({ intensity: 5, children: [{ id: 'tm', actor: Troublemaker, thread: 1 }] }), { name: 'sup' });
    const tm = await childRef(sup, 'tm');
    expect(await tm.ask({ type: 'where' })).toMatchObject({ thread: 1, incarnation: 1 });
    tm.tell({ type: 'throw' });
    await eventually(() => events.some((e) => e.type === 'restarted' && e.path === '/sup/tm'));
    expect(await tm.ask({ type: 'where' })).toMatchObject({ thread: 1, incarnation: 2 });
    expect(system.tree().children[0]!.children![0]).toMatchObject({ id: 'tm', thread: 1, status: 'running', restarts: 1 });
  });

  it('a child on a worker that crashes on the first message after its restart is restarted again, and answers', async () => {
    // its second exit can reach the supervisor before the answer to the restart's start does
    system = await ActorSystem.start({ threads: 1 });
    const sup = await system.spawn(supervisor({ intensity: 20, children: [{ id: 'tm', actor: Troublemaker, thread: 1 }] }), { name: 'sup' });
    const tm = await childRef(sup, 'tm');
    for (let crashes = 2; crashes <= 4; crashes++) {
      const asks: Promise<unknown>[] = [];
      for (let i = 0; i < crashes; i++) asks.push(tm.ask({ type: 'throw' }, { timeout: 2000 }).catch((e: { code: string }) => e.code));
      asks.push(tm.ask({ type: 'where' }, { timeout: 2000 }));
      const answers = await Promise.all(asks);
      expect(answers.slice(0, crashes)).toEqual(Array(crashes).fill('ERR_ACTOR_FAILED'));
      expect(answers[crashes]).toMatchObject({ thread: 1 });
    }
    // the last restart counts once its start is answered, which the actor's reply may overtake
    await eventually(() => system!.tree().children[0]!.children![0]!.restarts === 2 + 3 + 4);
    expect(system.tree().children[0]!.children![0]).toMatchObject({ id: 'tm', status: 'running' });
  });

  it('a watch from thread 1 sees a thread-0 actor terminate, with its reason', async () => {
    system = await ActorSystem.start({ threads: 1 });
    const watcher = await system.spawn(Watcher, { thread: 1 });
    const local = await system.spawn(Echo, { name: 'local' });
    expect(await watcher.ask({ type: 'watch', ref: local })).toBe('watching');
    await system.stopActor(local);
    const seen = await eventually(async () => {
      const s = (await watcher.ask({ type: 'seen' })) as { path: string; reason: unknown }[];
      return s.length > 0 ? s : undefined;
    });
    expect(seen).toEqual([{ path: '/local', reason: 'shutdown' }]);
  });

  it('system.watch of an actor on a worker thread resolves with its exit reason', async () => {
    system = await ActorSystem.start({ threads: 1 });
    const echo = await system.spawn(Echo, { thread: 1, name: 'remote-echo' });
    const exit = system.watch(echo);
    await system.stopActor(echo);
    expect(await exit).toBe('shutdown');
    expect(system.lookup('remote-echo')).toBeUndefined();
  });
});

describe('a crashing thread takes down only itself', () => {
  it('a child whose thread runs out of memory restarts with reason thread-crash; the main heap is unaffected', async () => {
    system = await ActorSystem.start({ threads: 2, resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 } });
    const events = record(system);
    const heapBefore = process.memoryUsage().heapUsed;
    const sup = await system.spawn(supervisor({ intensity: 5, children: [{ id: 'hog', actor: Troublemaker, thread: 1 }] }), { name: 'sup' });
    (await childRef(sup, 'hog')).tell({ type: 'oom' });
    const down = await eventually(() => events.find((e) => e.type === 'thread-down'), 20_000);
    expect(down).toMatchObject({ thread: 1 });
    expect((down as { reason: string }).reason).toContain('ERR_WORKER_OUT_OF_MEMORY');
    await eventually(() => events.some((e) => e.type === 'restarted' && e.path === '/sup/hog'), 20_000);
    const decision = events.find((e) => e.type === 'supervisor-decision');
    expect(decision).toMatchObject({ child: '/sup/hog', directive: 'restart', reason: 'thread-crash' });
    const hog = await childRef(sup, 'hog');
    expect(await hog.ask({ type: 'where' })).toMatchObject({ incarnation: 1 });
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(32 * 1024 * 1024);
  });

  it('process.exit(7) inside a worker restarts its actors while the node keeps serving asks on other threads', async () => {
    system = await ActorSystem.start({ threads: 2 });
    const events = record(system);
    const sup = await system.spawn(
      supervisor({
        intensity: 5,
        children: [
          { id: 'doomed', actor: Troublemaker, thread: 1 },
          { id: 'steady', actor: Echo, thread: 2 },
        ],
      }),
      { name: 'sup' },
    );
    const steady = await childRef(sup, 'steady');
    (await childRef(sup, 'doomed')).tell({ type: 'exit', code: 7 });
    // keep asking the other thread through the crash and the replacement
    let answered = 0;
    while (!events.some((e) => e.type === 'restarted' && e.path === '/sup/doomed')) {
      expect(await steady.ask(answered)).toBe(answered);
      answered++;
      if (answered > 100_000) throw new Error('no restart');
    }
    expect(answered).toBeGreaterThan(0);
    expect(events.find((e) => e.type === 'thread-down')).toMatchObject({ thread: 1, reason: 'exited with code 7' });
    expect(await (await childRef(sup, 'doomed')).ask({ type: 'where' })).toMatchObject({ thread: 1 });
    expect(await steady.ask('after')).toBe('after');
  });

  it('a thread stuck in while (true) is terminated by the watchdog within limit + 1 s; its actors restart on a live thread', async () => {
    const limit = 1500;
    system = await ActorSystem.start({ threads: 2, watchdogMs: limit });
    const events = record(system);
    const sup = await system.spawn(supervisor({ intensity: 5, children: [{ id: 'stuck', actor: Troublemaker, thread: 'auto' }] }), { name: 'sup' });
    const stuck = await childRef(sup, 'stuck');
    const blockedThread = stuck.thread;
    const t0 = performance.now();
    stuck.tell({ type: 'block' });
    const down = await eventually(() => events.find((e) => e.type === 'thread-down'), limit + 5000);
    const took = performance.now() - t0;
    expect(down).toMatchObject({ thread: blockedThread });
    expect((down as { reason: string }).reason).toContain('watchdog');
    expect(took).toBeLessThan(limit + 1000);
    await eventually(() => events.some((e) => e.type === 'restarted' && e.path === '/sup/stuck'));
    const again = await childRef(sup, 'stuck');
    expect(await again.ask({ type: 'where' })).toMatchObject({ incarnation: 1 });
    expect(again.equals(stuck)).toBe(false); // a new actor on a live thread; the old ref is dead
    await expect(stuck.ask({ type: 'where' })).rejects.toMatchObject({ code: 'ERR_ACTOR_STOPPED' });
  });
});

describe('pools', () => {
  it('a piscina pool answers 1,000 jobs over 2 threads; one throwing job fails only its own ask', async () => {
    system = new ActorSystem();
    const pool = system.spawnPool(new URL('../fixtures/jobs.mjs', import.meta.url), { minThreads: 2, maxThreads: 2 });
    const jobs = Array.from({ length: 1000 }, (_, n) => pool.ask({ n, fail: n === 500 }, { timeout: 30_000 }));
    const results = await Promise.allSettled(jobs);
    const failed = results.flatMap((r, n) => (r.status === 'rejected' ? [n] : []));
    expect(failed).toEqual([500]);
    expect((results[500] as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_ACTOR_FAILED' });
    expect(results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ double: number }>).value.double)).toEqual(
      Array.from({ length: 1000 }, (_, n) => n * 2).filter((_, n) => n !== 500),
    );
  });
});

describe('shutdown', () => {
  it('SIGTERM to a process running a tree over 2 threads → ordered stop, exit code 0, nothing left running', async () => {
    const script = fileURLToPath(new URL('../fixtures/tree-node.mjs', import.meta.url));
    const node = startNode([script]);
    try {
      await node.waitFor(/ready/, 20_000);
      node.child.kill('SIGTERM');
      const code = await node.exit(15_000);
      expect(node.stderr()).toBe('');
      expect(code).toBe(0);
    } finally {
      node.dispose();
    }
    const out = node.stdout();
    const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; path: string });
    const started = lines.filter((l) => l.type === 'started').map((l) => l.path);
    const stopped = lines.filter((l) => l.type === 'stopped').map((l) => l.path);
    expect(new Set(started)).toEqual(new Set(['/app/a', '/app/inner/b', '/app/inner/c', '/app/inner', '/app/d', '/app']));
    // children stop in reverse start order, each supervisor after its children
    expect(stopped).toEqual(['/app/d', '/app/inner/c', '/app/inner/b', '/app/inner', '/app/a', '/app']);
    expect(out.trim().endsWith('stopped')).toBe(true);
  });
});
