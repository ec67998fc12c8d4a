/**
 * Persistence, public surface: the store contract, the backends (LMDB on this node, Redis
 * shared by nodes, memory for tests), choosing one from a spec, and leases kept alive.
 */
export type { Store, StoreSpec, EventJournal, StateStore, StoredEvent, Snapshot, DurableState, Claim, LeaseStore, LeaseGrant } from './store.js';
export { acquireLease, waitForLease, HeldLease, LEASE_DEFAULTS } from './lease.js';
export type { LeaseOptions } from './lease.js';
export { MemoryStore } from './memory-store.js';
export { LmdbStore, LMDB_STORE_FORMAT, LMDB_DATA_FILE } from './lmdb-store.js';
export type { LmdbDatabase, LmdbRoot } from './lmdb-store.js';
export { RedisStore, REDIS_STORE_FORMAT } from './redis-store.js';
export type { RedisConnection, RedisStoreOptions } from './redis-store.js';
export { openStore, parseStoreSpec, formatStoreSpec, defaultDataDir } from './open-store.js';
export { STORE_DEFAULTS } from './store-defaults.js';
export { PersistentActor, PERSISTENCE_DEFAULTS, stopIfFenced } from './persistent-actor.js';
export type { PersistenceArgs } from './persistent-actor.js';
export { DurableStateActor } from './durable-state-actor.js';
