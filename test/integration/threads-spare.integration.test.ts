/**
 * Spare worker threads, for real: a thread that dies is replaced by promoting a pre-started
 * spare (same index, new generation), a new spare starts afterwards, spares can be turned
 * off, stop() leaves no worker behind, and spares that keep dying are backed off and given
 * up on. Runs the compiled package (dist/) as users do.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ActorSystem, ManualClock, supervisor, type SupervisorRef, type SystemEvent } from '../../dist/index.js';
import { SPARE_DEFAULTS, SpareWorkers } from '../../dist/runtime/threads/spare-worker.js';
import { startNode } from './processes.js';
import { Troublemaker } from '../fixtures/agents.mjs';
import { childRef, eventually, record } from './threads-support.js';

let system: ActorSystem | undefined;
let pool: SpareWorkers | undefined;
afterEach(async () => {
  await pool?.stop();
  pool = undefined;
  await system?.stop();
  system = undefined;
});

/** Makes the actor `id` end its thread, and waits until the supervisor restarted it. */
async function crashThread(s: ActorSystem, events: SystemEvent[], sup: SupervisorRef, id: string): Promise<void> {
  const before = events.filter((e) => e.type === 'restarted').length;
  (await childRef(sup, id)).tell({ type: 'exit', code: 7 });
  await eventually(() => events.filter((e) => e.type === 'restarted').length > before, 15_000);
}

