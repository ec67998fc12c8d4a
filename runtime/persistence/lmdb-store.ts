/**
 * LmdbStore: the persistence contract (store.ts) in one LMDB environment on this node's disk —
 * the embedded default store. The only file that imports `lmdb`.
 *
 * Owns: the environment of one directory (`<dir>/data.mdb` and its `-lock` file), its format
 * marker, and the sub-databases `apiary.journals` (pid → epoch, highest seq as of the last
 * claim or delete, writer; with an LMDB version bumped by every claim), `apiary.events`
 * ([pid, seq] → encoded {event, at}; the last one's seq is the highest), `apiary.snapshots`,
 * `apiary.states`, `apiary.claims` (one record, its version bumped by every claim of any
 * journal: the fence of the fast path), `apiary.leases` (name → the grant and the last token).
 * Other users of the same environment (the task queue) open sub-databases of their own with
 * {@link LmdbStore.subDatabase}; their writes share the same group commits.
 * Does not own: what is stored (persistent actors, workflows, tasks).
 *
 * Group commit: the checked writes asked for in one turn run in one lmdb-js `transaction`
 * callback (one LMDB write transaction, committed once). A checked write verifies the fence
 * (epoch) and the gap (seq) and writes only when both pass — the check and the write are
 * atomic because LMDB has one writer at a time. It never throws after writing (lmdb-js does
 * not roll back a throwing callback): it returns an outcome, thrown afterwards. Fast path: a
 * writer's next append after its own claim or append needs no check of its own as long as
 * nobody claimed any journal since this store last looked — every claim bumps the version of
 * one record (`apiary.claims`). The fast appends of a turn are written together as one
 * conditional write (`ifVersion` on that record, checked by LMDB in the transaction, no JS
 * callback in it); if the condition fails (a claim anywhere — this store's own, another
 * thread's or process's), each of them takes the checked path, which says why if it refuses
 * (fenced, or a gap), and the store forgets every fast-path head it knew.
 * Durable: a write resolves after its transaction is committed and flushed to disk (default
 * lmdb-js sync settings, then `flushed`), so it survives a kill -9 and a power loss.
 * Bad files: before LMDB maps the file, its two meta pages are checked (magic, version, page
 * size, file long enough for the last page); a file that fails is refused `ERR_STORE_CORRUPT`
 * (LMDB itself would crash the process on a truncated or garbled file). Never starts empty.
 * Values are encoded at call time (transport/codec.ts: plain data only), so a caller that
 * mutates an object after the call changes nothing stored.
 * Threads: usable on any thread of the process; lmdb-js shares one environment per path
 * between the threads of a process, so a worker thread may open the same directory.
 * Time: none (callers pass `at`).
 */
