/**
 * The persistence stores' contract: what persistent actors (event-sourced and durable-state)
 * and durable workflows need from a store, whatever holds it — LMDB files on this node (the
 * default), a Redis server shared by several nodes, or memory (unit tests only).
 *
 * Owns: the interfaces and their semantics; every backend (runtime/persistence/lmdb-store.ts,
 * redis-store.ts, memory-store.ts) passes the same conformance tests
 * (test/unit/persistence-store.test.ts runs them against each).
 * Does not own: how actors use it (runtime/persistence/persistent-actor.ts), tasks
 * (runtime/tasks/, which keep their own records in the same backend).
 *
 * Semantics every backend keeps:
 * - A promise that resolves means durable: after a kill -9 of the process (LMDB: a committed
 *   transaction; Redis: acknowledged by the server — its own fsync policy applies).
 * - Fencing: {@link EventJournal.claim} makes the caller the one writer of a persistence id
 *   and returns its epoch (strictly greater than any epoch given out before for that id). A
 *   write carrying an older epoch is refused `ERR_PERSISTENCE_FENCED` and writes nothing — so
 *   two incarnations of one actor (a restart elsewhere, a paused node come back) can never both
 *   append.
 * - Appends are atomic per call (all events or none) and gap-free: the first event's `seq` is
 *   exactly the highest stored `seq` + 1, else `ERR_PERSISTENCE_FENCED` as well (someone else
 *   wrote meanwhile).
 * - A store that cannot be reached rejects `ERR_STORE_UNAVAILABLE` (nothing written); data
 *   that cannot be read rejects `ERR_STORE_CORRUPT`. Never a silent empty result.
 * - Values are plain data (what msgpack carries: see assertPlainData); the store copies them.
 * - Leases ({@link LeaseStore}): one unexpired holder per name; every new holder's fencing
 *   token is greater than every token given out before for that name (kept across release).
 * Threads: a store is used on the thread that opened it; each worker thread of a node opens
 *   the node's store from its spec (runtime/threads/worker-host.ts; LMDB shares one
 *   environment between the threads of a process), and a persistent actor finds its thread's
 *   store through store-of.ts.
 */
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';

/** One stored event of a persistence id. `seq` starts at 1 and has no gaps. */
export interface StoredEvent {
  seq: number;
  event: unknown;
  /** Wall-clock ms when it was written (the clock of the writer). */
  at: number;
}

/** The latest snapshot of a persistence id: the state after event `seq`. */
export interface Snapshot {
  seq: number;
  state: unknown;
  at: number;
}

/** A durable state (Orleans-style grain state): the whole state object, versioned. */
export interface DurableState {
  /** 1 for the first save, +1 each save. */
  version: number;
  state: unknown;
  at: number;
}

/** What a claim returns: the epoch to write with, and where the id stands. */
export interface Claim {
  epoch: number;
  /** Highest stored event seq (0: none). */
  highestSeq: number;
}

/** Event journal with snapshots: the store of event-sourced actors and durable workflows. */
export interface EventJournal {
  /**
   * Becomes the one writer of `pid`: a new epoch, greater than every epoch given out before
   * for it (stored, so it survives restarts). `writer` says who (e.g. `n1#1795632412840/3`), for
   * diagnostics only.
   */
  claim(pid: string, writer: string): Promise<Claim>;
  /**
   * Appends `events` (seq `first`, `first + 1`, …) atomically under `epoch`. Rejects
   * `ERR_PERSISTENCE_FENCED` if a later epoch was claimed or `first` is not highestSeq + 1.
   * Concurrent appends of different ids (and calls within one event-loop turn) share a commit
   * (group commit): a backend must not commit once per call.
   */
  append(pid: string, epoch: number, first: number, events: readonly unknown[], at: number): Promise<void>;
  /** Events of `pid` with `from <= seq <= to` (to: the highest), in order. */
  read(pid: string, from: number, to?: number): Promise<StoredEvent[]>;
  highestSeq(pid: string): Promise<number>;
  /** Saves a snapshot under `epoch` (fenced like append); keeps only the latest. */
  saveSnapshot(pid: string, epoch: number, snapshot: Snapshot): Promise<void>;
  loadSnapshot(pid: string): Promise<Snapshot | undefined>;
  /** Deletes events with seq <= `to` (after a snapshot covers them); fenced like append. */
  deleteTo(pid: string, epoch: number, to: number): Promise<void>;
  /** Persistence ids with a prefix, in order (for listings: workflow runs, inspectors). */
  ids(prefix: string, limit: number): Promise<string[]>;
}

