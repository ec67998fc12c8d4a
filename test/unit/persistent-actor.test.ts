/**
 * Persistent actors on a MemoryStore, real actors in a real (manual-clock) system: state that
 * survives failures and respawns, snapshots, replies only after durability, fencing of a
 * stale incarnation, persist failures, durable state.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ApiaryError, DurableStateActor, ErrorCodes, MemoryStore, PersistentActor, stopIfFenced, supervisor, type ActorRef, type Store, type StoredEvent } from '../../index.js';
import { codeOf, deferred, ofType, outcomeOf, testSystem, type Deferred, type TestSystem } from './support.js';

let t: TestSystem;
afterEach(async () => t?.dispose());

type Msg = { type: 'deposit'; amount: number } | { type: 'deposit-many'; amounts: number[] } | { type: 'deposit-unawaited'; amount: number } | { type: 'get' } | { type: 'boom' };

interface AccountArgs {
  id: string;
  store?: Store;
  snapshotEvery?: number;
  deleteEventsOnSnapshot?: boolean;
  /** Notes each message as it starts (to see what ran when). */
  started?: string[];
}

/** A bank account: its balance is the sum of its deposit events. */
class Account extends PersistentActor<Msg, number, number, number> {
  readonly persistenceId: string;

  constructor(private readonly a: AccountArgs) {
    super(a);
    this.persistenceId = `account-${a.id}`;
    if (a.snapshotEvery !== undefined) this.snapshotEvery = a.snapshotEvery;
    if (a.deleteEventsOnSnapshot !== undefined) this.deleteEventsOnSnapshot = a.deleteEventsOnSnapshot;
  }

  initialState(): number {
    return 0;
  }

  applyEvent(balance: number, amount: number): number {
    if (amount === 13) throw new Error('unlucky'); // a bug in an event handler
    return balance + amount;
  }

  async receive(m: Msg): Promise<number> {
    this.a.started?.push(m.type);
    switch (m.type) {
      case 'deposit':
        await this.persist(m.amount);
        return this.state;
      case 'deposit-many':
        await this.persistAll(m.amounts);
        return this.state;
      case 'deposit-unawaited':
        void this.persist(m.amount).catch(() => {});
        return -1;
      case 'get':
        return this.state;
      case 'boom':
        throw new Error('boom');
    }
  }
}

/** A MemoryStore whose appends wait for a gate the test opens, or fail when told. */
class ControlledStore extends MemoryStore {
  gates: Deferred<void>[] = [];
  hold = false;
  failNext: Error | undefined;
  reads: StoredEvent[][] = [];

  override async append(pid: string, epoch: number, first: number, events: readonly unknown[], at: number): Promise<void> {
    if (this.failNext !== undefined) {
      const err = this.failNext;
      this.failNext = undefined;
      throw err;
    }
    if (this.hold) {
      const gate = deferred();
      this.gates.push(gate);
      await gate.promise;
    }
    return super.append(pid, epoch, first, events, at);
  }

  override async read(pid: string, from: number, to?: number): Promise<StoredEvent[]> {
    const out = await super.read(pid, from, to);
    this.reads.push(out);
    return out;
  }
}

/** A MemoryStore whose snapshot saves and state saves fail while told to. */
class FlakyStore extends MemoryStore {
  failSnapshots = false;
  failNextSave: Error | undefined;
  override async saveSnapshot(...a: Parameters<MemoryStore['saveSnapshot']>): Promise<void> {
    if (this.failSnapshots) throw new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, 'snapshots unavailable');
    return super.saveSnapshot(...a);
  }
  override async saveState(...a: Parameters<MemoryStore['saveState']>): Promise<void> {
    const err = this.failNextSave;
    this.failNextSave = undefined;
    if (err !== undefined) throw err;
    return super.saveState(...a);
  }
}

const deposit = (ref: ActorRef<Msg, number>, amount: number) => ref.ask({ type: 'deposit', amount });

