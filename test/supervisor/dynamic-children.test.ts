/**
 * Dynamic children: OTP's start_child, terminate_child, restart_child, delete_child,
 * which_children, count_children, and simple_one_for_one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { supervisor } from '../../index.js';
import { child, harness, Probe, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.dispose());

describe('dynamic children', () => {
  it('startChild adds a running child after the static ones', async () => {
    h = harness();
    const sup = await h.system.spawn(supervisor({ children: [child('a')] }));
    const ref = await sup.startChild(child('b'));
    expect(await ref.ask({ type: 'ping' })).toBe('pong');
    expect((await sup.whichChildren()).map((c) => [c.id, c.status, c.kind])).toEqual([
      ['a', 'running', 'worker'],
      ['b', 'running', 'worker'],
    ]);
    expect(await sup.countChildren()).toEqual({ specs: 2, active: 2, supervisors: 0, workers: 2 });
  });

  it('startChild with a taken id rejects ERR_DUPLICATE_CHILD_ID and starts nothing', async () => {
    h = harness();
    const sup = await h.system.spawn(supervisor({ children: [child('a')] }));
    await expect(sup.startChild(child('a'))).rejects.toMatchObject({ code: 'ERR_DUPLICATE_CHILD_ID' });
    expect(h.journal).toEqual(['start:a']);
  });

  it('startChild whose start throws rejects ERR_START_FAILED and the child is not added', async () => {
    h = harness();
    const sup = await h.system.spawn(supervisor({}));
    await expect(sup.startChild(child('x', { args: { failStart: () => true } }))).rejects.toMatchObject({ code: 'ERR_START_FAILED' });
    expect(await sup.whichChildren()).toEqual([]);
  });

  it('terminateChild keeps the spec; restartChild starts it again; deleteChild forgets it', async () => {
    h = harness();
    const sup = await h.system.spawn(supervisor({ children: [child('a'), child('b')] }));
    await sup.terminateChild('a');
    expect(await sup.whichChildren()).toMatchObject([
      { id: 'a', status: 'stopped', ref: undefined },
      { id: 'b', status: 'running' },
    ]);
    expect(await sup.countChildren()).toEqual({ specs: 2, active: 1, supervisors: 0, workers: 2 });

    await expect(sup.restartChild('b')).rejects.toMatchObject({ code: 'ERR_CHILD_RUNNING' });
    await expect(sup.deleteChild('b')).rejects.toMatchObject({ code: 'ERR_CHILD_RUNNING' });

    const a = await sup.restartChild('a');
    expect(await a.ask({ type: 'ping' })).toBe('pong');
    expect((await sup.whichChildren()).map((c) => c.id)).toEqual(['a', 'b']); // keeps its place

    await sup.terminateChild('a');
    await sup.deleteChild('a');
    expect((await sup.whichChildren()).map((c) => c.id)).toEqual(['b']);
    await expect(sup.terminateChild('a')).rejects.toMatchObject({ code: 'ERR_NO_SUCH_CHILD' });
  });

  it('a terminated child is not restarted by a one-for-all restart of its siblings', async () => {
    h = harness();
    const sup = await h.system.spawn(supervisor({ strategy: 'one-for-all', intensity: 3, children: [child('a'), child('b')] }));
    await sup.terminateChild('a');
    h.system.kill((await sup.whichChildren())[1]!.ref!);
    await h.settle();
    expect((await sup.whichChildren()).map((c) => [c.id, c.status])).toEqual([
      ['a', 'stopped'],
      ['b', 'running'],
    ]);
  });
});

describe('simple-one-for-one', () => {
  it('startChild(args) starts instances of the template; a crashed one restarts alone; terminated ones are forgotten', async () => {
    h = harness();
    const sup = await h.system.spawn(
      supervisor({ strategy: 'simple-one-for-one', intensity: 5, template: { actor: Probe, restart: 'transient' } }),
      { name: 'pool' },
    );
    const w1 = await sup.startChild({});
    const w2 = await sup.startChild({});
    expect(w1.path).toBe('/pool/$1');
    expect(w2.path).toBe('/pool/$2');

    h.system.kill(w1);
    await h.settle();
    expect(await w1.ask({ type: 'incarnation' })).toBe(2);
    expect(await w2.ask({ type: 'incarnation' })).toBe(1);

    await sup.terminateChild(w2);
    expect((await sup.whichChildren()).map((c) => c.id)).toEqual(['$1']);
    await expect(sup.restartChild('$1')).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' });
    await expect(sup.deleteChild('$1')).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' });
  });

  it('countChildren counts as OTP does: specs 1 (the template), workers every dynamic child, active those running', async () => {
    h = harness();
    const sup = await h.system.spawn(supervisor({ strategy: 'simple-one-for-one', intensity: 5, template: { actor: Probe } }));
    expect(await sup.countChildren()).toEqual({ specs: 1, active: 0, supervisors: 0, workers: 0 });
    const refs = [await sup.startChild({}), await sup.startChild({}), await sup.startChild({})];
    expect(await sup.countChildren()).toEqual({ specs: 1, active: 3, supervisors: 0, workers: 3 });
    await sup.terminateChild(refs[1]!);
    expect(await sup.countChildren()).toEqual({ specs: 1, active: 2, supervisors: 0, workers: 2 });

    const subs = await h.system.spawn(
      supervisor({ strategy: 'simple-one-for-one', template: { actor: supervisor({ children: [] }) } }),
    );
    await subs.startChild(undefined);
    await subs.startChild(undefined);
    expect(await subs.countChildren()).toEqual({ specs: 1, active: 2, supervisors: 2, workers: 0 });
  });

  it('terminateChild of a dynamic child that is already gone is ok (OTP: a dead pid); of a live actor that is not its child, ERR_NO_SUCH_CHILD', async () => {
    h = harness();
    const sup = await h.system.spawn(supervisor({ strategy: 'simple-one-for-one', intensity: 5, template: { actor: Probe, restart: 'transient' } }), {
      name: 'pool',
    });
    const w1 = await sup.startChild({});
    const w2 = await sup.startChild({});

    await sup.terminateChild(w1);
    await expect(sup.terminateChild(w1)).resolves.toBeUndefined(); // again: it is dead

    w2.tell({ type: 'exit', reason: 'normal' }); // a transient child that ended normally is gone
    await h.settle();
    expect(await sup.whichChildren()).toEqual([]);
    await expect(sup.terminateChild(w2)).resolves.toBeUndefined();

    const stranger = await h.system.spawn(Probe);
    await expect(sup.terminateChild(stranger)).rejects.toMatchObject({ code: 'ERR_NO_SUCH_CHILD' });
    expect(await stranger.ask({ type: 'ping' })).toBe('pong'); // untouched
  });
});
