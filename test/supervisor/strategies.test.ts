/**
 * Restart strategies and restart types, after OTP's supervisor_SUITE
 * (one_for_one, one_for_all, rest_for_one, permanent/transient/temporary, start failures).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { supervisor, type ExitReason, type RestartType } from '../../index.js';
import { child, harness, ofType, refOf, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.dispose());


describe('one-for-one', () => {
  it('kill A → only A restarts with a new incarnation; B keeps its incarnation', async () => {
    h = harness();
    const sup = await h.system.spawn(supervisor({ strategy: 'one-for-one', children: [child('a'), child('b')] }), { name: 'sup' });
    const a = await refOf(sup, 'a');
    const b = await refOf(sup, 'b');
    expect(await a.ask({ type: 'incarnation' })).toBe(1);
    h.journal.length = 0;

    expect(h.system.kill(a)).toBe(true);
    await h.settle();

    expect(h.journal).toEqual(['start:a']);
    expect(await a.ask({ type: 'incarnation' })).toBe(2); // same ref, new incarnation
    expect(await b.ask({ type: 'incarnation' })).toBe(1);
    const restarted = ofType(h.events, 'restarted');
    expect(restarted.map((e) => e.path)).toEqual(['/sup/a']);
  });

  it('a restarted child keeps the messages queued for it (the ref stays valid)', async () => {
    h = harness();
    const sup = await h.system.spawn(supervisor({ children: [child('a')] }));
    const a = await refOf(sup, 'a');
    h.system.kill(a);
    a.tell({ type: 'add', n: 5 }); // arrives while a is restarting
    await h.settle();
    expect(await a.ask({ type: 'get' })).toBe(5);
  });
});

describe('one-for-all', () => {
  it('kill one child → the others stop in reverse start order, then all start in order', async () => {
    h = harness();
    const sup = await h.system.spawn(
      supervisor({ strategy: 'one-for-all', intensity: 5, children: [child('c1'), child('c2'), child('c3'), child('c4')] }),
    );
    expect(h.journal).toEqual(['start:c1', 'start:c2', 'start:c3', 'start:c4']);
    h.journal.length = 0;

    h.system.kill(await refOf(sup, 'c2'));
    await h.settle();

    // c2 was killed (no hook runs for it); the others stop last-started first.
    expect(h.journal).toEqual(['stop:c4', 'stop:c3', 'stop:c1', 'start:c1', 'start:c2', 'start:c3', 'start:c4']);
    const children = await sup.whichChildren();
    expect(children.map((c) => [c.id, c.status, c.restarts])).toEqual([
      ['c1', 'running', 1],
      ['c2', 'running', 1],
      ['c3', 'running', 1],
      ['c4', 'running', 1],
    ]);
  });

  it('a temporary bystander is terminated, not restarted, and not counted against intensity', async () => {
    h = harness();
    const sup = await h.system.spawn(
      supervisor({
        strategy: 'one-for-all',
        intensity: 1,
        period: 60_000,
        children: [child('c1'), child('t', { restart: 'temporary' }), child('c3')],
      }),
    );
    h.journal.length = 0;

    h.system.kill(await refOf(sup, 'c1'));
    await h.settle();

    expect(h.journal).toEqual(['stop:c3', 'stop:t', 'start:c1', 'start:c3']);
    expect((await sup.whichChildren()).map((c) => c.id)).toEqual(['c1', 'c3']);
    // One restart within intensity 1: had the temporary child counted, the supervisor would have given up.
    expect(ofType(h.events, 'escalated')).toEqual([]);
    expect(h.system.tree().children[0]!.status).toBe('running');
  });

  it('a child whose start throws in every restart → retried (the group again) until intensity runs out, then shutdown; siblings stopped', async () => {
    h = harness();
    const sup = await h.system.spawn(
      supervisor({
        strategy: 'one-for-all',
        intensity: 5,
        children: [child('c1'), child('c2', { args: { failStart: (inc: number) => inc > 1 } }), child('c3')],
      }),
      { name: 'top' },
    );
    const exit = h.system.watch(sup);
    h.journal.length = 0;

    h.system.kill(await refOf(sup, 'c3'));
    await h.settle();

    // the crash is restart 1; each try again (OTP's try_again_restart) is one more, up to intensity 5
    const attempt = ['start:c1', 'start-failed:c2'];
    expect(h.journal).toEqual(['stop:c2', 'stop:c1', ...attempt, ...[1, 2, 3, 4].flatMap(() => ['stop:c1', ...attempt]), 'stop:c1']);
    const escalated = ofType(h.events, 'escalated');
    expect(escalated).toHaveLength(1);
    expect(escalated[0]!.path).toBe('/top');
    expect(await exit).toBe('shutdown');
    expect(h.system.tree().children).toEqual([]);
  });
});

describe('rest-for-one', () => {
  it('with [c1..c5], kill c3 → c5 then c4 stop, c3, c4, c5 start in order; c1, c2 untouched', async () => {
    h = harness();
    const ids = ['c1', 'c2', 'c3', 'c4', 'c5'];
    const sup = await h.system.spawn(supervisor({ strategy: 'rest-for-one', intensity: 5, children: ids.map((id) => child(id)) }));
    h.journal.length = 0;

    h.system.kill(await refOf(sup, 'c3'));
    await h.settle();

    expect(h.journal).toEqual(['stop:c5', 'stop:c4', 'start:c3', 'start:c4', 'start:c5']);
    const incarnations = await Promise.all(ids.map(async (id) => (await refOf(sup, id)).ask({ type: 'incarnation' })));
    expect(incarnations).toEqual([1, 1, 2, 2, 2]);
  });
});

describe('restart type × exit reason', () => {
  const matrix: [RestartType, 'normal' | 'shutdown' | 'error', boolean][] = [
    ['permanent', 'normal', true],
    ['permanent', 'shutdown', true],
    ['permanent', 'error', true],
    ['transient', 'normal', false],
    ['transient', 'shutdown', false],
    ['transient', 'error', true],
    ['temporary', 'normal', false],
    ['temporary', 'shutdown', false],
    ['temporary', 'error', false],
  ];

  it.each(matrix)('a %s child exiting %s is restarted: %s', async (restart, how, restarted) => {
    h = harness();
    const sup = await h.system.spawn(supervisor({ intensity: 5, children: [child('w', { restart })] }));
    const w = await refOf(sup, 'w');
    if (how === 'error') w.tell({ type: 'throw', message: 'boom' });
    else w.tell({ type: 'exit', reason: how });
    await h.settle();

    const children = await sup.whichChildren();
    if (restarted) {
      expect(children).toMatchObject([{ id: 'w', status: 'running', restarts: 1 }]);
      expect(await w.ask({ type: 'incarnation' })).toBe(2);
    } else if (restart === 'temporary') {
      expect(children).toEqual([]); // OTP deletes a temporary child's spec when it exits
      await expect(w.ask({ type: 'ping' })).rejects.toMatchObject({ code: 'ERR_ACTOR_STOPPED' });
    } else {
      expect(children).toMatchObject([{ id: 'w', status: 'stopped', restarts: 0 }]);
      await expect(w.ask({ type: 'ping' })).rejects.toMatchObject({ code: 'ERR_ACTOR_STOPPED' });
    }
  });
});