describe('a spare worker replaces a dead thread', () => {
  it('an actor on a thread that exits answers again from the promoted spare: same index, new generation, and a new spare loads', async () => {
    system = await ActorSystem.start({ threads: 1 });
    const threads = system.threads!;
    const events = record(system);
    const sup = await system.spawn(supervisor({ intensity: 5, children: [{ id: 'doomed', actor: Troublemaker, thread: 1 }] }), { name: 'sup' });
    await eventually(() => threads.spareCounts().loaded === 1);
    const old = await childRef(sup, 'doomed');
    expect(threads.threadStates()).toEqual([{ thread: 1, up: true, generation: 1 }]);

    await crashThread(system, events, sup, 'doomed');

    expect(threads.sparesPromoted).toBe(1);
    const again = await childRef(sup, 'doomed');
    expect(await again.ask({ type: 'where' })).toMatchObject({ thread: 1, incarnation: 1 });
    expect(threads.threadStates()).toEqual([{ thread: 1, up: true, generation: 2 }]);
    expect(events.find((e) => e.type === 'thread-up' && e.generation === 2)).toMatchObject({ thread: 1 });
    expect(events.find((e) => e.type === 'supervisor-decision')).toMatchObject({ child: '/sup/doomed', directive: 'restart', reason: 'thread-crash' });
    // a ref into the dead generation never reaches the new actor
    expect(again.equals(old)).toBe(false);
    await expect(old.ask({ type: 'where' }, { timeout: 2000 })).rejects.toMatchObject({ code: 'ERR_ACTOR_STOPPED' });
    await eventually(() => threads.spareCounts().loaded === 1);
    expect(events.some((e) => e.type === 'spare-down')).toBe(false);
  });

  it('two crashes in a row, the second before the new spare has loaded, both recover on the same index', async () => {
    system = await ActorSystem.start({ threads: 2 });
    const threads = system.threads!;
    const events = record(system);
    const sup = await system.spawn(
      supervisor({
        intensity: 5,
        children: [
          { id: 'doomed', actor: Troublemaker, thread: 2 },
          { id: 'steady', actor: Troublemaker, thread: 1 },
        ],
      }),
      { name: 'sup' },
    );
    await eventually(() => threads.spareCounts().loaded === 1);
    await crashThread(system, events, sup, 'doomed');
    await crashThread(system, events, sup, 'doomed');

    expect(await (await childRef(sup, 'doomed')).ask({ type: 'where' })).toMatchObject({ thread: 2 });
    expect(threads.threadStates()).toEqual([
      { thread: 1, up: true, generation: 1 },
      { thread: 2, up: true, generation: 3 },
    ]);
    expect(events.filter((e) => e.type === 'thread-down').map((e) => (e as { thread: number }).thread)).toEqual([2, 2]);
    // the first crash promoted the loaded spare; the second took the next one if it had started
    expect(threads.sparesPromoted).toBeGreaterThanOrEqual(1);
    // the promoted thread is wired to its peer exactly as a fresh one: they message each other
    const steady = await childRef(sup, 'steady');
    expect(await steady.ask({ type: 'where' })).toMatchObject({ thread: 1 });
    await eventually(() => threads.spareCounts().loaded === 1);
  });

  it('with spareThreads: 0 a dead thread is still replaced (a cold start) and no spare is ever started', async () => {
    system = await ActorSystem.start({ threads: 1, spareThreads: 0 });
    const threads = system.threads!;
    const events = record(system);
    const sup = await system.spawn(supervisor({ intensity: 5, children: [{ id: 'doomed', actor: Troublemaker, thread: 1 }] }), { name: 'sup' });
    expect(threads.spareCounts()).toEqual({ loaded: 0, loading: 0 });

    await crashThread(system, events, sup, 'doomed');

    expect(await (await childRef(sup, 'doomed')).ask({ type: 'where' })).toMatchObject({ thread: 1 });
    expect(threads.threadStates()).toEqual([{ thread: 1, up: true, generation: 2 }]);
    expect(threads.sparesPromoted).toBe(0);
    expect(threads.spareCounts()).toEqual({ loaded: 0, loading: 0 });
  });

  it('the watchdog watches a promoted spare: blocked after its promotion, it is terminated and replaced again', async () => {
    const limit = 1000;
    system = await ActorSystem.start({ threads: 1, watchdogMs: limit });
    const threads = system.threads!;
    const events = record(system);
    const sup = await system.spawn(supervisor({ intensity: 5, children: [{ id: 'doomed', actor: Troublemaker, thread: 1 }] }), { name: 'sup' });
    await eventually(() => threads.spareCounts().loaded === 1);
    await crashThread(system, events, sup, 'doomed');
    expect(threads.sparesPromoted).toBe(1);
    (await childRef(sup, 'doomed')).tell({ type: 'block' });
    const down = await eventually(() => events.filter((e) => e.type === 'thread-down')[1], limit + 5000);
    expect((down as { reason: string }).reason).toContain('watchdog');
    await eventually(() => events.filter((e) => e.type === 'restarted').length === 2, 15_000);
    expect(await (await childRef(sup, 'doomed')).ask({ type: 'where' })).toMatchObject({ thread: 1 });
    expect(threads.threadStates()).toEqual([{ thread: 1, up: true, generation: 3 }]);
  });

  it.each([-1, 1.5, Number.NaN])('spareThreads: %s is rejected with ERR_INVALID_ARGUMENT before any thread starts', (spareThreads) => {
    expect(() => new ActorSystem({ threads: 1, spareThreads })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field: 'spareThreads' }));
  });

  it('stop() terminates the spare too: a process that recovered a crash and stopped exits by itself', async () => {
    const node = startNode([fileURLToPath(new URL('../fixtures/spare-node.mjs', import.meta.url))]);
    try {
      const code = await node.exit(20_000);
      expect(node.stderr()).toBe('');
      expect(code).toBe(0);
    } finally {
      node.dispose();
    }
    const [report] = node.stdout().split('\n').filter((l) => l.startsWith('{'));
    expect(JSON.parse(report!)).toMatchObject({ where: { thread: 1 }, promoted: 1 });
    expect(node.stdout().trim().endsWith('stopped')).toBe(true);
  });
});

