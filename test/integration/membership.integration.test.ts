/**
 * Membership that heals and has one truth (issue 14, items 1, 2, 5, 10): real node processes
 * on 127.0.0.1, real sockets and signals. Each test starts its own nodes and kills them all
 * when it ends. Slow: every test here runs two to three node processes for 5–20 s.
 */
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allUp, membersUntil, metric, nodesOfTest, sleep, until } from './cluster-driver.js';
import { freePort, startNode, type NodeProcess } from './processes.js';

const cli = fileURLToPath(new URL('../../dist/runtime/cli/main.js', import.meta.url));
const { node, track } = nodesOfTest();


/** A short heartbeat and detector: a silent node is unreachable in about a second, downed ~2.5 s later. */
const FAST = { heartbeatMs: 100, failureDetector: { acceptablePauseMs: 500 }, downAfterMs: 2000, downRemovalMarginMs: 500 };

describe('healing', () => {
  it('a seed killed with -9 and started again with the same command line reconverges with the node that joined through it (slow: two processes, ~10 s)', async () => {
    const env = { ...process.env, APIARY_SECRET: 'swarm-secret' };
    const [n1Port, n1Http, n2Http] = [await freePort(), await freePort(), await freePort()];
    const n1Args = [cli, 'start', '--name', 'n1', '--threads', '0', '--http', `127.0.0.1:${n1Http}`, '--listen', `127.0.0.1:${n1Port}`];
    const start = (args: string[]): NodeProcess => {
      const p = startNode(args, env);
      return track(p);
    };
    const n1 = start(n1Args);
    await n1.waitFor(/ready/, 20_000);
    const n2 = start([cli, 'start', '--name', 'n2', '--threads', '0', '--http', `127.0.0.1:${n2Http}`, '--listen', '127.0.0.1:0', '--seeds', `ws://127.0.0.1:${n1Port}`]);
    await n2.waitFor(/ready/, 20_000);
    for (const http of [n1Http, n2Http]) await membersUntil(`http://127.0.0.1:${http}`, allUp(['n1', 'n2']), 5000);
    const before = (await membersUntil(`http://127.0.0.1:${n2Http}`, allUp(['n1', 'n2']), 1000)).find((m) => m.node === 'n1')!.incarnation;

    n1.child.kill('SIGKILL');
    await n1.exit(5000);
    await membersUntil(`http://127.0.0.1:${n2Http}`, (ms) => ms.some((m) => m.node === 'n1' && m.state === 'down'), 5000);
    const again = start(n1Args);
    await again.waitFor(/ready/, 20_000);
    const restartedAt = performance.now();
    // n1 has no seeds: only n2 dialling n1's address again can bring them together
    const seen = await membersUntil(`http://127.0.0.1:${n1Http}`, allUp(['n1', 'n2']), 12_000);
    await membersUntil(`http://127.0.0.1:${n2Http}`, (ms) => allUp(['n1', 'n2'])(ms) && ms.find((m) => m.node === 'n1')!.incarnation > before, 5000);
    expect(performance.now() - restartedAt).toBeLessThan(12_000);
    expect(seen.find((m) => m.node === 'n1')!.incarnation).toBeGreaterThan(before);
  });
});

