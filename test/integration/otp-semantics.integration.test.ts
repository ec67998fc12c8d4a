/**
 * OTP semantics that cross threads and nodes, with real worker threads (and two clustered
 * systems on 127.0.0.1): an ask's failure keeps its cause wherever the actor runs; names are
 * the node's, seen from every thread; a watch that arrives after its actor died hears the
 * real reason. Runs the compiled package (dist/).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ActorSystem, type ActorRef } from '../../dist/index.js';
import { Failing, Finder } from '../fixtures/otp-agents.mjs';
import { Troublemaker } from '../fixtures/agents.mjs';
import { eventually } from './threads-support.js';

const secret = new TextEncoder().encode('otp semantics across nodes');
const systems: ActorSystem[] = [];
afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.stop()));
});

async function started(options: ConstructorParameters<typeof ActorSystem>[0]): Promise<ActorSystem> {
  const s = new ActorSystem(options);
  systems.push(s);
  await s.ready();
  return s;
}

/** Two nodes, each with one worker thread, up in each other's eyes. */
async function twoNodes(): Promise<[ActorSystem, ActorSystem]> {
  const a = await started({ name: 'a', threads: 1, cluster: { listen: { host: '127.0.0.1', port: 0 }, secret } });
  const b = await started({ name: 'b', threads: 1, cluster: { listen: { host: '127.0.0.1', port: 0 }, seeds: [a.cluster!.url], secret } });
  const up = (s: ActorSystem, node: string) => s.members().some((m) => m.node === node && m.state === 'up');
  await eventually(() => up(a, 'b') && up(b, 'a'));
  return [a, b];
}

async function failureOf(ref: ActorRef<any, any>): Promise<any> {
  return ref.ask({ type: 'fail' }).then(
    () => {
      throw new Error('the ask should have failed');
    },
    (err: unknown) => err,
  );
}

function expectCause(err: any): void {
  expect(err).toMatchObject({ code: 'ERR_ACTOR_FAILED' });
  expect(err.cause).toBeInstanceOf(Error);
  expect(err.cause).toMatchObject({ name: 'TypeError', message: 'the agent failed', code: 'E_AGENT' });
  expect(err.cause.stack).toContain('otp-agents.mjs'); // thrown where the actor ran
  expect(err.cause.cause).toMatchObject({ name: 'RangeError', message: 'the root of it' });
}

describe('ERR_ACTOR_FAILED keeps its cause', () => {
  it('from an actor on a worker thread, as from one on the asker’s thread: name, message, code, stack and its own cause', async () => {
    const system = await started({ threads: 1 });
    const here = await system.spawn(Failing);
    const there = await system.spawn(Failing, { thread: 1 });
    expect(there.thread).toBe(1);
    expectCause(await failureOf(here));
    expectCause(await failureOf(there));
  });

  it('from an actor on another node, on its main thread or a worker thread (also when the asker is a worker)', async () => {
    const [a] = await twoNodes();
    const onMain = await a.spawn(Failing, { node: 'b' });
    const onWorker = await a.spawn(Failing, { node: 'b', thread: 1 });
    expect([onMain.node, onMain.thread, onWorker.node, onWorker.thread]).toEqual(['b', 0, 'b', 1]);
    // asked from a's worker thread: the answer comes through a's main thread, which relays it
    const asker = await a.spawn(Finder, { thread: 1 });
    const carried = {
      code: 'ERR_ACTOR_FAILED',
      cause: { name: 'TypeError', message: 'the agent failed', code: 'E_AGENT', fromAgents: true, cause: { name: 'RangeError', message: 'the root of it', fromAgents: true } },
    };
    expect(await asker.ask({ type: 'ask-fail', target: onMain })).toEqual(carried);
    expect(await asker.ask({ type: 'ask-fail', target: onWorker })).toEqual(carried);
    // and from a's main thread
    expectCause(await failureOf(await a.spawn(Failing, { node: 'b' })));
    expectCause(await failureOf(await a.spawn(Failing, { node: 'b', thread: 1 })));
  });
});