describe('an event-sourced actor', () => {
  it('keeps its state through a thrown error: the supervisor restarts it and it replays its events', async () => {
    const store = new MemoryStore();
    t = testSystem();
    await t.system.spawn(supervisor({ intensity: 5, children: [{ id: 'acct', name: 'acct', actor: Account, args: { id: 'a', store } }] }));
    const ref = t.system.lookup<Msg, number>('acct')!;
    await deposit(ref, 5);
    await deposit(ref, 7);

    expect(await codeOf(ref.ask({ type: 'boom' }))).toBe(ErrorCodes.ACTOR_FAILED);
    await t.settle();

    expect(ofType(t.events, 'restarted')).toHaveLength(1);
    expect(await ref.ask({ type: 'get' })).toBe(12);
    expect(await deposit(ref, 1)).toBe(13);
  });

  it('recovers its state when stopped and spawned again with the same persistence id', async () => {
    const store = new MemoryStore();
    t = testSystem();
    const first = await t.system.spawn(Account, { args: { id: 'b', store } });
    await first.ask({ type: 'deposit-many', amounts: [1, 2, 3] });
    await t.system.stopActor(first);

    const second = await t.system.spawn(Account, { args: { id: 'b', store } });
    expect(await second.ask({ type: 'get' })).toBe(6);
    expect(await store.highestSeq('account-b')).toBe(3);
  });

  it('takes a snapshot every N events and recovers from the snapshot plus the events after it', async () => {
    const store = new ControlledStore();
    t = testSystem();
    const first = await t.system.spawn(Account, { args: { id: 'c', store, snapshotEvery: 3 } });
    for (let i = 1; i <= 7; i++) await deposit(first, i);
    await t.settle();

    const snap = await store.loadSnapshot('account-c');
    expect(snap).toMatchObject({ seq: 6, state: 21 });
    await t.system.stopActor(first);

    store.reads = [];
    const second = await t.system.spawn(Account, { args: { id: 'c', store, snapshotEvery: 3 } });
    expect(await second.ask({ type: 'get' })).toBe(28);
    // the replay read only the tail after the snapshot
    expect(store.reads.flat().map((e) => e.seq)).toEqual([7]);
    // every durable write is a journal-write event and counted
    const writes = ofType(t.events, 'journal-write').filter((e) => e.persistenceId === 'account-c');
    expect(writes.map((e) => [e.kind, e.from, e.to])).toEqual([
      ['events', 1, 1],
      ['events', 2, 2],
      ['events', 3, 3],
      ['snapshot', undefined, 3],
      ['events', 4, 4],
      ['events', 5, 5],
      ['events', 6, 6],
      ['snapshot', undefined, 6],
      ['events', 7, 7],
    ]);
    expect(writes.every((e) => e.path === first.path)).toBe(true);
    expect(Object.fromEntries(t.system.journalWriteCounts())).toEqual({ events: 7, snapshot: 2 });
  });

  it('with deleteEventsOnSnapshot drops the events a snapshot covers and still recovers', async () => {
    const store = new MemoryStore();
    t = testSystem();
    const args = { id: 'm', store, snapshotEvery: 3, deleteEventsOnSnapshot: true };
    const first = await t.system.spawn(Account, { args });
    for (let i = 1; i <= 7; i++) await deposit(first, i);
    await t.settle();
    expect((await store.read('account-m', 1)).map((e) => e.seq)).toEqual([7]);
    await t.system.stopActor(first);

    const second = await t.system.spawn(Account, { args });
    expect(await second.ask({ type: 'get' })).toBe(28);
    expect(await deposit(second, 2)).toBe(30);
  });

  it('sends the reply only once the event is durable, and starts the next message only then', async () => {
    const store = new ControlledStore();
    const started: string[] = [];
    t = testSystem();
    const ref = await t.system.spawn(Account, { args: { id: 'd', store, started } });
    store.hold = true;

    const reply = deposit(ref, 10);
    const next = ref.ask({ type: 'get' });
    await t.settle();
    expect(store.gates).toHaveLength(1);
    expect((await outcomeOf(reply, t.system)).state).toBe('pending');
    expect(started).toEqual(['deposit']); // `get` waits in the mailbox
    expect(await store.highestSeq('account-d')).toBe(0);

    store.gates[0]!.resolve();
    expect(await reply).toBe(10);
    expect(await next).toBe(10);
    expect(started).toEqual(['deposit', 'get']);
  });

  it('holds the reply for a persist the actor did not await', async () => {
    const store = new ControlledStore();
    t = testSystem();
    const ref = await t.system.spawn(Account, { args: { id: 'e', store } });
    store.hold = true;

    const reply = ref.ask({ type: 'deposit-unawaited', amount: 4 });
    await t.settle();
    expect((await outcomeOf(reply, t.system)).state).toBe('pending');

    store.gates[0]!.resolve();
    expect(await reply).toBe(-1);
    expect(await ref.ask({ type: 'get' })).toBe(4);
  });

  it('refuses the appends of a stale incarnation: it fails ERR_PERSISTENCE_FENCED and stops, the new one has every event', async () => {
    const store = new MemoryStore();
    t = testSystem();
    const stale = await t.system.spawn(Account, { args: { id: 'f', store } });
    await deposit(stale, 1);
    const fresh = await t.system.spawn(Account, { args: { id: 'f', store } });
    await deposit(fresh, 2);

    const refused = deposit(stale, 100);
    await expect(refused).rejects.toMatchObject({ code: ErrorCodes.ACTOR_FAILED, cause: { code: ErrorCodes.PERSISTENCE_FENCED } });
    await t.settle();

    const stopped = ofType(t.events, 'stopped').filter((e) => e.path === stale.path);
    expect(stopped).toHaveLength(1);
    expect(stopped[0]!.reason).toMatchObject({ error: { code: ErrorCodes.PERSISTENCE_FENCED } });
    expect(await fresh.ask({ type: 'get' })).toBe(3);
    expect((await store.read('account-f', 1)).map((e) => e.event)).toEqual([1, 2]);
  });

  it('under a supervisor with stopIfFenced, a fenced incarnation is stopped, not restarted', async () => {
    const store = new MemoryStore();
    t = testSystem();
    await t.system.spawn(supervisor({ decider: stopIfFenced, children: [{ id: 'acct', name: 'g', actor: Account, args: { id: 'g', store }, restart: 'transient' }] }));
    const stale = t.system.lookup<Msg, number>('g')!;
    const fresh = await t.system.spawn(Account, { args: { id: 'g', store } });
    await deposit(fresh, 2);

    expect(await codeOf(deposit(stale, 1))).toBe(ErrorCodes.ACTOR_FAILED);
    await t.settle();

    expect(ofType(t.events, 'restarted')).toHaveLength(0);
    expect(await codeOf(stale.ask({ type: 'get' }))).toBe(ErrorCodes.ACTOR_STOPPED);
    expect(await deposit(fresh, 3)).toBe(5);
  });

  it('fails ERR_PERSIST_FAILED when a write fails; the supervisor restarts it and the lost event is not in its state', async () => {
    const store = new ControlledStore();
    t = testSystem();
    await t.system.spawn(supervisor({ intensity: 5, children: [{ id: 'acct', name: 'h', actor: Account, args: { id: 'h', store } }] }));
    const ref = t.system.lookup<Msg, number>('h')!;
    await deposit(ref, 5);
    store.failNext = new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, 'disk gone');

    await expect(deposit(ref, 50)).rejects.toMatchObject({ code: ErrorCodes.ACTOR_FAILED, cause: { code: ErrorCodes.PERSIST_FAILED } });
    await t.settle();

    const failed = ofType(t.events, 'failed');
    expect(failed[0]!.reason).toMatchObject({ error: { code: ErrorCodes.PERSIST_FAILED, cause: { code: ErrorCodes.STORE_UNAVAILABLE } } });
    expect(ofType(t.events, 'restarted')).toHaveLength(1);
    expect(await ref.ask({ type: 'get' })).toBe(5);
    expect(await deposit(ref, 1)).toBe(6);
  });

  it('goes on when a snapshot cannot be saved: the events stay the truth', async () => {
    const store = new FlakyStore();
    store.failSnapshots = true;
    t = testSystem();
    const first = await t.system.spawn(Account, { args: { id: 'l', store, snapshotEvery: 2 } });
    for (let i = 1; i <= 5; i++) await deposit(first, i);
    expect(ofType(t.events, 'failed')).toHaveLength(0);
    expect(await store.loadSnapshot('account-l')).toBeUndefined();
    await t.system.stopActor(first);

    const second = await t.system.spawn(Account, { args: { id: 'l', store, snapshotEvery: 2 } });
    expect(await second.ask({ type: 'get' })).toBe(15);
  });

  it('fails with the error of an applyEvent that throws (the event is durable, the reply never sent)', async () => {
    const store = new MemoryStore();
    t = testSystem();
    const ref = await t.system.spawn(Account, { args: { id: 'n', store } });
    await expect(deposit(ref, 13)).rejects.toMatchObject({ code: ErrorCodes.ACTOR_FAILED, cause: { message: 'unlucky' } });
    await t.settle();
    expect(ofType(t.events, 'stopped').filter((e) => e.path === ref.path)).toHaveLength(1);
    expect((await store.read('account-n', 1)).map((e) => e.event)).toEqual([13]);
  });

  it('uses the system store when its spawn args give none', async () => {
    const store = new MemoryStore();
    t = testSystem({ store });
    const ref = await t.system.spawn(Account, { args: { id: 'i' } });
    await deposit(ref, 9);
    expect((await store.read('account-i', 1)).map((e) => e.event)).toEqual([9]);
  });

  it('fails to start ERR_STORE_UNAVAILABLE when there is no store at all', async () => {
    t = testSystem();
    const spawned = t.system.spawn(Account, { args: { id: 'j' } });
    await expect(spawned).rejects.toMatchObject({ code: ErrorCodes.START_FAILED, cause: { code: ErrorCodes.STORE_UNAVAILABLE } });
  });

  it('appends the events persisted while a write is in flight together, in order, with no gap', async () => {
    const store = new ControlledStore();
    t = testSystem();
    const ref = await t.system.spawn(Account, { args: { id: 'k', store } });
    store.hold = true;
    const first = ref.ask({ type: 'deposit-unawaited', amount: 1 });
    await t.settle();
    store.hold = false;
    store.gates[0]!.resolve();
    await first;
    const many = ref.ask({ type: 'deposit-many', amounts: [2, 3, 4] });
    expect(await many).toBe(10);
    expect((await store.read('account-k', 1)).map((e) => [e.seq, e.event])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
    ]);
  });
});

