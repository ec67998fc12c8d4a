/**
 * The Redis task store: tasks shared by every node that uses one Redis server, so several
 * nodes consume one queue (competing consumers). The only file of runtime/tasks that imports
 * ioredis.
 *
 * Owns the layout under `PREFIX` (default `apiary:`) + `tasks:`: a hash per task (`t:ID`:
 * scalar fields the scripts change, `body` = JSON of payload, retry policy, key, deadline;
 * `res`/`err` JSON), per queue a sorted set of ready tasks scored by priority then
 * submission order (`q:QUEUE:ready`), one of delayed tasks by runAt (`q:QUEUE:delayed`) and
 * one of leases by their end (`q:QUEUE:leases`) and a hash of counts by state (`q:QUEUE:n`);
 * `all` (by submission order, for listings), `queues`, `k:…` idempotency keys, `seq`. Insert, claim, commit and remove are Lua scripts: each is
 * atomic, so two nodes never claim one task and a stale lease never overwrites.
 * Does not own the lifecycle rules (task-queue.ts).
 * Payloads and results travel as JSON (plain data; `undefined` fields vanish).
 * Durability: a resolved call was acknowledged by the server (its own fsync policy applies).
 * No offline queue: while the server is unreachable every call rejects ERR_STORE_UNAVAILABLE
 * at once (a call whose reply was lost may still have been applied: resubmit with the same
 * idempotency key). The scripts name keys built from the prefix: one Redis server, not a
 * Redis Cluster. Time: callers pass `now` (the nodes' wall clocks should agree within a lease).
 */
import { connectRedis, type RedisConnection } from '../persistence/redis-store.js';
import { ApiaryError, ErrorCodes, type SerializedError } from '../../actors/foundation/errors.js';
import { priorityRank, TASK_DEFAULTS, TASK_STATES, type Task, type TaskPriority, type TaskRetry, type TaskState } from './task.js';
import type { Claimed, ClaimRequest, CommitGuard, CommitRefusal, TaskFilter, TaskStore } from './task-store.js';
import { matches } from './local-task-store.js';

/** Where the Redis task store is: a server URL, or a client to copy the connection settings of. */
export interface RedisTaskStoreOptions {
  /** `redis://HOST:PORT` or an ioredis client (duplicated: the store keeps its own connection and settings). */
  redis: string | RedisConnection;
  /** Key prefix shared by the nodes of one deployment (default `apiary:`). */
  prefix?: string;
  /** How long to wait for the first connection, ms (default {@link TASK_DEFAULTS}.redisConnectTimeoutMs, 2000). */
  connectTimeoutMs?: number;
}

const RANK_SPAN = 1e13;

const LUA_INSERT = `
local P, id, hasKey, rank, runAt, now, ik = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
if hasKey == '1' then
  local first = redis.call('GET', ik)
  if first then return {0, first} end
end
local seq = redis.call('INCR', P .. 'seq')
local sc = rank * ${RANK_SPAN} + seq
local tkey = P .. 't:' .. id
redis.call('HSET', tkey, 'sq', seq, 'sc', sc, unpack(ARGV, 9))
local q = ARGV[8]
if runAt <= now then redis.call('ZADD', P .. 'q:' .. q .. ':ready', sc, id) else redis.call('ZADD', P .. 'q:' .. q .. ':delayed', runAt, id) end
redis.call('ZADD', P .. 'all', seq, id)
redis.call('HINCRBY', P .. 'q:' .. q .. ':n', 'queued', 1)
redis.call('SADD', P .. 'queues', q)
if hasKey == '1' then redis.call('SET', ik, id); redis.call('HSET', tkey, 'ik', ik) end
return {1, seq}
`;

