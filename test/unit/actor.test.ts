/**
 * The actor itself: one message at a time (async `receive` included), lifecycle hooks in
 * order, and actors made only by spawn.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Actor, ErrorCodes, ApiaryError, type ExitReason } from '../../index.js';
import { codeOf, deferred, testSystem, type Deferred, type TestSystem } from './support.js';

let t: TestSystem;
afterEach(async () => t?.dispose());

interface OverlapProbe {
  active: number;
  max: number;
  gates: Deferred<void>[];
  order: number[];
}

/** Each message waits on a gate the test opens; notes how many run at once. */
class Overlap extends Actor<number, number> {
  constructor(private readonly probe: OverlapProbe) {
    super();
  }

  async receive(n: number): Promise<number> {
    const p = this.probe;
    p.active++;
    p.max = Math.max(p.max, p.active);
    p.order.push(n);
    const gate = deferred();
    p.gates.push(gate);
    await gate.promise;
    p.active--;
    return n * 2;
  }
}

const newProbe = (): OverlapProbe => ({ active: 0, max: 0, gates: [], order: [] });

describe('one message at a time', () => {
  it('an async receive does not start the next message before its promise settles', async () => {
    t = testSystem();
    const probe = newProbe();
    const ref = await t.system.spawn(Overlap, { args: probe });
    const answers = [1, 2, 3, 4, 5].map((n) => ref.ask(n));

    for (let i = 0; i < 5; i++) {
      await t.settle();
      expect(probe.gates).toHaveLength(i + 1); // exactly one message in flight
      probe.gates[i]!.resolve();
    }
    await t.settle();

    expect(probe.max).toBe(1);
    expect(probe.order).toEqual([1, 2, 3, 4, 5]);
    await expect(Promise.all(answers)).resolves.toEqual([2, 4, 6, 8, 10]);
  });

  it('holds with many messages whose receives settle in a burst', async () => {
    t = testSystem();
    let active = 0;
    let max = 0;
    let handled = 0;
    class Hop extends Actor<number> {
      async receive(): Promise<void> {
        active++;
        max = Math.max(max, active);
        for (let i = 0; i < 3; i++) await Promise.resolve();
        active--;
        handled++;
      }
    }
    const ref = await t.system.spawn(Hop);
    for (let i = 0; i < 2000; i++) ref.tell(i);
    await t.settle();
    expect(handled).toBe(2000);
    expect(max).toBe(1);
  });

  it('two actors with async receives do run concurrently with each other', async () => {
    t = testSystem();
    const a = newProbe();
    const b = newProbe();
    const refA = await t.system.spawn(Overlap, { args: a });
    const refB = await t.system.spawn(Overlap, { args: b });
    refA.tell(1);
    refB.tell(1);
    await t.settle();
    expect([a.gates.length, b.gates.length]).toEqual([1, 1]);
    a.gates[0]!.resolve();
    b.gates[0]!.resolve();
  });
});

describe('lifecycle', () => {
  it('messages told while an async started hook runs wait for it, then run in order', async () => {
    t = testSystem();
    const log: string[] = [];
    const ready = deferred();
    class Slow extends Actor<string> {
      override async started(): Promise<void> {
        log.push('started:begin');
        await ready.promise;
        log.push('started:end');
      }
      receive(msg: string): void {
        log.push(msg);
      }
    }
    const spawning = t.system.spawn(Slow);
    await t.settle();
    expect(log).toEqual(['started:begin']);
    ready.resolve();
    const ref = await spawning;
    ref.tell('a');
    ref.tell('b');
    await t.settle();
    expect(log).toEqual(['started:begin', 'started:end', 'a', 'b']);
  });

  it.each<[string, 'stop-self' | 'throw' | 'system-stop', ExitReason | object]>([
    ['it stops itself', 'stop-self', 'normal'],
    ['its receive throws', 'throw', { error: { message: 'boom' } }],
    ['the system stops it', 'system-stop', 'shutdown'],
  ])('the stopping hook runs once, with the reason, when %s', async (_how, how, reason) => {
    t = testSystem();
    const calls: ExitReason[] = [];
    class Hooked extends Actor<string> {
      override stopping(r: ExitReason): void {
        calls.push(r);
      }
      receive(msg: string): void {
        if (msg === 'stop-self') this.context.stop();
        if (msg === 'throw') throw new Error('boom');
      }
    }
    const ref = await t.system.spawn(Hooked);
    if (how === 'system-stop') await t.system.stopActor(ref);
    else ref.tell(how);
    await t.settle();
    await t.system.watch(ref);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject(reason as object);
  });

  it('a killed actor gets no stopping hook (brutal kill)', async () => {
    t = testSystem();
    let stoppingCalls = 0;
    class Hooked extends Actor<string> {
      override stopping(): void {
        stoppingCalls++;
      }
      receive(): void {}
    }
    const ref = await t.system.spawn(Hooked);
    expect(t.system.kill(ref)).toBe(true);
    await t.settle();
    expect(await t.system.watch(ref)).toBe('killed');
    expect(stoppingCalls).toBe(0);
    expect(t.system.kill(ref)).toBe(false); // already dead
  });

  it('a started hook that throws makes spawn reject ERR_START_FAILED', async () => {
    t = testSystem();
    class Refuses extends Actor {
      override started(): void {
        throw new Error('nope');
      }
      receive(): void {}
    }
    expect(await codeOf(t.system.spawn(Refuses))).toBe(ErrorCodes.START_FAILED);
  });

  it('an actor cannot be made with new, only by spawn (ERR_NOT_IN_SPAWN)', () => {
    class Plain extends Actor {
      receive(): void {}
    }
    let caught: unknown;
    try {
      new Plain();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ApiaryError);
    expect((caught as ApiaryError).code).toBe(ErrorCodes.NOT_IN_SPAWN);
  });

  it('self is the ref spawn returned, and the path follows the name', async () => {
    t = testSystem();
    class Self extends Actor<string, string> {
      receive(): string {
        return `${this.self.path} ${this.context.path}`;
      }
    }
    const ref = await t.system.spawn(Self, { name: 'me' });
    await expect(ref.ask('who')).resolves.toBe('/me /me');
  });

  it('an unnamed actor is at /$<id>, and an unnamed context child at <parent path>/$<id>, from ref and context alike', async () => {
    t = testSystem();
    class Leaf extends Actor<string, string> {
      receive(): string {
        return this.context.path;
      }
    }
    class Parent extends Actor<string, string[]> {
      async receive(): Promise<string[]> {
        const child = await this.context.spawn(Leaf);
        return [child.path, await child.ask('path?'), `${this.context.path}/$${child.id}`];
      }
    }
    const top = await t.system.spawn(Parent);
    expect(top.path).toBe(`/$${top.id}`);
    const [fromRef, fromContext, expected] = await top.ask('spawn');
    expect(fromRef).toBe(expected);
    expect(fromContext).toBe(expected);
    expect(expected!.startsWith(`/$${top.id}/$`)).toBe(true);
  });

  it('an actor reaches its cell only through its context: finalize, kill, exitNow and the instance are not there', async () => {
    t = testSystem();
    class Probe extends Actor<string, string[]> {
      receive(): string[] {
        const ctx = this.context as unknown as Record<string, unknown>;
        const reachable = ['finalize', 'kill', 'exitNow', 'terminate', 'instance', 'host', 'mailbox'].filter((k) => ctx[k] !== undefined);
        return [...reachable, this.context.self === this.self ? 'self' : 'other'];
      }
    }
    const ref = await t.system.spawn(Probe);
    await expect(ref.ask('probe')).resolves.toEqual(['self']);
  });
});
