/**
 * RedisStore: the persistence contract (store.ts) on a Redis server that several nodes share —
 * the multi-machine store. The only file that imports `ioredis`.
 *
 * Owns: one connection to the server, the keys under its prefix (default `apiary:`), and the
 * Lua scripts that make each write atomic: a fenced write reads the epoch (and the seq or
 * version) and writes in one script, so no other client can come between. Keys per id:
 * `<p>j:<pid>` (hash: epoch, highest, deleted, writer), `<p>e:<pid>` (list: one encoded
 * {event, at} per seq; the head is seq `deleted + 1`), `<p>s:<pid>` (snapshot),
 * `<p>st:<pid>` (hash: epoch, version, writer), `<p>sv:<pid>` (the state); sorted sets
 * `<p>ids:j` / `<p>ids:s` list the ids for {@link RedisStore.ids}; `<p>format` marks the format.
 * Other users (the task queue) get the prefix with {@link RedisStore.key} and their own
 * connection with {@link RedisStore.connection}.
 * Does not own: the server's durability (its `appendonly`/`save` policy decides what an
 * acknowledged write survives), what is stored.
 *
 * Group commit: commands issued in one event-loop turn go out as one pipeline (ioredis
 * auto-pipelining); each script is still atomic on its own.
 * Failures: unreachable at open → `ERR_STORE_UNAVAILABLE` after the connect timeout, no retry;
 * lost later → every call rejects `ERR_STORE_UNAVAILABLE` at once (no offline queue; a write in
 * flight when the link dropped is in doubt: a retry is refused FENCED if it did land), while
 * the connection reconnects in the background; calls work again once it is back.
 * Threads: one connection per store object; a worker thread opens a store of its own.
 * Time: connect and command timeouts (STORE_DEFAULTS); no clock otherwise (callers pass `at`).
 */
import { Redis } from 'ioredis';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import { Codec } from '../../transport/codec.js';
import { leaseLost, type Claim, type DurableState, type LeaseGrant, type Snapshot, type Store, type StoreSpec, type StoredEvent } from './store.js';
import { STORE_DEFAULTS } from './store-defaults.js';

/** A Redis connection (ioredis `Redis`), for {@link RedisStore.connection}. */
export type RedisConnection = Redis;

/** The key layout this code writes and reads; another value in `<p>format` is refused. */
export const REDIS_STORE_FORMAT = 1;

/** Options of {@link RedisStore.open}; defaults in STORE_DEFAULTS. */
export interface RedisStoreOptions {
  prefix?: string;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
}

const CHECK_EPOCH = `
local epoch = tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0')
if epoch ~= tonumber(ARGV[1]) then return {1, epoch} end
`;