import { closeSync, constants, copyFileSync, existsSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import { Codec } from '../../transport/codec.js';
import { leaseLost, type Claim, type DurableState, type LeaseGrant, type Snapshot, type Store, type StoreSpec, type StoredEvent } from './store.js';

/** An LMDB sub-database of the store's environment (lmdb-js `Database`), for {@link LmdbStore.subDatabase}. */
export type LmdbDatabase = Database;

/** The store's LMDB environment (lmdb-js `RootDatabase`), for {@link LmdbStore.lmdbRoot}. */
export type LmdbRoot = RootDatabase;

/** Named sub-databases one environment can hold: the store's 4 and room for other users. */
const MAX_DBS = 64;

/** The format this code writes and reads; another value in the marker is refused. */
export const LMDB_STORE_FORMAT = 2;

/** Name of the data file inside the store's directory. */
export const LMDB_DATA_FILE = 'data.mdb';

const FORMAT_KEY = 'apiary:format';
const OWN_PREFIX = 'apiary.';
/** The record of `apiary.claims` whose version every claim bumps. */
const CLAIMS_KEY = 'all';

interface JournalRecord {
  epoch: number;
  highest: number;
  writer: string;
}

interface StateRecord {
  epoch: number;
  version: number;
  writer: string;
  /** The saved state, encoded (absent: none or cleared). */
  current?: Uint8Array;
}

/**
 * The fast appends of one turn: written by one conditional write; `written` resolves true once
 * durable, false if the condition failed (nothing written), or rejects — for all of them.
 */
class FastAppends {
  readonly appends: { pid: string; first: number; encoded: Uint8Array[] }[] = [];
  readonly written: Promise<boolean>;
  settle!: (written: boolean) => void;
  fail!: (err: unknown) => void;
  constructor() {
    this.written = new Promise<boolean>((resolve, reject) => {
      this.settle = resolve;
      this.fail = reject;
    });
  }
}

/** What a write callback found: done, or why it wrote nothing. */
type Outcome = { ok: true; value?: unknown } | { ok: false; message: string };

const OK: Outcome = { ok: true };

export class LmdbStore implements Store {
  readonly spec: StoreSpec;
  private readonly root: RootDatabase;
  private readonly journals: Database;
  private readonly events: Database;
  private readonly snapshots: Database;
  private readonly states: Database;
  private readonly codec = new Codec();
  private closed = false;
  private readonly claims: Database;
  /** name → { grant (absent: released), lastToken }. */
  private readonly leases: Database;
  /**
   * Per journal this store wrote last: its epoch and highest seq as written. Valid while the
   * claims record is at version {@link claimsSeen}: then nobody (another incarnation's claim,
   * another thread's or process's store) can have fenced it, and {@link append} takes the fast
   * path; any other case takes the checked path.
   */
  private readonly heads = new Map<string, { epoch: number; highest: number }>();
  /** The claims record's version as of this store's last claim or check (undefined: not seen). */
  private claimsSeen: number | undefined;
  /** Writes waiting for the next transaction (see {@link write}). */
  private queued: { body: () => Outcome; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] | undefined;
  /** Fast-path appends waiting for this turn's conditional write (see {@link append}). */
  private fast: FastAppends | undefined;

  private constructor(dir: string, root: RootDatabase) {
    this.spec = { kind: 'lmdb', dir };
    this.root = root;
    this.journals = root.openDB(`${OWN_PREFIX}journals`, { useVersions: true });
    this.events = root.openDB(`${OWN_PREFIX}events`, { encoding: 'binary' });
    this.snapshots = root.openDB(`${OWN_PREFIX}snapshots`, { encoding: 'binary' });
    this.states = root.openDB(`${OWN_PREFIX}states`, {});
    this.claims = root.openDB(`${OWN_PREFIX}claims`, { useVersions: true });
    this.leases = root.openDB(`${OWN_PREFIX}leases`, {});
  }

  /**
   * Opens (creating it if needed) the store in `dir`. Rejects `ERR_STORE_CORRUPT` (`field`:
   * the data file) when the file is not an intact LMDB file or not an apiary store of a known
   * format, `ERR_STORE_UNAVAILABLE` when the directory cannot be made or opened.
   */
  static async open(dir: string): Promise<LmdbStore> {
    const file = join(dir, LMDB_DATA_FILE);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, `cannot create the store directory ${dir}: ${(err as Error).message}`, { field: dir, cause: err });
    }
    await checkDataFileSettled(file);
    let root: RootDatabase;
    try {
      root = open({ path: file, maxDbs: MAX_DBS });
    } catch (err) {
      throw openError(file, err);
    }
    try {
      await ensureFormat(root, file);
      return new LmdbStore(dir, root);
    } catch (err) {
      await root.close().catch(() => undefined);
      throw err instanceof ApiaryError ? err : openError(file, err);
    }
  }

  /**
   * Makes `dir` a store holding the copy `file` (from {@link backup}): checks the copy (an
   * intact LMDB file of a known apiary format, else `ERR_STORE_CORRUPT` naming it), then
   * copies it in. Refuses `ERR_INVALID_ARGUMENT` (`field`: the data file) when `dir` already
   * holds a store — stop its node and move it away first; a restore never overwrites data.
   */
  static async restore(file: string, dir: string): Promise<void> {
    if (!existsSync(file)) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `no backup file ${file}`, { field: file });
    await checkDataFileSettled(file);
    const target = join(dir, LMDB_DATA_FILE);
    if (existsSync(target)) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `${target} exists: restore into an empty directory (stop the node and move its store away first)`, { field: target });
    mkdirSync(dir, { recursive: true });
    const partial = `${target}.restoring`;
    try {
      copyFileSync(file, partial, constants.COPYFILE_EXCL);
      renameSync(partial, target);
      const check = await LmdbStore.open(dir);
      await check.close();
    } catch (err) {
      rmSync(partial, { force: true });
      if (err instanceof ApiaryError && err.code === ErrorCodes.STORE_CORRUPT) {
        rmSync(target, { force: true });
        rmSync(`${target}-lock`, { force: true });
        throw new ApiaryError(ErrorCodes.STORE_CORRUPT, `${file} is not a usable apiary store backup: ${err.message}`, { field: file, cause: err });
      }
      throw err instanceof ApiaryError ? err : new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, `cannot restore into ${dir}: ${(err as Error).message}`, { field: dir, cause: err });
    }
  }

  /**
   * A named sub-database of this store's environment for another part of the node (the task
   * queue): its writes join the same group commits and the same backups. Names starting with
   * `apiary.` are the store's own and are refused (`ERR_INVALID_ARGUMENT`). Valid until
   * {@link close}.
   */
  subDatabase(name: string, options: { encoding?: 'msgpack' | 'binary' | 'string' } = {}): LmdbDatabase {
    this.open();
    if (name.startsWith(OWN_PREFIX) || name === FORMAT_KEY) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `sub-database name ${name} is reserved for the store`, { field: 'name' });
    return this.root.openDB(name, options);
  }

  /**
   * The environment itself, for code that takes an lmdb-js root (the task queue's
   * `openLmdbTaskStore({ root })`): its writes join the same group commits. Prefer
   * {@link subDatabase}; never write the store's own `apiary.*` databases or close the root —
   * {@link close} does.
   */
  get lmdbRoot(): LmdbRoot {
    this.open();
    return this.root;
  }

  async claim(pid: string, writer: string): Promise<Claim> {
    const out = await this.write(() => {
      const { rec, version } = this.journalEntry(pid);
      const next: JournalRecord = { epoch: rec.epoch + 1, highest: this.highestOf(pid, rec), writer };
      this.journals.put(pid, next, version + 1);
      const claims = this.seeClaims() + 1;
      this.claims.put(CLAIMS_KEY, null, claims);
      this.claimsSeen = claims;
      this.heads.set(pid, { epoch: next.epoch, highest: next.highest });
      return { ok: true, value: { epoch: next.epoch, highestSeq: next.highest } };
    });
    return out as Claim;
  }

  /**
   * Fast path (the writer's own next append, and no claim anywhere since this store last
   * looked): the events join this turn's one conditional write, on the condition that the
   * claims record is still at the version this store saw — checked by LMDB in the write
   * transaction, no JS callback in it. A second append of the same id in the same turn chains
   * on the first. Otherwise, or when the condition fails, the checked path reads the journal
   * in the transaction and says why it refuses.
   */
  async append(pid: string, epoch: number, first: number, events: readonly unknown[], at: number): Promise<void> {
    this.open();
    const encoded = events.map((event) => this.codec.encodeRetained({ event, at }));
    const head = this.heads.get(pid);
    if (head !== undefined && head.epoch === epoch && head.highest === first - 1 && this.claimsSeen !== undefined) {
      head.highest += encoded.length;
      let fast = this.fast;
      if (fast === undefined) {
        fast = this.fast = new FastAppends();
        queueMicrotask(this.writeFast);
      }
      fast.appends.push({ pid, first, encoded });
      if (await fast.written) return;
    }
    await this.write(() => this.checkedAppend(pid, epoch, first, encoded));
  }

  /** Writes this turn's fast appends as one write conditional on the claims version; false: each takes the checked path. */
  private readonly writeFast = async (): Promise<void> => {
    const batch = this.fast!;
    this.fast = undefined;
    const appends = batch.appends;
    let written: boolean;
    try {
      written = await this.claims.ifVersion(CLAIMS_KEY, this.claimsSeen!, () => {
        for (const a of appends) for (let i = 0; i < a.encoded.length; i++) this.events.put([a.pid, a.first + i], a.encoded[i]);
      });
      if (written) await this.root.flushed;
    } catch (err) {
      for (const a of appends) this.heads.delete(a.pid);
      batch.fail(err instanceof ApiaryError ? err : this.failure(err));
      return;
    }
    if (!written) for (const a of appends) this.heads.delete(a.pid);
    batch.settle(written);
  };

  /** An append checked in the write transaction: the fence, then the gap; writes only when both pass. */
  private checkedAppend(pid: string, epoch: number, first: number, encoded: readonly Uint8Array[]): Outcome {
    this.seeClaims();
    const { rec } = this.journalEntry(pid);
    const refused = fenced(pid, rec.epoch, epoch);
    if (refused !== undefined) return refused;
    const highest = this.highestOf(pid, rec);
    if (first !== highest + 1) return { ok: false, message: `${pid}: append at seq ${first}, but the journal is at ${highest}` };
    for (let i = 0; i < encoded.length; i++) this.events.put([pid, first + i], encoded[i]);
    this.heads.set(pid, { epoch: rec.epoch, highest: highest + encoded.length });
    return OK;
  }

  /**
   * In a write transaction: the claims record's version now. A version this store has not
   * seen means a claim it did not make: every head it knew may be fenced, so it forgets them
   * (their writers take the checked path once).
   */
  private seeClaims(): number {
    const version = (this.claims.getEntry(CLAIMS_KEY) as { version?: number } | undefined)?.version ?? 0;
    if (version !== this.claimsSeen) {
      this.heads.clear();
      this.claimsSeen = version;
    }
    return version;
  }

  async read(pid: string, from: number, to = Number.MAX_SAFE_INTEGER): Promise<StoredEvent[]> {
    this.open();
    return this.reading(pid, () => {
      const out: StoredEvent[] = [];
      for (const { key, value } of this.events.getRange({ start: [pid, from], end: [pid, to, 0] })) {
        const seq = (key as [string, number])[1];
        const { event, at } = this.codec.decode(value as Uint8Array) as { event: unknown; at: number };
        out.push({ seq, event, at });
      }
      return out;
    });
  }

  async highestSeq(pid: string): Promise<number> {
    this.open();
    return this.reading(pid, () => this.highestOf(pid, this.journal(pid)));
  }

  async saveSnapshot(pid: string, epoch: number, snapshot: Snapshot): Promise<void> {
    this.open();
    const encoded = this.codec.encodeRetained(snapshot);
    await this.write(() => {
      const refused = fenced(pid, this.journal(pid).epoch, epoch);
      if (refused !== undefined) return refused;
      this.snapshots.put(pid, encoded);
      return OK;
    });
  }

  async loadSnapshot(pid: string): Promise<Snapshot | undefined> {
    this.open();
    return this.reading(pid, () => {
      const bytes = this.snapshots.get(pid) as Uint8Array | undefined;
      return bytes === undefined ? undefined : (this.codec.decode(bytes) as Snapshot);
    });
  }

  async deleteTo(pid: string, epoch: number, to: number): Promise<void> {
    this.open();
    await this.write(() => {
      const { rec, version } = this.journalEntry(pid);
      const refused = fenced(pid, rec.epoch, epoch);
      if (refused !== undefined) return refused;
      // the record keeps the highest seq once its events may be gone
      const highest = this.highestOf(pid, rec);
      if (highest !== rec.highest) this.journals.put(pid, { ...rec, highest }, version);
      for (const key of this.events.getKeys({ start: [pid, 0], end: [pid, to, 0] })) this.events.remove(key);
      return OK;
    });
  }

  async ids(prefix: string, limit: number): Promise<string[]> {
    this.open();
    return this.reading(prefix, () => {
      const all = new Set<string>();
      for (const key of this.journals.getKeys({ start: prefix })) {
        if (typeof key !== 'string' || !key.startsWith(prefix) || all.size >= limit) break;
        all.add(key);
      }
      let n = 0;
      for (const { key, value } of this.states.getRange({ start: prefix })) {
        if (typeof key !== 'string' || !key.startsWith(prefix) || n >= limit) break;
        if ((value as StateRecord).current !== undefined) {
          all.add(key);
          n++;
        }
      }
      return [...all].sort().slice(0, limit);
    });
  }

  async claimState(pid: string, writer: string): Promise<{ epoch: number; version: number }> {
    const out = await this.write(() => {
      const rec = this.state(pid);
      const next: StateRecord = { ...rec, epoch: rec.epoch + 1, writer };
      this.states.put(pid, next);
      return { ok: true, value: { epoch: next.epoch, version: next.version } };
    });
    return out as { epoch: number; version: number };
  }

  async loadState(pid: string): Promise<DurableState | undefined> {
    this.open();
    return this.reading(pid, () => {
      const cur = this.state(pid).current;
      return cur === undefined ? undefined : (this.codec.decode(cur) as DurableState);
    });
  }

  async saveState(pid: string, epoch: number, version: number, state: unknown, at: number): Promise<void> {
    this.open();
    const encoded = this.codec.encodeRetained({ version, state, at });
    await this.write(() => {
      const rec = this.state(pid);
      const refused = fenced(pid, rec.epoch, epoch);
      if (refused !== undefined) return refused;
      if (version !== rec.version + 1) return { ok: false, message: `${pid}: save as version ${version}, but the state is at ${rec.version}` };
      this.states.put(pid, { ...rec, version, current: encoded });
      return OK;
    });
  }

  async clearState(pid: string, epoch: number): Promise<void> {
    this.open();
    await this.write(() => {
      const rec = this.state(pid);
      const refused = fenced(pid, rec.epoch, epoch);
      if (refused !== undefined) return refused;
      const { current: _dropped, ...kept } = rec;
      this.states.put(pid, kept);
      return OK;
    });
  }

  async acquireLease(name: string, owner: string, ttlMs: number, now: number, data?: unknown): Promise<LeaseGrant | undefined> {
    this.open();
    const out = await this.write(() => {
      const rec = this.lease(name);
      const held = rec.grant !== undefined && rec.grant.expiresAt > now ? rec.grant : undefined;
      if (held !== undefined && held.owner !== owner) return { ok: true, value: undefined };
      const token = held?.token ?? rec.lastToken + 1;
      const grant: LeaseGrant = { name, owner, token, expiresAt: now + ttlMs, ...(data === undefined ? {} : { data }) };
      this.leases.put(name, { grant, lastToken: Math.max(rec.lastToken, token) });
      return { ok: true, value: grant };
    });
    return out as LeaseGrant | undefined;
  }

  async renewLease(name: string, owner: string, token: number, ttlMs: number, now: number, data?: unknown): Promise<LeaseGrant> {
    this.open();
    const out = await this.write(() => {
      const rec = this.lease(name);
      const g = rec.grant;
      if (g === undefined || g.owner !== owner || g.token !== token || g.expiresAt <= now) return { ok: true, value: undefined };
      const grant: LeaseGrant = { ...g, expiresAt: now + ttlMs, ...(data === undefined ? {} : { data }) };
      this.leases.put(name, { ...rec, grant });
      return { ok: true, value: grant };
    });
    if (out === undefined) throw leaseLost(name, owner);
    return out as LeaseGrant;
  }

  async releaseLease(name: string, owner: string, token: number): Promise<boolean> {
    this.open();
    const out = await this.write(() => {
      const rec = this.lease(name);
      if (rec.grant === undefined || rec.grant.owner !== owner || rec.grant.token !== token) return { ok: true, value: false };
      this.leases.put(name, { lastToken: rec.lastToken });
      return { ok: true, value: true };
    });
    return out as boolean;
  }

  async leaseHolder(name: string, now: number): Promise<LeaseGrant | undefined> {
    this.open();
    return this.reading(name, () => {
      const g = this.lease(name).grant;
      return g === undefined || g.expiresAt <= now ? undefined : g;
    });
  }

  /**
   * A consistent copy of the whole environment (every sub-database, the task queue's too) in
   * the file `path`, taken while this and other processes keep writing (an LMDB read
   * snapshot: every commit before it, none after). Written beside `path` and renamed, so
   * `path` is either absent or complete. Refuses `ERR_INVALID_ARGUMENT` when `path` exists;
   * rejects `ERR_STORE_UNAVAILABLE` when the copy cannot be written.
   */
  async backup(path: string): Promise<void> {
    this.open();
    if (existsSync(path)) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `${path} exists: back up into a new file`, { field: path });
    const partial = `${path}.partial-${process.pid}`;
    try {
      await this.root.flushed;
      await this.root.backup(partial, false);
      renameSync(partial, path);
    } catch (err) {
      rmSync(partial, { force: true });
      throw new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, `backup to ${path} failed: ${(err as Error).message}`, { field: path, cause: err });
    }
  }

  /** Waits for queued writes, closes the environment; later calls reject `ERR_STORE_UNAVAILABLE`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.root.committed;
    await this.root.flushed;
    await this.root.close();
  }

  private open(): void {
    if (this.closed) throw new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, `the store ${this.spec.kind === 'lmdb' ? this.spec.dir : ''} is closed`);
  }

  /** Runs `body` in the next group commit; resolves with its value once durable. */
  /**
   * Runs `body` in the next write transaction: every write asked for before the current
   * microtasks end shares one lmdb-js transaction callback (so 1,000 appends of a turn cost one
   * callback, not 1,000) and one durable commit. Resolves once that commit is flushed.
   */
  private write(body: () => Outcome): Promise<unknown> {
    this.open();
    return new Promise((resolve, reject) => {
      if (this.queued === undefined) {
        this.queued = [];
        queueMicrotask(this.commitQueued);
      }
      this.queued.push({ body, resolve, reject });
    });
  }

  private readonly commitQueued = async (): Promise<void> => {
    const batch = this.queued!;
    this.queued = undefined;
    let outcomes: Outcome[];
    try {
      outcomes = (await this.root.transaction(() => batch.map((w) => w.body()))) as Outcome[];
      await this.root.flushed;
    } catch (err) {
      const failure = err instanceof ApiaryError ? err : this.failure(err);
      for (const w of batch) w.reject(failure);
      return;
    }
    batch.forEach((w, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) w.resolve(outcome.value);
      else w.reject(new ApiaryError(ErrorCodes.PERSISTENCE_FENCED, outcome.message));
    });
  };

  /** A read; an LMDB or decoding failure is corrupt data, never an empty answer. */
  private reading<T>(what: string, body: () => T): T {
    try {
      return body();
    } catch (err) {
      if (err instanceof ApiaryError && err.code !== ErrorCodes.MALFORMED_FRAME) throw err;
      if (this.closed) throw new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, 'the store is closed', { cause: err });
      throw new ApiaryError(ErrorCodes.STORE_CORRUPT, `cannot read ${what} from ${this.file()}: ${(err as Error).message}`, { field: this.file(), cause: err });
    }
  }

  private failure(err: unknown): ApiaryError {
    const message = (err as Error).message ?? String(err);
    if (/MDB_(CORRUPTED|PAGE_NOTFOUND|INVALID|BAD_TXN|BAD_VALSIZE)/.test(message)) return new ApiaryError(ErrorCodes.STORE_CORRUPT, `${this.file()}: ${message}`, { field: this.file(), cause: err });
    return new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, `write to ${this.file()} failed: ${message}`, { field: this.file(), cause: err });
  }

  private file(): string {
    return this.spec.kind === 'lmdb' ? join(this.spec.dir, LMDB_DATA_FILE) : '';
  }

  private journal(pid: string): JournalRecord {
    return (this.journals.get(pid) as JournalRecord | undefined) ?? { epoch: 0, highest: 0, writer: '' };
  }

  /** The journal record of `pid` and its LMDB version (0: none yet). */
  private journalEntry(pid: string): { rec: JournalRecord; version: number } {
    const e = this.journals.getEntry(pid) as { value: JournalRecord; version?: number } | undefined;
    return e === undefined ? { rec: { epoch: 0, highest: 0, writer: '' }, version: 0 } : { rec: e.value, version: e.version ?? 0 };
  }

  /**
   * The highest seq of `pid`: its last event's, or the record's (written by a claim, and by
   * `deleteTo` before it removes events) when that is higher. Fast-path appends write events
   * only, so the events are the truth between claims.
   */
  private highestOf(pid: string, rec: JournalRecord): number {
    for (const key of this.events.getKeys({ start: [pid, Number.MAX_SAFE_INTEGER], end: [pid, 0], reverse: true, limit: 1 })) {
      const seq = (key as [string, number])[1];
      return Math.max(seq, rec.highest);
    }
    return rec.highest;
  }

  private lease(name: string): { grant?: LeaseGrant; lastToken: number } {
    return (this.leases.get(name) as { grant?: LeaseGrant; lastToken: number } | undefined) ?? { lastToken: 0 };
  }

  private state(pid: string): StateRecord {
    return (this.states.get(pid) as StateRecord | undefined) ?? { epoch: 0, version: 0, writer: '' };
  }
}

