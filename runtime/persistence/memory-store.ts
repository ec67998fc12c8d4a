/**
 * MemoryStore: the persistence contract (store.ts) held in this thread's memory — for unit
 * tests only (nothing survives the process; worker threads each have their own). Values are
 * copied in and out (structuredClone), as a real store would, so a caller that mutates what it
 * saved or loaded changes nothing stored.
 * Owns: its maps. Threads: the thread that made it. Time: none (callers pass `at`).
 */
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import { leaseLost, type Claim, type DurableState, type LeaseGrant, type Snapshot, type Store, type StoreSpec, type StoredEvent } from './store.js';

interface Stream {
  epoch: number;
  events: StoredEvent[];
  /** Seq of the first element of `events` minus 1 (events up to it were deleted). */
  deleted: number;
  snapshot?: Snapshot;
}

interface StateEntry {
  epoch: number;
  current?: DurableState;
  version: number;
}

export class MemoryStore implements Store {
  readonly spec: StoreSpec = { kind: 'memory' };
  private readonly streams = new Map<string, Stream>();
  private readonly states = new Map<string, StateEntry>();
  private readonly leases = new Map<string, { grant: LeaseGrant | undefined; lastToken: number }>();
  private closed = false;

  async acquireLease(name: string, owner: string, ttlMs: number, now: number, data?: unknown): Promise<LeaseGrant | undefined> {
    this.open();
    const entry = this.leases.get(name) ?? { grant: undefined, lastToken: 0 };
    this.leases.set(name, entry);
    const held = entry.grant !== undefined && entry.grant.expiresAt > now ? entry.grant : undefined;
    if (held !== undefined && held.owner !== owner) return undefined;
    const token = held?.token ?? ++entry.lastToken;
    entry.grant = { name, owner, token, expiresAt: now + ttlMs, ...(data === undefined ? {} : { data: structuredClone(data) }) };
    return structuredClone(entry.grant);
  }

  async renewLease(name: string, owner: string, token: number, ttlMs: number, now: number, data?: unknown): Promise<LeaseGrant> {
    this.open();
    const g = this.leases.get(name)?.grant;
    if (g === undefined || g.owner !== owner || g.token !== token || g.expiresAt <= now) throw leaseLost(name, owner);
    g.expiresAt = now + ttlMs;
    if (data !== undefined) g.data = structuredClone(data);
    return structuredClone(g);
  }

  async releaseLease(name: string, owner: string, token: number): Promise<boolean> {
    this.open();
    const entry = this.leases.get(name);
    if (entry?.grant === undefined || entry.grant.owner !== owner || entry.grant.token !== token) return false;
    entry.grant = undefined;
    return true;
  }

  async leaseHolder(name: string, now: number): Promise<LeaseGrant | undefined> {
    this.open();
    const g = this.leases.get(name)?.grant;
    return g === undefined || g.expiresAt <= now ? undefined : structuredClone(g);
  }

  async claim(pid: string, _writer: string): Promise<Claim> {
    this.open();
    const s = this.stream(pid);
    s.epoch++;
    return { epoch: s.epoch, highestSeq: highest(s) };
  }

  async append(pid: string, epoch: number, first: number, events: readonly unknown[], at: number): Promise<void> {
    this.open();
    const s = this.stream(pid);
    fence(pid, s.epoch, epoch);
    if (first !== highest(s) + 1) throw new ApiaryError(ErrorCodes.PERSISTENCE_FENCED, `${pid}: append at seq ${first}, but the journal is at ${highest(s)}`);
    const copies = events.map((event, i) => ({ seq: first + i, event: structuredClone(event), at }));
    s.events.push(...copies);
  }

  async read(pid: string, from: number, to = Number.MAX_SAFE_INTEGER): Promise<StoredEvent[]> {
    this.open();
    const s = this.streams.get(pid);
    if (s === undefined) return [];
    return s.events.filter((e) => e.seq >= from && e.seq <= to).map((e) => structuredClone(e));
  }

  async highestSeq(pid: string): Promise<number> {
    this.open();
    const s = this.streams.get(pid);
    return s === undefined ? 0 : highest(s);
  }

  async saveSnapshot(pid: string, epoch: number, snapshot: Snapshot): Promise<void> {
    this.open();
    const s = this.stream(pid);
    fence(pid, s.epoch, epoch);
    s.snapshot = structuredClone(snapshot);
  }

  async loadSnapshot(pid: string): Promise<Snapshot | undefined> {
    this.open();
    const snap = this.streams.get(pid)?.snapshot;
    return snap === undefined ? undefined : structuredClone(snap);
  }

  async deleteTo(pid: string, epoch: number, to: number): Promise<void> {
    this.open();
    const s = this.stream(pid);
    fence(pid, s.epoch, epoch);
    const keepFrom = s.events.findIndex((e) => e.seq > to);
    const removed = keepFrom === -1 ? s.events.length : keepFrom;
    if (removed === 0) return;
    s.deleted = s.events[removed - 1]!.seq;
    s.events.splice(0, removed);
  }

  async ids(prefix: string, limit: number): Promise<string[]> {
    this.open();
    const all = new Set<string>();
    for (const k of this.streams.keys()) if (k.startsWith(prefix)) all.add(k);
    for (const [k, v] of this.states) if (k.startsWith(prefix) && v.current !== undefined) all.add(k);
    return [...all].sort().slice(0, limit);
  }

  async claimState(pid: string, _writer: string): Promise<{ epoch: number; version: number }> {
    this.open();
    const e = this.state(pid);
    e.epoch++;
    return { epoch: e.epoch, version: e.version };
  }

  async loadState(pid: string): Promise<DurableState | undefined> {
    this.open();
    const cur = this.states.get(pid)?.current;
    return cur === undefined ? undefined : structuredClone(cur);
  }

  async saveState(pid: string, epoch: number, version: number, state: unknown, at: number): Promise<void> {
    this.open();
    const e = this.state(pid);
    fence(pid, e.epoch, epoch);
    if (version !== e.version + 1) throw new ApiaryError(ErrorCodes.PERSISTENCE_FENCED, `${pid}: save as version ${version}, but the state is at ${e.version}`);
    e.current = { version, state: structuredClone(state), at };
    e.version = version;
  }

  async clearState(pid: string, epoch: number): Promise<void> {
    this.open();
    const e = this.state(pid);
    fence(pid, e.epoch, epoch);
    e.current = undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private open(): void {
    if (this.closed) throw new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, 'the memory store is closed');
  }

  private stream(pid: string): Stream {
    let s = this.streams.get(pid);
    if (s === undefined) this.streams.set(pid, (s = { epoch: 0, events: [], deleted: 0 }));
    return s;
  }

  private state(pid: string): StateEntry {
    let e = this.states.get(pid);
    if (e === undefined) this.states.set(pid, (e = { epoch: 0, version: 0 }));
    return e;
  }
}

function highest(s: Stream): number {
  return s.events.length === 0 ? s.deleted : s.events[s.events.length - 1]!.seq;
}

function fence(pid: string, current: number, epoch: number): void {
  if (epoch !== current) throw new ApiaryError(ErrorCodes.PERSISTENCE_FENCED, `${pid}: epoch ${epoch} was fenced off by epoch ${current} (a newer writer)`);
}
