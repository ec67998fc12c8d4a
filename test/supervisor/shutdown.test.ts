/**
 * Ordered start and shutdown, per-child `shutdown` (ms, infinity, brutal-kill)
 * (supervisor_SUITE: sup_stop_infinity, sup_stop_timeout, sup_stop_brutal_kill).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { supervisor, type TreeEntry } from '../../index.js';
import { child, harness, ofType, refOf, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.dispose());

describe('shutdown', () => {
  it('a child that ignores stop, shutdown 1000 → brutally killed at 1000 ms of manual time', async () => {
    h = harness();
    const sup = await h.system.spawn(
      supervisor({ children: [child('stubborn', { shutdown: 1000, args: { ignoreStop: true } })] }),
      { name: 's' },
    );
    const ref = (await sup.whichChildren())[0]!.ref!;
    const exit = h.system.watch(ref);
    let terminated = false;
    const done = sup.terminateChild('stubborn').then(() => (terminated = true));
    await h.settle();
    expect(h.journal).toContain('stop:stubborn');

    await h.advance(999);
    expect(terminated).toBe(false);
    // (the supervisor is busy terminating, as in OTP, so read the tree snapshot instead of asking it)
    expect(h.system.tree().children[0]!.children![0]!.status).toBe('running');

    await h.advance(1);
    await done;
    expect(await exit).toBe('killed');
    expect((await sup.whichChildren())[0]).toMatchObject({ id: 'stubborn', status: 'stopped' });
  });

  it('brutal-kill does not wait for the stopping hook', async () => {
    h = harness();
    const sup = await h.system.spawn(supervisor({ children: [child('b', { shutdown: 'brutal-kill', args: { ignoreStop: true } })] }));
    const ref = (await sup.whichChildren())[0]!.ref!;
    await sup.terminateChild('b');
    expect(await h.system.watch(ref)).toBe('killed');
    expect(h.journal).not.toContain('stop:b');
  });

  it('infinity waits as long as the child takes', async () => {
    h = harness();
    const sup = await h.system.spawn(supervisor({ children: [child('slow', { shutdown: 'infinity', args: { ignoreStop: true } })] }));
    const ref = (await sup.whichChildren())[0]!.ref!;
    let terminated = false;
    const done = sup.terminateChild('slow').then(() => (terminated = true));
    await h.advance(3_600_000);
    expect(terminated).toBe(false);
    expect(h.clock.pendingTimers).toBe(0);

    // a kill ends the wait
    h.system.kill(ref);
    await done;
    expect(await h.system.watch(ref)).toBe('killed');
  });

  it('whole-tree stop order is exactly the reverse of start order', async () => {
    h = harness();
    await h.system.spawn(
      supervisor({
        children: [
          child('a'),
          { id: 'mid', actor: supervisor({ strategy: 'one-for-all', children: [child('b'), child('c')] }) },
          child('d'),
        ],
      }),
      { name: 'top' },
    );
    await h.system.spawn(supervisor({ children: [child('e')] }), { name: 'second' });
    // start order: each supervisor before its children, children in list order
    const preOrder = (entries: TreeEntry[]): string[] => entries.flatMap((e) => [e.path, ...preOrder(e.children ?? [])]);
    const startOrder = preOrder(h.system.tree().children);
    expect(startOrder).toEqual(['/top', '/top/a', '/top/mid', '/top/mid/b', '/top/mid/c', '/top/d', '/second', '/second/e']);
    expect(h.journal).toEqual(['start:a', 'start:b', 'start:c', 'start:d', 'start:e']);

    await h.system.stop();

    const stopped = ofType(h.events, 'stopped').map((e) => e.path);
    expect(stopped).toEqual([...startOrder].reverse());
    expect(h.journal.filter((l) => l.startsWith('stop:'))).toEqual(['stop:e', 'stop:d', 'stop:c', 'stop:b', 'stop:a']);
  });

  it('a supervisor killed outright (exit(Pid, kill)) takes its whole subtree with it, last started first: nothing left running, names released', async () => {
    h = harness();
    const top = await h.system.spawn(
      supervisor({
        children: [child('a', { name: 'name-a' }), { id: 'mid', actor: supervisor({ children: [child('b', { name: 'name-b' })] }) }, child('c')],
      }),
      { name: 'top' },
    );
    const refs = [h.system.lookup('name-a')!, h.system.lookup('name-b')!];
    const exits = refs.map((r) => h.system.watch(r));
    expect(h.system.kill(top)).toBe(true);
    await h.settle();
    expect(await Promise.all(exits)).toEqual(['killed', 'killed']);
    expect([h.system.lookup('name-a'), h.system.lookup('name-b')]).toEqual([undefined, undefined]);
    const stopped = ofType(h.events, 'stopped').map((e) => e.path);
    expect(stopped.slice(0, 4)).toEqual(['/top/c', '/top/mid/b', '/top/mid', '/top/a']);
    expect(h.system.tree().children).toEqual([]);
  });

  it('a supervisor restarted by its parent with brutal-kill (one-for-all) takes its children with it; the new one starts fresh children', async () => {
    h = harness();
    const outer = await h.system.spawn(
      supervisor({ strategy: 'one-for-all', children: [{ id: 'inner', actor: supervisor({ children: [child('x', { name: 'name-x' })] }), shutdown: 'brutal-kill' }, child('trigger')] }),
    );
    const oldX = h.system.lookup('name-x')!;
    const exit = h.system.watch(oldX);
    (await refOf(outer, 'trigger')).tell({ type: 'throw', message: 'boom' });
    await h.settle();
    // killed with its supervisor, not stopped gracefully by it: no stop hook ran for the old x
    expect(await exit).toBe('killed');
    expect(h.journal.filter((l) => l === 'stop:x')).toEqual([]);
    expect(h.journal.filter((l) => l === 'start:x')).toHaveLength(2);
    expect(await h.system.lookup('name-x')!.ask({ type: 'incarnation' })).toBe(1);
  });
});