/** The server's clock in ms, for lease expiry (nodes on several machines agree on it). */
const LEASE_NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const SCRIPTS = {
  // KEYS: j, ids:j  ARGV: writer, pid
  apiaryClaim: {
    keys: 2,
    lua: `local e = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
redis.call('HSET', KEYS[1], 'writer', ARGV[1])
redis.call('ZADD', KEYS[2], 0, ARGV[2])
return {e, tonumber(redis.call('HGET', KEYS[1], 'highest') or '0')}`,
  },
  // KEYS: j, e  ARGV: epoch, first, events...
  apiaryAppend: {
    keys: 2,
    lua: `${CHECK_EPOCH}
local highest = tonumber(redis.call('HGET', KEYS[1], 'highest') or '0')
if tonumber(ARGV[2]) ~= highest + 1 then return {2, highest} end
local n = #ARGV - 2
local i = 3
while i <= #ARGV do
  local last = math.min(i + 999, #ARGV)
  redis.call('RPUSH', KEYS[2], unpack(ARGV, i, last))
  i = last + 1
end
redis.call('HSET', KEYS[1], 'highest', highest + n)
return {0}`,
  },
  // KEYS: j, e  ARGV: from, to  → {first seq, items...}
  apiaryRead: {
    keys: 2,
    lua: `local m = redis.call('HMGET', KEYS[1], 'highest', 'deleted')
local highest = tonumber(m[1] or '0')
local deleted = tonumber(m[2] or '0')
local from = math.max(tonumber(ARGV[1]), deleted + 1)
local to = math.min(tonumber(ARGV[2]), highest)
if to < from then return {from} end
local items = redis.call('LRANGE', KEYS[2], from - deleted - 1, to - deleted - 1)
table.insert(items, 1, from)
return items`,
  },
  // KEYS: j, s  ARGV: epoch, snapshot
  apiarySnapshot: {
    keys: 2,
    lua: `${CHECK_EPOCH}
redis.call('SET', KEYS[2], ARGV[2])
return {0}`,
  },
  // KEYS: j, e  ARGV: epoch, to
  apiaryDeleteTo: {
    keys: 2,
    lua: `${CHECK_EPOCH}
local m = redis.call('HMGET', KEYS[1], 'highest', 'deleted')
local highest = tonumber(m[1] or '0')
local deleted = tonumber(m[2] or '0')
local upto = math.min(tonumber(ARGV[2]), highest)
if upto > deleted then
  redis.call('LTRIM', KEYS[2], upto - deleted, -1)
  redis.call('HSET', KEYS[1], 'deleted', upto)
end
return {0}`,
  },
  // KEYS: st  ARGV: writer
  apiaryClaimState: {
    keys: 1,
    lua: `local e = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
redis.call('HSET', KEYS[1], 'writer', ARGV[1])
return {e, tonumber(redis.call('HGET', KEYS[1], 'version') or '0')}`,
  },
  // KEYS: st, sv, ids:s  ARGV: epoch, version, state, pid
  apiarySaveState: {
    keys: 3,
    lua: `${CHECK_EPOCH}
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if tonumber(ARGV[2]) ~= version + 1 then return {2, version} end
redis.call('SET', KEYS[2], ARGV[3])
redis.call('HSET', KEYS[1], 'version', ARGV[2])
redis.call('ZADD', KEYS[3], 0, ARGV[4])
return {0}`,
  },
  // KEYS: st, sv, ids:s  ARGV: epoch, pid
  apiaryClearState: {
    keys: 3,
    lua: `${CHECK_EPOCH}
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[2])
return {0}`,
  },
  // KEYS: l, lt  ARGV: owner, ttlMs, data (encoded, '' for none)  → {0, token, expiresAt} | {1}
  // the server's clock judges expiry; a new holder takes the next token of lt (kept across releases)
  apiaryAcquireLease: {
    keys: 2,
    lua: `${LEASE_NOW}
local m = redis.call('HMGET', KEYS[1], 'owner', 'token', 'expiresAt')
local held = m[1] and tonumber(m[3]) > now
if held and m[1] ~= ARGV[1] then return {1} end
local token
if held then token = tonumber(m[2]) else token = redis.call('INCR', KEYS[2]) end
local expiresAt = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'token', token, 'expiresAt', expiresAt, 'data', ARGV[3])
return {0, token, expiresAt}`,
  },
  // KEYS: l  ARGV: owner, token, ttlMs, data ('' keeps it)  → {0, expiresAt} | {1}
  apiaryRenewLease: {
    keys: 1,
    lua: `${LEASE_NOW}
local m = redis.call('HMGET', KEYS[1], 'owner', 'token', 'expiresAt')
if not m[1] or m[1] ~= ARGV[1] or tonumber(m[2]) ~= tonumber(ARGV[2]) or tonumber(m[3]) <= now then return {1} end
local expiresAt = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'expiresAt', expiresAt)
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'data', ARGV[4]) end
return {0, expiresAt}`,
  },
  // KEYS: l  ARGV: owner, token  → {0} released | {1}
  apiaryReleaseLease: {
    keys: 1,
    lua: `local m = redis.call('HMGET', KEYS[1], 'owner', 'token')
if not m[1] or m[1] ~= ARGV[1] or tonumber(m[2]) ~= tonumber(ARGV[2]) then return {1} end
redis.call('DEL', KEYS[1])
return {0}`,
  },
  // KEYS: l  → {0, owner, token, expiresAt, data} | {1}
  apiaryLeaseHolder: {
    keys: 1,
    lua: `${LEASE_NOW}
local m = redis.call('HMGET', KEYS[1], 'owner', 'token', 'expiresAt', 'data')
if not m[1] or tonumber(m[3]) <= now then return {1} end
return {0, m[1], tonumber(m[2]), tonumber(m[3]), m[4]}`,
  },
} as const;

type ScriptName = keyof typeof SCRIPTS;
type Reply = [number, ...unknown[]];

export class RedisStore implements Store {
  readonly spec: StoreSpec;
  private readonly prefix: string;
  private readonly codec = new Codec();
  private closed = false;

  private constructor(
    private readonly redis: Redis,
    url: string,
    prefix: string,
  ) {
    this.prefix = prefix;
    this.spec = { kind: 'redis', url, prefix };
  }

