/**
 * Restart intensity and escalation through supervisors of supervisors
 * (supervisor_SUITE: restart_one_for_one with max_r/max_t, escalation to the parent).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { recordRestart, supervisor, SupervisorRef } from '../../index.js';
import { RestartWindow } from '../../supervisor/restart-intensity.js';
import { child, harness, ofType, refOf, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.dispose());


describe('restart intensity', () => {
  it('intensity 2 / period 3600 s: the third kill stops all children in reverse order, the supervisor exits shutdown, and its parent restarts it', async () => {
    h = harness();
    const root = await h.system.spawn(
      supervisor({
        strategy: 'one-for-one',
        intensity: 5,
        children: [
          { id: 'sub', actor: supervisor({ intensity: 2, period: 3_600_000, children: [child('c1'), child('c2'), child('c3')] }) },
        ],
      }),
      { name: 'root' },
    );
    const sub = (await root.whichChildren())[0]!.ref!;
    const subRef = SupervisorRef.of(sub);

    for (let kill = 1; kill <= 2; kill++) {
      h.system.kill(await refOf(subRef, 'c2'));
      await h.settle();
      await h.advance(60_000); // a minute apart: all inside the hour
    }
    expect(ofType(h.events, 'escalated')).toEqual([]);
    h.journal.length = 0;

    h.system.kill(await refOf(subRef, 'c2'));
    await h.settle();

    // c3 then c1 stop (c2 is already dead), the parent restarts `sub`, which starts its children in order.
    expect(h.journal).toEqual(['stop:c3', 'stop:c1', 'start:c1', 'start:c2', 'start:c3']);
    expect(ofType(h.events, 'escalated').map((e) => [e.path, e.reason])).toEqual([['/root/sub', 'shutdown']]);
    const rootDecisions = ofType(h.events, 'supervisor-decision').filter((e) => e.path === '/root');
    expect(rootDecisions.map((e) => [e.child, e.directive, e.reason])).toEqual([['/root/sub', 'restart', 'shutdown']]);
    const tree = h.system.tree().children[0]!;
    expect(tree.children![0]).toMatchObject({ id: 'sub', status: 'running', restarts: 1 });
    expect(tree.children![0]!.children!.map((c) => [c.id, c.status, c.restarts])).toEqual([
      ['c1', 'running', 0],
      ['c2', 'running', 0],
      ['c3', 'running', 0],
    ]);
  });

  it('intensity 1 / period 1 s: three kills 2.1 s apart → the supervisor survives', async () => {
    h = harness();
    const sup = await h.system.spawn(supervisor({ intensity: 1, period: 1000, children: [child('c1')] }));
    for (let i = 0; i < 3; i++) {
      h.system.kill(await refOf(sup, 'c1'));
      await h.settle();
      await h.advance(2100);
    }
    expect(ofType(h.events, 'escalated')).toEqual([]);
    expect(await sup.whichChildren()).toMatchObject([{ id: 'c1', status: 'running', restarts: 3 }]);
  });

  it('intensity 1 / period 1 s: two kills 0.5 s apart → the supervisor gives up', async () => {
    h = harness();
    const sup = await h.system.spawn(supervisor({ intensity: 1, period: 1000, children: [child('c1')] }), { name: 's' });
    const exit = h.system.watch(sup);
    h.system.kill(await refOf(sup, 'c1'));
    await h.settle();
    await h.advance(500);
    h.system.kill(await refOf(sup, 'c1'));
    await h.settle();
    expect(await exit).toBe('shutdown');
    expect(ofType(h.events, 'escalated').map((e) => e.path)).toEqual(['/s']);
  });

  it('intensity 0 → the first restart is already too many', async () => {
    h = harness();
    const sup = await h.system.spawn(supervisor({ intensity: 0, children: [child('c1')] }));
    const exit = h.system.watch(sup);
    h.system.kill(await refOf(sup, 'c1'));
    await h.settle();
    expect(await exit).toBe('shutdown');
  });

  it.each([
    [[], 0, 1, 1000, false],
    [[0], 500, 1, 1000, true],
    [[0], 1000, 1, 1000, true], // inclusive window, as OTP: now <= then + period
    [[0], 1001, 1, 1000, false],
    [[0, 10], 20, 2, 1000, true],
  ])('recordRestart(%j, now=%i, intensity=%i, period=%i) → exceeded %s', (log, now, intensity, period, exceeded) => {
    expect(recordRestart(log, now, intensity, period).exceeded).toBe(exceeded);
  });

  it('the window a supervisor keeps gives the same answer as recordRestart on every step of 2000 random restart times', () => {
    let seed = 42;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const [intensity, period] of [[1, 1000], [3, 50], [10, 100], [1000, 1000]] as const) {
      let log: number[] = [];
      const window = new RestartWindow();
      let now = 0;
      for (let i = 0; i < 2000; i++) {
        now += Math.floor(random() * 40);
        const pure = recordRestart(log, now, intensity, period);
        log = pure.log;
        expect(window.record(now, intensity, period)).toBe(pure.exceeded);
      }
    }
  });
});