function fenced(pid: string, current: number, epoch: number): Outcome | undefined {
  return epoch === current ? undefined : { ok: false, message: `${pid}: epoch ${epoch} was fenced off by epoch ${current} (a newer writer)` };
}

function openError(file: string, err: unknown): ApiaryError {
  const message = (err as Error).message ?? String(err);
  if (/MDB_(INVALID|VERSION_MISMATCH|CORRUPTED|PAGE_NOTFOUND)/.test(message)) return new ApiaryError(ErrorCodes.STORE_CORRUPT, `${file} is not a readable LMDB file (${message}); refusing to start on it — restore a backup or move it away`, { field: file, cause: err });
  return new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, `cannot open the store ${file}: ${message}`, { field: file, cause: err });
}

function corrupt(file: string, why: string): ApiaryError {
  return new ApiaryError(ErrorCodes.STORE_CORRUPT, `${file} ${why}; refusing to start on it (it would open as an empty or broken store) — restore a backup or move it away`, { field: file });
}

const MDB_MAGIC = 0xbeefc0de;
const P_META = 0x08;

/**
 * Checks the data file's two meta pages before LMDB maps it (a truncated or garbled file
 * makes LMDB fault the whole process — SIGSEGV/SIGBUS — instead of returning an error): both
 * meta pages intact (P_META flag, magic, version, the page size, roots within the file's
 * pages), and the file long enough for the last page either refers to. A missing or empty
 * file is a new store. (Layout: lmdb-js's LMDB, page header 0x18 bytes, then MDB_meta.)
 */