const LUA_CLAIM = `
local P, q, now, max, untl, owner = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6]
local ready, delayed, leases = P .. 'q:' .. q .. ':ready', P .. 'q:' .. q .. ':delayed', P .. 'q:' .. q .. ':leases'
for _, key in ipairs({delayed, leases}) do
  local due = redis.call('ZRANGEBYSCORE', key, '-inf', now, 'LIMIT', 0, 1000)
  for _, id in ipairs(due) do
    redis.call('ZREM', key, id)
    local sc = redis.call('HGET', P .. 't:' .. id, 'sc')
    if sc then redis.call('ZADD', ready, sc, id) end
  end
end
local ids = redis.call('ZRANGE', ready, 0, max - 1)
local out = {}
for i, id in ipairs(ids) do
  redis.call('ZREM', ready, id)
  local tkey = P .. 't:' .. id
  local prev = redis.call('HGET', tkey, 'st')
  if prev then
    redis.call('HINCRBY', P .. 'q:' .. q .. ':n', prev, -1)
    redis.call('HINCRBY', P .. 'q:' .. q .. ':n', 'running', 1)
    redis.call('HINCRBY', tkey, 'att', 1)
    redis.call('HSET', tkey, 'st', 'running', 'lo', owner, 'lt', ARGV[6 + i], 'lu', untl, 'ua', now)
    if redis.call('HEXISTS', tkey, 'sa') == 0 then redis.call('HSET', tkey, 'sa', now) end
    redis.call('ZADD', leases, untl, id)
    out[#out + 1] = prev
    out[#out + 1] = redis.call('HGETALL', tkey)
  end
end
return out
`;

const LUA_COMMIT = `
local P, id, kind, guard, ns, now, runAt, untl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
local tkey = P .. 't:' .. id
local st = redis.call('HGET', tkey, 'st')
if not st then return 'missing' end
if kind == 'token' then
  if st ~= 'running' or redis.call('HGET', tkey, 'lt') ~= guard then return 'lease' end
elseif not string.find(',' .. guard .. ',', ',' .. st .. ',', 1, true) then return 'state' end
for i = 9, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HDEL', tkey, ARGV[i]) else redis.call('HSET', tkey, ARGV[i], ARGV[i + 1]) end
end
local q = redis.call('HGET', tkey, 'q')
if st ~= ns then
  redis.call('HINCRBY', P .. 'q:' .. q .. ':n', st, -1)
  redis.call('HINCRBY', P .. 'q:' .. q .. ':n', ns, 1)
end
local ready, delayed, leases = P .. 'q:' .. q .. ':ready', P .. 'q:' .. q .. ':delayed', P .. 'q:' .. q .. ':leases'
redis.call('ZREM', ready, id); redis.call('ZREM', delayed, id); redis.call('ZREM', leases, id)
if ns == 'queued' then
  if runAt <= now then redis.call('ZADD', ready, redis.call('HGET', tkey, 'sc'), id) else redis.call('ZADD', delayed, runAt, id) end
elseif ns == 'running' then redis.call('ZADD', leases, untl, id) end
return 'ok'
`;

const LUA_REMOVE = `
local P, id = ARGV[1], ARGV[2]
local tkey = P .. 't:' .. id
local q = redis.call('HGET', tkey, 'q')
if not q then return 0 end
redis.call('HINCRBY', P .. 'q:' .. q .. ':n', redis.call('HGET', tkey, 'st'), -1)
local ik = redis.call('HGET', tkey, 'ik')
if ik and redis.call('GET', ik) == id then redis.call('DEL', ik) end
redis.call('ZREM', P .. 'q:' .. q .. ':ready', id); redis.call('ZREM', P .. 'q:' .. q .. ':delayed', id); redis.call('ZREM', P .. 'q:' .. q .. ':leases', id)
redis.call('ZREM', P .. 'all', id)
redis.call('DEL', tkey)
return 1
`;

type Script = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Connects to Redis and returns the task store. Rejects `ERR_STORE_UNAVAILABLE` when the
 * server does not answer within `connectTimeoutMs`.
 */