describe('downing with one truth', () => {
  it('a SIGSTOPped node is downed and its failover child runs elsewhere; after SIGCONT it is refused as quarantined, stops the child and rejoins as a new incarnation (slow: three processes, ~10 s)', async () => {
    const a = await node({ name: 'a', cluster: FAST });
    const b = await node({ name: 'b', seeds: [a.url], cluster: FAST });
    const c = await node({ name: 'c', seeds: [a.url], cluster: FAST });
    for (const n of [a, b, c]) await membersUntil(n.http, allUp(['a', 'b', 'c']), 5000);
    await a.cmd({ cmd: 'supervise', node: 'b' });
    expect(await a.cmd({ cmd: 'child' })).toEqual({ running: true, node: 'b', reply: { pong: 7, node: 'b' } });
    const old = await b.cmd({ cmd: 'clusterInfo' });
    expect(old.hosted).toEqual([{ node: 'a', thread: 0, id: expect.any(Number), path: '/sup/remote' }]);
    // an actor of b's own, known to a by a ref of b's current incarnation
    await b.cmd({ cmd: 'local', as: 'keeper' });
    expect(await a.cmd({ cmd: 'lookupOn', node: 'b', name: 'keeper', as: 'oldKeeper' })).toEqual({ found: true, node: 'b', thread: 0 });
    expect(await a.cmd({ cmd: 'ask', to: 'oldKeeper', n: 1 })).toEqual({ pong: 1, node: 'b' });
    await sleep(500); // a few heartbeats for the detectors

    b.proc.child.kill('SIGSTOP');
    let resumedAt = 0;
    try {
      await a.waitResult((v) => v.member === 'b' && v.state === 'down', 8000);
      const moved = await until(() => a.cmd({ cmd: 'child' }), (ch) => ch.running && ch.node === 'c', 5000, 'the child restarted on c');
      expect(moved.reply).toEqual({ pong: 7, node: 'c' });
    } finally {
      b.proc.child.kill('SIGCONT');
      resumedAt = performance.now();
    }
    // b learns it was downed: the others close and refuse its old incarnation
    const info = await until(() => b.cmd({ cmd: 'clusterInfo' }), (i) => i.incarnation > old.incarnation && i.hosted.length === 0, 5000, 'b rejoined');
    expect(performance.now() - resumedAt).toBeLessThan(5000);
    expect(info.rejoins).toBe(1);
    expect(info.refusals.quarantined).toBeGreaterThanOrEqual(1);
    expect(await metric(b.http, 'apiary_cluster_rejoins_total')).toBe(1);
    expect(await metric(a.http, 'apiary_cluster_tombstones')).toBe(1);
    const stoppedOnB = await b.waitResult((v) => v.life === 'stopped' && v.path === '/sup/remote', 1000);
    expect(stoppedOnB - resumedAt).toBeLessThan(5000);
    // the others take it back as a new member, under its new incarnation
    for (const n of [a, c]) {
      await membersUntil(n.http, (ms) => allUp(['a', 'b', 'c'])(ms) && ms.find((m) => m.node === 'b')!.incarnation === info.incarnation, 8000);
    }
    // the child ran on b, then on c — never on b again, and b runs nothing for a
    expect(await a.cmd({ cmd: 'child' })).toEqual({ running: true, node: 'c', reply: { pong: 7, node: 'c' } });
    expect((await b.cmd({ cmd: 'clusterInfo' })).hosted).toEqual([]);
    expect((await c.cmd({ cmd: 'clusterInfo' })).hosted).toEqual([{ node: 'a', thread: 0, id: expect.any(Number), path: '/sup/remote' }]);
    expect(b.results().filter((r) => r.value.life === 'started').length).toBe(1);
    // b's own actor kept running; refs into the finished incarnation stay dead, a fresh lookup reaches it
    expect(await a.cmd({ cmd: 'askError', to: 'oldKeeper' })).toEqual({ code: 'ERR_NODE_DOWN' });
    expect(await a.cmd({ cmd: 'lookupOn', node: 'b', name: 'keeper', as: 'newKeeper' })).toEqual({ found: true, node: 'b', thread: 0 });
    expect(await a.cmd({ cmd: 'ask', to: 'newKeeper', n: 2 })).toEqual({ pong: 2, node: 'b' });
  });
});