describe('spare upkeep', () => {
  function spareDowns(events: SystemEvent[]) {
    return events.filter((e): e is Extract<SystemEvent, { type: 'spare-down' }> => e.type === 'spare-down');
  }

  it('spares that die while loading are retried with backoff 100, 200, 400, 800 ms, then given up until a thread boots fine', async () => {
    const clock = new ManualClock();
    system = new ActorSystem({ clock });
    const events = record(system);
    pool = new SpareWorkers(system.host, new URL('../fixtures/spare-dies.mjs', import.meta.url), 1, undefined);
    pool.fill();
    for (let n = 1; n < SPARE_DEFAULTS.maxFailures; n++) {
      await eventually(() => spareDowns(events).length === n);
      expect(spareDowns(events)[n - 1]).toMatchObject({ failures: n, retryInMs: 100 * 2 ** (n - 1), gaveUp: false, reason: 'exited with code 9' });
      // no new spare before the backoff is over
      clock.advance(100 * 2 ** (n - 1) - 1);
      expect(pool.counts()).toEqual({ loaded: 0, loading: 0 });
      clock.advance(1);
      expect(pool.counts()).toEqual({ loaded: 0, loading: 1 });
    }
    await eventually(() => spareDowns(events).length === SPARE_DEFAULTS.maxFailures);
    expect(spareDowns(events).at(-1)).toMatchObject({ failures: SPARE_DEFAULTS.maxFailures, retryInMs: undefined, gaveUp: true });
    clock.advance(60_000);
    pool.fill();
    expect(pool.counts()).toEqual({ loaded: 0, loading: 0 });
    // a thread booted fine (the thread manager says so): spares are tried again
    pool.fill(true);
    expect(pool.counts()).toEqual({ loaded: 0, loading: 1 });
  });

  it('a spare that dies after idling stably is replaced at once; one that dies soon after loading counts as a failure', async () => {
    const clock = new ManualClock();
    system = new ActorSystem({ clock });
    const events = record(system);
    pool = new SpareWorkers(system.host, new URL('../fixtures/spare-loads.mjs', import.meta.url), 1, undefined);
    pool.fill();
    await eventually(() => pool!.counts().loaded === 1);
    clock.advance(SPARE_DEFAULTS.stableMs);
    await eventually(() => spareDowns(events).length === 1);
    expect(spareDowns(events)[0]).toMatchObject({ failures: 0, retryInMs: 0, gaveUp: false, reason: 'exited with code 4' });
    expect(pool.counts().loaded + pool.counts().loading).toBe(1); // replaced at once
    await eventually(() => pool!.counts().loaded === 1);
    await eventually(() => spareDowns(events).length === 2); // dies 300 ms after loading: not stable
    expect(spareDowns(events)[1]).toMatchObject({ failures: 1, retryInMs: 100, gaveUp: false });
    expect(pool.counts()).toEqual({ loaded: 0, loading: 0 });
  });

  it('take() hands out the loaded spare, or a cold worker when there is none; stop() terminates the spares', async () => {
    const clock = new ManualClock();
    system = new ActorSystem({ clock });
    pool = new SpareWorkers(system.host, new URL('../fixtures/spare-loads.mjs', import.meta.url), 1, undefined);
    pool.fill();
    await eventually(() => pool!.counts().loaded === 1);
    const spare = pool.take();
    expect(pool.promoted).toBe(1);
    expect(pool.counts()).toEqual({ loaded: 0, loading: 0 }); // not refilled until told
    const cold = pool.take();
    expect(pool.promoted).toBe(1);
    expect(cold.threadId).toBeGreaterThan(spare.threadId);
    await Promise.all([spare.terminate(), cold.terminate()]);
    pool.fill();
    expect(pool.counts().loading).toBe(1);
    await pool.stop(); // resolves once the spare's thread has exited
    expect(pool.counts()).toEqual({ loaded: 0, loading: 0 });
    pool.fill();
    expect(pool.counts()).toEqual({ loaded: 0, loading: 0 });
  });
});
