/**
 * A child that fails to start during a restart, after OTP's supervisor.erl (`restart/2` →
 * `{try_again, Id}` → `try_again_restart`): the supervisor tries again through its own
 * system queue, each attempt counted against its restart intensity, and only past the limit
 * gives up with `shutdown` — for every strategy.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { supervisor, type ExitReason } from '../../index.js';
import { child, harness, ofType, refOf, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.dispose());

/** Fails to start on the given incarnations (1 is the first start). */
const failOn = (...incarnations: number[]) => ({ args: { failStart: (inc: number) => incarnations.includes(inc) } });

const directives = () => ofType(h.events, 'supervisor-decision').map((e) => e.directive);

describe('a start that fails during a restart', () => {
  it('one-for-one: is tried again until it starts; the supervisor keeps running', async () => {
    h = harness();
    const sup = await h.system.spawn(supervisor({ intensity: 5, children: [child('a'), child('b', failOn(2, 3))] }), { name: 'sup' });
    const b = await refOf(sup, 'b');
    h.journal.length = 0;

    h.system.kill(b);
    await h.settle();

    expect(h.journal).toEqual(['start-failed:b', 'start-failed:b', 'start:b']);
    expect(directives()).toEqual(['restart', 'restart', 'restart']); // the crash, then two tries again
    expect(await b.ask({ type: 'incarnation' })).toBe(4); // same ref
    expect(ofType(h.events, 'escalated')).toEqual([]);
    expect((await sup.whichChildren()).map((c) => [c.id, c.status])).toEqual([
      ['a', 'running'],
      ['b', 'running'],
    ]);
    // the failures are reported as they happen
    expect(ofType(h.events, 'failed').filter((e) => e.path === '/sup/b')).toHaveLength(3);
  });

  it('one-for-one: each try counts against intensity; past it the supervisor stops its other children and exits `shutdown`', async () => {
    h = harness();
    const sup = await h.system.spawn(
      supervisor({ intensity: 3, period: 60_000, children: [child('a'), child('b', { args: { failStart: (inc: number) => inc > 1 } }), child('c')] }),
      { name: 'sup' },
    );
    const exit = h.system.watch(sup);
    h.journal.length = 0;

    h.system.kill(await refOf(sup, 'b'));
    await h.settle();

    // restart 1 (the crash) + tries 2 and 3 fail; try 4 exceeds intensity 3
    expect(h.journal).toEqual(['start-failed:b', 'start-failed:b', 'start-failed:b', 'stop:c', 'stop:a']);
    expect(directives()).toEqual(['restart', 'restart', 'restart', 'shutdown']);
    expect(await exit).toBe('shutdown');
    expect(ofType(h.events, 'escalated').map((e) => e.reason)).toEqual(['shutdown']);
  });

  it('tries again through the supervisor’s mailbox: a terminateChild queued meanwhile runs first and ends the retries', async () => {
    h = harness();
    const sup = await h.system.spawn(supervisor({ intensity: 1, children: [child('a'), child('b', { args: { failStart: (inc: number) => inc > 1 } })] }), {
      name: 'sup',
    });
    const b = await refOf(sup, 'b');
    h.journal.length = 0;

    h.system.kill(b); // its exit is queued at the supervisor …
    const terminated = sup.terminateChild('b'); // … and this after it: before the try again
    await h.settle();

    await expect(terminated).resolves.toBeUndefined();
    expect(h.journal).toEqual(['start-failed:b']);
    expect((await sup.whichChildren()).map((c) => [c.id, c.status])).toEqual([
      ['a', 'running'],
      ['b', 'stopped'],
    ]);
    expect(ofType(h.events, 'escalated')).toEqual([]);
    // the spec is kept: it can be started again by hand (a new actor, incarnation 1)
    const again = await sup.restartChild('b');
    expect(await again.ask({ type: 'ping' })).toBe('pong');
  });

  it('rest-for-one: tries again from the failed child on; the children before it are untouched', async () => {
    h = harness();
    const ids = ['c1', 'c2', 'c3', 'c4'];
    const sup = await h.system.spawn(
      supervisor({ strategy: 'rest-for-one', intensity: 5, children: ids.map((id) => (id === 'c2' ? child(id, failOn(2)) : child(id))) }),
    );
    h.journal.length = 0;

    h.system.kill(await refOf(sup, 'c2'));
    await h.settle();

    expect(h.journal).toEqual(['stop:c4', 'stop:c3', 'start-failed:c2', 'start:c2', 'start:c3', 'start:c4']);
    const incarnations = await Promise.all(ids.map(async (id) => (await refOf(sup, id)).ask({ type: 'incarnation' })));
    expect(incarnations).toEqual([1, 3, 2, 2]);
  });

  it('one-for-all: tries the whole group again — the children that came up stop (last first) and all start in order', async () => {
    h = harness();
    const sup = await h.system.spawn(
      supervisor({ strategy: 'one-for-all', intensity: 5, children: [child('c1'), child('c2', failOn(2)), child('c3')] }),
    );
    h.journal.length = 0;

    h.system.kill(await refOf(sup, 'c3'));
    await h.settle();

    expect(h.journal).toEqual(['stop:c2', 'stop:c1', 'start:c1', 'start-failed:c2', 'stop:c1', 'start:c1', 'start:c2', 'start:c3']);
    expect((await sup.whichChildren()).map((c) => c.status)).toEqual(['running', 'running', 'running']);
  });

  it('simple-one-for-one: a dynamic child is tried again; with a backoff policy each try waits its delay, and meanwhile it counts as restarting, not active', async () => {
    h = harness();
    const sup = await h.system.spawn(
      supervisor({
        strategy: 'simple-one-for-one',
        intensity: 5,
        backoff: { minBackoff: 100, maxBackoff: 1000, randomFactor: 0, resetAfter: 60_000 },
        template: { actor: child('x').actor },
      }),
      { name: 'pool' },
    );
    const w = await sup.startChild(failOn(2).args);
    h.journal.length = 0;

    h.system.kill(w);
    await h.settle();
    await h.advance(100); // first backoff delay: the start fails
    expect(h.journal).toEqual(['start-failed:$1']);
    expect(ofType(h.events, 'restart-scheduled').map((e) => e.delay)).toEqual([100, 200]);
    expect(await sup.countChildren()).toEqual({ specs: 1, active: 0, supervisors: 0, workers: 1 });
    expect((await sup.whichChildren()).map((c) => c.status)).toEqual(['restarting']);

    await h.advance(199);
    expect(h.journal).toEqual(['start-failed:$1']);
    await h.advance(1);
    expect(h.journal).toEqual(['start-failed:$1', 'start:$1']);
    expect(await w.ask({ type: 'incarnation' })).toBe(3);
    expect(await sup.countChildren()).toEqual({ specs: 1, active: 1, supervisors: 0, workers: 1 });
  });

  it('past the limit the reason is `shutdown`, not the child’s start error', async () => {
    h = harness();
    const sup = await h.system.spawn(supervisor({ intensity: 1, children: [child('a', failOn(2))] }), { name: 'sup' });
    const exit = h.system.watch(sup);
    h.system.kill(await refOf(sup, 'a'));
    await h.settle();
    const reason: ExitReason = await exit;
    expect(reason).toBe('shutdown'); // restart 1 (the crash) is allowed; the try again is restart 2
    expect(h.journal).toEqual(['start:a', 'start-failed:a']);
  });
});
