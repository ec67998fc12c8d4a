/**
 * Local names: a registered name points at one live actor; a taken name is refused with
 * ERR_NAME_TAKEN; the name is released when the actor dies for good.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Actor, ApiaryError, ErrorCodes, type ActorRef, type ActorSystem } from '../../index.js';
import { Registry } from '../../actors/registry.js';
import { codeOf, testSystem, type TestSystem } from './support.js';

type Msg = { type: 'lookup'; name: string } | { type: 'stop' } | { type: 'throw' } | { type: 'ping' };

class Named extends Actor<Msg, string | undefined> {
  receive(msg: Msg): string | undefined {
    switch (msg.type) {
      case 'lookup':
        return this.context.lookup(msg.name)?.path;
      case 'stop':
        this.context.stop();
        return undefined;
      case 'throw':
        throw new Error('boom');
      case 'ping':
        return 'pong';
    }
  }
}

let t: TestSystem;
afterEach(async () => t?.dispose());

function thrownCode(fn: () => unknown): string {
  try {
    fn();
    return 'no error';
  } catch (err) {
    expect(err).toBeInstanceOf(ApiaryError);
    return (err as ApiaryError).code;
  }
}

describe('names', () => {
  it('an actor spawned with a name is found by that name, from the system and from another actor', async () => {
    t = testSystem();
    const ref = await t.system.spawn(Named, { name: 'alice' });
    const other = await t.system.spawn(Named);
    expect(t.system.lookup('alice')?.equals(ref)).toBe(true);
    expect(t.system.lookup('bob')).toBeUndefined();
    await expect(other.ask({ type: 'lookup', name: 'alice' })).resolves.toBe('/alice');
    await expect(other.ask({ type: 'lookup', name: 'bob' })).resolves.toBeUndefined();
  });

  it('spawning under a taken name rejects ERR_NAME_TAKEN and leaves the first actor registered', async () => {
    t = testSystem();
    const first = await t.system.spawn(Named, { name: 'alice' });
    expect(await codeOf(t.system.spawn(Named, { name: 'alice' }))).toBe(ErrorCodes.NAME_TAKEN);
    expect(t.system.lookup('alice')?.equals(first)).toBe(true);
    await expect(first.ask({ type: 'ping' })).resolves.toBe('pong');
  });

  it('register gives an existing actor a name, and refuses a taken one with ERR_NAME_TAKEN', async () => {
    t = testSystem();
    const a = await t.system.spawn(Named, { name: 'alice' });
    const b = await t.system.spawn(Named);
    t.system.register('bob', b);
    expect(t.system.lookup('bob')?.equals(b)).toBe(true);
    expect(thrownCode(() => t.system.register('alice', b))).toBe(ErrorCodes.NAME_TAKEN);
    expect(thrownCode(() => t.system.register('bob', a))).toBe(ErrorCodes.NAME_TAKEN);
    expect(t.system.lookup('alice')?.equals(a)).toBe(true);
  });

  it('a context-spawned child can be named and looked up', async () => {
    t = testSystem();
    class Parent extends Actor<string, string> {
      async receive(name: string): Promise<string> {
        const child = await this.context.spawn(Named, { name });
        return child.path;
      }
    }
    const parent = await t.system.spawn(Parent, { name: 'parent' });
    await expect(parent.ask('kid')).resolves.toBe('/parent/kid');
    expect(t.system.lookup('kid')?.path).toBe('/parent/kid');
  });

  it.each<[string, (ref: ActorRef<Msg, string | undefined>, system: ActorSystem) => unknown]>([
    ['stops itself', (ref) => ref.tell({ type: 'stop' })],
    ['is stopped by the system', (ref, system) => system.stopActor(ref)],
    ['is killed', (ref, system) => system.kill(ref)],
    ['fails', (ref) => ref.tell({ type: 'throw' })],
  ])('the name is released when the actor %s, and can be taken again', async (_how, end) => {
    t = testSystem();
    const first = await t.system.spawn(Named, { name: 'alice' });
    const ended = t.system.watch(first);
    end(first, t.system);
    await t.settle();
    await ended;

    expect(t.system.lookup('alice')).toBeUndefined();
    const second = await t.system.spawn(Named, { name: 'alice' });
    expect(t.system.lookup('alice')?.equals(second)).toBe(true);
    expect(second.equals(first)).toBe(false);
  });

  it('a name given with register is released when the actor dies', async () => {
    t = testSystem();
    const ref = await t.system.spawn(Named);
    t.system.register('late', ref);
    await t.system.stopActor(ref);
    expect(t.system.lookup('late')).toBeUndefined();
    const other = await t.system.spawn(Named);
    t.system.register('late', other);
    expect(t.system.lookup('late')?.equals(other)).toBe(true);
  });

  it('the name of an actor that failed to start is released', async () => {
    t = testSystem();
    class Broken extends Actor {
      override started(): void {
        throw new Error('no');
      }
      receive(): void {}
    }
    expect(await codeOf(t.system.spawn(Broken, { name: 'broken' }))).toBe(ErrorCodes.START_FAILED);
    expect(t.system.lookup('broken')).toBeUndefined();
    await expect(t.system.spawn(Named, { name: 'broken' })).resolves.toBeDefined();
  });

  it('an empty name is refused with ERR_INVALID_ARGUMENT and leaves no actor behind', async () => {
    t = testSystem();
    const before = t.system.host.size;
    expect(await codeOf(t.system.spawn(Named, { name: '' }))).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(t.system.host.size).toBe(before);
  });
});

describe('where an actor runs', () => {
  it('refuses another node (with or without a worker thread there) and lookupOn outside a cluster (ERR_INVALID_ARGUMENT, field node)', async () => {
    t = testSystem();
    const before = t.system.host.size;
    await expect(t.system.spawn(Named, { node: 'elsewhere', thread: 1 })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT, field: 'node' });
    await expect(t.system.spawn(Named, { node: 'elsewhere', thread: 'auto' })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT, field: 'node' });
    expect(t.system.host.size).toBe(before);
    await expect(t.system.lookupOn('elsewhere', 'x')).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT, field: 'node' });
    await expect(t.system.lookupOn('elsewhere', '')).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT, field: 'name' });
  });
});

describe('Registry', () => {
  it('unregister with a ref removes the name only while it still points at that ref', () => {
    const r = new Registry<object>();
    const a = {};
    const b = {};
    r.register('x', a);
    expect(r.unregister('x', b)).toBe(false);
    expect(r.lookup('x')).toBe(a);
    expect(r.unregister('x', a)).toBe(true);
    expect(r.lookup('x')).toBeUndefined();
    r.register('x', b);
    expect(r.names()).toEqual(['x']);
  });

  it('sees the names of other threads after its own, refuses them, and reports its own changes', () => {
    const changes: [string, object, boolean][] = [];
    const far = {};
    const r = new Registry<object>({ elsewhere: (name) => (name === 'far' ? far : undefined), changed: (name, ref, live) => changes.push([name, ref, live]) });
    expect(r.lookup('far')).toBe(far);
    expect(r.own('far')).toBeUndefined();
    expect(thrownCode(() => r.register('far', {}))).toBe(ErrorCodes.NAME_TAKEN);
    const near = {};
    r.register('near', near);
    expect(r.unregister('near', {})).toBe(false);
    r.unregister('near', near);
    expect(changes).toEqual([
      ['near', near, true],
      ['near', near, false],
    ]);
  });
});