  /**
   * Connects to `url` (`redis://HOST:PORT[/DB]`). Rejects `ERR_STORE_UNAVAILABLE` (`field`:
   * the url) when the server does not answer within the connect timeout — one attempt, no
   * retry loop — and `ERR_STORE_CORRUPT` when the keys under the prefix are of another format.
   */
  static async open(url: string, options: RedisStoreOptions = {}): Promise<RedisStore> {
    const prefix = options.prefix ?? STORE_DEFAULTS.redisPrefix;
    const phase = { opened: false };
    const redis = new Redis(url, {
      lazyConnect: true,
      connectTimeout: options.connectTimeoutMs ?? STORE_DEFAULTS.redisConnectTimeoutMs,
      commandTimeout: options.commandTimeoutMs ?? STORE_DEFAULTS.redisCommandTimeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      enableAutoPipelining: true,
      // at open: one attempt; after: reconnect for ever with a bounded backoff
      retryStrategy: (times) => (phase.opened ? Math.min(times * 50, STORE_DEFAULTS.redisMaxReconnectDelayMs) : null),
    });
    // ioredis reports connection errors as events too; the calls reject with them already
    // (at open, the event has the cause — ECONNREFUSED, ETIMEDOUT — the rejection only "closed")
    const seen: { error?: Error } = {};
    redis.on('error', (err: Error) => {
      if (!phase.opened) seen.error = err;
    });
    for (const [name, s] of Object.entries(SCRIPTS)) redis.defineCommand(name, { numberOfKeys: s.keys, lua: s.lua });
    try {
      await redis.connect();
      const formatKey = `${prefix}format`;
      await redis.set(formatKey, String(REDIS_STORE_FORMAT), 'NX');
      const format = await redis.get(formatKey);
      if (format !== String(REDIS_STORE_FORMAT)) {
        throw new ApiaryError(ErrorCodes.STORE_CORRUPT, `${url}: keys under ${prefix} have store format ${format}, but this apiary reads format ${REDIS_STORE_FORMAT} only`, { field: url });
      }
    } catch (err) {
      redis.disconnect();
      if (err instanceof ApiaryError) throw err;
      const why = seen.error?.message ?? (err as Error).message;
      throw new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, `Redis at ${url} is unreachable: ${why}`, { field: url, cause: seen.error ?? err });
    }
    phase.opened = true;
    return new RedisStore(redis, url, prefix);
  }

  /** `name` under this store's prefix: where another part of the node keeps its keys. */
  key(name: string): string {
    return `${this.prefix}${name}`;
  }

  /**
   * A new connection to the same server with the same settings (e.g. for blocking commands),
   * connected, owned by the caller, who closes it (`quit()`). Rejects `ERR_STORE_UNAVAILABLE`
   * when the server cannot be reached.
   */
  async connection(): Promise<RedisConnection> {
    this.open();
    const c = this.redis.duplicate();
    c.on('error', () => undefined);
    try {
      await c.connect();
    } catch (err) {
      c.disconnect();
      throw new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, `Redis at ${this.url()} is unreachable: ${(err as Error).message}`, { field: this.url(), cause: err });
    }
    return c;
  }

  async claim(pid: string, writer: string): Promise<Claim> {
    const [epoch, highestSeq] = await this.script('apiaryClaim', [this.key(`j:${pid}`), this.key('ids:j'), writer, pid]);
    return { epoch, highestSeq: highestSeq as number };
  }

  async append(pid: string, epoch: number, first: number, events: readonly unknown[], at: number): Promise<void> {
    this.open();
    const encoded = events.map((event) => this.codec.encodeRetained({ event, at }));
    this.fenced(pid, await this.script('apiaryAppend', [this.key(`j:${pid}`), this.key(`e:${pid}`), epoch, first, ...encoded]), `append at seq ${first}, but the journal is at`);
  }

  async read(pid: string, from: number, to = Number.MAX_SAFE_INTEGER): Promise<StoredEvent[]> {
    const [start, ...items] = await this.script('apiaryRead', [this.key(`j:${pid}`), this.key(`e:${pid}`), from, to]);
    return this.decoding(pid, () =>
      items.map((bytes, i) => {
        const { event, at } = this.codec.decode(bytes as Buffer) as { event: unknown; at: number };
        return { seq: start + i, event, at };
      }),
    );
  }

  async highestSeq(pid: string): Promise<number> {
    const h = await this.call(() => this.redis.hget(this.key(`j:${pid}`), 'highest'));
    return h === null ? 0 : Number(h);
  }

  async saveSnapshot(pid: string, epoch: number, snapshot: Snapshot): Promise<void> {
    this.open();
    const encoded = this.codec.encodeRetained(snapshot);
    this.fenced(pid, await this.script('apiarySnapshot', [this.key(`j:${pid}`), this.key(`s:${pid}`), epoch, encoded]), '');
  }

  async loadSnapshot(pid: string): Promise<Snapshot | undefined> {
    const bytes = await this.call(() => this.redis.getBuffer(this.key(`s:${pid}`)));
    return bytes === null ? undefined : this.decoding(pid, () => this.codec.decode(bytes) as Snapshot);
  }

  /** Expiry on the server's clock (`now` is not used): nodes on several machines agree. */
  async acquireLease(name: string, owner: string, ttlMs: number, _now: number, data?: unknown): Promise<LeaseGrant | undefined> {
    this.open();
    const encoded = data === undefined ? '' : this.codec.encodeRetained(data);
    const r = await this.script('apiaryAcquireLease', [this.key(`l:${name}`), this.key(`lt:${name}`), owner, Math.max(1, Math.round(ttlMs)), encoded]);
    if (r[0] !== 0) return undefined;
    return { name, owner, token: r[1] as number, expiresAt: r[2] as number, ...(data === undefined ? {} : { data: structuredClone(data) }) };
  }

  async renewLease(name: string, owner: string, token: number, ttlMs: number, _now: number, data?: unknown): Promise<LeaseGrant> {
    this.open();
    const encoded = data === undefined ? '' : this.codec.encodeRetained(data);
    const r = await this.script('apiaryRenewLease', [this.key(`l:${name}`), owner, token, Math.max(1, Math.round(ttlMs)), encoded]);
    if (r[0] !== 0) throw leaseLost(name, owner);
    const grant: LeaseGrant = { name, owner, token, expiresAt: r[1] as number };
    if (data !== undefined) grant.data = structuredClone(data);
    return grant;
  }

  async releaseLease(name: string, owner: string, token: number): Promise<boolean> {
    return (await this.script('apiaryReleaseLease', [this.key(`l:${name}`), owner, token]))[0] === 0;
  }

  async leaseHolder(name: string, _now: number): Promise<LeaseGrant | undefined> {
    const r = await this.script('apiaryLeaseHolder', [this.key(`l:${name}`)]);
    if (r[0] !== 0) return undefined;
    const [, owner, token, expiresAt, data] = r as [number, Buffer | string, number, number, Buffer | string];
    const grant: LeaseGrant = { name, owner: owner.toString(), token, expiresAt };
    if (data !== undefined && data.length > 0) grant.data = this.decoding(name, () => this.codec.decode(Buffer.isBuffer(data) ? data : Buffer.from(data, 'latin1')));
    return grant;
  }

  async deleteTo(pid: string, epoch: number, to: number): Promise<void> {
    this.fenced(pid, await this.script('apiaryDeleteTo', [this.key(`j:${pid}`), this.key(`e:${pid}`), epoch, to]), '');
  }

  async ids(prefix: string, limit: number): Promise<string[]> {
    const min = prefix === '' ? '-' : Buffer.from(`[${prefix}`);
    const max = prefix === '' ? '+' : Buffer.concat([Buffer.from(`[${prefix}`), Buffer.from([0xff])]);
    const [journals, states] = await this.call(() =>
      Promise.all([this.redis.zrangebylex(this.key('ids:j'), min, max, 'LIMIT', 0, limit), this.redis.zrangebylex(this.key('ids:s'), min, max, 'LIMIT', 0, limit)]),
    );
    return [...new Set([...journals, ...states])].sort().slice(0, limit);
  }

  async claimState(pid: string, writer: string): Promise<{ epoch: number; version: number }> {
    const [epoch, version] = await this.script('apiaryClaimState', [this.key(`st:${pid}`), writer]);
    return { epoch, version: version as number };
  }

  async loadState(pid: string): Promise<DurableState | undefined> {
    const bytes = await this.call(() => this.redis.getBuffer(this.key(`sv:${pid}`)));
    return bytes === null ? undefined : this.decoding(pid, () => this.codec.decode(bytes) as DurableState);
  }

  async saveState(pid: string, epoch: number, version: number, state: unknown, at: number): Promise<void> {
    this.open();
    const encoded = this.codec.encodeRetained({ version, state, at });
    const reply = await this.script('apiarySaveState', [this.key(`st:${pid}`), this.key(`sv:${pid}`), this.key('ids:s'), epoch, version, encoded, pid]);
    this.fenced(pid, reply, `save as version ${version}, but the state is at`);
  }

  async clearState(pid: string, epoch: number): Promise<void> {
    this.fenced(pid, await this.script('apiaryClearState', [this.key(`st:${pid}`), this.key(`sv:${pid}`), this.key('ids:s'), epoch, pid]), '');
  }

  /** Closes the connection (pending replies first); later calls reject `ERR_STORE_UNAVAILABLE`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  private open(): void {
    if (this.closed) throw new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, `the Redis store ${this.url()} is closed`);
  }

  private url(): string {
    return this.spec.kind === 'redis' ? this.spec.url : '';
  }

  /** Runs a Redis call; a lost connection, a timeout or a refusal is `ERR_STORE_UNAVAILABLE`. */
  private async call<T>(body: () => Promise<T>): Promise<T> {
    this.open();
    try {
      return await body();
    } catch (err) {
      if (err instanceof ApiaryError) throw err;
      const message = (err as Error).message ?? String(err);
      if (message.startsWith('WRONGTYPE')) throw new ApiaryError(ErrorCodes.STORE_CORRUPT, `Redis at ${this.url()}: a key under ${this.prefix} holds foreign data: ${message}`, { field: this.url(), cause: err });
      throw new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, `Redis at ${this.url()} is unavailable: ${message}`, { field: this.url(), cause: err });
    }
  }

  private script(name: ScriptName, args: unknown[]): Promise<Reply> {
    const fn = (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<Reply>>)[`${name}Buffer`]!;
    return this.call(() => fn.apply(this.redis, args));
  }

  /** Throws `ERR_PERSISTENCE_FENCED` for a refusing script reply ({1, epoch} or {2, at}). */
  private fenced(pid: string, reply: Reply, gap: string): void {
    if (reply[0] === 0) return;
    if (reply[0] === 1) throw new ApiaryError(ErrorCodes.PERSISTENCE_FENCED, `${pid}: epoch fenced off by epoch ${String(reply[1])} (a newer writer)`);
    throw new ApiaryError(ErrorCodes.PERSISTENCE_FENCED, `${pid}: ${gap} ${String(reply[1])}`);
  }

  private decoding<T>(pid: string, body: () => T): T {
    try {
      return body();
    } catch (err) {
      throw new ApiaryError(ErrorCodes.STORE_CORRUPT, `Redis at ${this.url()}: cannot decode the data of ${pid}: ${(err as Error).message}`, { field: this.url(), cause: err });
    }
  }
}