describe('bounded gossip', () => {
  it('a peer gossiping 1000 invented members: the table stays under its cap, they are dialled at the capped rate, never listed or passed on as up, and the real link never flaps (slow: two processes, ~6 s)', async () => {
    const { connectNodeLink } = await import('../../dist/transport/node-link.js');
    const { Codec, BatchWriter } = await import('../../dist/transport/codec.js');
    const { RealClock } = await import('../../dist/index.js');
    // every invented member points here: a TCP server that counts the dials and answers none
    let dials = 0;
    const sockets = new Set<import('node:net').Socket>();
    const trap: Server = createServer((s) => {
      dials++;
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    const trapUrl = `ws://127.0.0.1:${(trap.address() as { port: number }).port}`;
    try {
      const a = await node({ name: 'a' });
      const b = await node({ name: 'b', seeds: [a.url] });
      await membersUntil(a.http, allUp(['a', 'b']), 5000);
      await membersUntil(b.http, allUp(['a', 'b']), 5000);

      const link = await connectNodeLink(a.url, { name: 'm', incarnation: 1, secret: new TextEncoder().encode('test-secret') }, { clock: new RealClock() });
      let closed: number | undefined;
      link.onClose((code: number) => (closed = code));
      const invented = Array.from({ length: 990 }, (_, i) => ({ node: `zz-fake-${i}`, incarnation: 1, url: trapUrl, state: 'up' }));
      const malformed = [
        { node: 'bad name with spaces', incarnation: 1, url: trapUrl, state: 'up' },
        { node: 'x'.repeat(65), incarnation: 1, url: trapUrl, state: 'up' },
        { node: 'zz-path', incarnation: 1, url: `${trapUrl}/evil`, state: 'up' },
        { node: 'zz-http', incarnation: 1, url: 'http://127.0.0.1:80', state: 'up' },
        { node: 'zz-user', incarnation: 1, url: 'ws://user@127.0.0.1:80', state: 'up' },
        { node: 'zz-port', incarnation: 1, url: 'ws://127.0.0.1:99999', state: 'up' },
        { node: 'zz-inc', incarnation: -5, url: trapUrl, state: 'up' },
        { node: 'zz-state', incarnation: 1, url: trapUrl, state: 'king' },
        { node: 'zz-long', incarnation: 1, url: `ws://${'h'.repeat(400)}:80`, state: 'up' },
        { node: 'zz-query', incarnation: 1, url: `${trapUrl}?x=1`, state: 'up' },
      ];
      const batch = new BatchWriter(1024);
      const sentAt = performance.now();
      new Codec().append(batch, [9, [...invented, ...malformed]]);
      link.send(batch.take());
      await sleep(3000);
      const elapsed = (performance.now() - sentAt) / 1000;
      // default: 10 dials per second (a burst of 10), at most 256 members in the table
      expect(dials).toBeLessThanOrEqual(Math.ceil(10 + 10 * elapsed) + 2);
      const members = await membersUntil(a.http, () => true, 1000);
      expect(members.length).toBeLessThanOrEqual(256);
      expect(members.filter((m) => m.node.startsWith('zz-') && m.state === 'up')).toEqual([]);
      expect(members.some((m) => m.node === 'bad name with spaces' || m.node.startsWith('xxxx') || /zz-(path|http|user|port|inc|state|long|query)/.test(m.node))).toBe(false);
      const info = await a.cmd({ cmd: 'clusterInfo' });
      expect(info.gossipRejected).toBe(malformed.length);
      expect(info.gossipIgnored).toBeGreaterThan(0);
      expect(await metric(a.http, 'apiary_gossip_entries_dropped_total{reason="malformed"}')).toBe(malformed.length);
      expect(await metric(a.http, 'apiary_gossip_entries_dropped_total{reason="table-full"}')).toBe(info.gossipIgnored);
      // b heard only of members a has a handshake with: nothing invented, and its link to a never dropped
      const onB = await membersUntil(b.http, () => true, 1000);
      expect(onB.filter((m) => m.node.startsWith('zz-'))).toEqual([]);
      expect(b.results().some((r) => r.value.member === 'a' && r.value.state !== 'up' && r.value.state !== 'joining')).toBe(false);
      expect(a.results().some((r) => r.value.member === 'b' && r.value.state !== 'up' && r.value.state !== 'joining')).toBe(false);
      expect(closed).toBeUndefined(); // a malformed entry is skipped, not a reason to drop the peer
      link.close();
      // a peer whose own name is not a node name is refused after the handshake (4003 malformed)
      const odd = await connectNodeLink(a.url, { name: 'not a name', incarnation: 1, secret: new TextEncoder().encode('test-secret') }, { clock: new RealClock() });
      expect(await new Promise<number>((r) => odd.onClose((code: number) => r(code)))).toBe(4003);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => trap.close(r));
    }
  });
});

describe('failover placement falls back to this node', () => {
  it('losing the last peer restarts a failover child here, and the tree keeps running (slow: two processes, ~4 s)', async () => {
    const a = await node({ name: 'a' });
    const b = await node({ name: 'b', seeds: [a.url] });
    await membersUntil(a.http, allUp(['a', 'b']), 5000);
    await a.cmd({ cmd: 'supervise', node: 'b' });
    expect(await a.cmd({ cmd: 'child' })).toEqual({ running: true, node: 'b', reply: { pong: 7, node: 'b' } });
    b.proc.child.kill('SIGKILL');
    await a.waitResult((v) => v.member === 'b' && v.state === 'down', 5000);
    const here = await until(() => a.cmd({ cmd: 'child' }), (ch) => ch.running && ch.node === 'a', 5000, 'the child restarted on a');
    expect(here.reply).toEqual({ pong: 7, node: 'a' });
    const tree = (await (await fetch(`${a.http}/tree`)).json()) as { children: { path: string; status: string; children?: { status: string; node: string }[] }[] };
    const sup = tree.children.find((c) => c.path === '/sup');
    expect(sup?.status).toBe('running');
    expect(sup?.children?.[0]).toMatchObject({ status: 'running', node: 'a' });
    // messages still reach it a while later: nothing gave up
    await sleep(500);
    expect(await a.cmd({ cmd: 'child' })).toEqual({ running: true, node: 'a', reply: { pong: 7, node: 'a' } });
  });

  it('a pinned child does not fall back: with its node gone its restart fails (slow: two processes, ~3 s)', async () => {
    const a = await node({ name: 'a' });
    const b = await node({ name: 'b', seeds: [a.url] });
    await membersUntil(a.http, allUp(['a', 'b']), 5000);
    await a.cmd({ cmd: 'supervise', node: 'b', placement: 'pinned' });
    expect(await a.cmd({ cmd: 'child' })).toMatchObject({ running: true, node: 'b' });
    b.proc.child.kill('SIGKILL');
    await a.waitResult((v) => v.member === 'b' && v.state === 'down', 5000);
    await sleep(1000);
    const child = await a.cmd({ cmd: 'child' }).catch((e: { code?: string }) => ({ error: e.code }));
    expect(child).not.toMatchObject({ running: true, node: 'a' });
  });
});
