/**
 * A network partition without pausing anyone: three node processes on 127.0.0.1 with the
 * test-only link fault injector (APIARY_TEST_FAULTS=1) cut into a majority and a minority,
 * then healed. Slow: three processes for ~15 s.
 */
import { describe, expect, it } from 'vitest';
import { allUp, membersUntil, nodesOfTest, sleep, until } from './cluster-driver.js';

const { node } = nodesOfTest({ ...process.env, APIARY_TEST_FAULTS: '1' });


/** A short detector; the majority waits 1 s longer than the minority before it downs it. */
const FAST = { heartbeatMs: 100, failureDetector: { acceptablePauseMs: 500 }, downAfterMs: 2000, downRemovalMarginMs: 1000 };

describe('partition (keep-majority)', () => {
  it('cut c from a and b: the majority keeps the failover child (restarted on b), the minority c stops it first; no actor runs on both; healed, all three converge (slow: three processes, ~12 s)', async () => {
    const a = await node({ name: 'a', cluster: FAST });
    const b = await node({ name: 'b', seeds: [a.url], cluster: FAST });
    const c = await node({ name: 'c', seeds: [a.url], cluster: FAST });
    for (const n of [a, b, c]) await membersUntil(n.http, allUp(['a', 'b', 'c']), 5000);
    await a.cmd({ cmd: 'supervise', node: 'c' });
    expect(await a.cmd({ cmd: 'child' })).toEqual({ running: true, node: 'c', reply: { pong: 7, node: 'c' } });
    const cBefore = await c.cmd({ cmd: 'clusterInfo' });
    expect(cBefore.hosted).toHaveLength(1);
    await sleep(500); // a few heartbeats for the detectors

    await Promise.all([c.cmd({ cmd: 'partition', peers: ['a', 'b'] }), a.cmd({ cmd: 'partition', peers: ['c'] }), b.cmd({ cmd: 'partition', peers: ['c'] })]);
    // the majority restarts the child on b
    const moved = await until(() => a.cmd({ cmd: 'child' }), (ch) => ch.running && ch.node === 'b', 10_000, 'the child restarted on b');
    expect(moved.reply).toEqual({ pong: 7, node: 'b' });
    // the minority downed itself: it stopped what it ran for a, and took a new incarnation
    const cAfter = await until(() => c.cmd({ cmd: 'clusterInfo' }), (i) => i.hosted.length === 0, 3000, 'c stopped the child');
    expect(cAfter.rejoins).toBe(1);
    expect(cAfter.incarnation).toBeGreaterThan(cBefore.incarnation);
    // no actor ran on both sides: c stopped its copy before b started one (wall clocks of one machine)
    const stoppedOnC = c.results().find((r) => r.value.life === 'stopped' && r.value.path === '/sup/remote')!.value.wall as number;
    const startedOnB = b.results().find((r) => r.value.life === 'started' && r.value.path === '/sup/remote')!.value.wall as number;
    expect(stoppedOnC).toBeLessThanOrEqual(startedOnB);
    // the majority downed c's old incarnation; c, cut off, lists only itself
    for (const n of [a, b]) await membersUntil(n.http, (ms) => ms.some((m) => m.node === 'c' && (m.state === 'down' || m.state === 'removed')) || !ms.some((m) => m.node === 'c'), 3000);
    expect((await membersUntil(c.http, () => true, 1000)).map((m) => m.node)).toEqual(['c']);
    // still cut a while later: nothing came back on either side
    await sleep(1000);
    expect((await a.cmd({ cmd: 'child' })).node).toBe('b');
    expect((await c.cmd({ cmd: 'clusterInfo' })).hosted).toEqual([]);

    await Promise.all([a, b, c].map((n) => n.cmd({ cmd: 'heal' })));
    for (const n of [a, b, c]) {
      await membersUntil(n.http, (ms) => allUp(['a', 'b', 'c'])(ms) && ms.find((m) => m.node === 'c')!.incarnation === cAfter.incarnation, 10_000);
    }
    // after healing the child stays where the majority put it, once
    expect(await a.cmd({ cmd: 'child' })).toEqual({ running: true, node: 'b', reply: { pong: 7, node: 'b' } });
    expect((await c.cmd({ cmd: 'clusterInfo' })).hosted).toEqual([]);
    expect((await b.cmd({ cmd: 'clusterInfo' })).hosted).toHaveLength(1);
  });

  it('without APIARY_TEST_FAULTS a node has no fault injector', async () => {
    const { APIARY_TEST_FAULTS: _, ...plain } = process.env;
    const a = await node({ name: 'a' }, plain);
    expect((await a.cmd({ cmd: 'clusterInfo' })).cuts).toBeNull();
    await expect(a.cmd({ cmd: 'partition', peers: ['b'] })).rejects.toThrow();
  });
});