function checkDataFile(file: string): void {
  if (!existsSync(file)) return;
  let size: number;
  let head: Buffer;
  try {
    size = statSync(file).size;
    const fd = openSync(file, 'r');
    try {
      head = Buffer.alloc(Math.min(size, 2 * 65536));
      readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, `cannot read ${file}: ${(err as Error).message}`, { field: file, cause: err });
  }
  if (size === 0) return; // created, never written: LMDB initialises it
  const pageSize = head.length >= 0x34 ? head.readUInt32LE(0x30) : 0;
  const validPage = pageSize >= 512 && pageSize <= 65536 && (pageSize & (pageSize - 1)) === 0;
  if (!validPage || !metaIntact(head, 0, pageSize)) throw corrupt(file, 'is not an LMDB data file (its first meta page is missing or garbled)');
  if (size < 2 * pageSize) throw corrupt(file, `is truncated (${size} bytes, less than its two meta pages)`);
  if (!metaIntact(head, pageSize, pageSize)) throw corrupt(file, 'has a garbled second meta page');
  const last = (offset: number): bigint => head.readBigUInt64LE(offset + 0x90);
  const needed = (last(0) > last(pageSize) ? last(0) : last(pageSize)) + 1n;
  if (BigInt(size) < needed * BigInt(pageSize)) throw corrupt(file, `is truncated (${size} bytes, but its pages need ${needed * BigInt(pageSize)})`);
}