/** How {@link connectRedis} connects. */
export interface RedisConnectOptions {
  /** ms to wait for the first connection (default STORE_DEFAULTS.redisConnectTimeoutMs). */
  connectTimeoutMs?: number;
  /** Attempts per command while reconnecting (default 0: a command fails at once while the server is away). */
  maxRetriesPerRequest?: number;
  /** Longest wait between reconnects, ms (default STORE_DEFAULTS.redisMaxReconnectDelayMs). */
  maxReconnectDelayMs?: number;
}

/**
 * A connected client for other parts of the node that keep data on a Redis server (the task
 * queue): the settings of the store's own — no offline queue (a command while the server is
 * away fails at once, never waits unbounded), auto-pipelining, reconnects with a bounded
 * backoff. `from`: a URL, or a client whose server and options to copy. Owned by the caller
 * (`quit()`). Rejects `ERR_STORE_UNAVAILABLE` when the server does not answer in time.
 */
export async function connectRedis(from: string | RedisConnection, options: RedisConnectOptions = {}): Promise<RedisConnection> {
  const settings = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 0,
    enableAutoPipelining: true,
    connectTimeout: options.connectTimeoutMs ?? STORE_DEFAULTS.redisConnectTimeoutMs,
    retryStrategy: (n: number) => Math.min(50 * n, options.maxReconnectDelayMs ?? STORE_DEFAULTS.redisMaxReconnectDelayMs),
  };
  const client = typeof from === 'string' ? new Redis(from, settings) : from.duplicate(settings);
  client.on('error', () => undefined); // reported through the calls that fail
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, `Redis is unreachable: ${(err as Error).message}`, { cause: err });
  }
  return client;
}