export async function openRedisTaskStore(options: RedisTaskStoreOptions): Promise<TaskStore> {
  let client: RedisConnection;
  try {
    client = await connectRedis(options.redis, {
      connectTimeoutMs: options.connectTimeoutMs ?? TASK_DEFAULTS.redisConnectTimeoutMs,
      maxRetriesPerRequest: 1,
      maxReconnectDelayMs: TASK_DEFAULTS.redisMaxReconnectDelayMs,
    });
  } catch (err) {
    throw new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, `cannot reach Redis for the task store: ${(err as Error).message}`, { cause: err });
  }
  return new RedisTaskStore(client, `${options.prefix ?? 'apiary:'}tasks:`);
}

class RedisTaskStore implements TaskStore {
  readonly kind = 'redis';
  private closed = false;
  private readonly scripts: { insert: Script; claim: Script; commit: Script; remove: Script };

  constructor(
    private readonly client: RedisConnection,
    private readonly p: string,
  ) {
    client.defineCommand('apiaryTaskInsert', { numberOfKeys: 0, lua: LUA_INSERT });
    client.defineCommand('apiaryTaskClaim', { numberOfKeys: 0, lua: LUA_CLAIM });
    client.defineCommand('apiaryTaskCommit', { numberOfKeys: 0, lua: LUA_COMMIT });
    client.defineCommand('apiaryTaskRemove', { numberOfKeys: 0, lua: LUA_REMOVE });
    const c = client as unknown as Record<string, Script>;
    this.scripts = {
      insert: (...a) => c.apiaryTaskInsert!.call(client, ...a),
      claim: (...a) => c.apiaryTaskClaim!.call(client, ...a),
      commit: (...a) => c.apiaryTaskCommit!.call(client, ...a),
      remove: (...a) => c.apiaryTaskRemove!.call(client, ...a),
    };
  }

  async insert(task: Task): Promise<{ task: Task; created: boolean }> {
    const key = task.idempotencyKey;
    const ik = key === undefined ? '' : `${this.p}k:${task.queue.length}:${task.queue}:${key}`;
    const body = JSON.stringify({ payload: task.payload, retry: task.retry, idempotencyKey: key, deadline: task.deadline });
    const fields = ['id', task.id, 'q', task.queue, 'p', task.priority, 'st', task.state, 'att', task.attempts, 'ra', task.runAt, 'ca', task.createdAt, 'ua', task.updatedAt, 'body', body];
    const [created, value] = (await this.call(() =>
      this.scripts.insert(this.p, task.id, key === undefined ? '0' : '1', priorityRank(task.priority), task.runAt, task.updatedAt, ik, task.queue, ...fields),
    )) as [number, string | number];
    if (created === 1) return { task: { ...task, seq: Number(value) }, created: true };
    const first = await this.get(String(value));
    if (first === undefined) throw new ApiaryError(ErrorCodes.STORE_CORRUPT, `idempotency key ${key} names task ${value}, which is gone`);
    return { task: first, created: false };
  }

  async get(id: string): Promise<Task | undefined> {
    const h = (await this.call(() => this.client.hgetall(`${this.p}t:${id}`))) as Record<string, string>;
    return h.st === undefined ? undefined : decode(h);
  }

  async claim(queue: string, req: ClaimRequest): Promise<Claimed[]> {
    const tokens = Array.from({ length: req.max }, () => req.token());
    const out = (await this.call(() => this.scripts.claim(this.p, queue, req.now, req.max, req.until, req.owner, ...tokens))) as (string | string[])[];
    const claimed: Claimed[] = [];
    for (let i = 0; i < out.length; i += 2) claimed.push({ previous: out[i] as TaskState, task: decode(pairs(out[i + 1] as string[])) });
    return claimed;
  }

  async commit(next: Task, guard: CommitGuard): Promise<CommitRefusal | undefined> {
    const [kind, value] = 'token' in guard ? ['token', guard.token] : ['states', guard.states.join(',')];
    const fields = [
      'st', next.state,
      'att', next.attempts,
      'ra', next.runAt,
      'ua', next.updatedAt,
      'sa', next.startedAt ?? '',
      'fa', next.finishedAt ?? '',
      'lo', next.lease?.owner ?? '',
      'lt', next.lease?.token ?? '',
      'lu', next.lease?.until ?? '',
      'res', next.result === undefined ? '' : JSON.stringify(next.result),
      'err', next.error === undefined ? '' : JSON.stringify(next.error),
    ];
    const r = (await this.call(() =>
      this.scripts.commit(this.p, next.id, kind, value, next.state, next.updatedAt, next.runAt, next.lease?.until ?? 0, ...fields),
    )) as string;
    return r === 'ok' ? undefined : (r as CommitRefusal);
  }

