/**
 * The stores' defaults (runtime/persistence/): where a node keeps its embedded store, and how
 * long a Redis store waits. Owns: numbers and names only. Threads/time: none.
 */

/** Defaults of the persistence stores (lmdb-store.ts, redis-store.ts, open-store.ts). */
export const STORE_DEFAULTS = {
  /**
   * Data directory of a node's embedded (LMDB) store, under the working directory:
   * `./apiary-data/<node name>`.
   */
  dataRoot: 'apiary-data',
  /** Node name of the default data directory when none is given (the ActorSystem's default name). */
  nodeName: 'apiary',
  /** Key prefix of a Redis store: every key it writes starts with it. */
  redisPrefix: 'apiary:',
  /** A Redis store that cannot connect within this many ms at open is unavailable. */
  redisConnectTimeoutMs: 2_000,
  /** A Redis command not answered within this many ms rejects `ERR_STORE_UNAVAILABLE`. */
  redisCommandTimeoutMs: 5_000,
  /** Reconnect backoff after a lost Redis connection: 50 ms × attempt, at most this. */
  redisMaxReconnectDelayMs: 1_000,
} as const;
