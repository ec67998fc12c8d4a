/**
 * Nodes joined into one swarm over WebSocket: real processes on 127.0.0.1, real sockets,
 * real signals. Each test starts its own nodes and kills them all when it ends.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { allUp, membersUntil, nodesOfTest } from './cluster-driver.js';
import { startNode, type NodeProcess } from './processes.js';

const cli = fileURLToPath(new URL('../../dist/runtime/cli/main.js', import.meta.url));
const { node, track } = nodesOfTest();

describe('joining', () => {
  it('three `apiary start` nodes join through one seed and each lists all three up in /members within 5 s', async () => {
    const env = { ...process.env, APIARY_SECRET: 'swarm-secret' };
    const start = (name: string, seeds?: string): NodeProcess => {
      const args = [cli, 'start', '--name', name, '--threads', '0', '--http', '127.0.0.1:0', '--listen', '127.0.0.1:0'];
      const p = startNode(seeds ? [...args, '--seeds', seeds] : args, env);
      return track(p);
    };
    const addresses = async (p: NodeProcess) => {
      await p.waitFor(/ready/, 20_000);
      const [, ws, http] = /ws: (\S+) · http: (\S+)/.exec(p.stdout())!;
      return { ws: `ws://${ws}`, http: `http://${http}` };
    };
    const seed = await addresses(start('n1'));
    const t0 = performance.now();
    const others = await Promise.all([addresses(start('n2', seed.ws)), addresses(start('n3', seed.ws))]);
    for (const n of [seed, ...others]) await membersUntil(n.http, allUp(['n1', 'n2', 'n3']), 5000);
    expect(performance.now() - t0).toBeLessThan(5000 + 2000); // the nodes' own start included
  });

  it('a node with the wrong secret is refused and never listed; a second live node with a taken name is refused', async () => {
    const a = await node({ name: 'a' });
    const b = await node({ name: 'b', seeds: [a.url] });
    await membersUntil(a.http, allUp(['a', 'b']), 5000);
    const intruder = await node({ name: 'x', seeds: [a.url], secret: 'guess' });
    const twin = await node({ name: 'b', seeds: [a.url] });
    // both keep retrying; give them a few rounds
    await new Promise((r) => setTimeout(r, 1500));
    const members = await membersUntil(a.http, () => true, 1000);
    expect(members.map((m) => m.node).sort()).toEqual(['a', 'b']);
    const original = (await b.cmd<{ node: string; incarnation: number }[]>({ cmd: 'members' })).find((m) => m.node === 'b')!;
    expect(members.find((m) => m.node === 'b')!.incarnation).toBe(original.incarnation);
    expect((await intruder.cmd<{ node: string }[]>({ cmd: 'members' })).map((m) => m.node)).toEqual(['x']);
    expect((await twin.cmd<{ node: string }[]>({ cmd: 'members' })).map((m) => m.node)).toEqual(['b']);
  });
});

describe('remote actors', () => {
  it('100k tells from node A to an actor B spawned on node B arrive in order, none twice; asks cross too', async () => {
    const a = await node({ name: 'a' });
    const b = await node({ name: 'b', seeds: [a.url] });
    await membersUntil(b.http, allUp(['a', 'b']), 5000);
    expect(await b.cmd({ cmd: 'spawn', node: 'a', as: 'sink' })).toMatchObject({ node: 'a' });
    const { refused, report } = await b.cmd<{ refused: number; report: { count: number; outOfOrder: number; node: string } }>({
      cmd: 'tell',
      to: 'sink',
      n: 100_000,
    });
    expect(refused).toBe(0);
    expect(report).toEqual({ count: 100_000, outOfOrder: 0, node: 'a' });
    expect(await b.cmd({ cmd: 'ask', to: 'sink', n: 42 })).toEqual({ pong: 42, node: 'a' });
  });

  it('lookupOn finds a name registered on another node (main thread and worker thread); an unknown name is undefined; a node that is not up rejects', async () => {
    const a = await node({ name: 'a' });
    const b = await node({ name: 'b', threads: 1, seeds: [a.url] });
    for (const n of [a, b]) await membersUntil(n.http, allUp(['a', 'b']), 5000);
    expect(await b.cmd({ cmd: 'local', as: 'front' })).toEqual({ node: 'b', thread: 0 });
    expect(await b.cmd({ cmd: 'local', as: 'deep', thread: 1 })).toEqual({ node: 'b', thread: 1 });
    expect(await a.cmd({ cmd: 'lookupOn', node: 'b', name: 'front', as: 'front' })).toEqual({ found: true, node: 'b', thread: 0 });
    expect(await a.cmd({ cmd: 'lookupOn', node: 'b', name: 'deep', as: 'deep' })).toEqual({ found: true, node: 'b', thread: 1 });
    expect(await a.cmd({ cmd: 'ask', to: 'front', n: 1 })).toEqual({ pong: 1, node: 'b' });
    expect(await a.cmd({ cmd: 'ask', to: 'deep', n: 2 })).toEqual({ pong: 2, node: 'b' });
    expect(await a.cmd({ cmd: 'lookupOn', node: 'b', name: 'nobody', as: 'x' })).toEqual({ found: false });
    await expect(a.cmd({ cmd: 'lookupOn', node: 'zed', name: 'front', as: 'y' })).rejects.toMatchObject({ code: 'ERR_NODE_DOWN' });
  });

  it('an actor on a worker thread reaches an actor on another node through thread 0, in order, and gets its answer', async () => {
    const a = await node({ name: 'a', threads: 1 });
    await node({ name: 'b', seeds: [a.url] });
    await membersUntil(a.http, allUp(['a', 'b']), 5000);
    await a.cmd({ cmd: 'spawn', node: 'b', as: 'sink' });
    expect(await a.cmd({ cmd: 'relay', to: 'sink', n: 10_000 })).toEqual({ thread: 1, report: { count: 10_000, outOfOrder: 0, node: 'b' } });
  });
});

describe('remote spawn onto worker threads', () => {
  it("{ node, thread: 'auto' | n } places the actor on a worker of that node, which answers; a node without workers takes 'auto' on its main thread and refuses an index it lacks (ERR_START_FAILED)", async () => {
    const a = await node({ name: 'a' });
    const b = await node({ name: 'b', threads: 2, seeds: [a.url] });
    for (const n of [a, b]) await membersUntil(n.http, allUp(['a', 'b']), 5000);
    const auto = await a.cmd<{ node: string; thread: number }>({ cmd: 'crashy', node: 'b', thread: 'auto', as: 'w' });
    expect(auto.node).toBe('b');
    expect(auto.thread).toBeGreaterThanOrEqual(1);
    expect(await a.cmd({ cmd: 'ask', to: 'w', n: 3 })).toEqual({ pong: 3, node: 'b', thread: auto.thread, pings: 1 });
    expect(await a.cmd({ cmd: 'crashy', node: 'b', thread: 2, as: 'w2' })).toMatchObject({ node: 'b', thread: 2 });
    expect(await a.cmd({ cmd: 'ask', to: 'w2', n: 4 })).toEqual({ pong: 4, node: 'b', thread: 2, pings: 1 });
    expect(await a.cmd({ cmd: 'crashy', node: 'b', thread: 0, as: 'm' })).toMatchObject({ node: 'b', thread: 0 });
    // a has no workers
    expect(await b.cmd({ cmd: 'crashy', node: 'a', thread: 'auto', as: 'onA' })).toMatchObject({ node: 'a', thread: 0 });
    expect(await b.cmd({ cmd: 'ask', to: 'onA', n: 5 })).toEqual({ pong: 5, node: 'a', thread: 0, pings: 1 });
    await expect(b.cmd({ cmd: 'crashy', node: 'a', thread: 1, as: 'none' })).rejects.toMatchObject({ code: 'ERR_START_FAILED' });
    await expect(a.cmd({ cmd: 'crashy', node: 'b', thread: 3, as: 'none' })).rejects.toMatchObject({ code: 'ERR_START_FAILED' });
  });

  it("a supervised child with node + thread runs on the peer's worker: restarted there after it throws; its worker's crash makes it exit thread-crash and run again on the peer as a new actor; its node going down terminates it on the peer", async () => {
    const a = await node({ name: 'a' });
    const b = await node({ name: 'b', threads: 1, seeds: [a.url] });
    for (const n of [a, b]) await membersUntil(n.http, allUp(['a', 'b']), 5000);
    await a.cmd({ cmd: 'supervise', node: 'b', thread: 'auto', actor: 'Crashy' });
    const first = await a.cmd<{ id: number }>({ cmd: 'childInfo' });
    expect(first).toMatchObject({ running: true, restarts: 0, node: 'b', thread: 1, reply: { pong: 7, node: 'b', thread: 1, pings: 1 } });
    expect(await a.cmd({ cmd: 'childInfo' })).toMatchObject({ id: first.id, reply: { pings: 2 } });

    // it throws: restarted in place (same actor on b's worker, a fresh instance)
    await a.cmd({ cmd: 'childSend', msg: { type: 'throw' } });
    const until = async (check: (c: any) => boolean, what: string) => {
      const deadline = performance.now() + 10_000;
      let c: any;
      do {
        c = await a.cmd({ cmd: 'childInfo' });
        if (check(c)) return c;
        await new Promise((r) => setTimeout(r, 100));
      } while (performance.now() < deadline);
      throw new Error(`${what}: ${JSON.stringify(c)}`);
    };
    const restarted = await until((c) => c.restarts === 1 && typeof c.reply === 'object', 'no restart after the throw');
    expect(restarted).toMatchObject({ running: true, node: 'b', thread: 1, id: first.id, reply: { pong: 7, node: 'b', thread: 1, pings: 1 } });

    // its worker thread dies: thread-crash, and a new actor on b's (replacement) worker
    await a.cmd({ cmd: 'childSend', msg: { type: 'exit-thread' } });
    await a.waitResult((v) => v.failed === '/sup/remote' && v.reason === 'thread-crash', 5000);
    const again = await until((c) => c.restarts === 2 && typeof c.reply === 'object', 'no restart after the thread crash');
    expect(again).toMatchObject({ running: true, node: 'b', thread: 1, reply: { pong: 7, node: 'b', thread: 1, pings: 1 } });
    expect(again.id).not.toBe(first.id);

    // b gets a ref to it; a goes down; b's ask to it now fails
    await b.cmd({ cmd: 'local', as: 'inbox' });
    await a.cmd({ cmd: 'lookupOn', node: 'b', name: 'inbox', as: 'inbox' });
    await a.cmd({ cmd: 'childInfo', as: 'kid' });
    await a.cmd({ cmd: 'sendRef', to: 'inbox', ref: 'kid' });
    expect(await b.cmd({ cmd: 'takeRef', as: 'kid' })).toEqual({ node: 'b', thread: 1 });
    expect(await b.cmd({ cmd: 'askError', to: 'kid' })).toEqual({ ok: true });
    a.proc.child.kill('SIGKILL');
    await b.waitResult((v) => v.member === 'a' && v.state === 'down', 5000);
    const deadline = performance.now() + 5000;
    let answer: any;
    do {
      answer = await b.cmd({ cmd: 'askError', to: 'kid' });
      if (answer.code !== undefined) break;
      await new Promise((r) => setTimeout(r, 100));
    } while (performance.now() < deadline);
    expect(answer).toEqual({ code: 'ERR_ACTOR_STOPPED' });
  });
});

describe('remote spawn onto worker threads: permissions', () => {
  it("a third node cannot terminate or kill an actor another node spawned on a worker thread (ERR_ACTOR_STOPPED); the actor keeps running", async () => {
    const { connectNodeLink } = await import('../../dist/transport/node-link.js');
    const { RealClock } = await import('../../dist/index.js');
    const { Codec, BatchWriter } = await import('../../dist/transport/codec.js');
    const a = await node({ name: 'a' });
    const b = await node({ name: 'b', threads: 1, seeds: [a.url] });
    for (const n of [a, b]) await membersUntil(n.http, allUp(['a', 'b']), 5000);
    const w = await a.cmd<{ thread: number; id: number }>({ cmd: 'crashy', node: 'b', thread: 'auto', as: 'w' });
    expect(w.thread).toBe(1);
    const link = await connectNodeLink(b.url, { name: 'm', incarnation: 1, secret: new TextEncoder().encode('test-secret') }, { clock: new RealClock() });
    const codec = new Codec();
    const answer = new Promise<any>((resolve) => link.onFrame((bytes: Uint8Array) => {
      for (const f of codec.decodeUntrusted(bytes) as any[]) if (f[0] === 6 && f[1] === 1) resolve(f[2]);
    }));
    const batch = new BatchWriter(1024);
    codec.append(batch, [4, w.thread, w.id, { k: 'exit-now', reason: 'killed' }]);
    codec.append(batch, [4, w.thread, w.id, { k: 'kill', reason: 'killed', final: true }]);
    codec.append(batch, [5, w.thread, w.id, 1, { k: 'terminate', reason: 'shutdown' }]);
    link.send(batch.take());
    const res = await Promise.race([answer, new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 5 s')), 5000))]);
    expect(res).toMatchObject({ ok: false, error: { code: 'ERR_ACTOR_STOPPED' } });
    expect(await a.cmd({ cmd: 'ask', to: 'w', n: 1 })).toEqual({ pong: 1, node: 'b', thread: 1, pings: 1 });
    link.close(1000, 'done');
  });
});

describe('ask cancellation across nodes', () => {
  it("an ask its asker cancels aborts the actor's signal on the other node: on its main thread, on a worker there, and from a worker here", async () => {
    const a = await node({ name: 'a', threads: 1 });
    const b = await node({ name: 'b', threads: 1, seeds: [a.url] });
    for (const n of [a, b]) await membersUntil(n.http, allUp(['a', 'b']), 5000);
    const aborted = (held: number, thread: number) => ({ code: 'ERR_ABORTED', report: { held, aborted: held, node: 'b', thread } });
    // a holder on b's main thread, spawned from a
    await a.cmd({ cmd: 'holder', node: 'b', as: 'h0' });
    expect(await a.cmd({ cmd: 'holdAndCancel', to: 'h0', afterMs: 100 })).toEqual(aborted(1, 0));
    // a holder on b's worker thread: a's ask is relayed by b's thread 0
    await b.cmd({ cmd: 'spawn', node: 'a', as: 'inbox' });
    await b.cmd({ cmd: 'holder', thread: 1, as: 'h1' });
    await b.cmd({ cmd: 'sendRef', to: 'inbox', ref: 'h1' });
    expect(await a.cmd({ cmd: 'takeRef', as: 'h1' })).toEqual({ node: 'b', thread: 1 });
    expect(await a.cmd({ cmd: 'holdAndCancel', to: 'h1', afterMs: 100 })).toEqual(aborted(1, 1));
    // the asker on a's worker thread: its ask is forwarded by a's thread 0
    expect(await a.cmd({ cmd: 'relayCancel', to: 'h0', afterMs: 100 })).toEqual({ thread: 1, ...aborted(2, 0) });
  });
});

describe('remote watch with worker threads', () => {
  it('a node watches actors on the worker threads of another (stop → its reason, thread crash → thread-crash), and a worker watches actors on another node (stop, then node-down)', async () => {
    const a = await node({ name: 'a', threads: 1 });
    const b = await node({ name: 'b', threads: 1, seeds: [a.url] });
    for (const n of [a, b]) await membersUntil(n.http, allUp(['a', 'b']), 5000);
    // refs to two actors on b's worker thread reach a through a Sink on a
    await b.cmd({ cmd: 'spawn', node: 'a', as: 'inbox' });
    for (const w of ['w1', 'w2']) {
      await b.cmd({ cmd: 'holder', thread: 1, as: w });
      await b.cmd({ cmd: 'sendRef', to: 'inbox', ref: w });
      expect(await a.cmd({ cmd: 'takeRef', as: w })).toEqual({ node: 'b', thread: 1 });
      await a.cmd({ cmd: 'watch', to: w });
    }
    await a.cmd({ cmd: 'send', to: 'w1', msg: { type: 'stop' } });
    await a.waitResult((v) => v.terminated === 'w1', 5000);
    await a.cmd({ cmd: 'send', to: 'w2', msg: { type: 'exit-thread' } });
    await a.waitResult((v) => v.terminated === 'w2', 5000);
    expect(a.results().filter((r) => r.value.terminated !== undefined).map((r) => r.value)).toEqual([
      { terminated: 'w1', reason: 'normal' },
      { terminated: 'w2', reason: 'thread-crash' },
    ]);

    // a worker of a watches two actors on b's main thread: one stops, then b dies
    await a.cmd({ cmd: 'holder', node: 'b', as: 'h1' });
    await a.cmd({ cmd: 'holder', node: 'b', as: 'h2' });
    expect(await a.cmd({ cmd: 'workerWatch', to: 'h1' })).toEqual({ thread: 1 });
    await a.cmd({ cmd: 'workerWatch', to: 'h2' });
    await a.cmd({ cmd: 'send', to: 'h1', msg: { type: 'stop' } });
    const seen = async (n: number) => {
      for (let i = 0; i < 100; i++) {
        const r = await a.cmd<{ seen: unknown[] }>({ cmd: 'workerWatchReport' });
        if (r.seen.length >= n) return r;
        await new Promise((res) => setTimeout(res, 50));
      }
      throw new Error(`fewer than ${n} terminated seen by the worker`);
    };
    expect(await seen(1)).toEqual({ thread: 1, seen: [{ node: 'b', thread: 0, reason: 'normal' }] });
    b.proc.child.kill('SIGKILL');
    expect(await seen(2)).toEqual({
      thread: 1,
      seen: [
        { node: 'b', thread: 0, reason: 'normal' },
        { node: 'b', thread: 0, reason: 'node-down' },
      ],
    });
  });
});

describe('failure', () => {
  it('SIGKILL: the others mark the node unreachable within 2 s, a remote watcher gets node-down, and a supervised child runs again on a live node', async () => {
    const a = await node({ name: 'a' });
    const b = await node({ name: 'b', seeds: [a.url] });
    const c = await node({ name: 'c', seeds: [a.url] });
    for (const n of [a, b, c]) await membersUntil(n.http, allUp(['a', 'b', 'c']), 5000);
    await a.cmd({ cmd: 'spawn', node: 'b', as: 'onB' });
    await a.cmd({ cmd: 'watch', to: 'onB' });
    await a.cmd({ cmd: 'supervise', node: 'b' });
    expect(await a.cmd({ cmd: 'child' })).toEqual({ running: true, node: 'b', reply: { pong: 7, node: 'b' } });

    const killedAt = performance.now();
    b.proc.child.kill('SIGKILL');
    for (const n of [a, c]) {
      const at = await n.waitResult((v) => v.member === 'b' && v.state === 'unreachable', 2000);
      expect(at - killedAt).toBeLessThan(2000);
    }
    await a.waitResult((v) => v.terminated === 'onB' && v.reason === 'node-down', 5000);
    const deadline = performance.now() + 5000;
    let child: any;
    do {
      child = await a.cmd({ cmd: 'child' });
      if (child.running && child.node === 'c') break;
      await new Promise((r) => setTimeout(r, 100));
    } while (performance.now() < deadline);
    expect(child).toEqual({ running: true, node: 'c', reply: { pong: 7, node: 'c' } });
  });

  it('SIGSTOP shorter than the acceptable pause raises nothing; longer → unreachable, then up again after SIGCONT', async () => {
    const a = await node({ name: 'a' });
    const b = await node({ name: 'b', seeds: [a.url] });
    await membersUntil(a.http, allUp(['a', 'b']), 5000);
    await new Promise((r) => setTimeout(r, 1000)); // a few heartbeat intervals for the detector
    b.proc.child.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 500));
    b.proc.child.kill('SIGCONT');
    await new Promise((r) => setTimeout(r, 1000));
    expect(a.results().filter((r) => r.value.member === 'b' && r.value.state === 'unreachable')).toEqual([]);

    b.proc.child.kill('SIGSTOP');
    const stoppedAt = performance.now();
    try {
      const at = await a.waitResult((v) => v.member === 'b' && v.state === 'unreachable', 3000);
      expect(at - stoppedAt).toBeGreaterThan(1000); // not before the acceptable pause
    } finally {
      b.proc.child.kill('SIGCONT');
    }
    await a.waitResult((v) => v.member === 'b' && v.state === 'up' && a.results().some((r) => r.value.state === 'unreachable'), 3000);
    await membersUntil(a.http, allUp(['a', 'b']), 3000);
  });

  it('a node restarted under the same name rejoins with a new incarnation; a message for the old one is a dead letter', async () => {
    const a = await node({ name: 'a' });
    const b1 = await node({ name: 'b', seeds: [a.url] });
    await membersUntil(a.http, allUp(['a', 'b']), 5000);
    await a.cmd({ cmd: 'spawn', node: 'b', as: 'old' });
    const before = (await membersUntil(a.http, allUp(['a', 'b']), 1000)).find((m) => m.node === 'b')!.incarnation;
    b1.proc.child.kill('SIGKILL');
    await a.waitResult((v) => v.member === 'b' && v.state === 'down', 5000);
    await node({ name: 'b', seeds: [a.url] });
    const after = await membersUntil(a.http, (ms) => allUp(['a', 'b'])(ms) && ms.find((m) => m.node === 'b')!.incarnation !== before, 5000);
    expect(after.find((m) => m.node === 'b')!.incarnation).toBeGreaterThan(before);
    expect(await a.cmd({ cmd: 'tellDead', to: 'old' })).toEqual({ queued: false, deadLetter: ['node-down'] });
    expect(await a.cmd({ cmd: 'askError', to: 'old' })).toEqual({ code: 'ERR_NODE_DOWN' });
  });
});

describe('untrusted peers', () => {
  it('garbage, a frame before the handshake and a 2 MiB frame each get a raw client cut off within 1 s; /health stays healthy and members stay up', async () => {
    const a = await node({ name: 'a' });
    const b = await node({ name: 'b', seeds: [a.url] });
    await membersUntil(a.http, allUp(['a', 'b']), 5000);
    const attacks: [string, (ws: WebSocket) => void][] = [
      ['garbage text', (ws) => ws.send('garbage{')],
      ['a binary frame before the handshake', (ws) => ws.send(new Uint8Array([0x93, 0, 1, 2]))],
      ['a 2 MiB frame', (ws) => ws.send(new Uint8Array(2 * 1024 * 1024))],
    ];
    for (const [, attack] of attacks) {
      const ws = new WebSocket(a.url);
      ws.on('error', () => {});
      await new Promise((r) => ws.once('open', r));
      const sentAt = performance.now();
      const closed = new Promise<number>((r) => ws.once('close', () => r(performance.now() - sentAt)));
      attack(ws);
      expect(await closed).toBeLessThan(1000);
    }
    const health = (await (await fetch(`${a.http}/health`)).json()) as { status: string };
    expect(health.status).toBe('healthy');
    await membersUntil(a.http, allUp(['a', 'b']), 1000);
    expect(b.results().some((r) => r.value.member === 'a' && r.value.state !== 'up' && r.value.state !== 'joining')).toBe(false);
  });

  it('an authenticated peer sending a malformed frame loses its link only', async () => {
    const { connectNodeLink } = await import('../../dist/transport/node-link.js');
    const { RealClock } = await import('../../dist/index.js');
    const a = await node({ name: 'a' });
    const b = await node({ name: 'b', seeds: [a.url] });
    await membersUntil(a.http, allUp(['a', 'b']), 5000);
    const link = await connectNodeLink(a.url, { name: 'm', incarnation: 1, secret: new TextEncoder().encode('test-secret') }, { clock: new RealClock() });
    const closed = new Promise<number>((r) => link.onClose((code) => r(code)));
    link.send(new Uint8Array([0xc1, 0xc1, 0xc1])); // 0xc1 is never valid msgpack
    expect(await closed).toBe(1008);
    // well-formed msgpack, but a watch on behalf of a watcher that is not on the sending node
    const { Codec, BatchWriter } = await import('../../dist/transport/codec.js');
    const { ActorRef } = await import('../../dist/index.js');
    const other = await connectNodeLink(a.url, { name: 'm2', incarnation: 1, secret: new TextEncoder().encode('test-secret') }, { clock: new RealClock() });
    const closedToo = new Promise<number>((r) => other.onClose((code) => r(code)));
    const batch = new BatchWriter(1024);
    const foreign = new ActorRef({ node: 'elsewhere', incarnation: 1, thread: 1, id: 1 }, '/x', { deliver: () => false, asks: undefined as never, dead: true });
    new Codec().append(batch, [4, 1, 5, { k: 'watch', watcher: foreign }]);
    other.send(batch.take());
    expect(await closedToo).toBe(1008);
    await membersUntil(a.http, (ms) => ms.some((m) => m.node === 'b' && m.state === 'up'), 1000);
    const health = (await (await fetch(`${a.http}/health`)).json()) as { status: string };
    expect(health.status).toBe('healthy');
    void b;
  });
});