  async list(filter: TaskFilter, limit: number): Promise<Task[]> {
    const out: Task[] = [];
    for await (const t of this.scan()) {
      if (matches(t, filter)) out.push(t);
      if (out.length >= limit) break;
    }
    return out;
  }

  async purge(filter: TaskFilter): Promise<number> {
    const ids: string[] = [];
    for await (const t of this.scan()) if (matches(t, filter)) ids.push(t.id);
    const removed = await Promise.all(ids.map((id) => this.call(() => this.scripts.remove(this.p, id))));
    return removed.filter((r) => Number(r) === 1).length;
  }

  async remove(id: string): Promise<boolean> {
    return Number(await this.call(() => this.scripts.remove(this.p, id))) === 1;
  }

  async counts(queue?: string): Promise<Record<TaskState, number>> {
    const out = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
    const queues = queue === undefined ? ((await this.call(() => this.client.smembers(`${this.p}queues`))) as string[]) : [queue];
    const rows = (await this.call(() => Promise.all(queues.map((q) => this.client.hgetall(`${this.p}q:${q}:n`))))) as Record<string, string>[];
    for (const row of rows) for (const s of TASK_STATES) out[s] += Number(row[s] ?? 0);
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  /** Every task in submission order, 500 at a time. */
  private async *scan(): AsyncGenerator<Task> {
    for (let from = 0; ; from += 500) {
      const ids = (await this.call(() => this.client.zrange(`${this.p}all`, String(from), String(from + 499)))) as string[];
      if (ids.length === 0) return;
      const rows = (await this.call(() => Promise.all(ids.map((id) => this.client.hgetall(`${this.p}t:${id}`))))) as Record<string, string>[];
      for (const h of rows) if (h.st !== undefined) yield decode(h);
      if (ids.length < 500) return;
    }
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, 'the redis task store is closed');
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ApiaryError) throw err;
      throw new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, `the redis task store failed: ${(err as Error).message}`, { cause: err });
    }
  }
}

function pairs(flat: string[]): Record<string, string> {
  const h: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) h[flat[i]!] = flat[i + 1]!;
  return h;
}

function decode(h: Record<string, string>): Task {
  try {
    const body = JSON.parse(h.body!) as { payload: unknown; retry: TaskRetry; idempotencyKey?: string; deadline?: number };
    const t: Task = {
      id: h.id!,
      queue: h.q!,
      payload: body.payload ?? null,
      priority: h.p as TaskPriority,
      state: h.st as TaskState,
      attempts: Number(h.att),
      retry: body.retry,
      createdAt: Number(h.ca),
      updatedAt: Number(h.ua),
      runAt: Number(h.ra),
      seq: Number(h.sq),
    };
    if (body.idempotencyKey !== undefined && body.idempotencyKey !== null) t.idempotencyKey = body.idempotencyKey;
    if (body.deadline !== undefined && body.deadline !== null) t.deadline = body.deadline;
    if (h.sa !== undefined) t.startedAt = Number(h.sa);
    if (h.fa !== undefined) t.finishedAt = Number(h.fa);
    if (h.lt !== undefined) t.lease = { owner: h.lo ?? '', token: h.lt, until: Number(h.lu) };
    if (h.res !== undefined) t.result = JSON.parse(h.res);
    if (h.err !== undefined) t.error = JSON.parse(h.err) as SerializedError;
    return t;
  } catch (err) {
    throw new ApiaryError(ErrorCodes.STORE_CORRUPT, `task ${h.id ?? '?'} in Redis cannot be read: ${(err as Error).message}`, { cause: err });
  }
}