/** Durable-state store: one state object per id, saved whole. */
export interface StateStore {
  /** Like {@link EventJournal.claim}: a new epoch for `pid`, and its current version. */
  claimState(pid: string, writer: string): Promise<{ epoch: number; version: number }>;
  loadState(pid: string): Promise<DurableState | undefined>;
  /**
   * Saves `state` as `version` (exactly the stored version + 1) under `epoch`; rejects
   * `ERR_PERSISTENCE_FENCED` otherwise. Group-committed like append.
   */
  saveState(pid: string, epoch: number, version: number, state: unknown, at: number): Promise<void>;
  /** Removes the state (the actor cleared it); fenced. */
  clearState(pid: string, epoch: number): Promise<void>;
}

/** A lease on a name: who holds it, until when, and its fencing token. */
export interface LeaseGrant {
  name: string;
  owner: string;
  /**
   * Fencing token: strictly greater for every new holder of the name than for any before
   * (kept while the same holder renews) — pass it to what the holder writes, so a holder that
   * lost the lease without knowing can be refused.
   */
  token: number;
  /** When it runs out, ms on the store's clock (Redis: the server's; LMDB, memory: the `now` callers pass). */
  expiresAt: number;
  /** What the holder published with it (plain data; e.g. where it runs a singleton), or undefined. */
  data?: unknown;
}

/**
 * Leases (Akka's Lease, a lock with a time limit): one owner of a name at a time, for a
 * time-to-live it must renew. Expiry is judged on the store's clock — Redis: the server's (so
 * nodes on several machines agree), LMDB and memory: the `now` the caller passes (one
 * machine's wall clock). A holder must treat its lease as lost before `expiresAt` by its own
 * reckoning (runtime/persistence/lease.ts does).
 */
export interface LeaseStore {
  /**
   * Takes `name` for `owner` for `ttlMs` when nobody holds it or the holder's lease ran out
   * (a new token), or renews it when `owner` holds it (same token). Resolves undefined when
   * another owner holds it. `data` is published with it (plain data).
   */
  acquireLease(name: string, owner: string, ttlMs: number, now: number, data?: unknown): Promise<LeaseGrant | undefined>;
  /** Extends `owner`'s lease `token` by `ttlMs` from now; rejects `ERR_LEASE_LOST` when it ran out or is another's. */
  renewLease(name: string, owner: string, token: number, ttlMs: number, now: number, data?: unknown): Promise<LeaseGrant>;
  /** Gives the lease up if `owner` still holds it with `token`; false otherwise. */
  releaseLease(name: string, owner: string, token: number): Promise<boolean>;
  /** The holder whose lease has not run out, or undefined. */
  leaseHolder(name: string, now: number): Promise<LeaseGrant | undefined>;
}

/** The refusal of a renew (`ERR_LEASE_LOST`), the same from every backend. */
export function leaseLost(name: string, owner: string): ApiaryError {
  return new ApiaryError(ErrorCodes.LEASE_LOST, `lease ${name}: ${owner} no longer holds it (it ran out, or another owner took it)`, { field: name });
}

/** Which backend: `lmdb` (a directory on this node), `redis` (a server URL), `memory` (tests). */
export type StoreSpec = { kind: 'lmdb'; dir: string } | { kind: 'redis'; url: string; prefix?: string } | { kind: 'memory' };

/** An opened store: the persistence interfaces, its spec, and how to close it. */
export interface Store extends EventJournal, StateStore, LeaseStore {
  readonly spec: StoreSpec;
  /** Flushes and closes; later calls reject `ERR_STORE_UNAVAILABLE`. */
  close(): Promise<void>;
}