type ProfileMsg = { type: 'rename'; name: string } | { type: 'get' } | { type: 'forget' } | { type: 'version' };
interface Profile {
  name: string;
  renames: number;
}

/** An agent that keeps one profile object. */
class ProfileAgent extends DurableStateActor<ProfileMsg, unknown, Profile> {
  readonly persistenceId: string;
  constructor(args: { id: string; store?: Store }) {
    super(args);
    this.persistenceId = `profile-${args.id}`;
  }
  initialState(): Profile {
    return { name: 'anonymous', renames: 0 };
  }
  async receive(m: ProfileMsg): Promise<unknown> {
    switch (m.type) {
      case 'rename':
        await this.setState({ name: m.name, renames: this.state.renames + 1 });
        return this.state;
      case 'get':
        return this.state;
      case 'forget':
        await this.clearState();
        return this.state;
      case 'version':
        return this.version;
    }
  }
}

describe('a durable state actor', () => {
  it('saves its state whole, versioned, loads it when spawned again and clears it', async () => {
    const store = new MemoryStore();
    t = testSystem();
    const first = await t.system.spawn(ProfileAgent, { args: { id: 'p', store } });
    expect(await first.ask({ type: 'get' })).toEqual({ name: 'anonymous', renames: 0 });
    await first.ask({ type: 'rename', name: 'Ada' });
    expect(await first.ask({ type: 'rename', name: 'Grace' })).toEqual({ name: 'Grace', renames: 2 });
    await t.system.stopActor(first);

    const second = await t.system.spawn(ProfileAgent, { args: { id: 'p', store } });
    expect(await second.ask({ type: 'get' })).toEqual({ name: 'Grace', renames: 2 });
    expect(await second.ask({ type: 'version' })).toBe(2);
    expect(await second.ask({ type: 'forget' })).toEqual({ name: 'anonymous', renames: 0 });
    await t.system.stopActor(second);

    const third = await t.system.spawn(ProfileAgent, { args: { id: 'p', store } });
    expect(await third.ask({ type: 'get' })).toEqual({ name: 'anonymous', renames: 0 });
    expect(await store.loadState('profile-p')).toBeUndefined();
    expect(ofType(t.events, 'journal-write').map((e) => [e.kind, e.to])).toEqual([
      ['state', 1],
      ['state', 2],
      ['state-cleared', undefined],
    ]);
  });

  it('fails ERR_PERSIST_FAILED when a save fails; restarted by its supervisor, it has the last saved state', async () => {
    const store = new FlakyStore();
    t = testSystem();
    await t.system.spawn(supervisor({ intensity: 5, children: [{ id: 'profile', name: 'prof', actor: ProfileAgent, args: { id: 's', store } }] }));
    const ref = t.system.lookup<ProfileMsg, unknown>('prof')!;
    await ref.ask({ type: 'rename', name: 'kept' });
    store.failNextSave = new Error('disk full');

    await expect(ref.ask({ type: 'rename', name: 'lost' })).rejects.toMatchObject({ code: ErrorCodes.ACTOR_FAILED, cause: { code: ErrorCodes.PERSIST_FAILED } });
    await t.settle();

    expect(ofType(t.events, 'restarted')).toHaveLength(1);
    expect(await ref.ask({ type: 'get' })).toEqual({ name: 'kept', renames: 1 });
    expect(await ref.ask({ type: 'version' })).toBe(1);
  });

  it('refuses the saves of a stale incarnation with ERR_PERSISTENCE_FENCED', async () => {
    const store = new MemoryStore();
    t = testSystem();
    const stale = await t.system.spawn(ProfileAgent, { args: { id: 'q', store } });
    const fresh = await t.system.spawn(ProfileAgent, { args: { id: 'q', store } });
    await fresh.ask({ type: 'rename', name: 'new' });

    await expect(stale.ask({ type: 'rename', name: 'old' })).rejects.toMatchObject({ cause: { code: ErrorCodes.PERSISTENCE_FENCED } });
    expect((await store.loadState('profile-q'))?.state).toEqual({ name: 'new', renames: 1 });
  });
});