describe('names are the node’s, seen from every thread', () => {
  it('context.lookup on a worker sees names registered on thread 0 and on other workers; system.lookup sees a worker’s; released names go everywhere', async () => {
    const system = await started({ threads: 2 });
    const main = await system.spawn(Finder, { name: 'on-main' });
    const w1 = await system.spawn(Finder, { thread: 1, name: 'on-w1' });
    const w2 = await system.spawn(Finder, { thread: 2 });

    expect(await w2.ask({ type: 'lookup', name: 'on-main' })).toEqual({ path: '/on-main', thread: 0 });
    expect(await w2.ask({ type: 'lookup', name: 'on-w1' })).toEqual({ path: '/on-w1', thread: 1 });
    expect(await w1.ask({ type: 'lookup', name: 'on-w1' })).toEqual({ path: '/on-w1', thread: 1 });
    expect(await w2.ask({ type: 'lookup', name: 'nobody' })).toBeNull();
    expect(await w2.ask({ type: 'ask-by-name', name: 'on-main' })).toEqual({ pong: 0 });

    // a name registered on worker 1 (a named child spawned there): thread 0 hears of it, and passes it on
    expect(await w1.ask({ type: 'spawn-named', name: 'made-on-w1' })).toEqual({ path: '/on-w1/made-on-w1', thread: 1 });
    const made = await eventually(() => system.lookup('made-on-w1'));
    expect([made.path, made.thread]).toEqual(['/on-w1/made-on-w1', 1]);
    await eventually(async () => (await w2.ask({ type: 'lookup', name: 'made-on-w1' })) !== null);
    expect(await w2.ask({ type: 'ask-by-name', name: 'made-on-w1' })).toEqual({ pong: 1 });
    await expect(system.spawn(Finder, { name: 'made-on-w1' })).rejects.toMatchObject({ code: 'ERR_NAME_TAKEN' });

    // released when its actor dies, on every thread
    made.tell({ type: 'stop' });
    await eventually(() => system.lookup('made-on-w1') === undefined);
    await eventually(async () => (await w2.ask({ type: 'lookup', name: 'made-on-w1' })) === null);
    await system.stopActor(main);
    expect(await w2.ask({ type: 'lookup', name: 'on-main' })).toBeNull(); // told before this ask, on the same link
  });

  it('a replaced worker thread learns the node’s names before its first actor runs', async () => {
    const system = await started({ threads: 1, spareThreads: 0 });
    await system.spawn(Finder, { name: 'on-main' });
    const doomed = await system.spawn(Troublemaker, { thread: 1 });
    doomed.tell({ type: 'exit', code: 3 });
    const fresh = await eventually(async () => {
      try {
        return await system.spawn(Finder, { thread: 1 });
      } catch {
        return undefined; // the thread is being replaced
      }
    });
    expect(await fresh.ask({ type: 'lookup', name: 'on-main' })).toEqual({ path: '/on-main', thread: 0 });
  });
});

describe('a watch that arrives after its actor died', () => {
  it('hears the reason the actor died with, on a worker thread of this node', async () => {
    const system = await started({ threads: 1 });
    const byMessage = await system.spawn(Finder, { thread: 1 });
    byMessage.tell({ type: 'stop' });
    expect(await system.watch(byMessage)).toBe('normal');
    expect(await system.watch(byMessage)).toBe('normal'); // a second watch reaches the thread after the death

    const stopped = await system.spawn(Finder, { thread: 1 });
    await system.stopActor(stopped);
    expect(await system.watch(stopped)).toBe('shutdown');
  });

  it('hears the reason the actor died with, on another node', async () => {
    const [a] = await twoNodes();
    const remote = await a.spawn(Finder, { node: 'b' });
    remote.tell({ type: 'stop' });
    expect(await a.watch(remote)).toBe('normal');
    expect(await a.watch(remote)).toBe('normal');
  });
});