/**
 * {@link checkDataFile}, asked up to three times 20 ms apart before a refusal stands: another
 * process (the running node, when `apiary backup` or `doctor` opens its store) may be
 * rewriting a meta page at the instant it is read.
 */
async function checkDataFileSettled(file: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      checkDataFile(file);
      return;
    } catch (err) {
      if (attempt >= 3 || !(err instanceof ApiaryError) || err.code !== ErrorCodes.STORE_CORRUPT) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

const NO_PAGE = 0xffffffffffffffffn;

/** One meta page at `offset`: flag, magic, version, page size, and roots not past its last page. */
function metaIntact(head: Buffer, offset: number, pageSize: number): boolean {
  if (offset + 0xa0 > head.length) return false;
  if ((head.readUInt16LE(offset + 0x12) & P_META) === 0) return false;
  if (head.readUInt32LE(offset + 0x18) !== MDB_MAGIC) return false;
  const version = head.readUInt32LE(offset + 0x1c);
  if (version !== 1 && version !== 2) return false;
  if (head.readUInt32LE(offset + 0x30) !== pageSize) return false;
  const lastPage = head.readBigUInt64LE(offset + 0x90);
  if (lastPage < 1n) return false;
  for (const root of [head.readBigUInt64LE(offset + 0x58), head.readBigUInt64LE(offset + 0x88)]) {
    if (root !== NO_PAGE && (root < 2n || root > lastPage)) return false;
  }
  return true;
}

/** Writes the format marker into a new environment; refuses a foreign or unknown one. */
async function ensureFormat(root: RootDatabase, file: string): Promise<void> {
  const marker = root.get(FORMAT_KEY) as { format?: unknown; version?: unknown } | undefined;
  if (marker === undefined) {
    let empty = true;
    for (const _key of root.getKeys({ limit: 1 })) empty = false;
    if (!empty) throw corrupt(file, 'holds an LMDB database that is not an apiary store (no format marker)');
    await root.put(FORMAT_KEY, { format: 'apiary-store', version: LMDB_STORE_FORMAT });
    await root.flushed;
    return;
  }
  if (marker.format !== 'apiary-store' || marker.version !== LMDB_STORE_FORMAT) {
    throw corrupt(file, `has store format ${JSON.stringify(marker)}, but this apiary reads format ${LMDB_STORE_FORMAT} only`);
  }
}
