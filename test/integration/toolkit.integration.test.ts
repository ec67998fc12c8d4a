/**
 * The toolkit across real worker threads and a piscina pool: a workflow's cancel reaching an
 * agent on another thread, a router actor spreading asks over routees on two threads, a
 * router over pool refs, and a pool router whose routees live on worker threads.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ActorSystem, poolRouter, Router, RouterActor, runWorkflow } from '../../dist/index.js';
import { Cancellable } from '../fixtures/toolkit-agents.mjs';

let system: ActorSystem | undefined;
afterEach(async () => {
  await system?.stop();
  system = undefined;
});

/** Polls `check` on the real clock until it holds, bounded by `ms`. */
async function eventually(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the toolkit across threads', () => {
  it('cancelling a workflow aborts its in-flight task on a worker thread: the agent sees the abort', async () => {
    system = await ActorSystem.start({ threads: 2 });
    const agent = await system.spawn(Cancellable, { thread: 1 });
    const wf = runWorkflow(
      { tasks: [{ id: 'long', target: agent, message: { type: 'hold' } }, { id: 'after', target: agent, dependsOn: ['long'], message: { type: 'x' } }] },
      { clock: system.clock, publish: (e) => system!.publish(e) },
    );
    await eventually(() => wf.states().long === 'running');
    await new Promise((r) => setTimeout(r, 50)); // the hold is running over there
    wf.cancel();
    const result = await wf.result;
    expect(result.status).toBe('cancelled');
    expect(result.tasks.long!.error!.code).toBe('ERR_ABORTED');
    expect(await agent.ask({ type: 'aborts' })).toBe(1); // answered only after the hold ended
  });

  it('a router actor spreads asks round-robin over routees on two worker threads', async () => {
    system = await ActorSystem.start({ threads: 2 });
    const routees = [await system.spawn(Cancellable, { thread: 1 }), await system.spawn(Cancellable, { thread: 2 })];
    const router = await system.spawn(RouterActor, { args: { strategy: 'round-robin', routees } });
    const answers = (await Promise.all(Array.from({ length: 1000 }, (_, n) => router.ask({ n })))) as { thread: number }[];
    expect(answers.filter((a) => a.thread === 1).length).toBe(500);
    expect(answers.filter((a) => a.thread === 2).length).toBe(500);
  });

  it('a router spreads jobs over two piscina pools (function-like routees)', async () => {
    system = new ActorSystem();
    const jobs = new URL('../fixtures/jobs.mjs', import.meta.url);
    const pools = [system.spawnPool(jobs, { maxThreads: 1 }), system.spawnPool(jobs, { maxThreads: 1 })];
    const router = new Router({ strategy: 'least-loaded', routees: pools }, system.clock);
    const out = (await Promise.all(Array.from({ length: 40 }, (_, n) => router.ask({ n })))) as { double: number }[];
    expect(out.map((o) => o.double)).toEqual(Array.from({ length: 40 }, (_, n) => n * 2));
    expect(router.counts.every((c) => c > 0)).toBe(true);
  });

  it('a pool router with routees on worker threads grows under load and shrinks back when idle', async () => {
    system = await ActorSystem.start({ threads: 2 });
    await system.spawn(
      poolRouter({ name: 'holders', actor: Cancellable, thread: 'auto', strategy: 'least-loaded', min: 1, max: 3, growAtMailbox: 1, checkMs: 50, shrinkAfterIdleMs: 200 }),
    );
    const pool = system.lookup<any, unknown>('holders')!;
    const ctl = new AbortController();
    const held = Array.from({ length: 6 }, () => pool.ask({ type: 'hold' }, { signal: ctl.signal, timeout: 20_000 }).catch(() => 'cancelled'));
    await eventually(async () => (await pool.ask({ type: 'pool:size' })) === 3);
    ctl.abort();
    await Promise.all(held);
    await eventually(async () => (await pool.ask({ type: 'pool:size' })) === 1);
  });
});
